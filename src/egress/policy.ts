// The egress policy of `--egress block` (docs/ci.md): which destinations a
// program may reach. Names are resolved at start and again, at most once a
// second each, before a refusal; the system's resolvers are allowed on port 53.
import { hostCidr, inCidr, type AllowEntry, type Cidr } from './entry.js';

export interface Destination {
  /** Real path of the caller's program. */
  exe: string;
  proto: 'tcp' | 'udp';
  ip: string;
  port: number;
}

export interface Decision {
  allowed: boolean;
  /** The entry that allowed it (canonical text), or 'resolver' for the implicit DNS rule. */
  entry?: string;
}

/** How names become addresses. Synchronous: the decision must be made while the call waits. */
export interface Resolver {
  /** Addresses of a name (IPv4 and IPv6), [] when it has none. */
  lookup(name: string): string[];
  /** The name of an address (PTR, /etc/hosts), if any. */
  reverse(ip: string): string | undefined;
}

export interface PolicyOptions {
  resolver: Resolver;
  /** Addresses allowed on port 53 without an entry (the nameservers of /etc/resolv.conf). */
  resolvers: string[];
  /** Milliseconds now; replaced in tests. */
  now?: () => number;
}

/** At most one lookup per name (or per address, for wildcards) per this many ms. */
export const RELOOKUP_MS = 1000;

// RFC 6761: localhost is loopback, whatever a resolver says.
const LOCALHOST = ['127.0.0.1', '::1'];

interface Compiled {
  entry: AllowEntry;
  cidrs: Cidr[];
  lastLookup: number;
}

export class EgressPolicy {
  private readonly rules: Compiled[];
  private readonly resolverCidrs: Cidr[];
  private readonly now: () => number;
  private readonly reverseSeen = new Map<string, number>();

  constructor(
    entries: readonly AllowEntry[],
    private readonly options: PolicyOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.resolverCidrs = options.resolvers.flatMap((ip) => {
      const c = hostCidr(ip);
      return c ? [c] : [];
    });
    this.rules = entries.map((entry) => ({
      entry,
      cidrs: entry.host.kind === 'cidr' ? [entry.host.cidr] : [],
      lastLookup: -Infinity,
    }));
  }

  /** Resolves every name now (at start); returns the names that have no address. */
  resolveAll(): string[] {
    const unresolved: string[] = [];
    for (const rule of this.rules) {
      if (rule.entry.host.kind !== 'name') continue;
      this.relookup(rule);
      if (rule.cidrs.length === 0) unresolved.push(rule.entry.host.name);
    }
    return unresolved;
  }

  /** Sets a name's addresses from an outside lookup (the asynchronous one at start). */
  setAddresses(name: string, ips: readonly string[]): void {
    for (const rule of this.rules) {
      if (rule.entry.host.kind === 'name' && rule.entry.host.name === name) {
        rule.cidrs = toCidrs(name === 'localhost' ? LOCALHOST : ips);
        rule.lastLookup = this.now();
      }
    }
  }

  /** The names of the entries (for the lookup at start). */
  names(): string[] {
    return [...new Set(this.rules.flatMap((r) => (r.entry.host.kind === 'name' ? [r.entry.host.name] : [])))];
  }

  decide(dest: Destination): Decision {
    const addr = hostCidr(dest.ip)?.bytes;
    if (!addr) return { allowed: false };
    const first = this.match(dest, addr);
    if (first) return first;
    // Before a refusal: names whose addresses may have changed are looked up again.
    let changed = false;
    for (const rule of this.rules) {
      if (!this.applies(rule, dest)) continue;
      if (rule.entry.host.kind === 'name' && this.now() - rule.lastLookup >= RELOOKUP_MS) {
        this.relookup(rule);
        changed = true;
      }
    }
    if (changed) {
      const again = this.match(dest, addr);
      if (again) return again;
    }
    const wild = this.matchWildcard(dest);
    return wild ?? { allowed: false };
  }

