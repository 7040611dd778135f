// Network whitelist: entry syntax (SPEC §7 and the original README's examples), lists, and
// which records an entry hides.

import { describe, expect, it } from 'vitest';
import { NetlogError } from '../../src/errors.js';
import type { EventRecord, NetInfo } from '../../src/record/types.js';
import { fileId, formatIPv6, matchNet, parseIPv6, parseNetEntry, parseNetList } from '../../src/whitelist/net.js';

function rec(event: EventRecord['event'], net: NetInfo, exe = '/usr/sbin/sshd'): EventRecord {
  return {
    v: 1,
    seq: 1,
    ts: '2026-01-01T00:00:00.000000Z',
    event,
    proc: {
      pid: 10, tid: 10, ppid: 1, sid: 10, pgid: 10, tty: null, uid: 1000, gid: 1000, euid: 1000, egid: 1000,
      auid: 1000, ses: 1, exe, comm: 'x', ...(fileId(exe) !== undefined && { exe_id: fileId(exe) }),
    },
    net,
  };
}

const tcp4 = (local: [string, number], remote?: [string, number], accepted?: boolean): NetInfo => ({
  proto: 'tcp',
  family: 'ipv4',
  local: { ip: local[0], port: local[1] },
  ...(remote && { remote: { ip: remote[0], port: remote[1] } }),
  ...(accepted !== undefined && { accepted }),
});
const tcp6 = (local: [string, number], remote?: [string, number], accepted?: boolean): NetInfo => ({
  ...tcp4(local, remote, accepted),
  family: 'ipv6',
});
const udp4 = (local: [string, number], remote?: [string, number]): NetInfo => ({ ...tcp4(local, remote), proto: 'udp' });

describe('parseNetEntry accepts', () => {
  it.each([
    // the original README's examples
    ['/usr/sbin/sshd|i<127.0.0.1>|p<22>', '/usr/sbin/sshd|i<127.0.0.1>|p<22>'],
    ['/usr/sbin/sshd|i<127.0.0.1>', '/usr/sbin/sshd|i<127.0.0.1>'],
    ['/usr/sbin/sshd|p<22>', '/usr/sbin/sshd|p<22>'],
    ['/usr/sbin/sshd', '/usr/sbin/sshd'],
    ['/usr/bin/ssh|i<127.0.0.1>|p<22>', '/usr/bin/ssh|i<127.0.0.1>|p<22>'],
    ['/usr/bin/curl|i<::1>', '/usr/bin/curl|i<::1>'],
    // without < >, fields in either order
    ['/usr/sbin/sshd|i127.0.0.1|p22', '/usr/sbin/sshd|i<127.0.0.1>|p<22>'],
    ['/usr/sbin/sshd|p<22>|i<127.0.0.1>', '/usr/sbin/sshd|i<127.0.0.1>|p<22>'],
    ['/usr/sbin/sshd|i<127.0.0.1>|p22', '/usr/sbin/sshd|i<127.0.0.1>|p<22>'],
    // IPv6 with and without brackets, normalised to RFC 5952
    ['/usr/bin/curl|i<[::1]>', '/usr/bin/curl|i<::1>'],
    ['/usr/bin/curl|i[::1]', '/usr/bin/curl|i<::1>'],
    ['/usr/bin/curl|i::1', '/usr/bin/curl|i<::1>'],
    ['/usr/bin/curl|i<0:0::1>', '/usr/bin/curl|i<::1>'],
    ['/usr/bin/curl|i<2001:DB8:0:0:0:0:0:5>', '/usr/bin/curl|i<2001:db8::5>'],
    ['/usr/bin/curl|i<::ffff:10.1.2.3>', '/usr/bin/curl|i<::ffff:10.1.2.3>'],
    // ports: decimal, hex, octal, range
    ['/x|p<1>', '/x|p<1>'],
    ['/x|p<65535>', '/x|p<65535>'],
    ['/x|p<0x16>', '/x|p<22>'],
    ['/x|p<0X16>', '/x|p<22>'],
    ['/x|p<026>', '/x|p<22>'],
    ['/x|p<8000-8100>', '/x|p<8000-8100>'],
    ['/x|p<22-22>', '/x|p<22>'],
    // CIDR edges
    ['/x|i<0.0.0.0/0>', '/x|i<0.0.0.0/0>'],
    ['/x|i<10.0.0.0/8>', '/x|i<10.0.0.0/8>'],
    ['/x|i<10.1.2.3/32>', '/x|i<10.1.2.3>'],
    ['/x|i<::/0>', '/x|i<::/0>'],
    ['/x|i<2001:db8::/32>', '/x|i<2001:db8::/32>'],
    ['/x|i<[2001:db8::]/32>', '/x|i<2001:db8::/32>'],
    ['/x|i<2001:db8::1/128>', '/x|i<2001:db8::1>'],
  ])('%s', (text, canonical) => {
    const entry = parseNetEntry(text);
    expect(entry.text).toBe(text);
    expect(entry.canonical).toBe(canonical);
    expect(parseNetEntry(canonical).canonical).toBe(canonical);
  });

  it('keeps the parts it read', () => {
    expect(parseNetEntry('/usr/sbin/sshd|i<10.0.0.0/8>|p<8000-8100>')).toMatchObject({
      path: '/usr/sbin/sshd',
      ip: { family: 'ipv4', address: '10.0.0.0', prefix: 8, prefix16: 104 },
      port: { lo: 8000, hi: 8100 },
    });
    // With the program's identity when it exists, none when it does not (such an entry hides nothing).
    expect(parseNetEntry('/usr/sbin/sshd')).toEqual({ text: '/usr/sbin/sshd', canonical: '/usr/sbin/sshd', path: '/usr/sbin/sshd', id: fileId('/usr/sbin/sshd') });
    expect(parseNetEntry('/nonexistent/prog').id).toBeUndefined();
  });
});

