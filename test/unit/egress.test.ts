// Egress policy: allow-entry syntax, the decision table (ports, programs,
// v4-mapped addresses, resolvers, loopback), re-lookup of names at most once a
// second, and what a `*.` wildcard matches.
import { describe, expect, it } from 'vitest';
import { NetlogError } from '../../src/errors.js';
import { parseAllowEntry, parseAllowList } from '../../src/egress/entry.js';
import { EgressPolicy, type Destination, type Resolver } from '../../src/egress/policy.js';
import { parseGetent, parseResolvConf } from '../../src/egress/resolver.js';
import { parseCliValue } from '../../src/config/parse.js';

describe('allow entries', () => {
  const good: [string, string][] = [
    ['127.0.0.1', '127.0.0.1:*'],
    ['127.0.0.1:8080', '127.0.0.1:8080'],
    ['10.0.0.0/8:1000-2000', '10.0.0.0/8:1000-2000'],
    ['::1', '[::1]:*'],
    ['[::1]:443', '[::1]:443'],
    ['[2001:DB8::]/32', '[2001:db8::/32]:*'],
    ['[2001:db8::/32]:53', '[2001:db8::/32]:53'],
    ['2001:db8:0:0::1', '[2001:db8::1]:*'],
    ['Example.ORG.', 'example.org:*'],
    ['example.org:*', 'example.org:*'],
    ['*.githubusercontent.com:443', '*.githubusercontent.com:443'],
    ['/usr/bin/curl=example.org:443', '/usr/bin/curl=example.org:443'],
    ['/usr/bin/git=[::1]:9418', '/usr/bin/git=[::1]:9418'],
    ['localhost', 'localhost:*'],
    ['x:1-65535', 'x:*'],
    ['  host.example  ', 'host.example:*'],
  ];
  it.each(good)('%s → %s', (text, canonical) => {
    expect(parseAllowEntry(text).canonical).toBe(canonical);
  });

  const bad: [string, RegExp][] = [
    ['', /empty entry/],
    ['*', /'\*' alone is not a host/],
    ['10.0.0.1/8', /host bits set \(did you mean 10\.0\.0\.0\/8\?\)/],
    ['10.0.0.0/33', /bad prefix length '\/33'/],
    ['1.2.3.256', /is not an IPv4 address/],
    ['01.2.3.4', /is not an IPv4 address/],
    ['example.org:0', /'0' is not a port/],
    ['example.org:65536', /port 65536 is out of range/],
    ['example.org:9-1', /runs backwards/],
    ['example.org:', /empty port/],
    ['example.org:http', /'http' is not a port/],
    ['[::1', /missing '\]'/],
    ['[::1]443', /unexpected '443' after '\]'/],
    ['[1.2.3.4]:80', /brackets are for IPv6/],
    ['::g', /is not an IPv6 address/],
    ['ex ample.org', /not a DNS name/],
    ['a..b', /empty label/],
    ['foo.*.org', /'\*' may only stand first/],
    ['*.org', /at least two labels/],
    ['curl=example.org', /must be an absolute path/],
    ['/usr/bin/curl', /needs '=HOST\[:PORT\]'/],
    ['/usr/../bin/curl=x.org', /not a real path/],
    ['/usr/bin/curl=', /host is empty/],
    ['name/24', /cannot have a prefix length/],
  ];
  it.each(bad)('%j is refused: %s', (text, reason) => {
    let err: unknown;
    try {
      parseAllowEntry(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlogError);
    expect((err as NetlogError).code).toBe('EALLOW');
    expect((err as NetlogError).message).toMatch(/^allow entry '/);
    expect((err as NetlogError).message).toMatch(reason);
  });

  it('lists: comma separated, empty elements and duplicates refused', () => {
    expect(parseAllowList('a.org, 127.0.0.1:80,[::1]').map((e) => e.canonical)).toEqual(['a.org:*', '127.0.0.1:80', '[::1]:*']);
    expect(parseAllowList('')).toEqual([]);
    expect(() => parseAllowList('a.org,,b.org')).toThrow(/empty entry/);
    expect(() => parseAllowList('a.org:443,A.ORG:443')).toThrow(/duplicate allow entry 'A.ORG:443' \(same as 'a.org:443'\)/);
  });

  it('the --allow option and the allow key name the entry in one line', () => {
    expect(() => parseCliValue('allow', '10.0.0.1/8', '--allow')).toThrow(/^--allow: allow entry '10\.0\.0\.1\/8': .* has host bits set/);
    expect(parseCliValue('allow', 'a.org,b.org:22', '--allow').allow?.map((e) => e.canonical)).toEqual(['a.org:*', 'b.org:22']);
  });
});

/** A resolver from a table that the test changes; counts the lookups it answers. */
class TableResolver implements Resolver {
  forward = new Map<string, string[]>();
  back = new Map<string, string>();
  lookups = 0;
  reverses = 0;
  lookup(name: string): string[] {
    this.lookups++;
    return this.forward.get(name) ?? [];
  }
  reverse(ip: string): string | undefined {
    this.reverses++;
    return this.back.get(ip);
  }
}

function policy(entries: string, resolver = new TableResolver(), clock = { t: 0 }): { p: EgressPolicy; resolver: TableResolver; clock: { t: number } } {
  const p = new EgressPolicy(parseAllowList(entries), { resolver, resolvers: ['192.0.2.53', 'fd00::53'], now: () => clock.t });
  return { p, resolver, clock };
}

const dest = (ip: string, port: number, exe = '/usr/bin/curl', proto: 'tcp' | 'udp' = 'tcp'): Destination => ({ exe, proto, ip, port });

describe('decide', () => {
  const table: [string, Destination, boolean, string?][] = [
    ['127.0.0.1', dest('127.0.0.1', 80), true, '127.0.0.1:*'],
    ['127.0.0.1', dest('::ffff:127.0.0.1', 80), true, '127.0.0.1:*'],
    ['127.0.0.1', dest('::1', 80), false],
    ['127.0.0.1', dest('127.0.0.2', 80), false],
    ['127.0.0.0/8:80', dest('127.9.9.9', 80), true, '127.0.0.0/8:80'],
    ['127.0.0.0/8:80', dest('127.9.9.9', 81), false],
    ['127.0.0.0/8:80-90', dest('127.0.0.1', 90), true],
    ['127.0.0.0/8:80-90', dest('127.0.0.1', 91), false],
    ['[::1]:443', dest('::1', 443), true],
    ['[::1]:443', dest('127.0.0.1', 443), false],
    ['::/0', dest('2001:db8::1', 1), true],
    ['0.0.0.0/0', dest('2001:db8::1', 1), false],
    ['0.0.0.0/0', dest('::ffff:8.8.8.8', 1), true],
    ['/usr/bin/curl=127.0.0.1:80', dest('127.0.0.1', 80), true, '/usr/bin/curl=127.0.0.1:80'],
    ['/usr/bin/curl=127.0.0.1:80', dest('127.0.0.1', 80, '/usr/bin/wget'), false],
    ['localhost:8080', dest('127.0.0.1', 8080), true, 'localhost:8080'],
    ['localhost:8080', dest('::1', 8080), true],
    ['localhost:8080', dest('127.0.0.2', 8080), false],
    // nothing but the system's resolvers, on port 53, is allowed implicitly
    ['', dest('192.0.2.53', 53, '/x', 'udp'), true, 'resolver'],
    ['', dest('fd00::53', 53), true, 'resolver'],
    ['', dest('::ffff:192.0.2.53', 53), true, 'resolver'],
    ['', dest('192.0.2.53', 54), false],
    ['', dest('192.0.2.54', 53), false],
    ['', dest('127.0.0.1', 80), false],
    ['', dest('not-an-ip', 80), false],
  ];
  it.each(table)('allow %j: %j → %s', (entries, d, allowed, entry) => {
    const { p } = policy(entries);
    p.resolveAll();
    const got = p.decide(d);
    expect(got.allowed).toBe(allowed);
    if (entry !== undefined) expect(got.entry).toBe(entry);
  });

  it('a name is resolved at start, and again at most once a second before a refusal', () => {
    const { p, resolver, clock } = policy('svc.test:80');
    resolver.forward.set('svc.test', ['10.1.1.1']);
    expect(p.resolveAll()).toEqual([]);
    expect(p.decide(dest('10.1.1.1', 80)).allowed).toBe(true);
    const before = resolver.lookups;
    // The name moves; within the second the old table answers.
    resolver.forward.set('svc.test', ['10.2.2.2']);
    clock.t = 500;
    expect(p.decide(dest('10.2.2.2', 80)).allowed).toBe(false);
    expect(resolver.lookups).toBe(before);
    clock.t = 1000;
    expect(p.decide(dest('10.2.2.2', 80))).toEqual({ allowed: true, entry: 'svc.test:80' });
    expect(resolver.lookups).toBe(before + 1);
    // Allowed destinations never cost a lookup.
    clock.t = 5000;
    p.decide(dest('10.2.2.2', 80));
    expect(resolver.lookups).toBe(before + 1);
    // A wrong port is refused without a lookup of a name that cannot allow it.
    p.decide(dest('10.9.9.9', 81));
    expect(resolver.lookups).toBe(before + 1);
  });

  it('a lookup that fails keeps the addresses known so far', () => {
    const { p, resolver, clock } = policy('svc.test');
    resolver.forward.set('svc.test', ['10.1.1.1']);
    p.resolveAll();
    resolver.forward.delete('svc.test');
    clock.t = 2000;
    expect(p.decide(dest('10.3.3.3', 1)).allowed).toBe(false);
    expect(p.decide(dest('10.1.1.1', 1)).allowed).toBe(true);
  });

  it('names without an address at start are reported, and allowed once they resolve', () => {
    const { p, resolver, clock } = policy('late.test,other.test');
    resolver.forward.set('other.test', ['10.0.0.9']);
    expect(p.resolveAll()).toEqual(['late.test']);
    resolver.forward.set('late.test', ['10.0.0.7']);
    clock.t = 1000;
    expect(p.decide(dest('10.0.0.7', 443)).allowed).toBe(true);
  });

  it('a wildcard matches an address whose reverse name lies under it and resolves back to it', () => {
    const { p, resolver, clock } = policy('*.cdn.test:443');
    resolver.back.set('10.5.5.5', 'edge1.cdn.test');
    resolver.forward.set('edge1.cdn.test', ['10.5.5.5']);
    expect(p.decide(dest('10.5.5.5', 443))).toEqual({ allowed: true, entry: '*.cdn.test:443' });
    // learnt: no more lookups for it
    const n = resolver.reverses;
    p.decide(dest('10.5.5.5', 443));
    expect(resolver.reverses).toBe(n);
    // the wrong port, the apex itself, and a name that does not resolve back are refused
    expect(p.decide(dest('10.5.5.5', 80)).allowed).toBe(false);
    resolver.back.set('10.6.6.6', 'cdn.test');
    resolver.forward.set('cdn.test', ['10.6.6.6']);
    expect(p.decide(dest('10.6.6.6', 443)).allowed).toBe(false);
    resolver.back.set('10.7.7.7', 'evil.cdn.test'); // a PTR its owner set; the domain does not confirm it
    expect(p.decide(dest('10.7.7.7', 443)).allowed).toBe(false);
    // a lookup per address at most once a second
    const r = resolver.reverses;
    expect(p.decide(dest('10.7.7.7', 443)).allowed).toBe(false);
    expect(resolver.reverses).toBe(r);
    resolver.forward.set('evil.cdn.test', ['10.7.7.7']);
    clock.t = 1000;
    expect(p.decide(dest('10.7.7.7', 443)).allowed).toBe(true);
  });

  it('the native table carries the resolvers, the entries and the addresses of names', () => {
    const { p, resolver } = policy('/usr/bin/git=svc.test:80-81,127.0.0.0/8,*.w.test:443');
    resolver.forward.set('svc.test', ['10.1.1.1', '::1']);
    p.resolveAll();
    const rules = p.toNative();
    expect(rules.map((r) => r.text)).toEqual(['resolver', 'resolver', '/usr/bin/git=svc.test:80-81', '127.0.0.0/8:*', '*.w.test:443']);
    expect(rules[2]).toMatchObject({ exe: '/usr/bin/git', name: 'svc.test', portLo: 80, portHi: 81 });
    expect(rules[2]!.cidrs).toHaveLength(34);
    expect(rules[2]!.cidrs.slice(10, 17)).toEqual([0xff, 0xff, 10, 1, 1, 1, 128]);
    expect(rules[3]!.cidrs.slice(12)).toEqual([127, 0, 0, 0, 104]);
    expect(rules[4]).toMatchObject({ wildcard: 'w.test', cidrs: [] });
  });
});

describe('system resolver files', () => {
  it('resolv.conf nameservers', () => {
    expect(parseResolvConf('# x\nnameserver 127.0.0.53\noptions edns0\nnameserver fe80::1%eth0\nnameserver bogus\n')).toEqual(['127.0.0.53', 'fe80::1']);
  });
  it('getent output', () => {
    expect(parseGetent('::1             STREAM localhost\n::1             DGRAM\n127.0.0.1       STREAM\n')).toEqual(['::1', '127.0.0.1']);
  });
});
