// A tmux server of the test file's own (nothing else's sessions are seen or
// touched): sessions on real ptys, keys typed into them, the screen read back.
import fs from 'node:fs';
import { execa } from 'execa';
import { readRecords, waitForAsync, type JsonRecord } from './harness.js';

export class Tmux {
  private readonly sessions: string[] = [];
  constructor(readonly socket = `netlog-test-${process.pid}`) {}

  async run(...args: string[]): Promise<string> {
    // tmux starts commands with $SHELL or the user's login shell, which for a
    // system user such as nobody is nologin.
    const r = await execa('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { timeout: 10_000, env: { SHELL: '/bin/sh' } });
    return String(r.stdout);
  }

  screen(name: string): Promise<string> {
    return this.run('capture-pane', '-p', '-J', '-t', name);
  }

  async waitScreen(name: string, re: RegExp, what: string, timeoutMs = 10_000): Promise<string> {
    let text = '';
    try {
      await waitForAsync(async () => re.test((text = await this.screen(name))), timeoutMs, what);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the screen:\n${text}`);
    }
    return text;
  }

  async newSession(name: string, command: string): Promise<{ panePid: number; tty: string }> {
    await this.run('new-session', '-d', '-s', name, '-x', '120', '-y', '40', command);
    this.sessions.push(name);
    const [pid = '', tty = ''] = (await this.run('display-message', '-p', '-t', name, '#{pane_pid} #{pane_tty}')).split(' ');
    return { panePid: Number(pid), tty: tty.replace(/^\/dev\//, '') };
  }

  /** Ends every session and the server (afterEach). */
  async cleanup(): Promise<void> {
    const tmux = (...args: string[]) => execa('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { reject: false, timeout: 10_000 });
    for (const name of this.sessions.splice(0)) await tmux('kill-session', '-t', name);
    await tmux('kill-server');
  }
}

/** An interactive shell's command line; HISTFILE in the temp dir: its history goes nowhere else. */
export function shellCommand(dir: string, inner: string): string {
  return `exec env PS1='nl$ ' HISTFILE=${dir}/history ${inner}`;
}

/** The state letter of a process (R, S, T, Z...), or null when it is gone. */
export function procState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

export function gone(pid: number): boolean {
  const s = procState(pid);
  return s === null || s === 'Z';
}

function execOf(log: string, argv: string[]): JsonRecord | undefined {
  return readRecords(log).find((r) => JSON.stringify(r.exec?.argv) === JSON.stringify(argv));
}

/** Waits (bounded) for the exec record of argv in log. */
export async function waitExec(log: string, argv: string[]): Promise<JsonRecord> {
  await waitForAsync(() => execOf(log, argv) !== undefined, 10_000, `the exec of ${argv.join(' ')}`);
  return execOf(log, argv)!;
}
