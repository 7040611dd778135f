// Signals sent to netlog-run (docs/design.md "Signals"): those another process sends
// (kill, timeout, a CI runner cancelling a job) are relayed to COMMAND; those the terminal
// sends (Ctrl-C, si_code SI_KERNEL) are not, since COMMAND's foreground job has them
// already; those a process of the session sends to netlog-run (kill $PPID) are not either.

import fs from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { NETLOG_RUN, readRecords, ROOT, tempDir, waitFor, type JsonRecord } from './harness.js';
import { gone, shellCommand, Tmux, waitExec } from './tmux.js';

const RUN = `${process.execPath} ${NETLOG_RUN}`;
const COUNT = path.join(ROOT, 'fixtures', 'count_signals.py');
const SERVER = ['python3', '-u', '-m', 'http.server', '0', '--bind', '127.0.0.1'];
const dirs: string[] = [];
const running: ResultPromise[] = [];
const tmux = new Tmux();

function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

afterEach(async () => {
  for (const p of running.splice(0)) if (p.exitCode === null && p.pid) p.kill('SIGKILL');
  await tmux.cleanup();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Waits (bounded) for the process to end; a hang fails the test instead of timing it out. */
async function ended<T>(p: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts a command, resolves once python's http.server serves (wrapped: a ResultPromise is a thenable). */
async function startServing(file: string, args: string[]): Promise<{ sub: ResultPromise }> {
  const sub = execa(file, args, { reject: false, timeout: 60_000 });
  running.push(sub);
  let out = '';
  sub.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  await waitFor(() => out.includes('Serving HTTP'), 15_000, 'python http.server to serve');
  return { sub };
}

function endOf(records: JsonRecord[]): { exit_code: number; signal: string | null } {
  const end = records.at(-1);
  expect(end?.event).toBe('end');
  return end!.run as never;
}

describe('a signal another process sends to netlog-run', () => {
  it('kill -INT from another process stops python3 -m http.server as it stops a bare one', async () => {
    const { sub: bare } = await startServing(SERVER[0]!, SERVER.slice(1));
    await execa('kill', ['-INT', String(bare.pid)]);
    const bareExit = (await ended(bare, 'bare http.server')).exitCode;

    const log = path.join(dir(), 'netlog.jsonl');
    const { sub } = await startServing(process.execPath, [NETLOG_RUN, '-q', '-o', log, '--', ...SERVER]);
    await execa('kill', ['-INT', String(sub.pid)]);
    const r = await ended(sub, 'http.server under netlog-run');
    expect(r.exitCode).toBe(bareExit);
    expect(endOf(readRecords(log)).exit_code).toBe(bareExit);
  });

  it('timeout -s INT stops COMMAND, with --foreground (the signal reaches netlog-run only) and without', async () => {
    for (const foreground of [['--foreground'], []]) {
      const log = path.join(dir(), 'netlog.jsonl');
      // 3 s is the workload's own timer (long enough for COMMAND to have started).
      const r = await ended(
        execa('timeout', [...foreground, '-s', 'INT', '3', process.execPath, NETLOG_RUN, '-q', '-o', log, '--', ...SERVER], { reject: false, timeout: 60_000 }),
        `timeout ${foreground.join(' ')}`,
      );
      expect(r.exitCode).toBe(124);
      // python ends on KeyboardInterrupt (0); 130 if the signal came while it was still starting.
      expect([0, 130]).toContain(endOf(readRecords(log)).exit_code);
    }
  });

  it('SIGUSR1 is relayed (and opens no Node.js inspector in netlog-run)', async () => {
    const d = dir();
    const out = path.join(d, 'count');
    const sub = execa(process.execPath, [NETLOG_RUN, '-q', '-o', `${d}/log`, '--', 'python3', COUNT, out, 'INT'], { reject: false, timeout: 60_000 });
    running.push(sub);
    await waitFor(() => fs.existsSync(`${out}.ready`), 15_000, 'the counting script');
    process.kill(sub.pid!, 'SIGUSR1');
    const r = await ended(sub, 'the counting script');
    expect(fs.readFileSync(out, 'utf8')).toBe('0');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toContain('Debugger');
  });

  it('a sigqueue(3) is relayed as one, with its sender; a kill(2) comes from netlog-run', async () => {
    const WAIT = path.join(ROOT, 'fixtures', 'wait_siginfo.py');
    for (const how of ['sigqueue', 'kill']) {
      const d = dir();
      const out = path.join(d, 'siginfo');
      const sub = execa(process.execPath, [NETLOG_RUN, '-q', '-o', `${d}/log`, '--', 'python3', WAIT, out], { reject: false, timeout: 60_000 });
      running.push(sub);
      await waitFor(() => fs.existsSync(`${out}.ready`), 15_000, 'the waiting script');
      // The sender is a process of its own, so its pid is known and is not netlog-run's.
      const send = `import ctypes,os,sys; libc=ctypes.CDLL(None, use_errno=True); print(os.getpid(), flush=True); ` +
        (how === 'sigqueue' ? 'libc.sigqueue(int(sys.argv[1]), 12, ctypes.c_void_p(42))' : 'os.kill(int(sys.argv[1]), 12)');
      const sender = await execa('python3', ['-c', send, String(sub.pid)]);
      await ended(sub, 'the waiting script');
      const got = JSON.parse(fs.readFileSync(out, 'utf8')) as { code: number; pid: number };
      if (how === 'sigqueue') expect(got).toEqual({ code: -1, pid: Number(sender.stdout.trim()) });
      else expect(got).toEqual({ code: 0, pid: sub.pid });
    }
  });

  it('a signal a process of the session sends to netlog-run (kill $PPID) does not come back to it', async () => {
    const d = dir();
    const out = path.join(d, 'count');
    const sub = execa(process.execPath, [NETLOG_RUN, '-q', '-o', `${d}/log`, '--', 'python3', COUNT, out, 'TERM', 'parent'], { reject: false, timeout: 60_000 });
    running.push(sub);
    await waitFor(() => fs.existsSync(`${out}.sent`), 15_000, 'the script to signal netlog-run');
    // Relayed in order after the SIGTERM, had that been relayed.
    process.kill(sub.pid!, 'SIGUSR1');
    await ended(sub, 'the counting script');
    expect(fs.readFileSync(out, 'utf8')).toBe('0');
  });
});

describe('Ctrl-C on a terminal', () => {
  it('reaches COMMAND once, not a second time through netlog-run', async () => {
    const d = dir();
    const out = path.join(d, 'count');
    const log = path.join(d, 'netlog.jsonl');
    const name = `netlog-signals-${process.pid}`;
    await tmux.newSession(name, shellCommand(d, 'bash --norc -i'));
    await tmux.waitScreen(name, /nl\$ $/m, 'the prompt');
    await tmux.run('send-keys', '-t', name, `${RUN} -q -o ${log} -- python3 ${COUNT} ${out} INT; echo rc-$?`, 'Enter');
    await waitFor(() => fs.existsSync(`${out}.ready`), 15_000, 'the counting script');
    await tmux.run('send-keys', '-t', name, 'C-c');
    await waitFor(() => fs.existsSync(`${out}.got`), 10_000, 'the SIGINT of Ctrl-C');
    // SIGUSR1 from a process is relayed after any relayed SIGINT: the count is final then.
    const runPid = readRecords(log)[0]!.run!.pid as number;
    process.kill(runPid, 'SIGUSR1');
    await tmux.waitScreen(name, /rc-0$/m, 'COMMAND to exit 0');
    expect(fs.readFileSync(out, 'utf8')).toBe('1');
  });
});

describe('a hangup of the terminal', () => {
  it('when netlog-run leads the terminal\'s session, its SIGHUP goes to COMMAND, never a config reload (-c)', async () => {
    const d = dir();
    const log = path.join(d, 'netlog.jsonl');
    const conf = path.join(d, 'netlog.conf');
    fs.writeFileSync(conf, 'probes = 0xffffffff\n');
    const name = `netlog-hup-${process.pid}`;
    // netlog-run is the pane's process: the session leader, as under sshd.
    await tmux.newSession(name, shellCommand(d, `${RUN} -c ${conf} -o ${log} -- bash --norc -i`));
    await tmux.waitScreen(name, /nl\$ $/m, 'the prompt');
    await tmux.run('send-keys', '-t', name, 'sleep 100', 'Enter');
    const sleep = (await waitExec(log, ['sleep', '100'])).proc!;
    await tmux.run('kill-session', '-t', name);
    await waitFor(() => readRecords(log).at(-1)?.event === 'end', 10_000, 'the session to end on the hangup');
    const records = readRecords(log);
    expect(records.some((r) => r.event === 'reload')).toBe(false);
    expect(endOf(records)).toMatchObject({ exit_code: 129, signal: 'SIGHUP' });
    expect(gone(sleep.pid)).toBe(true);
  });
});
