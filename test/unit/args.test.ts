// netlog-run's command line (SPEC §2): every option in its short, long and `--opt=value`
// spellings, COMMAND after `--`, and the errors that must stop netlog-run before COMMAND runs.

import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError, type CliArgs } from '../../src/cli/args.js';
import type { ConfigLayer } from '../../src/config/keys.js';
import { ConfigError, NetlogError } from '../../src/errors.js';

/** The parse result with whitelist entries shown by their normalised text, for readable expectations. */
function summary(args: CliArgs): Record<string, unknown> {
  const layer = (l: ConfigLayer): Record<string, unknown> => {
    const { whitelist, execWhitelist, ...rest } = l;
    return {
      ...rest,
      ...(whitelist && { whitelist: whitelist.map((e) => e.canonical) }),
      ...(execWhitelist && { execWhitelist: execWhitelist.map((e) => e.canonical) }),
    };
  };
  return { ...args, layers: args.layers.map(layer) };
}

const BASE = { layers: [], noExec: false, quiet: false, help: false, version: false, command: ['true'] };

describe('parseArgs accepts', () => {
  it.each<[string, string[], Record<string, unknown>]>([
    ['just COMMAND', ['--', 'true'], {}],
    ['COMMAND with its own arguments and options', ['--', 'ls', '-l', '--', '-o', 'x'], { command: ['ls', '-l', '--', '-o', 'x'] }],
    ['-o PATH', ['-o', '/tmp/l', '--', 'true'], { layers: [{ output: '/tmp/l' }] }],
    ['--output PATH', ['--output', '/tmp/l', '--', 'true'], { layers: [{ output: '/tmp/l' }] }],
    ['--output=PATH', ['--output=/tmp/l', '--', 'true'], { layers: [{ output: '/tmp/l' }] }],
    ['a relative -o PATH', ['-o', 'log.jsonl', '--', 'true'], { layers: [{ output: 'log.jsonl' }] }],
    ['--output=PATH with "=" in it', ['--output=/tmp/a=b', '--', 'true'], { layers: [{ output: '/tmp/a=b' }] }],
    ['-f text', ['-f', 'text', '--', 'true'], { layers: [{ format: 'text' }] }],
    ['--format json', ['--format', 'json', '--', 'true'], { layers: [{ format: 'json' }] }],
    ['--format=seed', ['--format=seed', '--', 'true'], { layers: [{ format: 'seed' }] }],
    ['-c PATH', ['-c', '/etc/netlog.conf', '--', 'true'], { configFile: '/etc/netlog.conf' }],
    ['--config PATH', ['--config', '/etc/netlog.conf', '--', 'true'], { configFile: '/etc/netlog.conf' }],
    ['--config=PATH', ['--config=/etc/netlog.conf', '--', 'true'], { configFile: '/etc/netlog.conf' }],
    ['--whitelist ENTRY', ['--whitelist', '/usr/sbin/sshd|i<127.0.0.1>|p<22>', '--', 'true'],
      { layers: [{ whitelist: ['/usr/sbin/sshd|i<127.0.0.1>|p<22>'] }] }],
    ['--whitelist=ENTRY', ['--whitelist=/usr/bin/curl|p<443>', '--', 'true'], { layers: [{ whitelist: ['/usr/bin/curl|p<443>'] }] }],
    ['--whitelist twice', ['--whitelist', '/usr/sbin/sshd|p<22>', '--whitelist', '/usr/bin/curl|i<::1>', '--', 'true'],
      { layers: [{ whitelist: ['/usr/sbin/sshd|p<22>'] }, { whitelist: ['/usr/bin/curl|i<::1>'] }] }],
    ['--exec-whitelist ENTRY', ['--exec-whitelist', '/usr/bin/ls', '--', 'true'], { layers: [{ execWhitelist: ['/usr/bin/ls'] }] }],
    ['--exec-whitelist ENTRY keeps a comma in its argv prefix', ['--exec-whitelist', '/usr/bin/echo|echo a,b', '--', 'true'],
      { layers: [{ execWhitelist: ['/usr/bin/echo|echo a,b'] }] }],
    ['--exec-whitelist=ENTRY', ['--exec-whitelist=/usr/bin/id|id -u', '--', 'true'], { layers: [{ execWhitelist: ['/usr/bin/id|id -u'] }] }],
    ['--probes MASK (hex without 0x)', ['--probes', '3f', '--', 'true'], { layers: [{ probes: 0x3f }] }],
    ['--probes=0x9', ['--probes=0x9', '--', 'true'], { layers: [{ probes: 0x9 }] }],
    ['--probes 0', ['--probes', '0', '--', 'true'], { layers: [{ probes: 0 }] }],
    ['--probes 0xffffffff', ['--probes', '0xffffffff', '--', 'true'], { layers: [{ probes: 0xffffffff }] }],
    ['--no-exec', ['--no-exec', '--', 'true'], { noExec: true }],
    ['--syslog', ['--syslog', '--', 'true'], { layers: [{ syslog: '/dev/log' }] }],
    ['--syslog=PATH', ['--syslog=/run/systemd/journal/syslog', '--', 'true'], { layers: [{ syslog: '/run/systemd/journal/syslog' }] }],
    ['--user USER', ['--user', 'alice', '--', 'true'], { user: 'alice' }],
    ['--user=USER', ['--user=alice', '--', 'true'], { user: 'alice' }],
    ['-q', ['-q', '--', 'true'], { quiet: true }],
    ['--quiet', ['--quiet', '--', 'true'], { quiet: true }],
    ['-h without COMMAND', ['-h'], { help: true, command: [] }],
    ['--help without COMMAND', ['--help'], { help: true, command: [] }],
    ['--version without COMMAND', ['--version'], { version: true, command: [] }],
    ['options in any order, settings kept in order', ['-q', '--probes', '1', '-o', '/tmp/l', '--no-exec', '-f', 'seed', '--', 'env', 'X=1'],
      { quiet: true, noExec: true, layers: [{ probes: 1 }, { output: '/tmp/l' }, { format: 'seed' }], command: ['env', 'X=1'] }],
    ['a value that looks like an option', ['-o', '-q', '--', 'true'], { layers: [{ output: '-q' }] }],
  ])('%s', (_name, argv, expected) => {
    expect(summary(parseArgs(argv))).toEqual({ ...BASE, ...expected });
  });
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, nothing was thrown');
}

describe('parseArgs refuses', () => {
  // [name, argv, the error class, a part of its message]
  it.each<[string, string[], typeof UsageError | typeof ConfigError, RegExp]>([
    ['an unknown long option', ['--bogus', '--', 'true'], UsageError, /unknown option '--bogus'/],
    ['an unknown short option', ['-x', '--', 'true'], UsageError, /unknown option '-x'/],
    ['an unknown --opt=value', ['--bogus=1', '--', 'true'], UsageError, /unknown option '--bogus'/],
    ['COMMAND without --', ['-o', '/tmp/l', 'true'], UsageError, /expected '--' before COMMAND 'true'/],
    ['COMMAND without -- and without options', ['touch', '/tmp/x'], UsageError, /'--'/],
    ['no COMMAND after --', ['-o', '/tmp/l', '--'], UsageError, /missing COMMAND/],
    ['nothing at all', [], UsageError, /missing COMMAND/],
    ['-o without a value', ['-o'], UsageError, /option '-o' needs a value/],
    ['-o followed by --', ['-o', '--', 'true'], UsageError, /option '-o' needs a value/],
    ['--format without a value', ['--format'], UsageError, /'--format' needs a value/],
    ['--config without a value', ['--config', '--', 'true'], UsageError, /'--config' needs a value/],
    ['-c without a value', ['-c'], UsageError, /'-c' needs a value/],
    ['--whitelist without a value', ['--whitelist'], UsageError, /'--whitelist' needs a value/],
    ['--exec-whitelist without a value', ['--exec-whitelist', '--', 'true'], UsageError, /'--exec-whitelist' needs a value/],
    ['--probes without a value', ['--probes'], UsageError, /'--probes' needs a value/],
    ['--user without a value', ['--user'], UsageError, /'--user' needs a value/],
    ['--no-exec=1', ['--no-exec=1', '--', 'true'], UsageError, /'--no-exec' takes no value/],
    ['--quiet=yes', ['--quiet=yes', '--', 'true'], UsageError, /'--quiet' takes no value/],
    ['--help=1', ['--help=1'], UsageError, /'--help' takes no value/],
    ['--version=1', ['--version=1'], UsageError, /'--version' takes no value/],
    ['a bad format', ['-f', 'xml', '--', 'true'], ConfigError, /^-f: .*'xml' is not a format/],
    ['a bad --format=', ['--format=JSON', '--', 'true'], ConfigError, /^--format: .*'JSON'/],
    ['a bad probe mask', ['--probes', 'zz', '--', 'true'], ConfigError, /^--probes: .*'zz' is not a hex mask/],
    ['a probe mask over 32 bits', ['--probes=0x1ffffffff', '--', 'true'], ConfigError, /^--probes: .*not a hex mask/],
    ['a negative probe mask', ['--probes', '-1', '--', 'true'], ConfigError, /^--probes: /],
    ['an empty output path', ['-o', '', '--', 'true'], ConfigError, /^-o: .*empty/],
    ['a bad network whitelist entry', ['--whitelist', '/usr/bin/curl|p<70000>', '--', 'true'], ConfigError, /^--whitelist: /],
    ['a bad exec whitelist entry', ['--exec-whitelist', 'relative/path', '--', 'true'], ConfigError, /^--exec-whitelist: /],
  ])('%s', (_name, argv, cls, message) => {
    const err = thrown(() => parseArgs(argv));
    expect(err).toBeInstanceOf(cls);
    // Every refusal is a NetlogError, which the CLI prints as one `netlog-run: ` line and exits 125.
    expect(err).toBeInstanceOf(NetlogError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });
});