describe('parseNetEntry refuses', () => {
  it.each([
    ['', "whitelist entry '': the program path is empty (expected an absolute path such as /usr/sbin/sshd)"],
    ['|p<22>', "whitelist entry '|p<22>': the program path is empty"],
    ['sshd|p<22>', "whitelist entry 'sshd|p<22>': the program path 'sshd' is not absolute"],
    ['/usr/bin/../bin/ssh', "the program path '/usr/bin/../bin/ssh' is not a real path"],
    ['/usr//bin/ssh', 'is not a real path'],
    ['/usr/bin/', 'is not a real path'],
    ['/usr/bin/ssh|x<1>', "whitelist entry '/usr/bin/ssh|x<1>': unknown field 'x' (expected i<IP> or p<PORT>)"],
    ['/usr/bin/ssh|I<::1>', "unknown field 'I' (expected i<IP> or p<PORT>)"],
    ['/usr/bin/ssh|', "whitelist entry '/usr/bin/ssh|': empty field after '|'"],
    ['/usr/bin/ssh||p<22>', "empty field after '|'"],
    ['/usr/bin/ssh|p<0>', 'port 0 is out of range (expected 1..65535)'],
    ['/usr/bin/ssh|p<65536>', 'port 65536 is out of range (expected 1..65535)'],
    ['/usr/bin/ssh|p<0x10000>', 'port 0x10000 is out of range (expected 1..65535)'],
    ['/usr/bin/ssh|p<-1>', "is not a port number (expected 1..65535)"],
    ['/usr/bin/ssh|p<08>', "'08' is not a port number"],
    ['/usr/bin/ssh|p<22a>', "'22a' is not a port number"],
    ['/usr/bin/ssh|p< 22>', "' 22' is not a port number"],
    ['/usr/bin/ssh|p<>', "empty value in '<>'"],
    ['/usr/bin/ssh|p', "empty value in ''"],
    ['/usr/bin/ssh|p<8100-8000>', "port range '8100-8000' runs backwards"],
    ['/usr/bin/ssh|p<8000->', "'' is not a port number"],
    ['/usr/bin/ssh|p<22|i<::1>', "missing '>' in '<22'"],
    ['/usr/bin/ssh|p<22>x', "unexpected 'x' after '>'"],
    ['/usr/bin/ssh|p<22>>', "unexpected '>' after '>'"],
    ['/usr/bin/ssh|p22>', "stray '<' or '>' in '22>'"],
    ['/usr/bin/ssh|p<22>|p<23>', 'the port is given twice'],
    ['/usr/bin/ssh|i<::1>|i<::2>', 'the IP is given twice'],
    ['/usr/bin/ssh|i<999.1.1.1>', "'999.1.1.1' is not an IPv4 or IPv6 address"],
    ['/usr/bin/ssh|i<1.2.3>', "'1.2.3' is not an IPv4 or IPv6 address"],
    ['/usr/bin/ssh|i<01.2.3.4>', "'01.2.3.4' is not an IPv4 or IPv6 address"],
    ['/usr/bin/ssh|i<1.2.3.4.5>', 'is not an IPv4 or IPv6 address'],
    ['/usr/bin/ssh|i<localhost>', "'localhost' is not an IPv4 or IPv6 address"],
    ['/usr/bin/ssh|i<1::2::3>', 'is not an IPv4 or IPv6 address'],
    ['/usr/bin/ssh|i<1:2:3:4:5:6:7:8:9>', 'is not an IPv4 or IPv6 address'],
    ['/usr/bin/ssh|i<1:2:3:4:5:6:7::8>', 'is not an IPv4 or IPv6 address'],
    ['/usr/bin/ssh|i<12345::1>', 'is not an IPv4 or IPv6 address'],
    ['/usr/bin/ssh|i<fe80::1%eth0>', 'is not an IPv4 or IPv6 address'],
    ['/usr/bin/ssh|i<[1.2.3.4]>', "'[1.2.3.4]': brackets are for IPv6 addresses only"],
    ['/usr/bin/ssh|i<[::1>', "unbalanced '[' ']'"],
    ['/usr/bin/ssh|i<10.0.0.0/33>', "bad prefix length '/33' (expected /0../32 for IPv4)"],
    ['/usr/bin/ssh|i<::/129>', "bad prefix length '/129' (expected /0../128 for IPv6)"],
    ['/usr/bin/ssh|i<10.0.0.0/>', "bad prefix length '/'"],
    ['/usr/bin/ssh|i<10.0.0.0/08>', "bad prefix length '/08'"],
    ['/usr/bin/ssh|i<10.1.2.3/8>', "'10.1.2.3/8' has host bits set (did you mean 10.0.0.0/8?)"],
    ['/usr/bin/ssh|i<2001:db8::1/32>', "'2001:db8::1/32' has host bits set (did you mean 2001:db8::/32?)"],
  ])('%s', (text, message) => {
    let caught: unknown;
    try {
      parseNetEntry(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NetlogError);
    expect((caught as NetlogError).code).toBe('EWHITELIST');
    expect((caught as NetlogError).message).toContain(message);
  });
});

describe('parseNetList', () => {
  it.each([
    ['', []],
    ['   ', []],
    ['/usr/sbin/sshd', ['/usr/sbin/sshd']],
    ['/usr/sbin/sshd|p<22>,/usr/bin/curl|i<::1>', ['/usr/sbin/sshd|p<22>', '/usr/bin/curl|i<::1>']],
    ['/usr/sbin/sshd|p<22>, /usr/bin/curl|i<::1> ', ['/usr/sbin/sshd|p<22>', '/usr/bin/curl|i<::1>']],
  ])('%j', (text, canonicals) => {
    expect(parseNetList(text).map((e) => e.canonical)).toEqual(canonicals);
  });

  it.each([
    ['/a,', "whitelist '/a,': empty entry (a doubled, leading or trailing ',')"],
    [',/a', 'empty entry'],
    ['/a,,/b', 'empty entry'],
    ['/a, ,/b', 'empty entry'],
    ['/a|p<22>,/a|p<22>', "duplicate whitelist entry '/a|p<22>'"],
    ['/a|p<22>,/a|p<0x16>', "duplicate whitelist entry '/a|p<0x16>' (same as '/a|p<22>')"],
    ['/a|i<::1>,/a|i<[0:0::1]>', 'duplicate whitelist entry'],
    ['/a,/b|x<1>', "whitelist entry '/b|x<1>': unknown field 'x'"],
  ])('refuses %j', (text, message) => {
    expect(() => parseNetList(text)).toThrow(message);
  });
});

describe('IPv6 text', () => {
  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:102:304', '::ffff:1.2.3.4'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
  ])('%s is %s', (text, formatted) => {
    const bytes = parseIPv6(text);
    expect(bytes).toHaveLength(16);
    expect(formatIPv6(bytes ?? [])).toBe(formatted);
  });

  it.each(['', ':', ':::', '1:::2', '1.2.3.4::', '::1.2.3.4:1', 'g::1', '1:2:3:4:5:6:7', '::1:2:3:4:5:6:7:8'])(
    'refuses %j',
    (text) => {
      expect(parseIPv6(text)).toBeUndefined();
    },
  );
});

