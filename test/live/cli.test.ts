// netlog-run as a command (SPEC §2): exit statuses 125/126/127 with one `netlog-run: ` line
// and COMMAND never started on an error; a kernel without seccomp user notification; an
// unprivileged user; processes that outlive COMMAND; SIGTERM passed on.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  expectGapless, NETLOG_RUN, netlogRaw, netlogRun, netlogStart, ofKind, readRecords, requireNobody, requireRoot, tempDir, waitFor, within,
} from './harness.js';

/** A world-writable temp dir (sticky, like /tmp), so that `nobody` can create a marker or a log in it. */
function sharedDir(): string {
  const dir = tempDir();
  fs.chmodSync(dir, 0o1777);
  return dir;
}

/** stderr lines; checks there is no stack trace in them. */
function messages(stderr: string): string[] {
  const lines = stderr.split('\n').filter((l) => l !== '');
  for (const l of lines) {
    expect(l).not.toMatch(/^\s+at /);
    expect(l).not.toMatch(/internal error|TypeError|ReferenceError|node:internal|\.js:\d+/);
  }
  return lines;
}

/** Exactly one `netlog-run: ` message, plus the usage hint when `usage`. */
function expectOneMessage(stderr: string, what: RegExp, usage: boolean): void {
  const lines = messages(stderr);
  expect(lines[0]).toMatch(/^netlog-run: /);
  expect(lines[0]).toMatch(what);
  if (usage) expect(lines.slice(1)).toEqual(["netlog-run: try 'netlog-run --help'"]);
  else expect(lines).toHaveLength(1);
}

const SETPRIV = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];

