// The system's name service for the egress policy: the nameservers of
// resolv.conf(5), and lookups through NSS (getent(1): /etc/hosts, DNS...), so
// netlog sees the addresses the job's own programs would get.
import { execFileSync } from 'node:child_process';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import { hostCidr } from './entry.js';
import type { Resolver } from './policy.js';

/** `nameserver ADDR` lines of resolv.conf(5); [] when it cannot be read (glibc then uses 127.0.0.1 and ::1). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    // A zone id (fe80::1%eth0) is dropped: the address is what a connect names.
    const ip = m?.[1]?.replace(/%.*$/, '');
    if (ip && hostCidr(ip)) out.push(ip);
  }
  return out;
}

export function systemNameservers(file = '/etc/resolv.conf'): string[] {
  try {
    const list = parseResolvConf(fs.readFileSync(file, 'utf8'));
    return list.length > 0 ? list : ['127.0.0.1', '::1'];
  } catch {
    return ['127.0.0.1', '::1'];
  }
}

/** `getent ahosts` / `getent hosts` output: the first column of each line. */
export function parseGetent(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const ip = line.trim().split(/\s+/)[0];
    if (ip && hostCidr(ip)) out.add(ip);
  }
  return [...out];
}

/** Lookups with a short timeout: a resolver that hangs delays a refusal, never forever. */
export class SystemResolver implements Resolver {
  constructor(private readonly timeoutMs = 2000) {}

  lookup(name: string): string[] {
    return parseGetent(this.getent(['ahosts', name]) ?? '');
  }

  reverse(ip: string): string | undefined {
    const out = this.getent(['hosts', ip]);
    return out?.trim().split(/\s+/)[1];
  }

  private getent(args: string[]): string | undefined {
    try {
      return execFileSync('getent', args, { encoding: 'utf8', timeout: this.timeoutMs, stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return undefined; // exit 2: not found; a timeout or a missing getent: no answer
    }
  }
}

/** The lookups at start, all at once (getaddrinfo(3) through libuv's pool). */
export async function lookupAll(names: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  await Promise.all(
    names.map(async (name) => {
      try {
        const found = await dns.lookup(name, { all: true, verbatim: true });
        out.set(name, [...new Set(found.map((a) => a.address))]);
      } catch {
        out.set(name, []);
      }
    }),
  );
  return out;
}
