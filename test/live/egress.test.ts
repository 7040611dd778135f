// --egress block on real programs: TCP and UDP connect, UDP sendto, sendmsg
// and sendmmsg, per-program entries, IPv6, v4-mapped addresses, a name whose
// address changes during the run, and a thread flipping sendto's destination.
// Loopback only.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { fixture, jsonLines, netlogRun, netlogRaw, ofKind, tempDir, waitFor, type JsonRecord } from './harness.js';

const UDP_SEND = fixture('udp_send');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function log(): string {
  const d = tempDir();
  dirs.push(d);
  return path.join(d, 'netlog.jsonl');
}

interface Receiver {
  port: number;
  got: string[];
  /** Waits until a datagram sent now from here has arrived: everything sent before it has, too. */
  drain(): Promise<void>;
  close(): void;
}

async function udpReceiver(ip = '127.0.0.1'): Promise<Receiver> {
  const sock = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((resolve) => sock.bind(0, ip, resolve));
  const port = sock.address().port;
  let n = 0;
  return {
    port,
    got,
    async drain() {
      const marker = `marker-${++n}`;
      const out = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => out.send(marker, port, ip, (e) => (e ? reject(e) : resolve())));
      out.close();
      await waitFor(() => got.includes(marker), 10_000, 'the marker datagram');
      got.splice(got.indexOf(marker), 1);
    },
    close: () => sock.close(),
  };
}

