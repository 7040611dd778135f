// The syslog sink (`--syslog[=PATH]`, SPEC §2, §8) against a real rsyslogd with a private
// configuration and socket: every record of a session arrives as authpriv.info (PRI 86) from
// app-name netlog, in JSON or seed format; a syslog that is down at start stops netlog-run
// with 125 before COMMAND runs; one that goes down later is a sink failure whose syscalls
// are refused with EACCES, said once on stderr and counted in the end record.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { expectGapless, fixture, httpServer as startHttpServer, NETLOG_RUN, netlogRaw, ofKind, readRecords, tempDir, waitFor, type JsonRecord } from './harness.js';

const RSYSLOGD = '/usr/sbin/rsyslogd';
const PATH = '/usr/local/bin:/usr/bin:/bin';
const NET_CLIENT = fs.realpathSync(fixture('net_client'));
const PRI_AUTHPRIV_INFO = 10 * 8 + 6;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface Rsyslog {
  sock: string;
  out: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `rsyslogd -n` with a private config: one imuxsock input on DIR/log.sock, every
 * message written to DIR/out.log as "PRI APP-NAME MSG". `specialParser` is imuxsock's
 * UseSpecialParser: on (its default, as for /dev/log) it parses the local syslog(3) format;
 * off, the regular parser chain (RFC 5424, then RFC 3164) parses each message.
 */
async function startRsyslog(dir: string, specialParser: boolean): Promise<Rsyslog> {
  if (!fs.existsSync(RSYSLOGD)) {
    throw new Error(`${RSYSLOGD} not found: install the Debian package rsyslog (scripts/setup-test.sh does it on CI)`);
  }
  const sock = path.join(dir, 'log.sock');
  const out = path.join(dir, 'out.log');
  const conf = path.join(dir, 'rsyslog.conf');
  fs.writeFileSync(
    conf,
    [
      `global(workDirectory="${dir}")`,
      'module(load="imuxsock" SysSock.Use="off")',
      `input(type="imuxsock" Socket="${sock}" CreatePath="on" UseSpecialParser="${specialParser ? 'on' : 'off'}")`,
      'template(name="raw" type="string" string="%PRI% %APP-NAME% %msg%\\n")',
      `*.* action(type="omfile" file="${out}" template="raw")`,
      '',
    ].join('\n'),
  );
  const sub: ResultPromise = execa(RSYSLOGD, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')], {
    reject: false,
    timeout: 120_000,
  });
  const pid = sub.pid!;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      process.kill(pid, 'SIGTERM'); // our own rsyslogd, by pid
    } catch {
      return;
    }
    const exited = await Promise.race([sub.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
    if (!exited) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
      await sub;
    }
  };
  cleanups.push(stop);
  try {
    await waitFor(() => fs.existsSync(sock) || sub.exitCode !== null, 15_000, `rsyslogd to create ${sock}`);
  } catch (err) {
    await stop();
    throw err;
  }
  if (!fs.existsSync(sock)) {
    const r = await sub;
    throw new Error(`rsyslogd exited (${String(r.exitCode)}) without creating ${sock}: ${String(r.stderr)}`);
  }
  return { sock, out, pid, stop };
}

/** The lines rsyslogd wrote for netlog's messages (its own start/stop notices left out). */
function received(out: string): string[] {
  if (!fs.existsSync(out)) return [];
  return fs
    .readFileSync(out, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !/^\d+ rsyslogd /.test(l));
}

/** A harness HTTP server's port, closed after the test. */
async function httpServer(): Promise<number> {
  const server = await startHttpServer();
  cleanups.push(server.close);
  return server.port;
}

async function tcpServer(): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('end', () => s.end());
    s.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

function logLines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

function endOf(records: JsonRecord[]): { exit_code: number; signal: string | null; records: number; hidden: number; refused: number } {
  const end = records.at(-1);
  expect(end?.event).toBe('end');
  return end!.run as never;
}