describe('errors of netlog-run itself: exit 125, one message, COMMAND never runs', () => {
  // Each case gets a fresh dir D; COMMAND is `touch D/marker`; $LOG is D/netlog.jsonl.
  it.each<[string, (d: string) => string[], RegExp, boolean]>([
    ['an unknown option', (d) => ['--bogus', '--', 'touch', `${d}/marker`], /unknown option '--bogus'/, true],
    ['an unknown short option', (d) => ['-o', `${d}/netlog.jsonl`, '-Z', '--', 'touch', `${d}/marker`], /unknown option '-Z'/, true],
    ['no COMMAND', (d) => ['-o', `${d}/netlog.jsonl`, '--'], /missing COMMAND/, true],
    ['an option without its value', (d) => ['-o', `${d}/netlog.jsonl`, '-f', '--', 'touch', `${d}/marker`], /'-f' needs a value/, true],
    ['-o pointing at a directory', (d) => ['-o', d, '--', 'touch', `${d}/marker`], /netlog-test-[^/ ]+.*directory/, false],
    ['-o in a directory that does not exist', (d) => ['-o', `${d}/nope/netlog.jsonl`, '--', 'touch', `${d}/marker`], /nope\/netlog\.jsonl/, false],
    ['-o pointing at a FIFO', (d) => {
      execFileSync('mkfifo', [`${d}/fifo`]);
      return ['-o', `${d}/fifo`, '--', 'touch', `${d}/marker`];
    }, /fifo/, false],
    ['a bad --probes value', (d) => ['-o', `${d}/netlog.jsonl`, '--probes', 'zz', '--', 'touch', `${d}/marker`], /--probes: .*zz/, false],
    ['a --probes value over 32 bits', (d) => ['-o', `${d}/netlog.jsonl`, '--probes=0x100000000', '--', 'touch', `${d}/marker`], /--probes/, false],
    ['a bad --format', (d) => ['-o', `${d}/netlog.jsonl`, '--format', 'xml', '--', 'touch', `${d}/marker`], /xml/, false],
    ['a bad --whitelist entry', (d) => ['-o', `${d}/netlog.jsonl`, '--whitelist', '/usr/bin/curl|p<0>', '--', 'touch', `${d}/marker`], /--whitelist/, false],
    ['a missing --config file', (d) => ['-o', `${d}/netlog.jsonl`, '-c', `${d}/none.conf`, '--', 'touch', `${d}/marker`], /none\.conf/, false],
    ['a --config file with an unknown key', (d) => {
      fs.writeFileSync(`${d}/bad.conf`, 'probes = 3f\nargv_max = 100\n');
      return ['-o', `${d}/netlog.jsonl`, '-c', `${d}/bad.conf`, '--', 'touch', `${d}/marker`];
    }, /bad\.conf:2: .*argv_max/, false],
    ['a --config file with a value out of range', (d) => {
      fs.writeFileSync(`${d}/bad.conf`, 'argv_max_size = 99\n');
      return ['-o', `${d}/netlog.jsonl`, '-c', `${d}/bad.conf`, '--', 'touch', `${d}/marker`];
    }, /bad\.conf:1: .*argv_max_size/, false],
  ])('%s', async (_name, argsOf, what, usage) => {
    const d = tempDir();
    const args = argsOf(d);
    const r = await netlogRaw(args, { timeout: 5_000 });
    expect(r.exitCode).toBe(125);
    expect(r.stdout).toBe('');
    expectOneMessage(r.stderr, what, usage);
    expect(fs.existsSync(`${d}/marker`)).toBe(false);
  });

  it('an output that an unprivileged user may not write', async (ctx) => {
    requireNobody(ctx, 'setpriv to nobody');
    const d = sharedDir();
    const logDir = tempDir(); // 0700 root: nobody cannot create a file in it
    fs.chmodSync(logDir, 0o755);
    const r = await execa(SETPRIV[0]!, [...SETPRIV.slice(1), process.execPath, NETLOG_RUN, '-o', `${logDir}/netlog.jsonl`, '--', 'touch', `${d}/marker`], {
      reject: false,
      timeout: 15_000,
    });
    expect(r.exitCode).toBe(125);
    expectOneMessage(String(r.stderr), /permission denied/i, false);
    expect(fs.existsSync(`${d}/marker`)).toBe(false);
    expect(fs.existsSync(`${logDir}/netlog.jsonl`)).toBe(false);
  });

  it('an existing output file that an unprivileged user may not write', async (ctx) => {
    requireNobody(ctx, 'setpriv to nobody');
    const d = sharedDir();
    const log = `${d}/netlog.jsonl`;
    fs.writeFileSync(log, '', { mode: 0o644 });
    const r = await execa(SETPRIV[0]!, [...SETPRIV.slice(1), process.execPath, NETLOG_RUN, '-o', log, '--', 'touch', `${d}/marker`], {
      reject: false,
      timeout: 15_000,
    });
    expect(r.exitCode).toBe(125);
    expectOneMessage(String(r.stderr), /permission denied/i, false);
    expect(fs.existsSync(`${d}/marker`)).toBe(false);
  });

  it('a kernel without seccomp user notification (simulated): the filter cannot be installed', async () => {
    const d = tempDir();
    const r = await netlogRaw(['-o', `${d}/netlog.jsonl`, '--', 'touch', `${d}/marker`], {
      timeout: 15_000,
      env: { NETLOG_TEST_FAIL_SECCOMP: '1' },
    });
    expect(r.exitCode).toBe(125);
    expectOneMessage(r.stderr, /^netlog-run: seccomp: .*hint: .*(Linux|kernel)/, false);
    expect(fs.existsSync(`${d}/marker`)).toBe(false);
    // Nothing ran, so nothing is recorded as having run.
    expect(ofKind(readRecords(`${d}/netlog.jsonl`), 'exec')).toEqual([]);
  });
});

