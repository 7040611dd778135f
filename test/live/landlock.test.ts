// A program that sandboxes itself with Landlock keeps its own network rules
// under netlog (issue #10): the fixture restricts itself with raw syscalls,
// then connects (or binds) to ports on 127.0.0.1; the same command is run
// bare and under netlog-run and must print the same results, and the records
// must show every attempt with the result the program saw.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { fixture, jsonLines, netlogRun, ofKind, tempDir, type JsonRecord } from './harness.js';

const FX = fixture('landlock_connect');

/** Why Landlock network rules cannot be tested here, or undefined. */
function landlockMissing(): string | undefined {
  let lsm: string | undefined;
  try {
    lsm = fs.readFileSync('/sys/kernel/security/lsm', 'utf8');
  } catch {
    // securityfs not mounted: the ABI probe below is the kernel's own answer.
  }
  if (lsm !== undefined && !lsm.split(',').map((s) => s.trim()).includes('landlock'))
    return `Landlock is not an active LSM (/sys/kernel/security/lsm: ${lsm.trim()})`;
  const r = spawnSync(FX, ['abi'], { encoding: 'utf8' });
  const abi = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(abi)) return `landlock_create_ruleset(VERSION) failed: ${r.stdout.trim()} ${r.stderr.trim()}`;
  if (abi < 4) return `Landlock ABI ${abi} has no network rules (needs 4, Linux 6.7)`;
  return undefined;
}
const MISSING = landlockMissing();

