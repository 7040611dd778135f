// netlog-run's command line (docs/cli.md): every option in its short, long, `--opt=value`,
// bundled and attached spellings, COMMAND after `--` or at the first word that is not an
// option, and the errors that must stop netlog-run before COMMAND runs.

import { describe, expect, it } from 'vitest';
import { APPLY, parseArgs, UsageError, type CliArgs } from '../../src/cli/args.js';
import { RUN_OPTIONS } from '../../src/cli/help.js';
import type { ConfigLayer } from '../../src/config/keys.js';
import { ConfigError, NetlogError } from '../../src/errors.js';

/** The parse result with whitelist entries shown by their normalised text, for readable expectations. */
function summary(args: CliArgs): Record<string, unknown> {
  const layer = (l: ConfigLayer): Record<string, unknown> => {
    const { whitelist, execWhitelist, allow, ...rest } = l;
    return {
      ...rest,
      ...(whitelist && { whitelist: whitelist.map((e) => e.canonical) }),
      ...(execWhitelist && { execWhitelist: execWhitelist.map((e) => e.canonical) }),
      ...(allow && { allow: allow.map((e) => e.canonical) }),
    };
  };
  return { ...args, layers: args.layers.map(layer) };
}

const BASE = {
  layers: [], noExec: false, quiet: false, whitelistIncludeRoot: false, ci: false,
  help: false, version: false, command: ['true'],
};

/** Every option of the table is parsed here, the not-yet-built ones too. */
const parseAll = (argv: string[]) => parseArgs(argv, []);

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
    // `--` is optional: the first word that is not an option starts COMMAND.
    ['COMMAND without --', ['true'], {}],
    ['options, then COMMAND without --', ['-q', '-o', '/tmp/l', 'true'], { quiet: true, layers: [{ output: '/tmp/l' }] }],
    ["COMMAND's own options are COMMAND's", ['-q', 'ls', '-l', '-o', 'x', '--'], { quiet: true, command: ['ls', '-l', '-o', 'x', '--'] }],
    ['a lone - starts COMMAND', ['-q', '-', 'x'], { quiet: true, command: ['-', 'x'] }],
    ['a second -- belongs to COMMAND', ['--', '--', 'true'], { command: ['--', 'true'] }],
    // Bundled and attached short options.
    ['-qo FILE', ['-qo', '/tmp/l', 'true'], { quiet: true, layers: [{ output: '/tmp/l' }] }],
    ['-oFILE', ['-o/tmp/l', '--', 'true'], { layers: [{ output: '/tmp/l' }] }],
    ['-qoFILE', ['-qo/tmp/l', 'true'], { quiet: true, layers: [{ output: '/tmp/l' }] }],
    ['-fjson', ['-fjson', 'true'], { layers: [{ format: 'json' }] }],
    ['-qfseed -o FILE', ['-qfseed', '-o', '/tmp/l', 'true'], { quiet: true, layers: [{ format: 'seed' }, { output: '/tmp/l' }] }],
    ['-cPATH', ['-c/etc/netlog.conf', 'true'], { configFile: '/etc/netlog.conf' }],
    ['-qh', ['-qh'], { quiet: true, help: true, command: [] }],
    ['-o - (stdout)', ['-o', '-', 'true'], { layers: [{ output: '-' }] }],
    ['-qo - (stdout)', ['-qo', '-', 'true'], { quiet: true, layers: [{ output: '-' }] }],
    // --syslog's value is optional: attached, or an absolute path as the next word.
    ['--syslog PATH', ['--syslog', '/run/systemd/journal/syslog', 'true'], { layers: [{ syslog: '/run/systemd/journal/syslog' }] }],
    ['--syslog then COMMAND without --', ['--syslog', 'ls', '-l'], { layers: [{ syslog: '/dev/log' }], command: ['ls', '-l'] }],
    ['--syslog as the last option before --', ['--syslog', '--', '/bin/true'], { layers: [{ syslog: '/dev/log' }], command: ['/bin/true'] }],
    // The options other helpers' features plug into.
    ['--whitelist-include-root', ['--whitelist-include-root', 'true'], { whitelistIncludeRoot: true, layers: [{ whitelistIncludeRoot: true }] }],
    ['--ci', ['--ci', 'true'], { ci: true }],
    ['--egress block', ['--egress', 'block', 'true'], { layers: [{ egress: 'block' }] }],
    ['--egress=audit', ['--egress=audit', 'true'], { layers: [{ egress: 'audit' }] }],
    ['--allow twice, in order', ['--allow', '127.0.0.1', '--allow=*.debian.org:443', 'true'], { layers: [{ allow: ['127.0.0.1:*'] }, { allow: ['*.debian.org:443'] }] }],
  ])('%s', (_name, argv, expected) => {
    expect(summary(parseAll(argv))).toEqual({ ...BASE, ...expected });
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
    ['no COMMAND after --', ['-o', '/tmp/l', '--'], UsageError, /missing COMMAND/],
    ['no COMMAND after the options', ['-q', '-o', '/tmp/l'], UsageError, /missing COMMAND/],
    ['an unknown option in a bundle', ['-qZ', 'true'], UsageError, /unknown option '-Z'/],
    ['a bundle ending in an option that needs a value', ['-qo'], UsageError, /option '-o' needs a value/],
    ['an abbreviated long option', ['--out', '/tmp/l', 'true'], UsageError, /unknown option '--out'/],
    ['a bad --egress mode', ['--egress', 'deny', 'true'], UsageError, /^--egress: 'deny' is not an egress policy \(expected audit or block\)$/],
    ['--egress without a value', ['--egress'], UsageError, /'--egress' needs a value/],
    ['an empty --allow', ['--allow=', 'true'], UsageError, /--allow: the endpoint is empty/],
    ['--ci=1', ['--ci=1', 'true'], UsageError, /'--ci' takes no value/],
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
    const err = thrown(() => parseAll(argv));
    expect(err).toBeInstanceOf(cls);
    // Every refusal is a NetlogError, which the CLI prints as one `netlog-run: ` line and exits 125.
    expect(err).toBeInstanceOf(NetlogError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('the option table', () => {
  it('has a parser for every option and an option for every parser', () => {
    expect(RUN_OPTIONS.map((o) => o.long).sort()).toEqual(Object.keys(APPLY).sort());
  });

  it('has no short or long name twice', () => {
    const shorts = RUN_OPTIONS.flatMap((o) => (o.short ? [o.short] : []));
    expect(new Set(shorts).size).toBe(shorts.length);
    expect(new Set(RUN_OPTIONS.map((o) => o.long)).size).toBe(RUN_OPTIONS.length);
  });
});
