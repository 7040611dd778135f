// Seed format: literal lines as the original secure_log printed them, for every kind of record.

import { describe, expect, it } from 'vitest';
import { formatSeed, shortTty } from '../../src/record/seed.js';
import type { EventRecord, ExecInfo, NetInfo, ProcInfo } from '../../src/record/types.js';

const proc: ProcInfo = {
  pid: 4242, tid: 4243, ppid: 4100, sid: 4100, pgid: 4242, tty: 'pts/0', uid: 1000, gid: 1001, euid: 1002,
  egid: 1003, auid: 1000, ses: 3, exe: '/usr/bin/curl', comm: 'curl',
};

function netRec(event: EventRecord['event'], net: NetInfo, exe = '/usr/bin/curl'): EventRecord {
  return { v: 1, seq: 1, ts: '2026-11-25T06:10:00.123456Z', boot: [1234, 567890], event, proc: { ...proc, exe }, net };
}

function execRec(exec: Partial<ExecInfo>, p: Partial<ProcInfo> = {}): EventRecord {
  return {
    v: 1, seq: 2, ts: '2026-11-25T06:10:00.123456Z', boot: [1234, 567890], event: 'exec', proc: { ...proc, ...p },
    exec: { file: '/usr/bin/ls', path: '/bin/ls', argv: ['ls', '-l', '/tmp'], cwd: '/home/u', argv_truncated: false, ...exec },
  };
}

const ids = 'p:4243 s:4100 pp:4100 u:1000 g:1001 eu:1002 eg:1003 t:pts0';
const NET = `<6>1 - - netlog - - - [ 1234.567890]: ${ids}`;
const EXEC = `<6>1 - - execlog - - - [ 1234.567890]: ${ids}`;