describe('matchNet', () => {
  type Row = [string, string, EventRecord, boolean];
  const connect = rec('connect', tcp4(['10.0.0.5', 48712], ['127.0.0.1', 22]), '/usr/bin/ssh');
  const rows: Row[] = [
    // path only: every record of that program
    ['path only, connect', '/usr/bin/ssh', connect, true],
    ['other program', '/usr/bin/scp', connect, false],
    ['path is exact, not a prefix', '/usr/bin/ss', connect, false],
    ['README: ip and port', '/usr/bin/ssh|i<127.0.0.1>|p<22>', connect, true],
    ['wrong ip', '/usr/bin/ssh|i<127.0.0.2>|p<22>', connect, false],
    ['wrong port', '/usr/bin/ssh|i<127.0.0.1>|p<23>', connect, false],
    ['local port is not the service port of a connect', '/usr/bin/ssh|p<48712>', connect, false],
    ['local ip is not the remote', '/usr/bin/ssh|i<10.0.0.5>', connect, false],
    ['port range', '/usr/bin/ssh|p<20-30>', connect, true],
    ['port range outside', '/usr/bin/ssh|p<23-30>', connect, false],
    ['CIDR /8', '/usr/bin/ssh|i<127.0.0.0/8>', connect, true],
    ['CIDR /0', '/usr/bin/ssh|i<0.0.0.0/0>', connect, true],
    ['CIDR other net', '/usr/bin/ssh|i<10.0.0.0/8>', connect, false],
    ['IPv6 entry, IPv4 record', '/usr/bin/ssh|i<::1>', connect, false],
    ['v4-mapped entry, IPv4 record', '/usr/bin/ssh|i<::ffff:127.0.0.1>', connect, true],
    // accept: service port is the local one, IP the peer's
    ['README: sshd port 22, accept', '/usr/sbin/sshd|p<22>', rec('accept', tcp4(['10.0.0.5', 22], ['10.0.0.9', 51234])), true],
    ['accept: remote port is not the service port', '/usr/sbin/sshd|p<51234>', rec('accept', tcp4(['10.0.0.5', 22], ['10.0.0.9', 51234])), false],
    ['accept: remote ip', '/usr/sbin/sshd|i<10.0.0.9>|p<22>', rec('accept', tcp4(['10.0.0.5', 22], ['10.0.0.9', 51234])), true],
    // close: accepted → local port, otherwise remote port; no peer → local port
    ['close of accepted socket, local port', '/usr/sbin/sshd|p<22>', rec('close', tcp4(['10.0.0.5', 22], ['10.0.0.9', 51234], true)), true],
    ['close of accepted socket, not remote port', '/usr/sbin/sshd|p<51234>', rec('close', tcp4(['10.0.0.5', 22], ['10.0.0.9', 51234], true)), false],
    ['close of connected socket, remote port', '/usr/sbin/sshd|p<443>', rec('close', tcp4(['10.0.0.5', 40000], ['10.0.0.9', 443], false)), true],
    ['close of connected socket, not local port', '/usr/sbin/sshd|p<40000>', rec('close', tcp4(['10.0.0.5', 40000], ['10.0.0.9', 443])), false],
    ['UDP close without peer, local port', '/usr/sbin/sshd|p<123>', rec('close', udp4(['0.0.0.0', 123])), true],
    ['UDP close without peer never matches an IP', '/usr/sbin/sshd|i<0.0.0.0/0>', rec('close', udp4(['0.0.0.0', 123])), false],
    // bind: local port; no remote, so any i<> fails
    ['bind, port', '/usr/sbin/sshd|p<123>', rec('bind', udp4(['0.0.0.0', 123]), '/usr/sbin/sshd'), true],
    ['bind, path only', '/usr/sbin/sshd', rec('bind', udp4(['0.0.0.0', 123]), '/usr/sbin/sshd'), true],
    ['bind with an IP entry', '/usr/sbin/sshd|i<0.0.0.0>', rec('bind', udp4(['0.0.0.0', 123]), '/usr/sbin/sshd'), false],
    ['bind with ::/0', '/usr/sbin/sshd|i<::/0>', rec('bind', udp4(['0.0.0.0', 123]), '/usr/sbin/sshd'), false],
    // IPv6, compared as bytes
    ['README: curl ::1', '/usr/bin/curl|i<::1>', rec('connect', tcp6(['::1', 50000], ['::1', 80]), '/usr/bin/curl'), true],
    ['::1 written long', '/usr/bin/curl|i<0:0::1>', rec('connect', tcp6(['::1', 50000], ['::1', 80]), '/usr/bin/curl'), true],
    ['record written long', '/usr/bin/curl|i<::1>', rec('connect', tcp6(['::1', 50000], ['0:0:0:0:0:0:0:1', 80]), '/usr/bin/curl'), true],
    ['IPv6 CIDR', '/usr/bin/curl|i<2001:db8::/32>', rec('connect', tcp6(['2001:db8::5', 48712], ['2001:db8:1::1', 443]), '/usr/bin/curl'), true],
    ['IPv6 CIDR outside', '/usr/bin/curl|i<2001:db8::/32>', rec('connect', tcp6(['2001:db8::5', 48712], ['2001:db9::1', 443]), '/usr/bin/curl'), false],
    ['IPv6 /128 vs neighbour', '/usr/bin/curl|i<2001:db8::1/128>', rec('connect', tcp6(['::1', 1], ['2001:db8::2', 443]), '/usr/bin/curl'), false],
    ['IPv4 entry, v4-mapped record', '/usr/bin/curl|i<93.184.216.34>', rec('connect', tcp6(['::ffff:10.0.0.5', 1], ['::ffff:93.184.216.34', 80]), '/usr/bin/curl'), true],
    ['IPv4 CIDR, v4-mapped record', '/usr/bin/curl|i<93.184.0.0/16>', rec('connect', tcp6(['::ffff:10.0.0.5', 1], ['::ffff:93.184.216.34', 80]), '/usr/bin/curl'), true],
    ['IPv4 CIDR /0 does not cover native IPv6', '/usr/bin/curl|i<0.0.0.0/0>', rec('connect', tcp6(['::1', 1], ['2001:db8::1', 80]), '/usr/bin/curl'), false],
    ['::/0 covers IPv4 too', '/usr/bin/curl|i<::/0>', rec('connect', tcp4(['10.0.0.5', 1], ['1.1.1.1', 80]), '/usr/bin/curl'), true],
    // only network records
    ['exec record', '/usr/bin/ssh', { ...connect, event: 'exec', net: undefined } as EventRecord, false],
    ['exec event with net info', '/usr/bin/ssh', { ...connect, event: 'exec' }, false],
  ];

  it.each(rows)('%s: %s', (_, entry, record, expected) => {
    expect(matchNet([parseNetEntry(entry)], record)).toBe(expected);
  });

  it('hides by identity too: the same path running another file (a mount over it) is not hidden', () => {
    const other = { ...connect, proc: { ...connect.proc, exe_id: '1:2' } };
    expect(matchNet([parseNetEntry('/usr/bin/ssh')], other)).toBe(false);
    const unknown = { ...connect, proc: { ...connect.proc, exe_id: undefined } };
    expect(matchNet([parseNetEntry('/usr/bin/ssh')], unknown)).toBe(false);
  });

  it('matches when any entry does, and never with an empty list', () => {
    const entries = parseNetList('/usr/bin/scp,/usr/bin/ssh|p<22>');
    expect(matchNet(entries, connect)).toBe(true);
    expect(matchNet([], connect)).toBe(false);
  });
});
