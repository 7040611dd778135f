// Exec records (SPEC §3, §4) of real programs under the real kernel: argv, file, cwd and every
// identity field checked against what the kernel itself says about the process; start/end
// records and exit statuses; static and multi-threaded programs; argv_max_size.

import fs from 'node:fs';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  expectGapless, fixture, NETLOG_RUN, ofKind, parseProcStat, readRecords, ROOT, tempDir, type JsonRecord,
} from './harness.js';

const PATH = '/usr/local/bin:/usr/bin:/bin';
const PROC_KEYS = ['pid', 'tid', 'ppid', 'sid', 'pgid', 'tty', 'uid', 'gid', 'euid', 'egid', 'auid', 'ses', 'exe', 'comm'];
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** /proc/self/loginuid or sessionid as the record has it: null when unset (4294967295). */
function auditId(file: string): number | null {
  const v = Number(fs.readFileSync(`/proc/self/${file}`, 'utf8').trim());
  return v === 4294967295 ? null : v;
}

/**
 * Runs `node bin/netlog-run.js -o LOG ARGS -- COMMAND` with the node running the tests, a
 * fixed PATH and cwd; `detached` starts it in a new session, without a controlling terminal.
 */
async function run(command: string[], opts: { args?: string[]; cwd?: string; detached?: boolean; execa?: Options } = {}) {
  const dir = tempDir();
  const log = path.join(dir, 'netlog.jsonl');
  const before = Date.now();
  const sub = execa(process.execPath, [NETLOG_RUN, '-o', log, ...(opts.args ?? []), '--', ...command], {
    reject: false,
    timeout: 30_000,
    cwd: opts.cwd ?? dir,
    env: { PATH },
    detached: opts.detached ?? false,
    ...opts.execa,
  });
  const r = await sub;
  const after = Date.now();
  const records = readRecords(log);
  return {
    exitCode: r.exitCode ?? -1,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    records,
    execs: ofKind(records, 'exec'),
    pid: sub.pid!,
    dir,
    before,
    after,
  };
}

function proc(rec: JsonRecord | undefined): NonNullable<JsonRecord['proc']> {
  if (!rec?.proc) throw new Error(`no proc in ${JSON.stringify(rec)}`);
  return rec.proc;
}

