// Live network tests: real programs under netlog-run on the loopback
// interface. Every address and port in a record is checked against ground
// truth the test gets independently: what the fixture printed from its own
// getsockname/getpeername, what the peer saw, or a run without netlog.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import {
  expectGapless,
  fixture,
  netlogRun,
  netlogStart,
  ofKind,
  readRecords,
  tempDir,
  waitFor,
  within,
  type JsonRecord,
  jsonLines,
} from './harness.js';

const NET_EVENTS = new Set(['connect', 'accept', 'bind', 'close']);
const netRecords = (recs: JsonRecord[]) => recs.filter((r) => NET_EVENTS.has(r.event));

interface Addr {
  ip: string;
  port: number;
}


// ---------------------------------------------------------------------------
// Background processes: every one started here is ended here, by its pid.

interface Bg {
  sub: ResultPromise;
  out: () => string;
  err: () => string;
  log?: string;
}
const started: Bg[] = [];

function startBg(command: string[], opts: { log?: string; cwd?: string } = {}): Bg {
  const sub = opts.log
    ? netlogStart(command, opts.log, [], { cwd: opts.cwd, timeout: 60_000 })
    : execa(command[0], command.slice(1), { reject: false, cwd: opts.cwd, timeout: 60_000 });
  let out = '';
  let err = '';
  sub.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  sub.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const bg: Bg = { sub, out: () => out, err: () => err, log: opts.log };
  started.push(bg);
  return bg;
}

/** Waits (bounded) until pid sleeps in poll/select, as serve_forever() does between requests (/proc/PID/syscall). */
async function waitInPoll(pid: number): Promise<void> {
  // x86_64: poll 7, select 23, pselect6 270, ppoll 271, epoll_wait 232, epoll_pwait 281
  const inPoll = (): boolean => {
    try {
      return /^(7|23|270|271|232|281) /.test(fs.readFileSync(`/proc/${pid}/syscall`, 'utf8'));
    } catch {
      return false;
    }
  };
  await waitFor(inPoll, 10_000, `process ${pid} to wait in poll`);
}

async function waitOutput<T>(bg: Bg, find: (out: string) => T | undefined, what: string, ms = 10_000): Promise<T> {
  let found: T | undefined;
  await waitFor(
    () => {
      found = find(bg.out());
      if (found === undefined && bg.sub.exitCode !== null) {
        throw new Error(`${what}: process exited (${bg.sub.exitCode}); stdout: ${bg.out()} stderr: ${bg.err()}`);
      }
      return found !== undefined;
    },
    ms,
    what,
  );
  return found as T;
}

afterEach(async () => {
  for (const bg of started.splice(0)) {
    if (bg.sub.exitCode !== null || bg.sub.signalCode !== null || bg.sub.pid === undefined) continue;
    bg.sub.kill('SIGTERM'); // netlog-run passes SIGTERM on to its command
    const t = setTimeout(() => bg.sub.kill('SIGKILL'), 3000);
    await bg.sub;
    clearTimeout(t);
  }
});

// ---------------------------------------------------------------------------
// accept_server / net_client helpers

interface Server {
  bg: Bg;
  listening: Addr;
  pid: number;
}

async function startAcceptServer(ip: string, count: number, extra: string[], log?: string): Promise<Server> {
  const bg = startBg([fixture('accept_server'), ip, '0', String(count), '--timeout-ms', '20000', ...extra], { log });
  const first = await waitOutput(bg, (o) => jsonLines(o).find((j) => j.listening), 'accept_server listening');
  return { bg, listening: first.listening, pid: first.pid };
}

async function finishServer(s: Server): Promise<{ exitCode: number; lines: any[]; records: JsonRecord[] }> {
  const r = await s.bg.sub;
  return {
    exitCode: r.exitCode ?? -1,
    lines: jsonLines(String(r.stdout)),
    records: s.bg.log ? readRecords(s.bg.log) : [],
  };
}

