// Builds the native table of --egress block at start: every name looked up
// at once (getaddrinfo through libuv), the system's resolvers added.
import type { NativeEgress } from '../native.js';
import type { AllowEntry } from './entry.js';
import { EgressPolicy } from './policy.js';
import { lookupAll, SystemResolver, systemNameservers } from './resolver.js';

export interface LoadedEgress {
  policy: EgressPolicy;
  native: NativeEgress;
  /** Names without an address now (looked up again before each refusal). */
  unresolved: string[];
}

export async function loadEgress(allow: readonly AllowEntry[], resolvConf = '/etc/resolv.conf'): Promise<LoadedEgress> {
  const policy = new EgressPolicy(allow, { resolver: new SystemResolver(), resolvers: systemNameservers(resolvConf) });
  const found = await lookupAll(policy.names().filter((n) => n !== 'localhost'));
  for (const name of policy.names()) policy.setAddresses(name, found.get(name) ?? []);
  const unresolved = policy.names().filter((n) => n !== 'localhost' && (found.get(n) ?? []).length === 0);
  return { policy, native: { block: true, rules: policy.toNative() }, unresolved };
}

/** The same, synchronously (a config reload on SIGHUP). */
export function loadEgressSync(allow: readonly AllowEntry[], resolvConf = '/etc/resolv.conf'): LoadedEgress {
  const policy = new EgressPolicy(allow, { resolver: new SystemResolver(), resolvers: systemNameservers(resolvConf) });
  const unresolved = policy.resolveAll();
  return { policy, native: { block: true, rules: policy.toNative() }, unresolved };
}