async function tcpServer(ip = '127.0.0.1'): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.end('HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const blocked = (records: JsonRecord[]): (JsonRecord & { blocked?: boolean; via?: string })[] =>
  records.filter((r) => (r as { blocked?: boolean }).blocked === true);

async function send(mode: string, args: string[], allow: string[]): Promise<{ out: { call: string; ret: number; errno?: string; len?: number[] }[]; records: JsonRecord[]; exitCode: number }> {
  const r = await netlogRun([UDP_SEND, mode, ...args], { log: log(), args: ['--egress', 'block', ...allow.flatMap((a) => ['--allow', a])] });
  return { out: jsonLines(r.stdout), records: r.records, exitCode: r.exitCode };
}

describe('--egress block', () => {
  let rx: Receiver;
  let rxOther: Receiver;
  beforeAll(async () => {
    rx = await udpReceiver();
    rxOther = await udpReceiver();
  });
  afterAll(() => {
    rx.close();
    rxOther.close();
  });

  it('TCP connect: an allowed destination connects; another is refused with EPERM before any SYN, and recorded blocked', async () => {
    const srv = await tcpServer();
    try {
      const ok = await netlogRun(['curl', '-s', '-o', '/dev/null', `http://127.0.0.1:${srv.port}/`], { log: log(), args: ['--egress', 'block', '--allow', `127.0.0.1:${srv.port}`] });
      expect(ok.exitCode).toBe(0);
      await waitFor(() => srv.accepted() === 1, 10_000, 'the allowed connection');
      const no = await netlogRun(['curl', '-sS', '-o', '/dev/null', `http://127.0.0.1:${srv.port}/`], { log: log(), args: ['--egress', 'block', '--allow', `127.0.0.1:${srv.port + 1}`] });
      expect(no.exitCode).toBe(7); // curl: could not connect
      const b = blocked(no.records);
      expect(b).toHaveLength(1);
      expect(b[0]).toMatchObject({ event: 'connect', result: 'EPERM', blocked: true, via: 'connect', net: { proto: 'tcp', remote: { ip: '127.0.0.1', port: srv.port } } });
      expect(b[0]!.proc?.exe).toBe('/usr/bin/curl');
      // Nothing reached the server: a check after the connect would have let the handshake through.
      const probe = await netlogRun(['curl', '-s', '-o', '/dev/null', `http://127.0.0.1:${srv.port}/`], { log: log(), args: ['--egress', 'block', '--allow', `127.0.0.1:${srv.port}`] });
      expect(probe.exitCode).toBe(0);
      await waitFor(() => srv.accepted() >= 2, 10_000, 'the second allowed connection');
      expect(srv.accepted()).toBe(2);
      const start = no.records[0]!;
      expect(start.run).toMatchObject({ egress: { mode: 'block', allow: [`127.0.0.1:${srv.port + 1}`] } });
    } finally {
      await srv.close();
    }
  });

  it('UDP connect: refused with EPERM, and a send on the unconnected socket then has no destination', async () => {
    const r = await send('connect', ['127.0.0.1', String(rx.port)], [`127.0.0.1:${rxOther.port}`]);
    expect(r.out[0]).toMatchObject({ call: 'connect', ret: -1, errno: 'EPERM' });
    expect(r.out[1]).toMatchObject({ call: 'send', ret: -1 });
    expect(r.out[1]!.errno).toMatch(/^(EDESTADDRREQ|E89)$/);
    expect(blocked(r.records)[0]).toMatchObject({ via: 'connect', net: { proto: 'udp', remote: { port: rx.port } } });
    const ok = await send('connect', ['127.0.0.1', String(rx.port)], [`127.0.0.1:${rx.port}`]);
    expect(ok.out.map((o) => o.ret)).toEqual([0, 10]);
    await rx.drain();
    expect(rx.got.splice(0)).toEqual(['netlog-udp']);
  });

  for (const mode of ['sendto', 'sendmsg']) {
    it(`UDP ${mode} with a destination: sent when allowed, EPERM and recorded when not, nothing leaves`, async () => {
      const ok = await send(mode, ['127.0.0.1', String(rx.port)], [`127.0.0.1:${rx.port}`]);
      expect(ok.out[0]).toMatchObject({ call: mode, ret: 10 });
      const no = await send(mode, ['127.0.0.1', String(rxOther.port)], [`127.0.0.1:${rx.port}`]);
      expect(no.out[0]).toMatchObject({ call: mode, ret: -1, errno: 'EPERM' });
      expect(blocked(no.records)).toHaveLength(1);
      expect(blocked(no.records)[0]).toMatchObject({ event: 'connect', via: mode, result: 'EPERM', net: { proto: 'udp', remote: { ip: '127.0.0.1', port: rxOther.port } } });
      await rx.drain();
      await rxOther.drain();
      expect(rx.got.splice(0)).toEqual(['netlog-udp']);
      expect(rxOther.got.splice(0)).toEqual([]);
    });
  }

  it('sendmsg with control data is refused (it could carry IP options or a routing header)', async () => {
    const r = await send('control', ['127.0.0.1', String(rx.port)], [`127.0.0.1:${rx.port}`]);
    expect(r.out[0]).toMatchObject({ call: 'sendmsg', ret: -1, errno: 'EPERM' });
    expect(blocked(r.records)[0]).toMatchObject({ via: 'sendmsg' });
    await rx.drain();
    expect(rx.got.splice(0)).toEqual([]);
  });

  it('sendmmsg: the allowed messages before a refused one are sent and counted; a refused first message fails the call', async () => {
    const r = await send('sendmmsg', ['127.0.0.1', String(rx.port), '127.0.0.1', String(rxOther.port)], [`127.0.0.1:${rx.port}`]);
    expect(r.out[0]).toMatchObject({ call: 'sendmmsg', ret: 1, len: [10, 12345] });
    const r2 = await send('sendmmsg', ['127.0.0.1', String(rxOther.port), '127.0.0.1', String(rx.port)], [`127.0.0.1:${rx.port}`]);
    expect(r2.out[0]).toMatchObject({ call: 'sendmmsg', ret: -1, errno: 'EPERM' });
    expect(blocked(r2.records)[0]).toMatchObject({ via: 'sendmmsg', net: { remote: { port: rxOther.port } } });
    await rx.drain();
    await rxOther.drain();
    expect(rx.got.splice(0)).toEqual(['netlog-udp']);
    expect(rxOther.got.splice(0)).toEqual([]);
  });

  it('a thread flipping the destination of sendto never gets a datagram to the refused port', async () => {
    const iter = 2000;
    const r = await send('race', ['127.0.0.1', String(rx.port), String(rxOther.port), String(iter)], [`127.0.0.1:${rx.port}`]);
    const res = r.out[0] as unknown as { ok: number; eperm: number; other: number };
    expect(res.ok + res.eperm).toBe(iter);
    expect(res.other).toBe(0);
    expect(blocked(r.records)).toHaveLength(res.eperm);
    await rx.drain();
    await rxOther.drain();
    expect(rx.got.splice(0)).toHaveLength(res.ok);
    expect(rxOther.got.splice(0)).toHaveLength(0);
    console.log(`race: ${res.ok} sent to the allowed port, ${res.eperm} refused, 0 leaked`);
  });

  it('IPv6: [::1]:PORT allows ::1 only; an IPv4 entry allows the v4-mapped address of a v6 socket', async () => {
    const rx6 = await udpReceiver('::1');
    try {
      const ok = await send('sendto', ['::1', String(rx6.port)], [`[::1]:${rx6.port}`]);
      expect(ok.out[0]).toMatchObject({ ret: 10 });
      const no = await send('sendto', ['::1', String(rx6.port)], [`127.0.0.1:${rx6.port}`]);
      expect(no.out[0]).toMatchObject({ ret: -1, errno: 'EPERM' });
      expect(blocked(no.records)[0]).toMatchObject({ net: { family: 'ipv6', remote: { ip: '::1' } } });
      await rx6.drain();
      expect(rx6.got.splice(0)).toEqual(['netlog-udp']);
    } finally {
      rx6.close();
    }
    const mapped = await send('sendto', ['::ffff:127.0.0.1', String(rx.port)], [`127.0.0.1:${rx.port}`]);
    expect(mapped.out[0]).toMatchObject({ ret: 10 });
    const mappedNo = await send('sendto', ['::ffff:127.0.0.1', String(rx.port)], [`127.0.0.2:${rx.port}`]);
    expect(mappedNo.out[0]).toMatchObject({ ret: -1, errno: 'EPERM' });
    expect(blocked(mappedNo.records)[0]).toMatchObject({ net: { remote: { ip: '::ffff:127.0.0.1' } } });
    await rx.drain();
    expect(rx.got.splice(0)).toEqual(['netlog-udp']);
  });

  it('a per-program entry allows that program only', async () => {
    const srv = await tcpServer();
    try {
      const allow = ['--egress', 'block', '--allow', `/usr/bin/curl=127.0.0.1:${srv.port}`];
      const curl = await netlogRun(['curl', '-s', '-o', '/dev/null', `http://127.0.0.1:${srv.port}/`], { log: log(), args: allow });
      expect(curl.exitCode).toBe(0);
      const py = await netlogRun(['python3', '-c', `import socket\ntry:\n socket.create_connection(('127.0.0.1', ${srv.port}))\n print('connected')\nexcept OSError as e:\n print(e.errno)`], { log: log(), args: allow });
      expect(py.stdout.trim()).toBe('1'); // EPERM
      expect(blocked(py.records)[0]?.proc?.exe).toMatch(/python3/);
      expect(srv.accepted()).toBe(1);
    } finally {
      await srv.close();
    }
  });

  it('loopback is not allowed implicitly, and localhost allows 127.0.0.1 and ::1', async () => {
    const none = await send('sendto', ['127.0.0.1', String(rx.port)], []);
    expect(none.out[0]).toMatchObject({ errno: 'EPERM' });
    const named = await send('sendto', ['127.0.0.1', String(rx.port)], [`localhost:${rx.port}`]);
    expect(named.out[0]).toMatchObject({ ret: 10 });
    await rx.drain();
    expect(rx.got.splice(0)).toEqual(['netlog-udp']);
  });

  it('a bad --allow entry: one netlog-run line, exit 125, COMMAND not started', async () => {
    const marker = path.join(path.dirname(log()), 'ran');
    const r = await netlogRaw(['--egress', 'block', '--allow', '10.0.0.1/8:443', '--', 'touch', marker]);
    expect(r.exitCode).toBe(125);
    expect(r.stderr.trim().split('\n')[0]).toBe("netlog-run: --allow: allow entry '10.0.0.1/8:443': '10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)");
    expect(fs.existsSync(marker)).toBe(false);
    const bad = await netlogRaw(['--egress', 'blok', '--', 'touch', marker]);
    expect(bad.exitCode).toBe(125);
    expect(bad.stderr).toMatch(/^netlog-run: --egress: 'blok' is not an egress policy \(expected audit or block\)/);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('--egress block with a name whose address changes during the run', () => {
  const HOSTS = '/etc/hosts';
  const NAME = 'netlog-egress-test.invalid';
  const canEdit = (() => {
    try {
      fs.accessSync(HOSTS, fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!canEdit)('the name is looked up again before a refusal, so its new address is allowed and an unlisted one is not', async () => {
    const original = fs.readFileSync(HOSTS, 'utf8');
    const a = await tcpServer('127.0.0.2');
    const b = await tcpServer('127.0.0.3');
    try {
      fs.writeFileSync(HOSTS, `${original.replace(/\n?$/, '\n')}127.0.0.2 ${NAME}\n`);
      const script = [
        'import socket, sys',
        'def c(ip, port):',
        '  try:',
        '    socket.create_connection((ip, port)).close(); return 0',
        '  except OSError as e: return e.errno',
        `print('first', c('127.0.0.2', ${a.port}), flush=True)`,
        'sys.stdin.readline()',
        // The new address is allowed once the name is looked up again (at most once a second).
        'import time',
        'for i in range(200):',
        `  r = c('127.0.0.3', ${b.port})`,
        '  if r == 0: break',
        '  time.sleep(0.05)',
        `print('moved', r, flush=True)`,
        `print('unlisted', c('127.0.0.4', ${b.port}), flush=True)`,
      ].join('\n');
      const file = log();
      const sub = execa(process.execPath, [path.join(import.meta.dirname, '..', '..', 'bin', 'netlog-run.js'), '-o', file, '--egress', 'block', '--allow', `${NAME}`, '--', 'python3', '-c', script], { reject: false, timeout: 60_000, stdin: 'pipe' });
      let out = '';
      sub.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('first'), 20_000, 'the first connect');
      expect(out).toMatch(/first 0/);
      fs.writeFileSync(HOSTS, `${original.replace(/\n?$/, '\n')}127.0.0.3 ${NAME}\n`);
      sub.stdin!.write('go\n');
      const r = await sub;
      expect(r.exitCode).toBe(0);
      expect(out).toMatch(/moved 0/);
      expect(out).toMatch(/unlisted 1\n/);
      expect(b.accepted()).toBe(1);
    } finally {
      fs.writeFileSync(HOSTS, original);
      await a.close();
      await b.close();
    }
  });
});

describe('the records of block mode', () => {
  it('every connect is recorded in block mode, even with the connect probes off', async () => {
    const rx = await udpReceiver();
    try {
      const r = await netlogRun([UDP_SEND, 'connect', '127.0.0.1', String(rx.port)], { log: log(), args: ['--probes', '0', '--egress', 'block', '--allow', `127.0.0.1:${rx.port}`] });
      expect(ofKind(r.records, 'connect')).toHaveLength(1);
    } finally {
      rx.close();
    }
  });
});