async function bare(command: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa(command[0], command.slice(1), { reject: false, timeout: 30_000 });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A loopback port with no listener: bind a socket, read its port, close it. */
async function closedPort(host = '127.0.0.1'): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((res, rej) => srv.listen(0, host, res).once('error', rej));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((res) => s.bind(0, host, res));
  const port = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

let PYTHON = 'python3';
beforeAll(async () => {
  // The real interpreter, not a version-manager shim, so the exec chain is one step.
  const r = await execa('python3', ['-c', 'import sys; print(sys.executable)']);
  PYTHON = r.stdout.trim();
});

// ---------------------------------------------------------------------------

describe('curl and python http.server, both under netlog-run', () => {
  it('records connect, accept and both closes with matching ports; SIGINT stops the server at once', async () => {
    // Ground truth for the exit status: the same server without netlog.
    const bareSrv = startBg([PYTHON, '-u', '-m', 'http.server', '0', '--bind', '127.0.0.1'], { cwd: tempDir() });
    await waitOutput(bareSrv, (o) => /Serving HTTP on 127\.0\.0\.1 port (\d+)/.exec(o)?.[1], 'bare python serving');
    // http.server prints its banner just before serve_forever() and its
    // KeyboardInterrupt handler: a SIGINT in between kills python by the signal.
    await waitInPoll(bareSrv.sub.pid!);
    process.kill(bareSrv.sub.pid!, 'SIGINT');
    const bareEnd = await bareSrv.sub;
    const bareStatus = bareEnd.exitCode ?? -1;

    const dir = tempDir();
    const slog = path.join(dir, 'server.jsonl');
    const clog = path.join(dir, 'client.jsonl');
    const srv = startBg([PYTHON, '-u', '-m', 'http.server', '0', '--bind', '127.0.0.1'], { log: slog, cwd: tempDir() });
    const port = Number(
      await waitOutput(srv, (o) => /Serving HTTP on 127\.0\.0\.1 port (\d+)/.exec(o)?.[1], 'python serving'),
    );

    const curl = await netlogRun(
      ['curl', '-sS', '-o', '/dev/null', '-w', '%{local_ip} %{local_port} %{remote_ip} %{remote_port} %{http_code}',
        `http://127.0.0.1:${port}/`],
      { log: clog },
    );
    expect(curl.exitCode, curl.stderr).toBe(0);
    const [lip, lport, rip, rport, code] = curl.stdout.trim().split(' ');
    expect(code).toBe('200');
    expect([lip, rip, Number(rport)]).toEqual(['127.0.0.1', '127.0.0.1', port]);
    const curlPort = Number(lport);

    // The python side as the kernel sees it, independently of netlog.
    const ps = await execa('ps', ['--ppid', String(srv.sub.pid), '-o', 'pid=']);
    const pyPid = Number(ps.stdout.trim());
    expect(fs.realpathSync(`/proc/${pyPid}/exe`)).toBe(fs.realpathSync(PYTHON));

    // curl's side
    expectGapless(curl.records);
    const cnet = netRecords(curl.records);
    const cconn = ofKind(cnet, 'connect');
    expect(cconn).toHaveLength(1);
    expect(cconn[0].proc?.comm).toBe('curl');
    expect(cconn[0].net).toEqual({
      proto: 'tcp', family: 'ipv4', local: { ip: '127.0.0.1', port: curlPort }, remote: { ip: '127.0.0.1', port },
    });
    expect(['ok', 'EINPROGRESS']).toContain(cconn[0].result);
    const cclose = ofKind(cnet, 'close');
    expect(cclose).toHaveLength(1);
    expect(cclose[0].net?.local).toEqual({ ip: '127.0.0.1', port: curlPort });
    expect(cclose[0].net?.remote).toEqual({ ip: '127.0.0.1', port });

    // python's side: the accept and its close of the accepted socket (python
    // may close after curl is gone; the record is written before the close).
    const accepted = (r: JsonRecord) => r.net?.remote?.port === curlPort;
    await waitFor(() => ofKind(readRecords(slog), 'close').some(accepted), 5000, 'python close record');
    const snet = netRecords(readRecords(slog));
    const acc = ofKind(snet, 'accept');
    expect(acc).toHaveLength(1);
    expect(acc[0].proc?.pid).toBe(pyPid);
    expect(acc[0].net).toEqual({
      proto: 'tcp', family: 'ipv4', local: { ip: '127.0.0.1', port }, remote: { ip: '127.0.0.1', port: curlPort },
    });
    expect(acc[0].result).toBe('ok');
    const sclose = ofKind(snet, 'close').filter(accepted);
    expect(sclose).toHaveLength(1);
    expect(sclose[0].proc?.pid).toBe(pyPid);
    expect(sclose[0].net?.local).toEqual({ ip: '127.0.0.1', port });

    // SIGINT to python itself, back in serve_forever(): it must stop, and netlog-run with it.
    await waitInPoll(pyPid);
    process.kill(pyPid, 'SIGINT');
    const end = await within(srv.sub, 20_000, 'netlog-run to exit after SIGINT to python');
    expect(String(end.stderr) + String(end.stdout)).toContain('Keyboard interrupt received');
    expect(end.exitCode).toBe(bareStatus);
    const final = readRecords(slog);
    expectGapless(final);
    expect(final.at(-1)?.run?.exit_code).toBe(bareStatus);
  });

  it('a python server blocked in accept runs its SIGINT handler and exits', async () => {
    const script = [
      'import socket',
      's = socket.socket()',
      "s.bind(('127.0.0.1', 0))",
      's.listen(1)',
      'print(s.getsockname()[1], flush=True)',
      's.accept()',
    ].join('\n');
    const run = async (log?: string) => {
      const bg = startBg([PYTHON, '-u', '-c', script], { log });
      await waitOutput(bg, (o) => (/^\d+$/m.test(o) ? true : undefined), 'python listening');
      const pid = log ? Number((await execa('ps', ['--ppid', String(bg.sub.pid), '-o', 'pid='])).stdout.trim()) : bg.sub.pid!;
      // Blocked in accept4 (288) / accept (43), as the kernel reports it.
      await waitFor(() => /^(288|43) /.test(fs.readFileSync(`/proc/${pid}/syscall`, 'utf8')), 5000, 'blocked in accept');
      await new Promise((r) => setTimeout(r, 100));
      process.kill(pid, 'SIGINT');
      return { r: await within(bg.sub, 20_000, 'python to exit after SIGINT') };
    };
    const b = await run();
    expect(b.r.signal).toBe('SIGINT'); // python re-raises SIGINT after KeyboardInterrupt
    const log = path.join(tempDir(), 'l.jsonl');
    const n = await run(log);
    expect(String(n.r.stderr)).toContain('KeyboardInterrupt'); // the handler ran: EINTR reached python
    expect(n.r.exitCode).toBe(128 + 2);
    expect(netRecords(readRecords(log))).toEqual([]);
  });
});

describe('net_client connects', () => {
  it('tcp blocking connect: result ok, local and remote as the fixture and the server saw them', async () => {
    const srv = await startAcceptServer('127.0.0.1', 1, []);
    const c = await netlogRun([fixture('net_client'), 'tcp', '127.0.0.1', String(srv.listening.port)]);
    expect(c.exitCode, c.stderr).toBe(0);
    const fx = jsonLines(c.stdout).find((j) => j.op === 'connect');
    expect(fx.result).toBe('ok');
    const s = await finishServer(srv);
    const seen = s.lines.find((j) => j.accepted).accepted;
    expect(seen.peer).toEqual(fx.local); // the server's view of the client

    expectGapless(c.records);
    const recs = netRecords(c.records);
    expect(recs.map((r) => r.event)).toEqual(['connect', 'close']);
    const [conn, close] = recs;
    expect(conn.net).toEqual({ proto: 'tcp', family: 'ipv4', local: fx.local, remote: fx.remote });
    expect(conn.net?.remote).toEqual(srv.listening);
    expect(conn.result).toBe('ok');
    expect(conn.proc?.comm).toBe('net_client');
    expect(close.net).toEqual({ proto: 'tcp', family: 'ipv4', local: fx.local, remote: fx.remote });
  });

  it('tcp-nb: EINPROGRESS reaches the caller and the record; SO_ERROR then says ok', async () => {
    const srv = await startAcceptServer('127.0.0.1', 1, []);
    const c = await netlogRun([fixture('net_client'), 'tcp-nb', '127.0.0.1', String(srv.listening.port)]);
    expect(c.exitCode, c.stderr).toBe(0);
    const lines = jsonLines(c.stdout);
    expect(lines.find((j) => j.op === 'connect_start')?.result).toBe('EINPROGRESS');
    const fx = lines.find((j) => j.op === 'connect');
    expect(fx.result).toBe('ok');
    const s = await finishServer(srv);
    expect(s.lines.find((j) => j.accepted).accepted.peer).toEqual(fx.local);

    const conns = ofKind(c.records, 'connect');
    expect(conns).toHaveLength(1);
    expect(conns[0].result).toBe('EINPROGRESS');
    expect(conns[0].net).toEqual({ proto: 'tcp', family: 'ipv4', local: fx.local, remote: fx.remote });
    const closes = ofKind(c.records, 'close');
    expect(closes).toHaveLength(1);
    expect(closes[0].net).toEqual({ proto: 'tcp', family: 'ipv4', local: fx.local, remote: fx.remote });
  });

  it('connect to a port without a listener: ECONNREFUSED for the caller and in the record', async () => {
    const port = await closedPort();
    const c = await netlogRun([fixture('net_client'), 'tcp', '127.0.0.1', String(port)]);
    expect(c.exitCode, c.stderr).toBe(0);
    const fx = jsonLines(c.stdout).find((j) => j.op === 'connect');
    expect(fx.result).toBe('ECONNREFUSED');
    expect(fx.errno).toBe(111);
    const conns = ofKind(c.records, 'connect');
    expect(conns).toHaveLength(1);
    expect(conns[0].result).toBe('ECONNREFUSED');
    expect(conns[0].net?.remote).toEqual({ ip: '127.0.0.1', port });
    expect(conns[0].net?.local).toEqual(fx.local);
    // No connection ever existed; its close says so (docs/records.md, outcome).
    const closes = ofKind(c.records, 'close') as (JsonRecord & { outcome?: string })[];
    expect(closes.map((r) => r.outcome)).toEqual(['ECONNREFUSED']);
    expect(closes[0]!.net?.remote).toEqual({ ip: '127.0.0.1', port });
  });
});

describe('UDP', () => {
  it('udp connect: connect record with the local port the receiver saw, then a close record', async () => {
    const rx = dgram.createSocket('udp4');
    await new Promise<void>((res) => rx.bind(0, '127.0.0.1', res));
    const got = new Promise<dgram.RemoteInfo>((res) => rx.once('message', (_m, rinfo) => res(rinfo)));
    try {
      const port = rx.address().port;
      const c = await netlogRun([fixture('net_client'), 'udp', '127.0.0.1', String(port)]);
      expect(c.exitCode, c.stderr).toBe(0);
      const fx = jsonLines(c.stdout).find((j) => j.op === 'connect');
      expect(fx.result).toBe('ok');
      const rinfo = await Promise.race([got, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no datagram')), 5000))]);
      expect({ ip: rinfo.address, port: rinfo.port }).toEqual(fx.local);

      expectGapless(c.records);
      const recs = netRecords(c.records);
      expect(recs.map((r) => r.event)).toEqual(['connect', 'close']);
      expect(recs[0].net).toEqual({ proto: 'udp', family: 'ipv4', local: fx.local, remote: { ip: '127.0.0.1', port } });
      expect(recs[0].result).toBe('ok');
      expect(recs[1].net).toEqual({ proto: 'udp', family: 'ipv4', local: fx.local, remote: { ip: '127.0.0.1', port } });
    } finally {
      rx.close();
    }
  });

  it('udp-bind to a given port: a bind record with that local address (no remote), then close', async () => {
    const port = await freeUdpPort();
    const c = await netlogRun([fixture('net_client'), 'udp-bind', '127.0.0.1', String(port)]);
    expect(c.exitCode, c.stderr).toBe(0);
    const fx = jsonLines(c.stdout).find((j) => j.op === 'bind');
    expect(fx.result).toBe('ok');
    expect(fx.local).toEqual({ ip: '127.0.0.1', port });
    const recs = netRecords(c.records);
    expect(recs.map((r) => r.event)).toEqual(['bind', 'close']);
    expect(recs[0].net).toEqual({ proto: 'udp', family: 'ipv4', local: fx.local });
    expect(recs[1].net?.local).toEqual(fx.local);
  });

  it('udp-bind to port 0: the bind record shows the address at entry, the close the port the kernel chose', async () => {
    const c = await netlogRun([fixture('net_client'), 'udp-bind', '127.0.0.1', '0']);
    expect(c.exitCode, c.stderr).toBe(0);
    const fx = jsonLines(c.stdout).find((j) => j.op === 'bind');
    expect(fx.result).toBe('ok');
    expect(fx.local.port).toBeGreaterThan(0);
    const recs = netRecords(c.records);
    expect(recs.map((r) => r.event)).toEqual(['bind', 'close']);
    // Log before allow: the bind is recorded before the kernel picks the port
    // (docs/security.md: "the record shows the address at entry").
    expect(recs[0].net).toEqual({ proto: 'udp', family: 'ipv4', local: { ip: '127.0.0.1', port: 0 } });
    expect(recs[1].net?.local).toEqual(fx.local);
  });

  it('udp-bind on ::1: family ipv6', async () => {
    const port = await freeUdpPort('::1');
    const c = await netlogRun([fixture('net_client'), 'udp-bind', '::1', String(port)]);
    expect(c.exitCode, c.stderr).toBe(0);
    const fx = jsonLines(c.stdout).find((j) => j.op === 'bind');
    expect(fx.local).toEqual({ ip: '::1', port });
    const binds = ofKind(c.records, 'bind');
    expect(binds).toHaveLength(1);
    expect(binds[0].net).toEqual({ proto: 'udp', family: 'ipv6', local: { ip: '::1', port } });
  });
});

describe('accept variants (server under netlog-run, bare client)', () => {
  async function acceptOnce(ip: string, clientIp: string, extra: string[], underNetlog: boolean) {
    const log = underNetlog ? path.join(tempDir(), 'srv.jsonl') : undefined;
    const srv = await startAcceptServer(ip, 1, extra, log);
    const c = await bare([fixture('net_client'), 'tcp', clientIp, String(srv.listening.port)]);
    expect(c.exitCode, c.stderr).toBe(0);
    const client = jsonLines(c.stdout).find((j) => j.op === 'connect');
    expect(client.result).toBe('ok');
    const s = await finishServer(srv);
    const acc = s.lines.find((j) => j.accepted)?.accepted;
    const summary = s.lines.find((j) => j.summary)?.summary;
    return { srv, client, exitCode: s.exitCode, acc, summary, records: s.records };
  }

  function checkAcceptRecord(records: JsonRecord[], family: string, acc: any, client: any) {
    expectGapless(records);
    const accs = ofKind(records, 'accept');
    expect(accs).toHaveLength(1);
    expect(accs[0].proc?.comm).toBe('accept_server');
    expect(accs[0].result).toBe('ok');
    expect(accs[0].net).toEqual({ proto: 'tcp', family, local: acc.local, remote: acc.peer });
    expect(acc.peer).toEqual(client.local); // the client's own view of itself
    const closes = ofKind(records, 'close');
    expect(closes).toHaveLength(1);
    expect(closes[0].net).toEqual({ proto: 'tcp', family, local: acc.local, remote: acc.peer });
  }

  it('plain accept: fd without CLOEXEC/NONBLOCK, peer address written back', async () => {
    const r = await acceptOnce('127.0.0.1', '127.0.0.1', [], true);
    expect(r.exitCode).toBe(0);
    expect(r.acc.addrlen).toBe(16);
    expect(r.acc.addr).toEqual(r.acc.peer);
    expect([r.acc.cloexec, r.acc.nonblock]).toEqual([false, false]);
    expect(r.summary.open_fds).toBe(r.summary.open_fds_start);
    checkAcceptRecord(r.records, 'ipv4', r.acc, r.client);
  });

  it('accept with a NULL address', async () => {
    const r = await acceptOnce('127.0.0.1', '127.0.0.1', ['--null-addr'], true);
    expect(r.exitCode).toBe(0);
    expect(r.acc.addrlen).toBeNull();
    checkAcceptRecord(r.records, 'ipv4', r.acc, r.client);
  });

  it('accept4 with SOCK_CLOEXEC|SOCK_NONBLOCK: the fd has both flags', async () => {
    const r = await acceptOnce('127.0.0.1', '127.0.0.1', ['--accept4-flags'], true);
    expect(r.exitCode).toBe(0); // the fixture exits 1 on wrong flags
    expect([r.acc.cloexec, r.acc.nonblock]).toEqual([true, true]);
    expect(r.summary.flag_errors).toBe(0);
    checkAcceptRecord(r.records, 'ipv4', r.acc, r.client);
  });

  // Short and odd address buffers: the bytes written and the length returned
  // must be the kernel's, byte for byte (only the peer port differs between
  // two runs: it is put in from each run's own getpeername).
  const cases: [string, number][] = [
    ['127.0.0.1', 4], ['127.0.0.1', 0], ['127.0.0.1', 3], ['127.0.0.1', 17],
    ['::1', 4], ['::1', 24], ['::1', 27],
  ];
  for (const [ip, addrlen] of cases) {
    it(`accept with addrlen ${addrlen} on ${ip}: same bytes and length as without netlog`, async () => {
      const withPort = (hex: string, port: number) => {
        const b = Buffer.from(hex, 'hex');
        if (addrlen > 2) b[2] = port >> 8;
        if (addrlen > 3) b[3] = port & 0xff;
        return b.toString('hex');
      };
      const b = await acceptOnce(ip, ip, ['--addrlen', String(addrlen)], false);
      const n = await acceptOnce(ip, ip, ['--addrlen', String(addrlen)], true);
      expect(b.exitCode).toBe(0);
      expect(n.exitCode).toBe(0);
      expect(b.acc.addrlen).toBe(ip === '::1' ? 28 : 16);
      expect(withPort(b.acc.addr_hex, b.acc.peer.port)).toBe(b.acc.addr_hex); // the port bytes are where we think
      expect(n.acc.addrlen).toBe(b.acc.addrlen);
      expect(n.acc.addr_hex).toBe(withPort(b.acc.addr_hex, n.acc.peer.port));
      checkAcceptRecord(n.records, ip === '::1' ? 'ipv6' : 'ipv4', n.acc, n.client);
    });
  }
});

describe('IPv6', () => {
  for (const [serverIp, clientIp] of [['::1', '::1'], ['::', '::ffff:127.0.0.1']]) {
    it(`connect and accept ${clientIp} -> [${serverIp}]: family ipv6, RFC 5952 text`, async () => {
      const slog = path.join(tempDir(), 'srv.jsonl');
      const srv = await startAcceptServer(serverIp, 1, [], slog);
      const c = await netlogRun([fixture('net_client'), 'tcp', clientIp, String(srv.listening.port)]);
      expect(c.exitCode, c.stderr).toBe(0);
      const fx = jsonLines(c.stdout).find((j) => j.op === 'connect');
      expect(fx.result).toBe('ok');
      expect(fx.local.ip).toBe(clientIp);
      const s = await finishServer(srv);
      expect(s.exitCode).toBe(0);
      const acc = s.lines.find((j) => j.accepted).accepted;
      expect(acc.peer).toEqual(fx.local);
      expect(acc.local).toEqual(fx.remote);

      const conns = ofKind(c.records, 'connect');
      expect(conns).toHaveLength(1);
      expect(conns[0].net).toEqual({ proto: 'tcp', family: 'ipv6', local: fx.local, remote: fx.remote });
      expect(conns[0].net?.remote?.ip).toBe(clientIp); // stays v4-mapped, compressed, lower case
      expect(conns[0].result).toBe('ok');
      expect(ofKind(c.records, 'close').map((r) => r.net)).toEqual([
        { proto: 'tcp', family: 'ipv6', local: fx.local, remote: fx.remote },
      ]);

      const accs = ofKind(s.records, 'accept');
      expect(accs).toHaveLength(1);
      expect(accs[0].net).toEqual({ proto: 'tcp', family: 'ipv6', local: acc.local, remote: acc.peer });
      expect(ofKind(s.records, 'close').map((r) => r.net)).toEqual([
        { proto: 'tcp', family: 'ipv6', local: acc.local, remote: acc.peer },
      ]);
    });
  }
});

describe('not recorded', () => {
  it('AF_UNIX connect, accept, datagrams and closes produce no network record', async () => {
    const script = `
import json, os, socket, struct, tempfile
d = tempfile.mkdtemp(); p = os.path.join(d, 's')
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); srv.bind(p); srv.listen(1)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(p)
a, _ = srv.accept()
c.sendall(b'ping'); got = a.recv(4).decode()
pid = struct.unpack('3i', a.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); u.bind(p + 'd')
v = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); v.connect(p + 'd'); v.send(b'x'); dg = u.recv(1).decode()
for s in (a, c, srv, u, v): s.close()
os.unlink(p); os.unlink(p + 'd'); os.rmdir(d)
# control: one inet connect, which must be recorded
w = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); w.connect(('127.0.0.1', 9)); wl = w.getsockname()[1]; w.close()
print(json.dumps({"got": got, "dg": dg, "peer_pid": pid, "pid": os.getpid(), "udp_port": wl}))
`;
    const r = await netlogRun([PYTHON, '-c', script]);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.got).toBe('ping');
    expect(out.dg).toBe('x');
    expect(out.peer_pid).toBe(out.pid); // SO_PEERCRED is the real client, not the supervisor
    const recs = netRecords(r.records);
    expect(recs.map((x) => [x.event, x.net?.proto, x.net?.local.port])).toEqual([
      ['connect', 'udp', out.udp_port],
      ['close', 'udp', out.udp_port],
    ]);
  });

  it('close_files 100000: no network record; timing bare vs under netlog', async () => {
    const t0 = performance.now();
    const b = await bare([fixture('close_files'), '100000']);
    const tBare = performance.now() - t0;
    expect(b.exitCode).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual({ closed: 100000, errors: 0 });

    // netlog-run's own start-up, for reference
    const t1 = performance.now();
    const z = await netlogRun([fixture('close_files'), '0']);
    const tZero = performance.now() - t1;
    expect(z.exitCode).toBe(0);

    const t2 = performance.now();
    const n = await netlogRun([fixture('close_files'), '100000']);
    const tNl = performance.now() - t2;
    expect(n.exitCode, n.stderr).toBe(0);
    expect(JSON.parse(n.stdout)).toEqual({ closed: 100000, errors: 0 });
    expectGapless(n.records);
    expect(netRecords(n.records)).toEqual([]);
    // For the reader of the test output only; speed is measured by `npm run bench`.
    console.log(
      `close_files 100000: bare ${tBare.toFixed(0)} ms; netlog-run ${tNl.toFixed(0)} ms ` +
        `(netlog-run with close_files 0: ${tZero.toFixed(0)} ms)`,
    );
  });
});

describe('signal and resource semantics of emulated accept (SPEC §8: same results as without netlog)', () => {
  it('a signal whose handler has SA_RESTART does not interrupt a blocking accept', async () => {
    // libc accept() through ctypes, so Python's own EINTR retry is out of the
    // picture; SIGALRM every 20 ms with SA_RESTART (siginterrupt False); the
    // client thread blocks SIGALRM so the main thread gets every alarm.
    const script = `
import ctypes, json, os, signal, socket, threading, time
libc = ctypes.CDLL(None, use_errno=True)
signal.signal(signal.SIGALRM, lambda s, f: None)
signal.siginterrupt(signal.SIGALRM, False)
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
port = srv.getsockname()[1]
cport = []
def client():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(0.3)
    c = socket.create_connection(('127.0.0.1', port)); cport.append(c.getsockname()[1]); time.sleep(0.3); c.close()
t = threading.Thread(target=client, daemon=True); t.start()
signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
r = libc.accept(srv.fileno(), None, None)
e = ctypes.get_errno()
signal.setitimer(signal.ITIMER_REAL, 0, 0)
t.join()
peer = socket.socket(fileno=os.dup(r)).getpeername()[1] if r >= 0 else None
print(json.dumps({"errno": None if r >= 0 else os.strerror(e), "peer_is_client": peer == cport[0]}))
`;
    const b = await bare([PYTHON, '-c', script]);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual({ errno: null, peer_is_client: true });
    const n = await netlogRun([PYTHON, '-c', script]);
    expect(n.exitCode, n.stderr).toBe(0);
    expect(JSON.parse(n.stdout)).toEqual({ errno: null, peer_is_client: true });
  });

  it('SIGSTOP of a threaded server held in accept stops the whole process; SIGCONT resumes the accept', async () => {
    const script = `
import socket, threading, time
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
def acc():
    c, a = srv.accept(); print("accepted", flush=True)
t = threading.Thread(target=acc); t.start()
print(srv.getsockname()[1], flush=True)
t.join()
`;
    const dir = tempDir();
    const sub = netlogStart([PYTHON, '-c', script], path.join(dir, 'log.jsonl'), [], { timeout: 30_000 });
    let out = '';
    sub.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /^\d+$/m.test(out), 10_000, 'the server port');
    const port = Number(out.trim().split('\n')[0]);
    const pyPid = Number((await execa('pgrep', ['-P', String(sub.pid)])).stdout.trim());
    // Wait until the accepting thread is held (in accept4, syscall 288 or 43).
    await waitFor(() => fs.readdirSync(`/proc/${pyPid}/task`).some((t) => /^(288|43) /.test(fs.readFileSync(`/proc/${pyPid}/task/${t}/syscall`, 'utf8'))), 10_000, 'accept');
    process.kill(pyPid, 'SIGSTOP');
    const states = (): string[] => fs.readdirSync(`/proc/${pyPid}/task`).map((t) => fs.readFileSync(`/proc/${pyPid}/task/${t}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!);
    // Every thread stops, the held one too (it would sit in D otherwise).
    await waitFor(() => states().every((s) => s === 'T'), 5_000, 'the whole group to stop');
    process.kill(pyPid, 'SIGCONT');
    const c = net.connect(port, '127.0.0.1');
    await new Promise((r) => c.on('connect', r));
    c.destroy();
    const r = await sub;
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toContain('accepted');
  });

  it('accept at the fd limit fails with EMFILE and leaves the connection queued', async () => {
    const script = `
import json, os, resource, socket, time
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(8)
c = socket.create_connection(srv.getsockname())
cport = c.getsockname()[1]
time.sleep(0.1)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
fill = []
for _ in range(200):
    try: fill.append(os.open('/dev/null', os.O_RDONLY))
    except OSError: break
try:
    srv.accept(); first = 'ok'
except OSError as e:
    first = os.strerror(e.errno)
os.close(fill.pop())
srv.settimeout(2)
try:
    s, a = srv.accept(); second = a[1]
except OSError as e:
    second = str(e)
print(json.dumps({"first": first, "second_peer": second, "client_port": cport}))
`;
    const b = await bare([PYTHON, '-c', script]);
    expect(b.exitCode, b.stderr).toBe(0);
    const bo = JSON.parse(b.stdout);
    expect(bo.first).toBe('Too many open files');
    expect(bo.second_peer).toBe(bo.client_port);
    const n = await netlogRun([PYTHON, '-c', script]);
    expect(n.exitCode, n.stderr).toBe(0);
    const no = JSON.parse(n.stdout);
    expect(no.first).toBe('Too many open files');
    expect(no.second_peer).toBe(no.client_port);
    // One connection, handed over once: one accept record "ok" for it.
    const accs = ofKind(n.records, 'accept').filter((r) => r.result === 'ok');
    expect(accs.map((r) => r.net?.remote?.port)).toEqual([no.client_port]);
  });
});
