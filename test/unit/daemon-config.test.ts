// netlogd's config (src/daemon/config.ts): login_shell, login_shell.USER and
// socket beside the shared keys, with errors naming file and line; and the
// SSH_CONNECTION parsing of the session start record.
import { describe, expect, it } from 'vitest';
import { parseDaemonConfig, shellFor, DEFAULT_OUTPUT, DEFAULT_SOCKET } from '../../src/daemon/config.js';
import { sshClient } from '../../src/daemon/records.js';

const FILE = '/etc/netlog/netlogd.conf';

describe('parseDaemonConfig', () => {
  it('has defaults for everything', () => {
    const dc = parseDaemonConfig('', FILE);
    expect(dc).toMatchObject({ loginShell: '/bin/bash', socket: DEFAULT_SOCKET, output: DEFAULT_OUTPUT });
    expect(dc.loginShells.size).toBe(0);
  });

  it('reads login_shell, per-user overrides and socket beside the shared keys', () => {
    const dc = parseDaemonConfig(
      [
        '# netlogd',
        'login_shell = /bin/zsh   # everyone',
        'login_shell.alice = "/usr/bin/fish"',
        'login_shell.bob.smith = /bin/sh',
        'socket = /run/nl/test.sock',
        'whitelist = /usr/sbin/sshd|p<22>',
        'output = /var/log/x.jsonl',
        'options execlog argv_max_size=200',
      ].join('\n'),
      FILE,
    );
    expect(dc.loginShell).toBe('/bin/zsh');
    expect(shellFor(dc, 'alice')).toBe('/usr/bin/fish');
    expect(shellFor(dc, 'bob.smith')).toBe('/bin/sh');
    expect(shellFor(dc, 'carol')).toBe('/bin/zsh');
    expect(shellFor(dc, undefined)).toBe('/bin/zsh');
    expect(dc.socket).toBe('/run/nl/test.sock');
    expect(dc.output).toBe('/var/log/x.jsonl');
    expect(dc.config.argvMaxSize).toBe(200);
    expect(dc.config.whitelist).toHaveLength(1);
  });

  it.each([
    ['login_shell = bash', `${FILE}:1: login_shell: 'bash' is not an absolute path`],
    ['login_shell = /bin/sh\nlogin_shell = /bin/zsh', `${FILE}:2: key 'login_shell' is already set`],
    ['login_shell.al = /bin/sh\nlogin_shell.al = /bin/zsh', `${FILE}:2: key 'login_shell.al' is already set`],
    [`socket = /${'x'.repeat(120)}`, `${FILE}:1: socket: path longer than 107 bytes`],
    ['# ok\nlogin_shel = /bin/sh', `${FILE}:2: unknown key 'login_shel'`],
    ['format = text', `${FILE}: format: netlogd writes 'json' or 'seed' (text is for terminals)`],
  ])('refuses %j', (text, message) => {
    expect(() => parseDaemonConfig(text, FILE)).toThrow(message);
  });
});

describe('sshClient', () => {
  it.each([
    ['192.0.2.7 50122 10.0.0.5 22', { ip: '192.0.2.7', port: 50122 }],
    ['::1 40000 ::1 22', { ip: '::1', port: 40000 }],
    [null, null],
    ['', null],
    ['garbage', null],
    ['1.2.3.4 99999 5.6.7.8 22', null],
  ])('%j', (value, expected) => {
    expect(sshClient(value)).toEqual(expected);
  });
});
