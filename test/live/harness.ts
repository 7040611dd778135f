// Shared helpers of the live tests: run netlog-run on real programs under the
// real kernel, read back its JSON records, find fixture programs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, type Options, type ResultPromise } from 'execa';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const NETLOG_RUN = path.join(ROOT, 'bin', 'netlog-run.js');
export const FIXTURES = path.join(ROOT, 'build', 'fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export interface JsonRecord {
  v: number;
  seq: number;
  ts: string;
  event: string;
  proc?: {
    pid: number; tid: number; ppid: number; sid: number; pgid: number; tty: string | null;
    uid: number; gid: number; euid: number; egid: number; auid: number | null; ses: number | null;
    exe: string; comm: string;
  };
  net?: { proto: string; family: string; local: { ip: string; port: number }; remote?: { ip: string; port: number } };
  exec?: { file: string; path: string; argv: string[]; cwd: string; argv_truncated: boolean };
  result?: string;
  run?: Record<string, unknown>;
}

/** Root, or not: many live tests need it (setpriv, mount, ptrace of a session, --user). */
export const IS_ROOT = process.getuid?.() === 0;

/** Skips the running test, with the reason shown by the reporter, unless we are root. */
export function requireRoot(ctx: { skip: (condition: boolean, note?: string) => void }, why: string): void {
  ctx.skip(!IS_ROOT, `needs root (${why})`);
}

/**
 * Why `nobody` cannot run this checkout's netlog-run (a parent directory such
 * as /root or a mktemp -d is closed to others), or undefined when it can.
 */
function nobodyCannotRun(): string | undefined {
  const files = [NETLOG_RUN, path.join(ROOT, 'dist', 'cli', 'main.js'), path.join(ROOT, 'build', 'Release', 'netlog_native.node'), process.execPath];
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/test', ...files.flatMap((f, i) => (i ? ['-a', '-r', f] : ['-r', f]))]);
  return r.status === 0 ? undefined : `user nobody cannot read ${ROOT}: a directory above it is closed to others`;
}

/** Skips the running test, saying why, unless we are root and nobody can run netlog-run from this checkout. */
export function requireNobody(ctx: { skip: (condition: boolean, note?: string) => void }, why: string): void {
  requireRoot(ctx, why);
  const reason = nobodyCannotRun();
  ctx.skip(reason !== undefined, `${why}: ${reason}`);
}

/** A fresh directory under the run's TMPDIR (test/global-setup.ts removes them all at the end). */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'netlog-test-'));
}

export function readRecords(file: string): JsonRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JsonRecord);
}

/** Runs `netlog-run -o LOG ARGS -- COMMAND...` to completion (never rejects). */
export async function netlogRun(
  command: string[],
  opts: { args?: string[]; log?: string; execa?: Options } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string; records: JsonRecord[]; log: string }> {
  const log = opts.log ?? path.join(tempDir(), 'netlog.jsonl');
  const r = await execa(NETLOG_RUN, ['-o', log, ...(opts.args ?? []), '--', ...command], {
    reject: false,
    timeout: 60_000,
    ...opts.execa,
  });
  return {
    exitCode: r.exitCode ?? -1,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    records: readRecords(log),
    log,
  };
}

/** Starts netlog-run in the background; the caller ends it. */
export function netlogStart(command: string[], log: string, args: string[] = [], options: Options = {}): ResultPromise {
  return execa(NETLOG_RUN, ['-o', log, ...args, '--', ...command], { reject: false, ...options });
}

/** Waits (bounded) until pred() is true. */
export async function waitFor(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Awaits p, failing after timeoutMs (a bound on a hang, not a speed check: the
 * bound is generous so that a loaded machine passes).
 */
export async function within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every record's seq is 1..n without gaps, `start` first and `end` last. */
export function expectGapless(records: JsonRecord[]): void {
  records.forEach((r, i) => {
    if (r.seq !== i + 1) throw new Error(`seq gap: record ${i} has seq ${r.seq}`);
  });
  if (records[0]?.event !== 'start') throw new Error('first record is not start');
  if (records.at(-1)?.event !== 'end') throw new Error('last record is not end');
}

export function ofKind(records: JsonRecord[], event: string): JsonRecord[] {
  return records.filter((r) => r.event === event);
}

/**
 * Runs `node bin/netlog-run.js ARGS...` exactly as given (no `-o` added) to completion,
 * with the node running these tests; never rejects.
 */
export async function netlogRaw(
  args: string[],
  options: Options = {},
): Promise<{ exitCode: number; stdout: string; stderr: string; pid: number | undefined }> {
  const sub = execa(process.execPath, [NETLOG_RUN, ...args], { reject: false, timeout: 60_000, ...options });
  const r = await sub;
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), pid: sub.pid };
}

/** The fields of /proc/PID/stat up to tty_nr (comm may hold spaces and parentheses). */
export function parseProcStat(text: string): { pid: number; comm: string; state: string; ppid: number; pgid: number; sid: number; ttyNr: number } {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/PID/stat line: ${text}`);
  const [state = '', ppid, pgid, sid, ttyNr] = text.slice(close + 2).split(' ');
  return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), state, ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid), ttyNr: Number(ttyNr) };
}

/** Waits (bounded) until an async pred() is true. */
export async function waitForAsync(pred: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every line of `text` that is a JSON object (fixture programs print them). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function jsonLines(text: string): any[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

export interface HttpServer {
  port: number;
  /** Request paths and the client's port for each, in arrival order. */
  requests: Array<{ path: string; clientPort: number }>;
  close(): Promise<void>;
}

/** A tiny HTTP server on 127.0.0.1 (port 0); the caller closes it. */
export async function httpServer(): Promise<HttpServer> {
  const requests: HttpServer['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? '', clientPort: req.socket.remotePort ?? -1 });
    res.setHeader('connection', 'close');
    res.end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = (): Promise<void> => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port: (server.address() as net.AddressInfo).port, requests, close };
}