describe('COMMAND that cannot run', () => {
  it('126: a file without the x bit given by path', async () => {
    const d = tempDir();
    const script = `${d}/script.sh`;
    fs.writeFileSync(script, `#!/bin/sh\ntouch ${d}/marker\n`, { mode: 0o644 });
    const r = await netlogRun([script]);
    expect(r.exitCode).toBe(126);
    expectOneMessage(r.stderr, new RegExp(`^netlog-run: ${script}: .*[Pp]ermission denied`), false);
    expect(fs.existsSync(`${d}/marker`)).toBe(false);
    expect(ofKind(r.records, 'exec')).toEqual([]);
    expectGapless(r.records);
    expect(r.records.at(-1)!.run).toMatchObject({ exit_code: 126 });
  });

  it('126: a directory given by path', async () => {
    const d = tempDir();
    const r = await netlogRun([d]);
    expect(r.exitCode).toBe(126);
    expectOneMessage(r.stderr, /^netlog-run: /, false);
    expect(ofKind(r.records, 'exec')).toEqual([]);
  });

  it('126: found on PATH but not executable', async () => {
    const d = tempDir();
    fs.writeFileSync(`${d}/netlog-test-cmd`, `#!/bin/sh\ntouch ${d}/marker\n`, { mode: 0o644 });
    const r = await netlogRun(['netlog-test-cmd'], { execa: { env: { PATH: `${d}:/usr/bin:/bin` } } });
    expect(r.exitCode).toBe(126);
    expectOneMessage(r.stderr, /^netlog-run: netlog-test-cmd: /, false);
    expect(fs.existsSync(`${d}/marker`)).toBe(false);
    expect(ofKind(r.records, 'exec')).toEqual([]);
  });

  it('127: no such command', async () => {
    const r = await netlogRun(['netlog-no-such-command-xyz']);
    expect(r.exitCode).toBe(127);
    expectOneMessage(r.stderr, /^netlog-run: netlog-no-such-command-xyz: .*(not found|No such file)/, false);
    expect(ofKind(r.records, 'exec')).toEqual([]);
    expect(r.records.at(-1)!.run).toMatchObject({ exit_code: 127 });
  });

  it('127: no such file given by path', async () => {
    const d = tempDir();
    const r = await netlogRun([`${d}/nothing-here`]);
    expect(r.exitCode).toBe(127);
    expectOneMessage(r.stderr, /^netlog-run: .*nothing-here/, false);
    expect(ofKind(r.records, 'exec')).toEqual([]);
  });
});

describe('--help and --version', () => {
  it('--help prints the usage on stdout and exits 0 without running anything', async () => {
    const r = await netlogRaw(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^usage: netlog-run \[OPTIONS\] \[--\] COMMAND/);
    expect(r.stderr).toBe('');
  });

  it('--version prints the version', async () => {
    const r = await netlogRaw(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^netlog-run \d+\.\d+\.\d+$/);
  });
});

describe('an unprivileged user', () => {
  it('runs COMMAND under supervision as nobody; the log is created 0600', async (ctx) => {
    requireNobody(ctx, 'setpriv to nobody');
    const d = sharedDir();
    const log = `${d}/netlog.jsonl`;
    const r = await execa(SETPRIV[0]!, [...SETPRIV.slice(1), process.execPath, NETLOG_RUN, '-o', log, '--', '/bin/true'], {
      reject: false,
      timeout: 15_000,
      cwd: d,
    });
    expect(String(r.stderr)).toBe('');
    expect(r.exitCode).toBe(0);
    const st = fs.statSync(log);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(65534);
    const records = readRecords(log);
    expectGapless(records);
    expect(records[0]!.run).toMatchObject({ uid: 65534, command: ['/bin/true'] });
    const execs = ofKind(records, 'exec');
    expect(execs).toHaveLength(1);
    expect(execs[0]!.exec).toEqual({ file: '/usr/bin/true', path: '/bin/true', argv: ['/bin/true'], cwd: d, argv_truncated: false });
    const p = execs[0]!.proc!;
    expect([p.uid, p.gid, p.euid, p.egid]).toEqual([65534, 65534, 65534, 65534]);
    expect(p.ppid).toBe(records[0]!.run!.pid);
    expect(records.at(-1)!.run).toMatchObject({ exit_code: 0, refused: 0 });
  });

  it('root creates the log 0600 too, whatever the umask', async () => {
    const d = tempDir();
    const log = `${d}/netlog.jsonl`;
    const r = await execa('sh', ['-c', `umask 000; exec "$0" "$@"`, process.execPath, NETLOG_RUN, '-o', log, '--', '/bin/true'], {
      reject: false,
      timeout: 15_000,
    });
    expect(r.exitCode).toBe(0);
    expect(fs.statSync(log).mode & 0o777).toBe(0o600);
  });
});