describe('exec records', () => {
  it('records each exec of a bash script with argv, file, cwd and the caller\'s identity', async () => {
    const script = '/bin/true; /usr/bin/env X=1 /bin/echo "a b"';
    const cwd = fs.realpathSync(tempDir());
    const r = await run(['bash', '-c', script], { cwd, detached: true });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('a b');
    expect(r.exitCode).toBe(0);
    expectGapless(r.records);

    const start = r.records[0]!;
    expect(start.run).toMatchObject({ pid: r.pid, command: ['bash', '-c', script] });

    // Exactly these four execs, in this order (bash runs them one after the other).
    expect(r.execs.map((e) => e.exec)).toEqual([
      { file: '/usr/bin/bash', path: '/usr/bin/bash', argv: ['bash', '-c', script], cwd, argv_truncated: false },
      { file: '/usr/bin/true', path: '/bin/true', argv: ['/bin/true'], cwd, argv_truncated: false },
      { file: '/usr/bin/env', path: '/usr/bin/env', argv: ['/usr/bin/env', 'X=1', '/bin/echo', 'a b'], cwd, argv_truncated: false },
      { file: '/usr/bin/echo', path: '/bin/echo', argv: ['/bin/echo', 'a b'], cwd, argv_truncated: false },
    ]);
    const [bash, tru, env, echo] = r.execs.map(proc);

    // Who called exec: pid relations.
    expect(bash!.ppid).toBe(r.pid); // COMMAND is netlog-run's child
    expect(tru!.ppid).toBe(bash!.pid); // bash forked /bin/true
    expect(tru!.pid).not.toBe(bash!.pid);
    // bash runs the last command of -c in place, or forks it: either way it is bash's.
    expect(env!.pid === bash!.pid || env!.ppid === bash!.pid).toBe(true);
    // env execs echo in place.
    expect(echo!.pid).toBe(env!.pid);
    expect(echo!.ppid).toBe(env!.ppid);

    // The program that called exec: its real path and comm.
    const node = fs.realpathSync(process.execPath);
    expect([bash!.exe, bash!.comm]).toEqual([node, path.basename(node).slice(0, 15)]);
    expect([tru!.exe, tru!.comm]).toEqual([fs.realpathSync('/usr/bin/bash'), 'bash']);
    expect([env!.exe, env!.comm]).toEqual([fs.realpathSync('/usr/bin/bash'), 'bash']);
    expect([echo!.exe, echo!.comm]).toEqual([fs.realpathSync('/usr/bin/env'), 'env']);

    const auid = auditId('loginuid');
    const ses = auditId('sessionid');
    for (const rec of r.execs) {
      const p = proc(rec);
      expect(Object.keys(rec)).toEqual(['v', 'seq', 'ts', 'event', 'session', 'proc', 'exec']);
      expect(Object.keys(p)).toEqual(PROC_KEYS);
      expect(Object.keys(rec.exec!)).toEqual(['file', 'path', 'argv', 'cwd', 'argv_truncated']);
      expect(rec.v).toBe(1);
      expect(p.tid).toBe(p.pid);
      expect([p.uid, p.gid, p.euid, p.egid]).toEqual([process.getuid!(), process.getgid!(), process.geteuid!(), process.getegid!()]);
      // Started with setsid: netlog-run leads a session without a controlling terminal.
      expect(p.sid).toBe(r.pid);
      expect(p.tty).toBeNull();
      expect(p.auid).toBe(auid);
      expect(p.ses).toBe(ses);
    }
    for (const rec of r.records) {
      expect(rec.ts).toMatch(TS);
      const ms = Date.parse(rec.ts);
      expect(ms).toBeGreaterThanOrEqual(r.before - 1);
      expect(ms).toBeLessThanOrEqual(r.after + 1);
    }
  });

  // Ground truth: the process prints what the kernel says about it (/proc/$$/stat, ps), then
  // execs; the record of that exec must say the same.
  const probe =
    'cat /proc/$$/stat; ps -o sid=,pgid=,tty= -p $$; cat /proc/$$/loginuid; echo; cat /proc/$$/sessionid; echo; exec /bin/true';

  it.each([
    ['in a new session without a terminal', true],
    ['in the caller\'s session', false],
  ])('identity fields match /proc/PID/stat and ps of the caller, %s', async (_name, detached) => {
    const r = await run(['bash', '-c', probe], { detached });
    expect(r.exitCode).toBe(0);
    const [statLine = '', psLine = '', loginuid = '', sessionid = ''] = r.stdout.split('\n');
    const stat = parseProcStat(statLine);
    const [psSid, psPgid, psTty] = psLine.trim().split(/\s+/);
    const last = r.execs.at(-1);
    expect(last?.exec?.file).toBe('/usr/bin/true');
    const p = proc(last);
    expect(p.pid).toBe(stat.pid);
    expect(p.tid).toBe(stat.pid);
    expect(p.ppid).toBe(stat.ppid);
    expect(p.ppid).toBe(r.pid);
    expect(p.sid).toBe(stat.sid);
    expect(p.pgid).toBe(stat.pgid);
    expect(p.sid).toBe(Number(psSid));
    expect(p.pgid).toBe(Number(psPgid));
    expect(p.tty).toBe(psTty === '?' ? null : psTty);
    expect(p.tty === null).toBe(stat.ttyNr === 0);
    expect(p.comm).toBe(stat.comm);
    expect(p.exe).toBe(fs.realpathSync('/usr/bin/bash'));
    expect(p.auid).toBe(Number(loginuid) === 4294967295 ? null : Number(loginuid));
    expect(p.ses).toBe(Number(sessionid) === 4294967295 ? null : Number(sessionid));
    if (detached) {
      expect(p.tty).toBeNull();
      expect(p.sid).toBe(r.pid);
    }
    // The first exec (bash, by netlog-run's child) is the same process, seen before its exec.
    const first = proc(r.execs[0]);
    expect(first.pid).toBe(stat.pid);
    expect([first.ppid, first.sid, first.pgid]).toEqual([stat.ppid, stat.sid, stat.pgid]);
  });
});

