// Config files (SPEC §6): `key = value` and modprobe.d lines, error messages naming file,
// line and key, command-line values, and merging layers into the effective config.

import { describe, expect, it } from 'vitest';
import { parseCliValue, parseConfig, resolveConfig } from '../../src/config/parse.js';
import type { ConfigLayer } from '../../src/config/keys.js';
import { ConfigError } from '../../src/errors.js';

const FILE = '/etc/netlog.conf';

/** The layer with whitelist entries shown by their normalised text, for readable expectations. */
function summary(layer: ConfigLayer): Record<string, unknown> {
  const { whitelist, execWhitelist, ...rest } = layer;
  return {
    ...rest,
    ...(whitelist && { whitelist: whitelist.map((e) => e.canonical) }),
    ...(execWhitelist && { execWhitelist: execWhitelist.map((e) => e.canonical) }),
  };
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('parseConfig reads', () => {
  it.each<[string, string, Record<string, unknown>]>([
    ['an empty file', '', {}],
    ['comments and blank lines', '# netlog\n\n   # indented comment\n\t\n', {}],
    ['key = value', 'probes = 3f', { probes: 0x3f }],
    ['key=value without spaces', 'probes=0x3', { probes: 3 }],
    ['probes is hex without 0x', 'probes=63', { probes: 0x63 }],
    ['probes 0xffffffff', 'probes = 0xffffffff', { probes: 0xffffffff }],
    ['probes 0', 'probes = 0', { probes: 0 }],
    ['a trailing comment', 'argv_max_size = 4096   # bytes', { argvMaxSize: 4096 }],
    ['a # inside a value stays', 'output = /var/log/net#log', { output: '/var/log/net#log' }],
    ['a byte-order mark', '\uFEFFformat = json', { format: 'json' }],
    ['CRLF line ends', 'simple_format = 1\r\nformat = seed\r\n', { simpleFormat: true, format: 'seed' }],
    ['a quoted value keeps its blanks', 'exec_whitelist = "/usr/bin/ls|ls -l "', { execWhitelist: ['/usr/bin/ls|ls -l '] }],
    ['a quoted # is no comment', 'exec_whitelist = "/usr/bin/echo|echo #1"', { execWhitelist: ['/usr/bin/echo|echo #1'] }],
    ['a backslash continues a line', 'whitelist = /usr/sbin/sshd|p<22>,\\\n  /usr/bin/curl|i<::1>', { whitelist: ['/usr/sbin/sshd|p<22>', '/usr/bin/curl|i<::1>'] }],
    ['every probe switch', 'probe_tcp_connect=0\nprobe_tcp_accept=1\nprobe_tcp_close=n\nprobe_udp_connect=y\nprobe_udp_bind=off\nprobe_udp_close=on\nprobe_tcp_bind=1',
      { probeTcpConnect: false, probeTcpAccept: true, probeTcpClose: false, probeUdpConnect: true, probeUdpBind: false, probeUdpClose: true, probeTcpBind: true }],
    ['argv_max_size bounds', 'argv_max_size = 100', { argvMaxSize: 100 }],
    ['argv_max_size upper bound', 'argv_max_size = 39936', { argvMaxSize: 39936 }],
    ['whitelist_include_root', 'whitelist_include_root = 1', { whitelistIncludeRoot: true }],
    ['output, format, syslog', 'output = /var/log/netlog.jsonl\nformat = json\nsyslog = 1\nsyslog_facility = local3',
      { output: '/var/log/netlog.jsonl', format: 'json', syslog: '/dev/log', syslogFacility: 19 }],
    ['syslog to a socket path', 'syslog = /run/systemd/journal/syslog', { syslog: '/run/systemd/journal/syslog' }],
    ['syslog off', 'syslog = 0', { syslog: null }],
    ['an empty whitelist', 'whitelist =', { whitelist: [] }],
    ['whitelist lines add up', 'whitelist = /usr/sbin/sshd|p<22>\nwhitelist = /usr/bin/curl|i<::1>',
      { whitelist: ['/usr/sbin/sshd|p<22>', '/usr/bin/curl|i<::1>'] }],
    // modprobe.d lines of the original modules
    ['options netlog', 'options netlog probes=0x7 whitelist=/usr/sbin/sshd|i<127.0.0.1>|p<22>,/usr/bin/curl|i<::1>',
      { probes: 7, whitelist: ['/usr/sbin/sshd|i<127.0.0.1>|p<22>', '/usr/bin/curl|i<::1>'] }],
    ['options netlog with probe switches', 'options netlog probe_tcp_close=0 probe_udp_bind=0', { probeTcpClose: false, probeUdpBind: false }],
    ['options execlog: whitelist is the exec whitelist', 'options execlog whitelist=/usr/bin/id,"/usr/bin/ls|ls -l" whitelist_include_root=1 argv_max_size=2048',
      { execWhitelist: ['/usr/bin/id', '/usr/bin/ls|ls -l'], whitelistIncludeRoot: true, argvMaxSize: 2048 }],
    ['options with a quoted value', 'options execlog whitelist="/usr/bin/ls|ls -l /tmp"', { execWhitelist: ['/usr/bin/ls|ls -l /tmp'] }],
    ['options secure_log', 'options secure_log simple_format=1 send_eof=1', { simpleFormat: true }],
    ['options for another module', 'options e1000e InterruptThrottleRate=3000', {}],
    ['other modprobe.d commands', 'install netlog /sbin/modprobe --ignore-install netlog\nalias net-pf-10 off\nblacklist pcspkr\nremove netlog /bin/true\nsoftdep netlog pre: secure_log', {}],
    ['both syntaxes in one file', 'options netlog whitelist=/usr/sbin/sshd\nwhitelist = /usr/bin/curl\nformat = seed',
      { whitelist: ['/usr/sbin/sshd', '/usr/bin/curl'], format: 'seed' }],
  ])('%s', (_, text, expected) => {
    expect(summary(parseConfig(text, FILE))).toEqual(expected);
  });

  it('sets only the keys the file sets', () => {
    expect(Object.keys(parseConfig('format = seed\n', FILE))).toEqual(['format']);
  });
});

describe('parseConfig refuses', () => {
  it.each<[string, string, number, string | undefined]>([
    ['whitlist = /usr/sbin/sshd', "/etc/netlog.conf:1: unknown key 'whitlist' (did you mean 'whitelist'?)", 1, 'whitlist'],
    ['\n\nprobes = 3\nprobe_tcp_conect = 0', "/etc/netlog.conf:4: unknown key 'probe_tcp_conect' (did you mean 'probe_tcp_connect'?)", 4, 'probe_tcp_conect'],
    ['Format = json', "/etc/netlog.conf:1: unknown key 'Format' (did you mean 'format'?)", 1, 'Format'],
    ['fromat = json', "/etc/netlog.conf:1: unknown key 'fromat' (did you mean 'format'?)", 1, 'fromat'],
    ['colour = yes', "/etc/netlog.conf:1: unknown key 'colour'", 1, 'colour'],
    ['probes', "/etc/netlog.conf:1: expected 'key = value', got 'probes'", 1, undefined],
    ['= 3', "/etc/netlog.conf:1: unknown key ''", 1, ''],
    ['probes = 1g', "/etc/netlog.conf:1: key 'probes': '1g' is not a hex mask (expected 0..0xffffffff", 1, 'probes'],
    ['probes = 0x100000000', "key 'probes': '0x100000000' is not a hex mask", 1, 'probes'],
    ['probes = -1', "key 'probes': '-1' is not a hex mask", 1, 'probes'],
    ['probes =', "key 'probes': '' is not a hex mask", 1, 'probes'],
    ['probe_tcp_connect = 2', "/etc/netlog.conf:1: key 'probe_tcp_connect': '2' is not 0 or 1", 1, 'probe_tcp_connect'],
    ['argv_max_size = 99', "/etc/netlog.conf:1: key 'argv_max_size': 99 is out of range (expected 100..39936 bytes)", 1, 'argv_max_size'],
    ['argv_max_size = 39937', 'key \'argv_max_size\': 39937 is out of range (expected 100..39936 bytes)', 1, 'argv_max_size'],
    ['argv_max_size = 4k', "key 'argv_max_size': '4k' is not a number (expected 100..39936 bytes)", 1, 'argv_max_size'],
    ['format = xml', "key 'format': 'xml' is not a format (expected text, json or seed)", 1, 'format'],
    ['output = netlog.log', "key 'output': 'netlog.log' is not an absolute path", 1, 'output'],
    ['output =', "key 'output': the path is empty", 1, 'output'],
    ['syslog = yes', "key 'syslog': 'yes' is neither 0, 1 nor an absolute socket path", 1, 'syslog'],
    ['syslog_facility = local8', "key 'syslog_facility': 'local8' is not a syslog facility (expected one of kern, user,", 1, 'syslog_facility'],
    ['# x\n\n\n\n\n\nwhitelist = /usr/bin/ssh|x<1>', "/etc/netlog.conf:7: whitelist entry '/usr/bin/ssh|x<1>': unknown field 'x' (expected i<IP> or p<PORT>)", 7, 'whitelist'],
    ['whitelist = ,/usr/bin/ssh', "/etc/netlog.conf:1: whitelist ',/usr/bin/ssh': empty entry", 1, 'whitelist'],
    ['whitelist = /usr/bin/ssh,', 'empty entry', 1, 'whitelist'],
    ['whitelist = /a|p<0>', "whitelist entry '/a|p<0>': port 0 is out of range (expected 1..65535)", 1, 'whitelist'],
    ['whitelist = /a,/a', "/etc/netlog.conf:1: duplicate whitelist entry '/a'", 1, 'whitelist'],
    ['whitelist = /a|p<22>\nwhitelist = /b,/a|p<0x16>', "/etc/netlog.conf:2: duplicate whitelist entry '/a|p<0x16>' (same as '/a|p<22>') (already on line 1)", 2, 'whitelist'],
    ['exec_whitelist = /usr/bin/id\noptions execlog whitelist=/usr/bin/id', "/etc/netlog.conf:2: duplicate exec whitelist entry '/usr/bin/id' (already on line 1)", 2, 'whitelist'],
    ['exec_whitelist = usr/bin/id', "exec whitelist entry 'usr/bin/id': the program path 'usr/bin/id' is not absolute", 1, 'exec_whitelist'],
    ['probes = 3\nformat = seed\nprobes = 7', "/etc/netlog.conf:3: key 'probes' is already set on line 1", 3, 'probes'],
    ['options netlog probes=3\nprobes = 7', "/etc/netlog.conf:2: key 'probes' is already set on line 1", 2, 'probes'],
    ['options netlog argv_max_size=4096', "/etc/netlog.conf:1: options netlog: unknown key 'argv_max_size' (it belongs to 'options execlog')", 1, 'argv_max_size'],
    ['options execlog probes=3', "options execlog: unknown key 'probes' (it belongs to 'options netlog')", 1, 'probes'],
    ['options netlog whitlist=/a', "options netlog: unknown key 'whitlist' (did you mean 'whitelist'?)", 1, 'whitlist'],
    ['options netlog output=/x', "options netlog: unknown key 'output'", 1, 'output'],
    ['options netlog probes', "/etc/netlog.conf:1: options netlog: expected key=value, got 'probes'", 1, undefined],
    ['options netlog probes=zz', "/etc/netlog.conf:1: key 'probes': 'zz' is not a hex mask", 1, 'probes'],
    ['options execlog whitelist="/usr/bin/ls', '/etc/netlog.conf:1: unterminated \'"\'', 1, undefined],
    ['exec_whitelist = "/usr/bin/ls|ls', '/etc/netlog.conf:1: unterminated \'"\'', 1, undefined],
    ['exec_whitelist = "/usr/bin/ls"x', 'a value that starts with \'"\' must end with \'"\'', 1, 'exec_whitelist'],
    ['whitelist = /a|p<22>,\\\n/b|x<1>\nformat = seed', "/etc/netlog.conf:1: whitelist entry '/b|x<1>'", 1, 'whitelist'],
  ])('%j', (text, message, line, key) => {
    const err = configError(() => parseConfig(text, FILE));
    expect(err.message).toContain(message);
    expect(err.message.startsWith(`${FILE}:${line}: `)).toBe(true);
    expect(err.code).toBe('ECONFIG');
    expect(err.file).toBe(FILE);
    expect(err.line).toBe(line);
    expect(err.key).toBe(key);
  });
});

describe('parseCliValue', () => {
  it.each<[string, string, Record<string, unknown>]>([
    ['probes', '3f', { probes: 0x3f }],
    ['whitelist', '/usr/sbin/sshd|i<127.0.0.1>|p<22>', { whitelist: ['/usr/sbin/sshd|i<127.0.0.1>|p<22>'] }],
    ['whitelist', '/usr/sbin/sshd|p<22>,/usr/bin/curl', { whitelist: ['/usr/sbin/sshd|p<22>', '/usr/bin/curl'] }],
    ['exec_whitelist', '/usr/bin/printf|printf a,b', { execWhitelist: ['/usr/bin/printf|printf a,b'] }],
    ['output', 'netlog.jsonl', { output: 'netlog.jsonl' }],
    ['format', 'text', { format: 'text' }],
    ['syslog', '/dev/log', { syslog: '/dev/log' }],
  ])('%s %s', (key, value, expected) => {
    expect(summary(parseCliValue(key, value, `--${key.replace('_', '-')}`))).toEqual(expected);
  });

  it.each<[string, string, string, string]>([
    ['whitelist', '/usr/bin/ssh|x<1>', '--whitelist', "--whitelist: whitelist entry '/usr/bin/ssh|x<1>': unknown field 'x' (expected i<IP> or p<PORT>)"],
    ['whitelist', '/a,/b,', '--whitelist', "--whitelist: whitelist '/a,/b,': empty entry"],
    ['whitelist', '/a,/a', '--whitelist', "--whitelist: duplicate whitelist entry '/a'"],
    ['probes', 'all', '--probes', "--probes: 'all' is not a hex mask (expected 0..0xffffffff"],
    ['format', 'xml', '-f', "-f: 'xml' is not a format (expected text, json or seed)"],
    ['exec_whitelist', 'id', '--exec-whitelist', "--exec-whitelist: exec whitelist entry 'id': the program path 'id' is not absolute"],
    ['whitlist', '/a', '--whitlist', "--whitlist: unknown key 'whitlist' (did you mean 'whitelist'?)"],
  ])('refuses %s %s', (key, value, origin, message) => {
    const err = configError(() => parseCliValue(key, value, origin));
    expect(err.message).toContain(message);
    expect(err.file).toBeUndefined();
  });
});

describe('resolveConfig', () => {
  it('gives the defaults for no layers', () => {
    const config = resolveConfig([]);
    expect(config).toMatchObject({
      probes: 0x3f,
      probeTcpBind: false,
      whitelist: [],
      execWhitelist: [],
      whitelistIncludeRoot: false,
      argvMaxSize: 39936,
      simpleFormat: false,
      syslogFacility: 10,
    });
    expect(config.output).toBeUndefined();
    expect(config.format).toBeUndefined();
    expect(config.syslog).toBeUndefined();
    expect(config.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each<[string, string, number]>([
    ['default', '', 0x3f],
    ['probes masks to 6 bits', 'probes = 0xffffffff', 0x3f],
    ['probes=63 is 0x63', 'probes = 63', 0x23],
    ['probes = 0', 'probes = 0', 0],
    ['tcp_connect only', 'probes = 1', 0x1],
    ['probe_tcp_connect=0', 'probe_tcp_connect = 0', 0x3e],
    ['probe_tcp_accept=0', 'probe_tcp_accept = 0', 0x3d],
    ['probe_tcp_close=0', 'probe_tcp_close = 0', 0x3b],
    ['probe_udp_connect=0', 'probe_udp_connect = 0', 0x37],
    ['probe_udp_bind=0', 'probe_udp_bind = 0', 0x2f],
    ['probe_udp_close=0', 'probe_udp_close = 0', 0x1f],
    ['a switch cannot turn on a probe the mask left off', 'probes = 0x1\nprobe_tcp_accept = 1', 0x1],
    ['mask AND switches', 'probes = 0x7\nprobe_tcp_accept = 0', 0x5],
  ])('probes: %s', (_, text, probes) => {
    expect(resolveConfig([parseConfig(text, FILE)]).probes).toBe(probes);
  });

  it('lets a later layer override scalars and add whitelist entries once', () => {
    const file = parseConfig(
      'probes = 0x3\nformat = seed\nsyslog = 1\nwhitelist = /usr/sbin/sshd|p<22>\nexec_whitelist = /usr/bin/id',
      FILE,
    );
    const cli: ConfigLayer = {
      ...parseCliValue('probes', '0x1', '--probes'),
      ...parseCliValue('whitelist', '/usr/bin/curl|i<::1>', '--whitelist'),
      ...parseCliValue('format', 'json', '-f'),
    };
    const again = parseCliValue('whitelist', '/usr/sbin/sshd|p<0x16>', '--whitelist');
    const config = resolveConfig([file, cli, again, parseCliValue('syslog', '0', '--syslog')]);
    expect(config.probes).toBe(0x1);
    expect(config.format).toBe('json');
    expect(config.syslog).toBeUndefined();
    expect(config.whitelist.map((e) => e.canonical)).toEqual(['/usr/sbin/sshd|p<22>', '/usr/bin/curl|i<::1>']);
    expect(config.execWhitelist.map((e) => e.canonical)).toEqual(['/usr/bin/id']);
  });

  it('digests the effective settings, not their spelling', () => {
    const digest = (text: string): string => resolveConfig([parseConfig(text, FILE)]).digest;
    expect(digest('whitelist = /a|p<22>')).toBe(digest('options netlog whitelist=/a|p<0x16>'));
    expect(digest('probes = ffffffff')).toBe(digest(''));
    expect(digest('probes = 3f # all')).toBe(digest('probes = 0x3f'));
    expect(digest('probes = 1')).not.toBe(digest(''));
    expect(digest('whitelist = /a')).not.toBe(digest('exec_whitelist = /a'));
    expect(digest('output = /var/log/a')).not.toBe(digest('output = /var/log/b'));
    expect(digest('simple_format = 1')).not.toBe(digest(''));
  });
});