interface Listener {
  port: number;
  close: () => Promise<void>;
}
async function listener(): Promise<Listener> {
  const srv = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  return { port, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}
async function freePort(): Promise<number> {
  const l = await listener();
  await l.close();
  return l.port;
}

async function bare(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa(FX, args, { reject: false, timeout: 30_000 });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const attempts = (records: JsonRecord[], event: string) =>
  ofKind(records, event).map((r) => ({ port: event === 'bind' ? r.net?.local.port : r.net?.remote?.port, result: r.result, pid: r.proc?.pid }));

describe.skipIf(MISSING !== undefined)(`Landlock rules of the program itself${MISSING ? ` (skipped: ${MISSING})` : ''}`, () => {
  let a: Listener;
  let b: Listener;
  beforeAll(async () => {
    a = await listener();
    b = await listener();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  for (const who of ['self', 'fork', 'exec'] as const) {
    it(`connect rules (${who}): port A connects, port B fails EACCES, bare and under netlog alike; both recorded with their result`, async () => {
      const args = [`connect:${a.port}`, who, String(a.port), String(b.port)];
      const expected = `connect ${a.port} ok\nconnect ${b.port} EACCES`;
      const plain = await bare(args);
      expect(plain).toMatchObject({ exitCode: 0, stdout: expected });
      const r = await netlogRun([FX, ...args]);
      expect(r.stderr).toBe('');
      expect(r).toMatchObject({ exitCode: 0, stdout: expected });
      const conns = attempts(r.records, 'connect');
      expect(conns.map(({ port, result }) => ({ port, result }))).toEqual([
        { port: a.port, result: 'ok' },
        { port: b.port, result: 'EACCES' },
      ]);
      // The connecting process: the fixture itself, its forked child, or the
      // program bash ran (its last exec record).
      const execs = ofKind(r.records, 'exec');
      if (who === 'self') expect(conns[0]!.pid).toBe(execs[0]!.proc!.pid);
      else expect(conns[0]!.pid).not.toBe(execs[0]!.proc!.pid);
      if (who === 'exec') {
        expect(execs.map((e) => e.exec!.argv[0])).toEqual([FX, 'bash', expect.stringMatching(/landlock_connect$/)]);
        expect(conns[0]!.pid).toBe(execs[2]!.proc!.pid);
      }
      // The refused connect never had a peer: only A's socket has a close record.
      expect(attempts(r.records, 'close').map((c) => c.port)).toEqual([a.port]);
    });
  }

  it('a child forked before its parent restricted itself is outside the domain: both connect, bare and under netlog', async () => {
    const args = [`connect:${a.port}`, 'before', String(a.port), String(b.port)];
    const expected = `connect ${a.port} ok\nconnect ${b.port} ok`;
    expect(await bare(args)).toMatchObject({ exitCode: 0, stdout: expected });
    const r = await netlogRun([FX, ...args]);
    expect(r).toMatchObject({ exitCode: 0, stdout: expected, stderr: '' });
    expect(attempts(r.records, 'connect').map(({ port, result }) => ({ port, result }))).toEqual([
      { port: a.port, result: 'ok' },
      { port: b.port, result: 'ok' },
    ]);
  });

  it('a thread flipping the sockaddr between an allowed and a forbidden port never gets the forbidden one connected', async () => {
    const ITER = 300;
    let reachedB = 0;
    const srvB = net.createServer((s) => {
      reachedB++;
      s.destroy();
    });
    await new Promise<void>((resolve) => srvB.listen(0, '127.0.0.1', resolve));
    const pb = (srvB.address() as net.AddressInfo).port;
    try {
      const args = [`connect:${a.port}`, 'run', fixture('connect_racer'), '127.0.0.1', String(a.port), String(pb), String(ITER)];
      const r = await netlogRun([FX, ...args], { execa: { timeout: 120_000 } });
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = jsonLines(r.stdout);
      const summary = lines.find((j) => j.summary)?.summary;
      // Both ports were asked for; only A's connects got through.
      expect(summary).toMatchObject({ iterations: ITER, port_b: 0, other: 0 });
      expect(summary.port_a).toBeGreaterThan(0);
      expect(summary.errors).toBeGreaterThan(0);
      expect(reachedB).toBe(0);
      // Each record has the port and result the program saw, in order.
      const seen = lines.filter((j) => 'peer_port' in j).map((j) => (j.error ? [pb, j.error] : [j.peer_port, 'ok']));
      expect(ofKind(r.records, 'connect').map((c) => [c.net?.remote?.port, c.result])).toEqual(seen);
    } finally {
      await new Promise<void>((resolve) => srvB.close(() => resolve()));
    }
  });

  it('an orphan of a sandboxed process (parent exited, reparented to netlog-run) keeps the rules; recorded', async () => {
    const args = [`connect:${a.port}`, 'orphan', String(a.port), String(b.port)];
    const expected = `connect ${a.port} ok\nconnect ${b.port} EACCES`;
    expect(await bare(args)).toMatchObject({ exitCode: 0, stdout: expected });
    const r = await netlogRun([FX, ...args]);
    expect(r).toMatchObject({ exitCode: 0, stdout: expected, stderr: '' });
    // netlog cannot tell which domain an orphan inherited: the connects are
    // recorded, then performed by the kernel in the caller's domain, so the
    // result is not known when the record is written.
    const conns = attempts(r.records, 'connect');
    expect(conns.map(({ port, result }) => ({ port, result }))).toEqual([
      { port: a.port, result: undefined },
      { port: b.port, result: undefined },
    ]);
    // The close record shows the peer the kernel really connected to.
    expect(ofKind(r.records, 'close').map((c) => c.net?.remote)).toEqual([{ ip: '127.0.0.1', port: a.port }]);
  });

  it('a filesystem-only ruleset changes nothing for connects (both ok and recorded ok), and is in force', async () => {
    const dir = tempDir();
    try {
      const args = [`fs:${dir}`, 'self', String(a.port), String(b.port)];
      const expected = `create ${dir}/f EACCES\nconnect ${a.port} ok\nconnect ${b.port} ok`;
      expect(await bare(args)).toMatchObject({ exitCode: 0, stdout: expected });
      const r = await netlogRun([FX, ...args]);
      expect(r).toMatchObject({ exitCode: 0, stdout: expected, stderr: '' });
      expect(attempts(r.records, 'connect').map(({ port, result }) => ({ port, result }))).toEqual([
        { port: a.port, result: 'ok' },
        { port: b.port, result: 'ok' },
      ]);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const who of ['self', 'exec'] as const) {
    it(`bind rules (${who}): binding the allowed port works, another fails EACCES, bare and under netlog alike; both recorded`, async () => {
      const allowed = await freePort();
      const other = await freePort();
      const args = [`bind:${allowed}`, who, String(allowed), String(other)];
      const expected = `bind ${allowed} ok\nbind ${other} EACCES`;
      expect(await bare(args)).toMatchObject({ exitCode: 0, stdout: expected });
      // TCP binds are recorded with netlog's probe_tcp_bind extension on.
      const dir = tempDir();
      const conf = `${dir}/netlog.conf`;
      fs.writeFileSync(conf, 'probe_tcp_bind = 1\n');
      try {
        const r = await netlogRun([FX, ...args], { args: ['-c', conf] });
        expect(r).toMatchObject({ exitCode: 0, stdout: expected, stderr: '' });
        expect(attempts(r.records, 'bind').map((x) => x.port)).toEqual([allowed, other]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('--egress block: the program\'s rules and the egress table both apply, each refusal with its own errno', async () => {
    const args = [`connect:${a.port}`, 'self', String(a.port), String(b.port)];
    // The table allows B only: A passes Landlock but not the table (EPERM,
    // blocked), B passes the table but not Landlock (EACCES, as bare).
    const r = await netlogRun([FX, ...args], { args: ['--egress', 'block', '--allow', `127.0.0.1:${b.port}`] });
    expect(r).toMatchObject({ exitCode: 0, stdout: `connect ${a.port} EPERM\nconnect ${b.port} EACCES`, stderr: '' });
    const conns = ofKind(r.records, 'connect') as (JsonRecord & { blocked?: boolean })[];
    expect(conns.map((c) => [c.net?.remote?.port, c.result, c.blocked ?? false])).toEqual([
      [a.port, 'EPERM', true],
      [b.port, 'EACCES', false],
    ]);
    const ok = await netlogRun([FX, ...args], { args: ['--egress', 'block', '--allow', `127.0.0.1:${a.port}`, '--allow', `127.0.0.1:${b.port}`] });
    expect(ok).toMatchObject({ exitCode: 0, stdout: `connect ${a.port} ok\nconnect ${b.port} EACCES` });
  });

  it('--egress block: an orphan, whose domain netlog cannot reproduce, is refused (EPERM) rather than let go unchecked', async () => {
    const args = [`connect:${a.port}`, 'orphan', String(a.port)];
    const r = await netlogRun([FX, ...args], { args: ['--egress', 'block', '--allow', `127.0.0.1:${a.port}`] });
    expect(r).toMatchObject({ exitCode: 0, stdout: `connect ${a.port} EPERM` });
    expect(r.stderr).toMatch(/sandboxed in a way netlog cannot reproduce \(Landlock, or an AppArmor\/SELinux label of its own.*refused \(EPERM\)/);
    expect(ofKind(r.records, 'connect').map((c) => [c.net?.remote?.port, c.result])).toEqual([[a.port, 'EPERM']]);
  });
});
