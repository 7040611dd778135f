// The netlog command (docs/cli.md): --help, --version, and one `netlog: ` line with
// exit 125 for an unknown or unavailable subcommand.
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness.js';

const NETLOG = path.join(ROOT, 'bin', 'netlog.js');
const run = async (args: string[]) => {
  const r = await execa(process.execPath, [NETLOG, ...args], { reject: false, timeout: 30_000 });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
};

describe('netlog', () => {
  it('--help lists the subcommands on stdout, exit 0', async () => {
    const r = await run(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^usage: netlog SUBCOMMAND/);
    for (const s of ['report', 'daemon', 'install']) expect(r.stdout).toMatch(new RegExp(`^  ${s} `, 'm'));
    expect(r.stderr).toBe('');
  });

  it('--version', async () => {
    const r = await run(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^netlog \d+\.\d+\.\d+$/);
  });

  it.each<[string, string[], string[]]>([
    ['an unknown subcommand', ['frobnicate'], ["netlog: unknown command 'frobnicate' (expected one of report, daemon, install)", "netlog: try 'netlog --help'"]],
    ['an unknown option', ['--frob'], ["netlog: unknown option '--frob'", "netlog: try 'netlog --help'"]],
    ['no subcommand', [], ['netlog: missing SUBCOMMAND', "netlog: try 'netlog --help'"]],
    ['a name from Object.prototype', ['constructor'], ["netlog: unknown command 'constructor' (expected one of report, daemon, install)", "netlog: try 'netlog --help'"]],
  ])('%s: exit 125 and one message', async (_name, args, lines) => {
    const r = await run(args);
    expect(r.exitCode).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual(lines);
  });

  it.for(['report', 'daemon', 'install'])('%s, when not in this build, says so (exit 125)', async (sub, ctx) => {
    const { SUBCOMMANDS } = await import('../../src/cli/netlog.js');
    ctx.skip(SUBCOMMANDS[sub] !== undefined, `netlog ${sub} is built`);
    const r = await run([sub]);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toBe(`netlog: ${sub}: not available in this build`);
  });
});
