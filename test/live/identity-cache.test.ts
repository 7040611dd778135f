// The caller's identity is read once per task and kept (docs/performance.md): what a
// process changes about itself between two records (process group, session, name,
// credentials, on one thread or all) still shows in the next record, and what only an
// exec or a credential change alters is kept in between. Each record is a UDP connect
// of build/fixtures/identity_steps to a socket of this test, named by its local port.

import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, jsonLines, netlogRun, ofKind, requireRoot, tempDir, type JsonRecord } from './harness.js';

interface Step {
  step: string; port: number; pid: number; tid: number; ppid: number; sid: number; pgid: number;
  uid: number; gid: number; euid: number; egid: number; comm: string;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

async function udpListener(): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => sock.close());
  return sock.address().port;
}

function dir(): string {
  const d = tempDir();
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Runs the fixture under netlog-run; returns its steps, each with the record it made. */
async function runSteps(mode: string, env: Record<string, string>, extra: string[] = [], program = fixture('identity_steps')) {
  const port = await udpListener();
  const r = await netlogRun([program, mode, String(port), ...extra], { execa: { env } });
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  const steps = jsonLines(r.stdout) as Step[];
  const connects = ofKind(r.records, 'connect');
  const paired = steps.map((s) => {
    const rec = connects.filter((c) => c.net?.local.port === s.port && c.proc?.tid === s.tid);
    expect(rec, `one record for step ${s.step}`).toHaveLength(1);
    return { step: s, rec: rec[0]! as JsonRecord & { proc: NonNullable<JsonRecord['proc']> } };
  });
  return paired;
}

function expectSame(step: Step, proc: NonNullable<JsonRecord['proc']>): void {
  const { pid, tid, ppid, sid, pgid, uid, gid, euid, egid, comm } = proc;
  expect({ pid, tid, ppid, sid, pgid, uid, gid, euid, egid, comm }, step.step).toEqual({
    pid: step.pid, tid: step.tid, ppid: step.ppid, sid: step.sid, pgid: step.pgid,
    uid: step.uid, gid: step.gid, euid: step.euid, egid: step.egid, comm: step.comm,
  });
}

// NETLOG_IDENTITY_PROC=1 makes netlog read credentials from /proc/TID/status, as on
// kernels before 6.13 (no PIDFD_GET_INFO); without it, 6.13+ kernels use the pidfd.
describe.each<{ via: string; env: Record<string, string> }>([
  { via: 'default', env: {} },
  { via: '/proc status (NETLOG_IDENTITY_PROC=1)', env: { NETLOG_IDENTITY_PROC: '1' } },
])('identity per task ($via)', ({ env }) => {
  it('setpgid, a new name, setresgid, setresuid and setsid in a child all show in the next record', async (ctx) => {
    requireRoot(ctx, 'setresuid to nobody');
    const steps = await runSteps('proc', env);
    expect(steps.map((s) => s.step.step)).toEqual(['start', 'setpgid', 'comm', 'setresgid', 'setresuid', 'child', 'setsid', 'end']);
    for (const { step, rec } of steps) expectSame(step, rec.proc);
    const by = Object.fromEntries(steps.map((s) => [s.step.step, s.rec.proc]));
    // The values really changed between the records.
    expect(by.start!.uid).toBe(0);
    expect(by.setpgid!.pgid).not.toBe(by.start!.pgid);
    expect(by.comm!.comm).toBe('renamed');
    expect([by.setresgid!.gid, by.setresgid!.egid, by.setresgid!.uid]).toEqual([65534, 65534, 0]);
    expect([by.setresuid!.uid, by.setresuid!.euid]).toEqual([65534, 65534]);
    expect(by.setsid!.sid).toBe(by.setsid!.pid);
    expect(by.setsid!.sid).not.toBe(by.child!.sid);
    expect(by.child!.ppid).toBe(by.start!.pid);
  });

  it('a raw setresuid on one thread shows in that thread\'s records only', async (ctx) => {
    requireRoot(ctx, 'setresuid to nobody');
    const steps = await runSteps('thread', env);
    expect(steps.map((s) => s.step.step)).toEqual(['start', 'thread-before', 'thread-after', 'main-after']);
    for (const { step, rec } of steps) expectSame(step, rec.proc);
    const by = Object.fromEntries(steps.map((s) => [s.step.step, s.rec.proc]));
    // A thread's record names its process and itself.
    expect(by['thread-before']!.pid).toBe(by.start!.pid);
    expect(by['thread-before']!.tid).not.toBe(by.start!.pid);
    expect([by['thread-before']!.uid, by['thread-after']!.uid, by['thread-after']!.egid]).toEqual([0, 65534, 65534]);
    expect([by['main-after']!.uid, by['main-after']!.gid]).toEqual([0, 0]);
  });

  it('keeps the program between records until a credential change drops it', async (ctx) => {
    requireRoot(ctx, 'setresuid to nobody');
    // A copy the fixture removes after its first record: /proc/PID/exe then says
    // "PATH (deleted)", which a record shows only once the kept value is dropped.
    const program = path.join(dir(), 'identity_steps');
    fs.copyFileSync(fixture('identity_steps'), program);
    fs.chmodSync(program, 0o755);
    const steps = await runSteps('proc', env, ['unlink'], program);
    const exe = Object.fromEntries(steps.map((s) => [s.step.step, s.rec.proc.exe]));
    const deleted = `${program} (deleted)`;
    expect(exe).toEqual({
      start: program, setpgid: program, comm: program,
      setresgid: deleted, setresuid: deleted, child: deleted, setsid: deleted, end: deleted,
    });
  });

  it('an exec drops what is kept: the same task records its new program', async () => {
    const d = dir();
    const [first, second] = [path.join(d, 'first'), path.join(d, 'second')];
    for (const p of [first, second]) {
      fs.copyFileSync(fixture('identity_steps'), p);
      fs.chmodSync(p, 0o755);
    }
    const steps = await runSteps('exec', env, [second], first);
    expect(steps.map((s) => [s.step.step, s.rec.proc.exe])).toEqual([['start', first], ['exec-after', second]]);
    expect(steps[1]!.rec.proc.tid).toBe(steps[0]!.rec.proc.tid);
    for (const { step, rec } of steps) expectSame(step, rec.proc);
  });
});
