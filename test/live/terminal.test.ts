// netlog-run on a real terminal (SPEC §2 "Terminal and signals"): a pty from tmux, keys typed
// into it, the screen read back. An interactive shell under netlog-run keeps job control,
// Ctrl-C, Ctrl-Z and resizing; netlog-run started from a shell stops and goes on with its job.

import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { expectGapless, NETLOG_RUN, readRecords, tempDir, waitForAsync, type JsonRecord } from './harness.js';

// A tmux server of our own: nothing else's sessions are seen or touched.
const SOCKET = `netlog-test-${process.pid}`;
const sessions: string[] = [];

async function tmux(...args: string[]): Promise<string> {
  // tmux starts commands with $SHELL or the user's login shell, which for a
  // system user such as nobody is nologin.
  const r = await execa('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { timeout: 10_000, env: { SHELL: '/bin/sh' } });
  return String(r.stdout);
}

async function screen(name: string): Promise<string> {
  return tmux('capture-pane', '-p', '-J', '-t', name);
}

async function waitScreen(name: string, re: RegExp, what: string, timeoutMs = 10_000): Promise<string> {
  let text = '';
  try {
    await waitForAsync(async () => re.test((text = await screen(name))), timeoutMs, what);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the screen:\n${text}`);
  }
  return text;
}

/** The state letter of a process (R, S, T, Z...), or null when it is gone. */
function state(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

function gone(pid: number): boolean {
  const s = state(pid);
  return s === null || s === 'Z';
}

function execOf(log: string, argv: string[]): JsonRecord | undefined {
  return readRecords(log).find((r) => JSON.stringify(r.exec?.argv) === JSON.stringify(argv));
}

async function waitExec(log: string, argv: string[]): Promise<JsonRecord> {
  await waitForAsync(() => execOf(log, argv) !== undefined, 10_000, `the exec of ${argv.join(' ')}`);
  return execOf(log, argv)!;
}

async function newSession(name: string, command: string): Promise<{ panePid: number; tty: string }> {
  await tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', command);
  sessions.push(name);
  const [pid = '', tty = ''] = (await tmux('display-message', '-p', '-t', name, '#{pane_pid} #{pane_tty}')).split(' ');
  return { panePid: Number(pid), tty: tty.replace(/^\/dev\//, '') };
}

afterEach(async () => {
  for (const name of sessions.splice(0)) {
    await execa('tmux', ['-L', SOCKET, '-f', '/dev/null', 'kill-session', '-t', name], { reject: false, timeout: 10_000 });
  }
  await execa('tmux', ['-L', SOCKET, '-f', '/dev/null', 'kill-server'], { reject: false, timeout: 10_000 });
});

function shellCommand(dir: string, inner: string): string {
  // HISTFILE in the temp dir: the shell's history goes nowhere else.
  return `exec env PS1='nl$ ' HISTFILE=${dir}/history ${inner}`;
}

describe('an interactive shell under netlog-run', () => {
  it('keeps Ctrl-C, job control and resizing; its records name the pty', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'netlog.jsonl');
    const name = `netlog-${process.pid}-a`;
    const { panePid, tty } = await newSession(name, shellCommand(dir, `${process.execPath} ${NETLOG_RUN} -o ${log} -- bash --norc -i`));
    expect(tty).toMatch(/^pts\/\d+$/);
    await waitScreen(name, /nl\$ $/m, 'the prompt');
    const start = readRecords(log)[0]!;
    expect(start.event).toBe('start');
    expect(start.run!.pid).toBe(panePid);
    const bash = await waitExec(log, ['bash', '--norc', '-i']);
    expect(bash.proc!.tty).toBe(tty);
    expect(bash.proc!.sid).toBe(panePid);

    // Ctrl-C ends the foreground job, not the shell nor netlog-run.
    await tmux('send-keys', '-t', name, 'sleep 30', 'Enter');
    const sleep1 = (await waitExec(log, ['sleep', '30'])).proc!;
    expect(sleep1.tty).toBe(tty);
    expect(sleep1.sid).toBe(panePid);
    expect(sleep1.pgid).toBe(sleep1.pid); // a job of its own
    await waitForAsync(() => state(sleep1.pid) === 'S', 5000, 'sleep to sleep');
    await tmux('send-keys', '-t', name, 'C-c');
    await waitForAsync(() => gone(sleep1.pid), 5000, 'sleep 30 to end on Ctrl-C');
    await tmux('send-keys', '-t', name, 'echo alive-$((6*7))', 'Enter');
    await waitScreen(name, /^alive-42$/m, 'alive-42');
    expect(gone(panePid)).toBe(false);

    // Ctrl-Z stops the job, fg resumes it; netlog-run itself is not stopped.
    await tmux('send-keys', '-t', name, 'sleep 31', 'Enter');
    const sleep2 = (await waitExec(log, ['sleep', '31'])).proc!;
    await waitForAsync(() => state(sleep2.pid) === 'S', 5000, 'sleep 31 to sleep');
    await tmux('send-keys', '-t', name, 'C-z');
    await waitScreen(name, /Stopped\s+sleep 31/, 'bash to report the job stopped');
    expect(state(sleep2.pid)).toBe('T');
    expect(state(panePid)).not.toBe('T');
    await tmux('send-keys', '-t', name, 'fg', 'Enter');
    await waitForAsync(() => state(sleep2.pid) === 'S', 5000, 'sleep 31 to go on after fg');
    await tmux('send-keys', '-t', name, 'C-c');
    await waitForAsync(() => gone(sleep2.pid), 5000, 'sleep 31 to end on Ctrl-C');
    await tmux('send-keys', '-t', name, 'echo back-$((6*7))', 'Enter');
    await waitScreen(name, /^back-42$/m, 'back-42');

    // A resized terminal reaches the shell (SIGWINCH: readline updates LINES and COLUMNS).
    await tmux('resize-window', '-t', name, '-x', '100', '-y', '30');
    await tmux('send-keys', '-t', name, 'echo size-$LINES-$COLUMNS', 'Enter');
    await waitScreen(name, /^size-30-100$/m, 'size-30-100');

    // exit ends the shell, then netlog-run, with the end record written.
    await tmux('send-keys', '-t', name, 'exit 0', 'Enter');
    await waitForAsync(() => readRecords(log).at(-1)?.event === 'end', 10_000, 'the end record');
    await waitForAsync(() => gone(panePid), 5000, 'netlog-run to exit');
    const records = readRecords(log);
    expectGapless(records);
    expect(records.at(-1)!.run).toMatchObject({ exit_code: 0, signal: null, refused: 0 });
    for (const r of records.filter((x) => x.event === 'exec')) expect(r.proc!.tty).toBe(tty);
  });
});

describe('netlog-run started from an interactive shell', () => {
  it('stops with its job on Ctrl-Z, goes on with fg, and Ctrl-C reaches COMMAND (exit 130)', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'netlog.jsonl');
    const name = `netlog-${process.pid}-b`;
    const { tty } = await newSession(name, shellCommand(dir, 'bash --norc -i'));
    await waitScreen(name, /nl\$ $/m, 'the prompt');
    await tmux('send-keys', '-t', name, `${process.execPath} ${NETLOG_RUN} -o ${log} -- sleep 30`, 'Enter');
    const sleep = (await waitExec(log, ['sleep', '30'])).proc!;
    const runPid = readRecords(log)[0]!.run!.pid as number;
    expect(sleep.tty).toBe(tty);
    expect(sleep.ppid).toBe(runPid);
    await waitForAsync(() => state(sleep.pid) === 'S', 5000, 'sleep to sleep');

    await tmux('send-keys', '-t', name, 'C-z');
    await waitScreen(name, /Stopped\s+.*netlog-run.*sleep 30/, 'the shell to report the job stopped');
    expect(state(sleep.pid)).toBe('T');
    await waitForAsync(() => state(runPid) === 'T', 5000, 'netlog-run to stop with its job');

    await tmux('send-keys', '-t', name, 'fg', 'Enter');
    await waitForAsync(() => state(sleep.pid) === 'S' && state(runPid) === 'S', 5000, 'the job to go on after fg');

    await tmux('send-keys', '-t', name, 'C-c');
    await waitForAsync(() => gone(runPid), 5000, 'netlog-run to exit after Ctrl-C');
    expect(gone(sleep.pid)).toBe(true);
    await tmux('send-keys', '-t', name, 'echo rc-$?', 'Enter');
    await waitScreen(name, /^rc-130$/m, 'rc-130');
    const records = readRecords(log);
    expectGapless(records);
    expect(records.at(-1)!.run).toMatchObject({ exit_code: 130, signal: 'SIGINT' });
  });
});