  /** Entries and learnt addresses in the form the native table takes. */
  toNative(): NativeRule[] {
    const rules: NativeRule[] = this.resolverCidrs.map((c) => ({ exe: '', name: '', wildcard: '', cidrs: flat([c]), portLo: 53, portHi: 53, text: 'resolver' }));
    for (const r of this.rules) {
      const h = r.entry.host;
      rules.push({
        exe: r.entry.exe ?? '',
        name: h.kind === 'name' && h.name !== 'localhost' ? h.name : '',
        wildcard: h.kind === 'wildcard' ? h.suffix : '',
        cidrs: flat(r.cidrs),
        portLo: r.entry.portLo,
        portHi: r.entry.portHi,
        text: r.entry.canonical,
      });
    }
    return rules;
  }

  private applies(rule: Compiled, dest: Destination): boolean {
    return (rule.entry.exe === undefined || rule.entry.exe === dest.exe) && rule.entry.portLo <= dest.port && dest.port <= rule.entry.portHi;
  }

  private match(dest: Destination, addr: readonly number[]): Decision | undefined {
    if (dest.port === 53 && this.resolverCidrs.some((c) => inCidr(addr, c))) return { allowed: true, entry: 'resolver' };
    for (const rule of this.rules) {
      if (this.applies(rule, dest) && rule.cidrs.some((c) => inCidr(addr, c))) return { allowed: true, entry: rule.entry.canonical };
    }
    return undefined;
  }

  // A wildcard matches an address whose name (reverse lookup) lies under it
  // and whose forward lookup gives that address back: the reverse name alone
  // is set by whoever owns the address, the forward one by the domain.
  private matchWildcard(dest: Destination): Decision | undefined {
    const rules = this.rules.filter((r) => r.entry.host.kind === 'wildcard' && this.applies(r, dest));
    if (rules.length === 0) return undefined;
    const last = this.reverseSeen.get(dest.ip) ?? -Infinity;
    if (this.now() - last < RELOOKUP_MS) return undefined;
    this.reverseSeen.set(dest.ip, this.now());
    const name = this.options.resolver.reverse(dest.ip)?.toLowerCase().replace(/\.$/, '');
    if (!name) return undefined;
    const rule = rules.find((r) => r.entry.host.kind === 'wildcard' && name.endsWith(`.${r.entry.host.suffix}`));
    if (!rule) return undefined;
    const addr = hostCidr(dest.ip)?.bytes;
    const forward = this.options.resolver.lookup(name).flatMap((ip) => {
      const c = hostCidr(ip);
      return c ? [c] : [];
    });
    if (!addr || !forward.some((c) => inCidr(addr, c))) return undefined;
    rule.cidrs.push({ bytes: addr, bits: 128 });
    return { allowed: true, entry: rule.entry.canonical };
  }

  private relookup(rule: Compiled): void {
    if (rule.entry.host.kind !== 'name') return;
    const name = rule.entry.host.name;
    rule.lastLookup = this.now();
    const ips = name === 'localhost' ? LOCALHOST : this.options.resolver.lookup(name);
    // A failed lookup keeps the addresses known so far: a resolver that
    // stops answering must not turn an allowed name into a refused one.
    if (ips.length > 0) rule.cidrs = toCidrs(ips);
  }
}

/** One rule of the native table: cidrs flat, 17 numbers each (16 address bytes, prefix bits). */
export interface NativeRule {
  exe: string;
  name: string;
  wildcard: string;
  cidrs: number[];
  portLo: number;
  portHi: number;
  text: string;
}

function toCidrs(ips: readonly string[]): Cidr[] {
  return ips.flatMap((ip) => {
    const c = hostCidr(ip);
    return c ? [c] : [];
  });
}

function flat(cidrs: readonly Cidr[]): number[] {
  return cidrs.flatMap((c) => [...c.bytes, c.bits]);
}
