// netlog-run's command line as users of strace and sudo type it (docs/cli.md): COMMAND
// without `--`, bundled options, records on stdout into jq, a FIFO with and without its
// reader. Real netlog-run, real jq and bash.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { NETLOG_RUN, netlogRaw, readRecords, tempDir, waitFor } from './harness.js';

const JQ = '/usr/bin/jq';

describe('netlog-run command line', () => {
  it('runs COMMAND given without --, with bundled options; COMMAND keeps its own options (-qo LOG echo a -o x -- -q)', async () => {
    const log = path.join(tempDir(), 'log.jsonl');
    const r = await netlogRaw(['-qo', log, '/bin/echo', 'a', '-o', 'x', '--', '-q']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('a -o x -- -q');
    const exec = readRecords(log).find((x) => x.event === 'exec')!;
    expect(exec.exec!.argv).toEqual(['/bin/echo', 'a', '-o', 'x', '--', '-q']);
  });

  it('-q -o - writes JSON records to stdout, which jq reads', async (ctx) => {
    ctx.skip(!fs.existsSync(JQ), 'jq is not installed (scripts/setup-test.sh installs it)');
    const d = tempDir();
    // COMMAND's stdout is the same pipe: COMMAND here writes to stderr only.
    const r = await execa('bash', ['-c', `"${process.execPath}" "${NETLOG_RUN}" -q -o - -- bash -c '/bin/echo hello >&2' | ${JQ} -c '[.seq, .event, .exec.argv]'`], {
      cwd: d, reject: false, timeout: 30_000,
    });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stderr)).toBe('hello');
    expect(String(r.stdout).split('\n')).toEqual([
      '[1,"start",null]', '[2,"exec",["bash","-c","/bin/echo hello >&2"]]', '[3,"exec",["/bin/echo","hello"]]', '[4,"end",null]',
    ]);
  });

  it('-o FIFO streams to the reader already there', async (ctx) => {
    ctx.skip(!fs.existsSync(JQ), 'jq is not installed (scripts/setup-test.sh installs it)');
    const d = tempDir();
    const fifo = path.join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = execa('bash', ['-c', `exec ${JQ} -c .event < ${fifo}`], { reject: false, timeout: 30_000 });
    // bash's open(2) of the FIFO for reading waits in the kernel for a writer:
    // from then on, the reader is there for netlog-run's non-blocking open.
    const waiting = (): boolean => {
      try {
        return fs.readFileSync(`/proc/${reader.pid}/wchan`, 'utf8') === 'wait_for_partner';
      } catch {
        return false;
      }
    };
    await waitFor(waiting, 10_000, 'the reader to open the FIFO');
    const r = await netlogRaw(['-q', '-o', fifo, '--', 'bash', '-c', '/bin/true; /bin/true']);
    expect(r.exitCode, r.stderr).toBe(0);
    const got = await reader;
    expect(String(got.stdout).split('\n')).toEqual(['"start"', '"exec"', '"exec"', '"exec"', '"end"']);
  });

  it('-o FIFO without a reader: says so and exits 125 at once, COMMAND not started', async () => {
    const d = tempDir();
    const fifo = path.join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const marker = path.join(d, 'marker');
    const r = await netlogRaw(['-o', fifo, 'touch', marker], { timeout: 20_000 });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toBe(`netlog-run: output ${fifo} is a FIFO with no reader: start the reader first (e.g. jq . < ${fifo} &)`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a bad --egress mode is a usage error (125) and COMMAND is not started', async () => {
    const d = tempDir();
    const marker = path.join(d, 'marker');
    const r = await netlogRaw(['--egress', 'deny', 'touch', marker]);
    expect(r.exitCode).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe("netlog-run: --egress: 'deny' is not an egress policy (expected audit or block)");
    expect(fs.existsSync(marker)).toBe(false);
  });
});