describe('processes that outlive COMMAND', () => {
  it('keeps supervising a background process after COMMAND exits, says so, and exits with COMMAND\'s status', async () => {
    const r = await netlogRun(['bash', '-c', '(sleep 1; /bin/true) & exit 0']);
    expect(r.exitCode).toBe(0);
    expectGapless(r.records);
    const start = r.records[0]!;
    const bash = r.records.find((x) => x.exec?.argv[0] === 'bash');
    const tru = r.records.find((x) => x.exec?.file === '/usr/bin/true');
    expect(tru, 'the /bin/true exec after COMMAND exited').toBeDefined();
    // Its parent bash -c had exited: the subshell was reparented to netlog-run (subreaper).
    expect(tru!.proc!.ppid).toBe(start.run!.pid);
    expect(tru!.proc!.pid).not.toBe(bash!.proc!.pid);
    expect(r.records.at(-1)!.run).toMatchObject({ exit_code: 0, signal: null, records: r.records.length - 1 });
    const lines = messages(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^netlog-run: .*supervis/);
  });

  it('with -q says nothing about it', async () => {
    const r = await netlogRun(['bash', '-c', '(sleep 0.5; /bin/true) & exit 3'], { args: ['-q'] });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe('');
    expect(r.records.some((x) => x.exec?.file === '/usr/bin/true')).toBe(true);
  });
});

describe('signals sent to netlog-run', () => {
  it('passes SIGTERM on to COMMAND and exits 143', async () => {
    const d = tempDir();
    const log = path.join(d, 'netlog.jsonl');
    const sub = netlogStart(['sleep', '30'], log, [], { timeout: 20_000 });
    try {
      await waitFor(() => readRecords(log).some((x) => x.exec?.argv[0] === 'sleep'), 10_000, 'the exec of sleep');
      const sleepPid = readRecords(log).find((x) => x.exec?.argv[0] === 'sleep')!.proc!.pid;
      process.kill(sub.pid!, 'SIGTERM');
      const r = await within(sub, 15_000, 'netlog-run to exit after SIGTERM');
      expect(r.exitCode).toBe(143);
      const records = readRecords(log);
      expectGapless(records);
      expect(records.at(-1)!.run).toMatchObject({ exit_code: 143, signal: 'SIGTERM' });
      // sleep itself got it: it is gone.
      expect(fs.existsSync(`/proc/${sleepPid}`)).toBe(false);
    } finally {
      if (sub.exitCode === null && sub.pid) process.kill(sub.pid, 'SIGKILL');
    }
  });
});

describe('records on stderr', () => {
  it('a COMMAND that makes the shared stderr non-blocking and a slow reader lose no record and refuse nothing', async () => {
    const dir = tempDir();
    const script = path.join(dir, 'nb.py');
    fs.writeFileSync(
      script,
      'import os, fcntl\nfcntl.fcntl(2, fcntl.F_SETFL, fcntl.fcntl(2, fcntl.F_GETFL) | os.O_NONBLOCK)\nfor i in range(300):\n    os.system("/bin/true")\n',
    );
    // The reader starts late, so the pipe fills while COMMAND runs.
    const out = String(
      (await execa('bash', ['-c', `${process.execPath} ${NETLOG_RUN} -f json -- python3 ${script} 2>&1 | (sleep 1.5; cat)`])).stdout,
    );
    const records = out.split('\n').filter((l) => l.startsWith('{"v":1')).map((l) => JSON.parse(l) as { seq: number; event: string; run?: { refused: number } });
    records.forEach((r, i) => expect(r.seq).toBe(i + 1));
    const end = records.at(-1)!;
    expect(end.event).toBe('end');
    expect(end.run!.refused).toBe(0);
    expect(records.filter((r) => r.event === 'exec').length).toBeGreaterThanOrEqual(600);
  });
});

describe('nesting', () => {
  it('a netlog-run inside a session exits 125 with a hint, and its COMMAND does not run', async () => {
    const marker = path.join(tempDir(), 'ran');
    const inner = `${process.execPath} ${NETLOG_RUN} -q -o ${path.join(tempDir(), 'inner.log')} -- touch ${marker}`;
    const r = await netlogRun(['bash', '-c', `${inner}; echo "inner=$?"`]);
    expect(r.stdout.trim()).toBe('inner=125');
    expect(r.stderr).toMatch(/^netlog-run: seccomp: Device or resource busy \(hint: .*another netlog-run session/m);
    expect(fs.existsSync(marker)).toBe(false);
  });
});