describe('start and end records', () => {
  it.each<[string, string, number, string | null]>([
    ['exit 0', 'exit 0', 0, null],
    ['exit 7', 'exit 7', 7, null],
    ['killed by SIGKILL', 'kill -9 $$', 128 + 9, 'SIGKILL'],
  ])('%s: start first, end last, seq gapless, the exit status passed through', async (_name, script, code, signal) => {
    const r = await run(['bash', '-c', script]);
    expect(r.exitCode).toBe(code);
    expectGapless(r.records);
    const start = r.records[0]!;
    const end = r.records.at(-1)!;
    expect(Object.keys(start)).toEqual(['v', 'seq', 'ts', 'event', 'session', 'run']);
    expect(start.run).toEqual({
      version: VERSION,
      pid: r.pid,
      command: ['bash', '-c', script],
      uid: process.getuid!(),
      config_digest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(Object.keys(end)).toEqual(['v', 'seq', 'ts', 'event', 'session', 'run']);
    expect(end.run).toEqual({ exit_code: code, signal, records: r.records.length - 1, hidden: 0, refused: 0 });
    expect(r.execs.map((e) => e.exec?.argv)).toEqual([['bash', '-c', script]]);
    expect(ofKind(r.records, 'start')).toHaveLength(1);
    expect(ofKind(r.records, 'end')).toHaveLength(1);
  });
});

describe('timestamps', () => {
  // Short runs, one after the other: the start record and COMMAND's first exec, and the
  // last exec and the end record, are each stamped within a millisecond or so.
  const runs = async () => {
    const out: JsonRecord[][] = [];
    for (let i = 0; i < 12; i++) out.push((await run(['/bin/true'])).records);
    return out;
  };
  let cached: Promise<JsonRecord[][]> | undefined;
  const records = () => (cached ??= runs());

  it('ts is wall-clock UTC with microseconds in start and end records too (not milliseconds padded with 000)', async () => {
    const all = await records();
    const runTs = all.flatMap((rs) => rs.filter((r) => r.event === 'start' || r.event === 'end').map((r) => r.ts));
    expect(runTs).toHaveLength(24);
    for (const ts of runTs) expect(ts).toMatch(TS);
    // 24 stamps all ending in 000 by chance: about 1e-72.
    expect(runTs.filter((ts) => !ts.endsWith('000Z')), `start/end stamps: ${runTs.join(' ')}`).not.toEqual([]);
  });

  it('ts never goes backwards along seq (the start record is not stamped after the first exec)', async () => {
    for (const rs of await records()) {
      expectGapless(rs);
      const ts = rs.map((r) => r.ts);
      // Same format and width everywhere: text order is time order.
      for (let i = 1; i < ts.length; i++) expect(ts[i]! >= ts[i - 1]!, `seq ${i} at ${ts[i - 1]} then seq ${i + 1} at ${ts[i]}`).toBe(true);
    }
  });
});

/** True when an ELF file has no PT_INTERP program header: statically linked. */
function isStatic(file: string): boolean {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) throw new Error(`${file} is not an ELF64 file`);
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  return true;
}

describe('programs of every kind', () => {
  it('records a static binary', async () => {
    const f = fixture('static_true');
    expect(isStatic(f)).toBe(true);
    // bash runs it and exits 3 only if it ran and exited 0.
    const r = await run(['bash', '-c', `${f} && exit 3`]);
    expect(r.exitCode).toBe(3);
    expectGapless(r.records);
    const rec = r.execs.find((e) => e.exec?.file === f);
    expect(rec?.exec).toEqual({ file: f, path: f, argv: [f], cwd: r.dir, argv_truncated: false });
    expect(proc(rec).exe).toBe(fs.realpathSync('/usr/bin/bash'));
    expect(proc(rec).ppid).toBe(proc(r.execs[0]).pid);
  });

  it('records a static binary as COMMAND itself', async () => {
    const f = fixture('static_true');
    const r = await run([f]);
    expect(r.exitCode).toBe(0);
    expect(r.execs.map((e) => e.exec)).toEqual([{ file: f, path: f, argv: [f], cwd: r.dir, argv_truncated: false }]);
  });

  it('keeps argv bytes exactly: quotes, backslashes, newlines, control characters, UTF-8', async () => {
    const args = ['q"uote', 'back\\slash', 'new\nline', 'tab\tand\u0001ctl', 'ünïcødé ✓', '', '{"json":1}'];
    const r = await run(['/bin/echo', ...args]);
    expect(r.exitCode).toBe(0);
    expect(r.execs.at(-1)!.exec?.argv).toEqual(['/bin/echo', ...args]);
  });

  it('records execs that name the caller\'s own files: /proc/self/fd/N, and a relative path in a cwd longer than PATH_MAX', async () => {
    const python = (await execa('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
    const viaFd = 'import os; fd = os.open("/bin/true", os.O_RDONLY); os.execv("/proc/self/fd/%d" % fd, ["true", "via-proc-self"])';
    const r1 = await run([python, '-c', viaFd]);
    expect(r1.exitCode).toBe(0);
    expect(r1.execs.at(-1)!.exec?.argv).toEqual(['true', 'via-proc-self']);
    expect(r1.execs.at(-1)!.exec?.file).toBe(fs.realpathSync('/bin/true'));

    // A cwd of ~4.4 KB: /proc/PID/cwd cannot be read back as a path, the exec
    // must still be found and recorded.
    const deep = `
import os, shutil
for i in range(45):
    os.mkdir("d" * 99); os.chdir("d" * 99)
shutil.copy(${JSON.stringify(fixture('static_true'))}, "prog")
os.execv("./prog", ["./prog", "deep"])
`;
    const r2 = await run([python, '-c', deep]);
    expect(r2.exitCode).toBe(0);
    expect(r2.execs.at(-1)!.exec?.argv).toEqual(['./prog', 'deep']);
  });

  it('records execveat(fd, "", AT_EMPTY_PATH) (fexecve) with the file behind the fd', async () => {
    const python = (await execa('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
    // os.execve with an fd is fexecve(3): execveat(fd, "", argv, envp, AT_EMPTY_PATH).
    const script = 'import os; fd = os.open("/bin/true", os.O_RDONLY); os.execve(fd, ["true", "via-fd"], {})';
    const r = await run([python, '-c', script]);
    expect(r.exitCode).toBe(0);
    const last = r.execs.at(-1)!;
    expect(last.exec).toEqual({ file: fs.realpathSync('/bin/true'), path: '', argv: ['true', 'via-fd'], cwd: r.dir, argv_truncated: false });
    expect(proc(last).exe).toBe(fs.realpathSync(python));
  });

  it.each([
    ['fork', []],
    ['vfork', ['--vfork']],
  ])('records 16 threads that %s and exec at once, each with its own pid', async (_name, flag) => {
    const f = fixture('threads_exec');
    const r = await run([f, ...flag, '16', '/bin/true']);
    expect(r.exitCode).toBe(0);
    expectGapless(r.records);
    const children = r.stdout
      .split('\n')
      .map((l) => JSON.parse(l) as { child?: number; exit?: number })
      .filter((o) => o.child !== undefined);
    expect(children).toHaveLength(16);
    expect(children.every((c) => c.exit === 0)).toBe(true);

    const parent = proc(r.execs[0]);
    expect(r.execs[0]!.exec?.file).toBe(f);
    const trues = r.execs.filter((e) => e.exec?.file === '/usr/bin/true');
    expect(trues).toHaveLength(16);
    expect(r.execs).toHaveLength(17);
    const pids = trues.map((e) => proc(e).pid);
    expect(new Set(pids).size).toBe(16);
    expect([...pids].sort((a, b) => a - b)).toEqual(children.map((c) => c.child!).sort((a, b) => a - b));
    for (const e of trues) {
      expect(e.exec?.argv).toEqual(['/bin/true']);
      expect(proc(e).ppid).toBe(parent.pid);
      expect(proc(e).tid).toBe(proc(e).pid);
      expect(proc(e).exe).toBe(fs.realpathSync(f));
    }
  });
});

describe('argv_max_size', () => {
  const args = Array.from({ length: 50 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(1000));
  const full = ['/bin/true', ...args].join(' ');

  it('cuts argv at 39936 bytes by default', async () => {
    const r = await run(['/bin/true', ...args]);
    expect(r.exitCode).toBe(0);
    const e = r.execs[0]!.exec!;
    expect(e.argv_truncated).toBe(true);
    expect(e.argv.join(' ').length).toBe(39936);
    expect(e.argv.join(' ')).toBe(full.slice(0, 39936));
    expect(e.argv[0]).toBe('/bin/true');
  });

  it('keeps an argv of exactly 39936 bytes whole', async () => {
    const exact = ['/bin/true', 'x'.repeat(39936 - '/bin/true '.length)];
    const r = await run(exact);
    expect(r.exitCode).toBe(0);
    expect(r.execs[0]!.exec).toMatchObject({ argv: exact, argv_truncated: false });
  });

  it('cuts argv at argv_max_size from --config', async () => {
    const dir = tempDir();
    const conf = path.join(dir, 'netlog.conf');
    fs.writeFileSync(conf, '# test\nargv_max_size = 100\n');
    const r = await run(['/bin/true', ...args], { args: ['--config', conf] });
    expect(r.exitCode).toBe(0);
    const e = r.execs[0]!.exec!;
    expect(e.argv_truncated).toBe(true);
    expect(e.argv.join(' ').length).toBe(100);
    expect(e.argv.join(' ')).toBe(full.slice(0, 100));
    // A short argv is not touched.
    const short = await run(['/bin/true', 'x'], { args: ['--config', conf] });
    expect(short.execs[0]!.exec).toMatchObject({ argv: ['/bin/true', 'x'], argv_truncated: false });
  });
});