describe('formatSeed', () => {
  it.each<[string, EventRecord, boolean, string]>([
    [
      'TCP connect, IPv4',
      netRec('connect', { proto: 'tcp', family: 'ipv4', local: { ip: '10.0.0.5', port: 48712 }, remote: { ip: '93.184.216.34', port: 80 } }),
      false,
      `${NET} /usr/bin/curl TCP 10.0.0.5:48712 -> 93.184.216.34:80`,
    ],
    [
      'TCP accept, IPv4',
      netRec('accept', { proto: 'tcp', family: 'ipv4', local: { ip: '10.0.0.5', port: 22 }, remote: { ip: '10.0.0.9', port: 51234 } }, '/usr/sbin/sshd'),
      false,
      `${NET} /usr/sbin/sshd TCP 10.0.0.5:22 <- 10.0.0.9:51234`,
    ],
    [
      'TCP close, IPv6',
      netRec('close', { proto: 'tcp', family: 'ipv6', local: { ip: '2001:db8::5', port: 48712 }, remote: { ip: '2001:db8::1', port: 443 } }),
      false,
      `${NET} /usr/bin/curl TCP [2001:db8::5]:48712 <!> [2001:db8::1]:443`,
    ],
    [
      'UDP bind, IPv4 (trailing space, no remote)',
      netRec('bind', { proto: 'udp', family: 'ipv4', local: { ip: '0.0.0.0', port: 123 } }, '/usr/sbin/chronyd'),
      false,
      `${NET} /usr/sbin/chronyd UDP 0.0.0.0:123 BIND `,
    ],
    [
      'TCP bind (extension)',
      netRec('bind', { proto: 'tcp', family: 'ipv6', local: { ip: '::', port: 8080 } }, '/usr/bin/python3'),
      false,
      `${NET} /usr/bin/python3 TCP [::]:8080 BIND `,
    ],
    [
      'UDP connect, v4-mapped on an IPv6 socket',
      netRec('connect', { proto: 'udp', family: 'ipv6', local: { ip: '::ffff:10.0.0.5', port: 5353 }, remote: { ip: '::ffff:10.0.0.1', port: 53 } }),
      false,
      `${NET} /usr/bin/curl UDP [::ffff:10.0.0.5]:5353 -> [::ffff:10.0.0.1]:53`,
    ],
    [
      'UDP close without peer prints the zero address',
      netRec('close', { proto: 'udp', family: 'ipv4', local: { ip: '0.0.0.0', port: 68 } }, '/usr/sbin/dhclient'),
      false,
      `${NET} /usr/sbin/dhclient UDP 0.0.0.0:68 <!> 0.0.0.0:0`,
    ],
    [
      'UDP close without peer, IPv6',
      netRec('close', { proto: 'udp', family: 'ipv6', local: { ip: '::', port: 546 } }, '/usr/sbin/dhclient'),
      false,
      `${NET} /usr/sbin/dhclient UDP [::]:546 <!> [::]:0`,
    ],
    [
      'simple_format, network',
      netRec('connect', { proto: 'tcp', family: 'ipv4', local: { ip: '10.0.0.5', port: 48712 }, remote: { ip: '93.184.216.34', port: 80 } }),
      true,
      `netlog [ 1234.567890]: ${ids} /usr/bin/curl TCP 10.0.0.5:48712 -> 93.184.216.34:80`,
    ],
    ['exec', execRec({}), false, `${EXEC} /usr/bin/ls ls -l /tmp `],
    ['exec, simple_format', execRec({}), true, `execlog [ 1234.567890]: ${ids} /usr/bin/ls ls -l /tmp `],
    ['exec, argv cut at argv_max_size ends with $', execRec({ argv: ['ls', '-l', '/tm'], argv_truncated: true }), false, `${EXEC} /usr/bin/ls ls -l /tm$`],
    ['exec, CR and LF become spaces', execRec({ file: '/usr/bin/echo', argv: ['echo', 'a\nb', 'c\r\nd'] }), false, `${EXEC} /usr/bin/echo echo a b c  d `],
    ['exec, empty argv', execRec({ argv: [] }), false, `${EXEC} /usr/bin/ls `],
    ['exec, empty argument', execRec({ argv: ['ls', ''] }), false, `${EXEC} /usr/bin/ls ls  `],
    [
      'exec without a tty, root',
      execRec({ file: '/usr/bin/id', argv: ['id'] }, { tty: null, uid: 0, gid: 0, euid: 0, egid: 0, tid: 7, sid: 7, ppid: 1 }),
      false,
      '<6>1 - - execlog - - - [ 1234.567890]: p:7 s:7 pp:1 u:0 g:0 eu:0 eg:0 t:NULL /usr/bin/id id ',
    ],
  ])('%s', (_, record, simpleFormat, line) => {
    expect(formatSeed(record, { simpleFormat })).toBe(line);
  });

  it.each<[[number, number], string]>([
    [[0, 0], '[    0.000000]'],
    [[5, 42], '[    5.000042]'],
    [[12345, 999999], '[12345.999999]'],
    [[123456, 1], '[123456.000001]'],
  ])('timestamp %j is %s (%%5lu.%%06lu)', (boot, stamp) => {
    const line = formatSeed({ ...execRec({}), boot }, { simpleFormat: true });
    expect(line).toBe(`execlog ${stamp}: ${ids} /usr/bin/ls ls -l /tmp `);
  });

  // A name chosen by the audited user must not forge a line or drive the terminal of whoever
  // reads the log: CR/LF become spaces (the original's rule for argv), other controls '?'.
  it('an exec file, argv and a program path with newlines or controls stay on one line', () => {
    const forged = '/tmp/x\n<6>1 - - execlog - - - [    1.000000]: p:1 s:1 pp:1 u:0 g:0 eu:0 eg:0 t:NULL /bin/fake';
    const exec = formatSeed(execRec({ file: forged, argv: ['a\r\nb', 'c\u009b31m\u202ed\x1b\te\x00'] }), { simpleFormat: true });
    expect(exec).toBe(`execlog [ 1234.567890]: ${ids} /tmp/x <6>1 - - execlog - - - [    1.000000]: p:1 s:1 pp:1 u:0 g:0 eu:0 eg:0 t:NULL /bin/fake a  b c?31m?d??e? `);
    const net = formatSeed(
      netRec('connect', { proto: 'tcp', family: 'ipv4', local: { ip: '10.0.0.5', port: 1 }, remote: { ip: '10.0.0.6', port: 2 } }, '/opt/a\nb\u2028c'),
      { simpleFormat: true },
    );
    expect(net).toBe(`netlog [ 1234.567890]: ${ids} /opt/a b?c TCP 10.0.0.5:1 -> 10.0.0.6:2`);
    const bind = formatSeed(netRec('bind', { proto: 'udp', family: 'ipv4', local: { ip: '0.0.0.0', port: 123 } }, '/opt/\u202ex'), { simpleFormat: true });
    expect(bind).toBe(`netlog [ 1234.567890]: ${ids} /opt/?x UDP 0.0.0.0:123 BIND `);
  });

  it('prints ids as the kernel printed them with %d', () => {
    const line = formatSeed(execRec({}, { uid: 4294967295, euid: 65534 }), { simpleFormat: true });
    expect(line).toContain(' u:-1 g:1001 eu:65534 ');
  });
});

describe('shortTty', () => {
  it.each<[string | null, string]>([
    ['pts/0', 'pts0'],
    ['pts/17', 'pts17'],
    ['/dev/pts/3', 'pts3'],
    ['tty1', 'tty1'],
    ['ttyS0', 'ttyS0'],
    ['/dev/tty2', 'tty2'],
    ['console', 'console'],
    [null, 'NULL'],
  ])('%j is %s', (tty, short) => {
    expect(shortTty(tty)).toBe(short);
  });
});