describe('--syslog to a real rsyslogd', () => {
  it.each([
    ['json', []],
    ['seed', ['-f', 'seed']],
  ])('delivers every record of a session, PRI 86 from app-name netlog (%s, RFC 5424 parser)', async (_, fmt) => {
    const dir = tempDir();
    const rs = await startRsyslog(dir, false);
    const port = await httpServer();
    const log = path.join(dir, 'netlog.log');
    const r = await netlogRaw(
      [`--syslog=${rs.sock}`, '-o', log, ...fmt, '--', 'bash', '-c', `curl -sS -o /dev/null http://127.0.0.1:${port}/ && /usr/bin/true`],
      { cwd: dir, env: { PATH } },
    );
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const lines = logLines(log);
    expect(lines.length).toBeGreaterThanOrEqual(6); // start, 3 execs, connect, close, end
    await waitFor(() => received(rs.out).length >= lines.length, 10_000, 'rsyslogd to write every record').catch(() => {});
    // The same messages, in the same order, each as authpriv.info from netlog.
    expect(received(rs.out)).toEqual(lines.map((l) => `${PRI_AUTHPRIV_INFO} netlog ${l}`));
    await rs.stop();
  });

  it('a stock imuxsock input (the special parser /dev/log uses) stores every record whole, as authpriv.info', async () => {
    const dir = tempDir();
    const rs = await startRsyslog(dir, true);
    const log = path.join(dir, 'netlog.log');
    const r = await netlogRaw([`--syslog=${rs.sock}`, '-o', log, '--', '/usr/bin/true'], { cwd: dir, env: { PATH } });
    expect(r.exitCode).toBe(0);
    const lines = logLines(log);
    expect(lines).toHaveLength(3);
    await waitFor(() => received(rs.out).length >= lines.length, 10_000, 'rsyslogd to write every record').catch(() => {});
    const got = received(rs.out);
    expect(got).toHaveLength(lines.length);
    // Every record arrives whole and as authpriv.info...
    got.forEach((g, i) => {
      expect(g.startsWith(`${PRI_AUTHPRIV_INFO} `)).toBe(true);
      expect(g.endsWith(lines[i]!)).toBe(true);
    });
    // The special parser reads only the traditional header, so it cannot
    // name the program of an RFC 5424 message (docs/configuration.md).
    await rs.stop();
  });

  it('a syslog that goes away mid-session: syscalls refused with EACCES, said once, counted', async () => {
    const dir = tempDir();
    const rs = await startRsyslog(dir, false);
    const port = await tcpServer();
    const log = path.join(dir, 'netlog.log');
    const [ready, go] = ['ready', 'go'].map((f) => path.join(dir, f)) as [string, string];
    const sub = execa(
      process.execPath,
      [NETLOG_RUN, `--syslog=${rs.sock}`, '-o', log, '--no-exec', '--', 'bash', '-c',
        `${NET_CLIENT} tcp 127.0.0.1 ${port} > c1.out; touch ${ready}
         i=0; while [ ! -e ${go} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
         ${NET_CLIENT} tcp 127.0.0.1 ${port} > c2.out; echo $? > c2.rc`],
      { reject: false, timeout: 60_000, cwd: dir, env: { PATH } },
    );
    cleanups.push(async () => {
      fs.writeFileSync(go, '');
      await sub;
    });
    await waitFor(() => fs.existsSync(ready), 15_000, 'the first connection');
    await waitFor(() => received(rs.out).length >= 3, 10_000, 'start, connect and close at rsyslogd');
    await rs.stop();
    fs.writeFileSync(go, '');
    const r = await sub;
    const stderr = String(r.stderr);

    expect(r.exitCode).toBe(0);
    const c1 = JSON.parse(fs.readFileSync(path.join(dir, 'c1.out'), 'utf8').split('\n')[0]!) as { result: string };
    const c2 = JSON.parse(fs.readFileSync(path.join(dir, 'c2.out'), 'utf8').split('\n')[0]!) as { result: string };
    expect(c1.result).toBe('ok');
    expect(c2.result).toBe('EACCES');
    // Said once, however many calls were refused.
    expect(stderr.match(/netlog-run: cannot send to syslog at /g)).toHaveLength(1);
    expect(stderr).toContain(`netlog-run: cannot send to syslog at ${rs.sock}: `);
    const records = readRecords(log);
    expectGapless(records);
    expect(received(rs.out).slice(0, 3)).toEqual(logLines(log).slice(0, 3).map((l) => `${PRI_AUTHPRIV_INFO} netlog ${l}`));
    expect(endOf(records).refused).toBeGreaterThanOrEqual(1);
    expect(ofKind(records, 'connect')).toHaveLength(2);
  });

  // A sink that cannot work at start stops netlog-run before COMMAND runs (exit 125), as an
  // unwritable -o does: one message, no log left behind, COMMAND never started.
  it.each([
    ['a missing socket', 'missing', /no such socket \(ENOENT\)$/],
    ['a socket file nobody listens on', 'stale', /no syslog daemon is listening there \(ECONNREFUSED\)$/],
  ])('--syslog to %s: exit 125 before COMMAND runs, said once', async (_name, kind, why) => {
    const dir = tempDir();
    const log = path.join(dir, 'netlog.log');
    const marker = path.join(dir, 'marker');
    const sock = path.join(dir, 'dev-log');
    if (kind === 'stale') {
      // Bound, then closed: the file stays, nobody receives.
      await execa('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.close()', sock]);
      expect(fs.statSync(sock).isSocket()).toBe(true);
    }
    const r = await netlogRaw([`--syslog=${sock}`, '-o', log, '--', 'bash', '-c', `touch ${marker}`], { cwd: dir, env: { PATH } });
    expect(r.exitCode).toBe(125);
    expect(fs.existsSync(marker)).toBe(false);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^netlog-run: cannot send to syslog at ${sock}: `));
    expect(lines[0]).toMatch(why);
    // The log it would have created is not left behind.
    expect(fs.existsSync(log)).toBe(false);
  });
});
