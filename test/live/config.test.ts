// Configuration (SPEC §6), whitelists (SPEC §7) and the seed format (SPEC §5) on real programs
// under the real kernel: whitelisted connections and execs leave no record, probe masks change
// what the seccomp filter traps (read back from the kernel), modprobe.d files load unchanged,
// bad configs never start COMMAND, SIGHUP reloads, and `-f seed` lines match the original's
// format strings with values taken from what the fixtures saw.

import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import {
  httpServer as startHttpServer,
  type HttpServer,
  expectGapless, fixture, NETLOG_RUN, netlogRaw, ofKind, readRecords, requireNobody, requireRoot, tempDir, waitFor, type JsonRecord,
} from './harness.js';
import { AUDIT_ARCH_I386, ENOSYS_RET, runBpf, SECCOMP_RET_USER_NOTIF, seccompFilters, type Bpf } from './seccomp-filter.js';

const PATH = '/usr/local/bin:/usr/bin:/bin';
const NET_CLIENT = fs.realpathSync(fixture('net_client'));
const ACCEPT_SERVER = fs.realpathSync(fixture('accept_server'));
const CURL = fs.realpathSync('/usr/bin/curl');
const NOBODY = 'setpriv --reuid=65534 --regid=65534 --clear-groups';

// ---------------------------------------------------------------------------------------------
// Helpers: servers in this process, background sessions, cleanup of what this file started.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A harness HTTP server, closed after the test. */
async function httpServer(): Promise<HttpServer> {
  const server = await startHttpServer();
  cleanups.push(server.close);
  return server;
}

/** A TCP server that takes connections and closes each when the client does. */
async function tcpServer(host = '127.0.0.1'): Promise<{ port: number; clientPorts: number[] }> {
  const clientPorts: number[] = [];
  const server = net.createServer((s) => {
    clientPorts.push(s.remotePort ?? -1);
    s.on('error', () => {});
    s.on('end', () => s.end());
    s.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as net.AddressInfo).port, clientPorts };
}

/** A TCP port that was free a moment ago (for programs that need the port before they run). */
async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function freeUdpPort(): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const port = sock.address().port;
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  return port;
}

/** Shell snippet: wait (bounded, about 20 s) until FILE exists. */
function waitFileSh(file: string): string {
  return `i=0; while [ ! -e '${file}' ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done`;
}

interface Session {
  sub: ResultPromise;
  pid: number;
  log: string;
  dir: string;
  /** Files the session's script waits for; all created at cleanup so that it ends. */
  gates: string[];
}

/** Starts `netlog-run -o LOG ARGS -- bash -c SCRIPT` in the background. */
function startSession(dir: string, args: string[], script: string, gates: string[] = []): Session {
  const log = path.join(dir, 'netlog.jsonl');
  const sub = execa(process.execPath, [NETLOG_RUN, '-o', log, ...args, '--', 'bash', '-c', script], {
    reject: false,
    timeout: 60_000,
    cwd: dir,
    env: { PATH },
  });
  const session = { sub, pid: sub.pid!, log, dir, gates };
  cleanups.push(async () => {
    for (const g of gates) fs.writeFileSync(g, '');
    const done = await Promise.race([sub.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
    if (!done && sub.exitCode === null) {
      try {
        process.kill(session.pid, 'SIGKILL'); // our own netlog-run, by pid
      } catch {
        // already gone
      }
    }
  });
  return session;
}

async function finish(s: Session): Promise<{ exitCode: number; stderr: string; records: JsonRecord[] }> {
  for (const g of s.gates) fs.writeFileSync(g, '');
  const r = await s.sub;
  return { exitCode: r.exitCode ?? -1, stderr: String(r.stderr ?? ''), records: readRecords(s.log) };
}

async function run(args: string[], script: string, dir = tempDir()) {
  const log = path.join(dir, 'netlog.jsonl');
  const r = await netlogRaw(['-o', log, ...args, '--', 'bash', '-c', script], { cwd: dir, env: { PATH }, timeout: 30_000 });
  return { ...r, records: readRecords(log), log, dir };
}

function endOf(records: JsonRecord[]): { exit_code: number; records: number; hidden: number; refused: number; signal: string | null } {
  const end = records.at(-1);
  expect(end?.event).toBe('end');
  return end!.run as never;
}

function writeConf(dir: string, text: string, name = 'netlog.conf'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const netOf = (r: JsonRecord) => r.net!;

// ---------------------------------------------------------------------------------------------

const SYSCALL_NAMES: Record<number, string> = {
  3: 'close', 42: 'connect', 43: 'accept', 49: 'bind', 59: 'execve', 288: 'accept4', 322: 'execveat',
  105: 'setuid', 106: 'setgid', 444: 'landlock_create_ruleset', 446: 'landlock_restrict_self', 113: 'setreuid', 114: 'setregid', 117: 'setresuid', 119: 'setresgid',
};

/** Names (or numbers) of the x86_64 syscalls the filter hands to the supervisor. */
function notifiedSyscalls(prog: Bpf): string[] {
  const out: string[] = [];
  for (let nr = 0; nr < 1024; nr++) {
    if ((runBpf(prog, nr) & 0xffff0000) >>> 0 === SECCOMP_RET_USER_NOTIF) out.push(SYSCALL_NAMES[nr] ?? String(nr));
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------

describe('network whitelist', () => {
  it.each(['--whitelist', 'config file'])('hides a whitelisted curl connection but not an unlisted one (%s)', async (via) => {
    const listed = await httpServer();
    const unlisted = await httpServer();
    const dir = tempDir();
    const entry = `${CURL}|i<127.0.0.1>|p<${listed.port}>`;
    const args = via === '--whitelist' ? ['--whitelist', entry] : ['-c', writeConf(dir, `# whitelist test\nwhitelist = ${entry}\n`)];
    const r = await run(
      args,
      `curl -sS -o /dev/null http://127.0.0.1:${listed.port}/hidden && curl -sS -o /dev/null http://127.0.0.1:${unlisted.port}/shown`,
      dir,
    );
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    // Both connections really happened.
    expect(listed.requests.map((q) => q.path)).toEqual(['/hidden']);
    expect(unlisted.requests.map((q) => q.path)).toEqual(['/shown']);
    expectGapless(r.records);

    const netRecs = r.records.filter((x) => x.net);
    expect(netRecs.filter((x) => netOf(x).remote?.port === listed.port || netOf(x).local.port === listed.port)).toEqual([]);
    const shown = netRecs.filter((x) => netOf(x).remote?.port === unlisted.port);
    const connects = ofKind(shown, 'connect');
    expect(connects).toHaveLength(1);
    expect(connects[0]!.proc!.exe).toBe(CURL);
    expect(netOf(connects[0]!).local.port).toBe(unlisted.requests[0]!.clientPort);
    expect(ofKind(shown, 'close')).toHaveLength(1);
    // What was hidden is what the twin connection recorded: its connect and its close.
    expect(endOf(r.records).hidden).toBe(shown.length);
  });

  it('matches accept and the close of an accepted connection on the local (service) port', async () => {
    const port = await freeTcpPort();
    const dir = tempDir();
    const ready = path.join(dir, 'ready');
    const r = await run(
      ['--whitelist', `${ACCEPT_SERVER}|i<127.0.0.1>|p<${port}>`],
      `${ACCEPT_SERVER} 127.0.0.1 ${port} 1 --ready-file ${ready} > server.out &
       i=0; while [ ! -s ${ready} ] && [ $i -lt 400 ]; do sleep 0.02; i=$((i+1)); done
       ${NET_CLIENT} tcp 127.0.0.1 ${port} > client.out; wait`,
      dir,
    );
    expect(r.exitCode).toBe(0);
    const client = JSON.parse(fs.readFileSync(path.join(dir, 'client.out'), 'utf8').split('\n')[0]!) as { result: string; local: { port: number } };
    expect(client.result).toBe('ok');
    expect(fs.readFileSync(path.join(dir, 'server.out'), 'utf8')).toContain('"accepted":1');

    const serverRecs = r.records.filter((x) => x.net && x.proc!.exe === ACCEPT_SERVER);
    expect(serverRecs).toEqual([]);
    // The client side is another program: still recorded.
    const clientRecs = r.records.filter((x) => x.net && x.proc!.exe === NET_CLIENT);
    expect(clientRecs.map((x) => [x.event, netOf(x).local.port, netOf(x).remote?.port])).toEqual([
      ['connect', client.local.port, port],
      ['close', client.local.port, port],
    ]);
    expect(endOf(r.records).hidden).toBe(2); // the accept and the close of the accepted socket
  });
});

describe('probes', () => {
  const ALL_NET = ['accept', 'accept4', 'bind', 'close', 'connect'];
  // With exec, the set*id calls: they drop the caller's cached identity.
  const EXEC = ['execve', 'execveat', 'setgid', 'setregid', 'setresgid', 'setresuid', 'setreuid', 'setuid'];
  // With connect, the Landlock calls: a program's own sandbox is followed (docs/security.md).
  const CONNECT = ['connect', 'landlock_create_ruleset', 'landlock_restrict_self'];
  const ALL = [...ALL_NET, 'landlock_create_ruleset', 'landlock_restrict_self'];

  it.for([
    { name: '--probes 0x1 --no-exec', args: ['--probes', '0x1', '--no-exec'], conf: undefined, trapped: CONNECT, exec: false, all: false },
    { name: 'config probes = 1', args: [], conf: 'probes = 1\n', trapped: [...CONNECT, ...EXEC].sort(), exec: true, all: false },
    { name: 'default probes, --no-exec', args: ['--no-exec'], conf: undefined, trapped: ALL.sort(), exec: false, all: true },
    { name: 'default probes', args: [], conf: undefined, trapped: [...ALL, ...EXEC].sort(), exec: true, all: true },
  ])('$name: the filter traps exactly $trapped', async ({ args, conf, trapped, exec, all }, ctx) => {
    requireRoot(ctx, 'PTRACE_SECCOMP_GET_FILTER');
    const server = await tcpServer();
    const udpPort = await freeUdpPort();
    const dir = tempDir();
    const go = path.join(dir, 'go');
    const cliArgs = conf ? [...args, '-c', writeConf(dir, conf)] : args;
    const s = startSession(
      dir,
      cliArgs,
      `grep -E '^Seccomp' /proc/$$/status > status; echo $$ > pid.tmp && mv pid.tmp pid; ${waitFileSh(go)}
       ${NET_CLIENT} tcp 127.0.0.1 ${server.port} > tcp.out; ${NET_CLIENT} udp-bind 127.0.0.1 ${udpPort} > udp.out`,
      [go],
    );
    await waitFor(() => fs.existsSync(path.join(dir, 'pid')), 15_000, 'the session to start');
    const bashPid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
    const filters = await seccompFilters(bashPid);
    const r = await finish(s);

    expect(r.exitCode).toBe(0);
    const status = fs.readFileSync(path.join(dir, 'status'), 'utf8');
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(status).toMatch(/^Seccomp_filters:\s+1$/m);
    expect(filters).toHaveLength(1);
    expect(notifiedSyscalls(filters[0]!)).toEqual(trapped);
    // Closed doors (SPEC §9), whatever the probes: io_uring, the x32 ABI
    // (x86_64 numbers with bit 30 set) and any other architecture get ENOSYS.
    for (const nr of [425, 426, 427]) expect(runBpf(filters[0]!, nr)).toBe(ENOSYS_RET);
    expect(runBpf(filters[0]!, 0x40000000 | 42)).toBe(ENOSYS_RET);
    expect(runBpf(filters[0]!, 102, AUDIT_ARCH_I386)).toBe(ENOSYS_RET);

    // What the programs saw: everything worked.
    const tcp = fs.readFileSync(path.join(dir, 'tcp.out'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; result: string; local?: { port: number } });
    expect(tcp.map((o) => [o.op, o.result])).toEqual([['connect', 'ok'], ['close', 'ok']]);
    const udp = fs.readFileSync(path.join(dir, 'udp.out'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; result: string });
    expect(udp.map((o) => [o.op, o.result])).toEqual([['bind', 'ok'], ['close', 'ok']]);

    expectGapless(r.records);
    const clientNet = r.records.filter((x) => x.net && x.proc!.exe === NET_CLIENT);
    const summary = clientNet.map((x) => `${x.event} ${netOf(x).proto} ${netOf(x).local.port === udpPort ? 'udp-port' : ''}`.trim());
    if (all) {
      expect(summary).toEqual(['connect tcp', 'close tcp', 'bind udp udp-port', 'close udp udp-port']);
    } else {
      expect(summary).toEqual(['connect tcp']);
    }
    expect(netOf(clientNet[0]!).local.port).toBe(tcp[0]!.local!.port);
    expect(netOf(clientNet[0]!).remote?.port).toBe(server.port);
    expect(ofKind(r.records, 'exec').length > 0).toBe(exec);
    expect(endOf(r.records).hidden).toBe(0);
  });
});

describe('exec whitelist', () => {
  // The four execs of /usr/bin/true's binary: as root by path, as nobody by path, as nobody
  // as /bin/true (recorded and matched as the real path /usr/bin/true), as nobody through PATH.
  const SCRIPT = `/usr/bin/true; ${NOBODY} /usr/bin/true; ${NOBODY} /bin/true; ${NOBODY} /usr/bin/env true`;

  function trueExecs(records: JsonRecord[]) {
    return ofKind(records, 'exec')
      .filter((x) => x.exec!.file === '/usr/bin/true' || x.exec!.file === '/bin/true')
      .map((x) => `${x.exec!.file} uid ${x.proc!.uid} euid ${x.proc!.euid}`);
  }

  it('--exec-whitelist hides a non-root exec of the path, never root\'s by default', async (ctx) => {
    requireRoot(ctx, 'setpriv: execs of root and of nobody');
    const r = await run(['--exec-whitelist', '/usr/bin/true'], SCRIPT);
    expect(r.exitCode).toBe(0);
    expectGapless(r.records);
    expect(trueExecs(r.records)).toEqual(['/usr/bin/true uid 0 euid 0']);
    // setpriv (root) and env (nobody) are not whitelisted
    expect(ofKind(r.records, 'exec').filter((x) => x.exec!.file === '/usr/bin/setpriv')).toHaveLength(3);
    expect(ofKind(r.records, 'exec').filter((x) => x.exec!.file === '/usr/bin/env' && x.proc!.uid === 65534)).toHaveLength(1);
    expect(endOf(r.records).hidden).toBe(3);
  });

  it('whitelist_include_root = 1 in a config file hides root\'s exec too', async (ctx) => {
    requireRoot(ctx, 'setpriv: execs of root and of nobody');
    const dir = tempDir();
    const conf = writeConf(dir, 'exec_whitelist = /usr/bin/true\nwhitelist_include_root = 1\n');
    const r = await run(['-c', conf], SCRIPT, dir);
    expect(r.exitCode).toBe(0);
    expect(trueExecs(r.records)).toEqual([]);
    expect(endOf(r.records).hidden).toBe(4);
  });

  it('an argv prefix hides only the execs whose space-joined argv starts with it', async (ctx) => {
    requireRoot(ctx, 'setpriv to nobody');
    const r = await run(['--exec-whitelist', '/usr/bin/true|/usr/bin/true hide '], `${NOBODY} /usr/bin/true hide me; ${NOBODY} /usr/bin/true hidden; ${NOBODY} /usr/bin/true hide`);
    expect(r.exitCode).toBe(0);
    const shown = ofKind(r.records, 'exec').filter((x) => x.exec!.file === '/usr/bin/true').map((x) => x.exec!.argv);
    // "hide " is a prefix of "/usr/bin/true hide " (each argument is followed by a space), not of "...hidden ".
    expect(shown).toEqual([['/usr/bin/true', 'hidden']]);
    expect(endOf(r.records).hidden).toBe(2);
  });
});

describe('modprobe.d files', () => {
  it('loads an existing netlog.conf with options netlog / execlog / secure_log lines unchanged', async () => {
    const listed = await httpServer();
    const unlisted = await httpServer();
    const dir = tempDir();
    const conf = writeConf(
      dir,
      [
        '# /etc/modprobe.d/netlog.conf, as written for the kernel modules',
        'install netlog /sbin/modprobe --ignore-install netlog',
        'softdep netlog pre: secure_log',
        `options netlog probes=0x3f whitelist=${CURL}|i<127.0.0.1>|p<${listed.port}>`,
        'options execlog argv_max_size=200 whitelist_include_root=0',
        'options secure_log send_eof=1',
        'options e1000e InterruptThrottleRate=3000',
        '',
      ].join('\n'),
      'netlog.conf',
    );
    const long = 'x'.repeat(300);
    const r = await run(
      ['-c', conf],
      `curl -sS -o /dev/null http://127.0.0.1:${listed.port}/ && curl -sS -o /dev/null http://127.0.0.1:${unlisted.port}/ && /usr/bin/echo ${long} > /dev/null`,
      dir,
    );
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(listed.requests).toHaveLength(1);
    expect(unlisted.requests).toHaveLength(1);
    const connects = ofKind(r.records, 'connect').filter((x) => x.proc!.exe === CURL);
    expect(connects.map((x) => netOf(x).remote?.port)).toEqual([unlisted.port]);
    expect(endOf(r.records).hidden).toBe(2);

    const echo = ofKind(r.records, 'exec').find((x) => x.exec!.file === '/usr/bin/echo')!;
    expect(echo.exec!.argv_truncated).toBe(true);
    const joined = echo.exec!.argv.join(' ');
    expect(Buffer.byteLength(joined)).toBe(200);
    expect(`/usr/bin/echo ${long}`.startsWith(joined)).toBe(true);
  });
});

describe('configuration errors: one message, exit 125, COMMAND not started', () => {
  async function refused(args: string[], dir: string) {
    const marker = path.join(dir, 'marker');
    const log = path.join(dir, 'netlog.jsonl');
    const r = await netlogRaw(['-o', log, ...args, '--', 'bash', '-c', `touch ${marker}`], { cwd: dir, env: { PATH } });
    expect(r.exitCode).toBe(125);
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(log)).toBe(false);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    return lines[0]!;
  }

  it.each<[string, string, (conf: string) => RegExp]>([
    ['a malformed whitelist entry', '# netlog\n\nwhitelist = /usr/bin/curl|x<1>\n',
      (c) => new RegExp(`^netlog-run: ${c}:3: whitelist entry '/usr/bin/curl\\|x<1>': unknown field 'x' \\(expected i<IP> or p<PORT>\\)$`)],
    ['a bad IP in a whitelist entry', 'whitelist = /usr/sbin/sshd|i<127.0.0.256>|p<22>\n',
      (c) => new RegExp(`^netlog-run: ${c}:1: whitelist entry '/usr/sbin/sshd\\|i<127\\.0\\.0\\.256>\\|p<22>': '127\\.0\\.0\\.256' is not an IPv4 or IPv6 address$`)],
    ['an unknown key', 'probes = 3f\nprobe_tcp_conect = 1\n',
      (c) => new RegExp(`^netlog-run: ${c}:2: unknown key 'probe_tcp_conect' \\(did you mean 'probe_tcp_connect'\\?\\)$`)],
    ['a value out of range', 'argv_max_size = 99\n',
      (c) => new RegExp(`^netlog-run: ${c}:1: key 'argv_max_size': 99 is out of range \\(expected 100\\.\\.39936 bytes\\)$`)],
    ['a port out of range', 'whitelist = /usr/bin/curl|p<65536>\n',
      (c) => new RegExp(`^netlog-run: ${c}:1: whitelist entry '/usr/bin/curl\\|p<65536>': port 65536 is out of range \\(expected 1\\.\\.65535\\)$`)],
    ['a key in the wrong options line', 'options netlog argv_max_size=200\n',
      (c) => new RegExp(`^netlog-run: ${c}:1: options netlog: unknown key 'argv_max_size' \\(it belongs to 'options execlog'\\)$`)],
    ['a line that is no setting', 'probes\n',
      (c) => new RegExp(`^netlog-run: ${c}:1: expected 'key = value', got 'probes'$`)],
  ])('%s', async (_, text, expected) => {
    const dir = tempDir();
    const conf = writeConf(dir, text);
    expect(await refused(['-c', conf], dir)).toMatch(expected(conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  it('a config file that does not exist', async () => {
    const dir = tempDir();
    const conf = path.join(dir, 'nope.conf');
    expect(await refused(['-c', conf], dir)).toBe(`netlog-run: cannot read config ${conf}: no such file`);
  });

  it('a config path that is a directory', async () => {
    const dir = tempDir();
    expect(await refused(['-c', dir], dir)).toBe(`netlog-run: cannot read config ${dir}: is a directory`);
  });

  it('a config file the user may not read', async (ctx) => {
    requireNobody(ctx, 'setpriv to nobody');
    const dir = tempDir();
    fs.chmodSync(dir, 0o755);
    const conf = writeConf(dir, 'probes = 3f\n');
    fs.chmodSync(conf, 0o600); // root's; netlog-run below runs as nobody
    const marker = path.join(dir, 'marker');
    const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, NETLOG_RUN,
      '-c', conf, '--', 'bash', '-c', `touch ${marker}`], { reject: false, env: { PATH }, timeout: 30_000 });
    expect(r.exitCode).toBe(125);
    expect(String(r.stderr)).toBe(`netlog-run: cannot read config ${conf}: permission denied`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a bad --whitelist option names the option', async () => {
    const dir = tempDir();
    expect(await refused(['--whitelist', 'curl|p<80>'], dir)).toBe(
      "netlog-run: --whitelist: whitelist entry 'curl|p<80>': the program path 'curl' is not absolute (expected e.g. /usr/sbin/sshd)",
    );
  });
});

describe('SIGHUP reload', () => {
  async function waitRecord(log: string, pred: (r: JsonRecord) => boolean, what: string): Promise<JsonRecord> {
    let found: JsonRecord | undefined;
    await waitFor(() => (found = readRecords(log).find(pred)) !== undefined, 15_000, what);
    return found!;
  }

  it('adds a whitelist entry live; a broken config is refused, recorded, and the old one stays', async () => {
    const server = await tcpServer();
    const dir = tempDir();
    const conf = writeConf(dir, 'probes = 3f\n');
    const [ready1, go1, ready2, go2] = ['ready1', 'go1', 'ready2', 'go2'].map((f) => path.join(dir, f));
    const client = `${NET_CLIENT} tcp 127.0.0.1 ${server.port}`;
    const s = startSession(
      dir,
      ['-c', conf, '--no-exec'],
      `${client} > c1.out; touch ${ready1}; ${waitFileSh(go1!)}
       ${client} > c2.out; touch ${ready2}; ${waitFileSh(go2!)}
       ${client} > c3.out`,
      [go1!, go2!],
    );
    await waitFor(() => fs.existsSync(ready1!), 15_000, 'the first connection');
    const start = readRecords(s.log)[0]!;

    // 1. Add an entry for the service and reload.
    fs.appendFileSync(conf, `whitelist = ${NET_CLIENT}|i<127.0.0.1>|p<${server.port}>\n`);
    process.kill(s.pid, 'SIGHUP');
    const applied = await waitRecord(s.log, (r) => r.event === 'reload', 'the reload record');
    expect(applied.run).toEqual({ status: 'applied', config_digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(applied.run!.config_digest).not.toBe(start.run!.config_digest);
    fs.writeFileSync(go1!, '');
    await waitFor(() => fs.existsSync(ready2!), 15_000, 'the second connection');

    // 2. A config with an error (that also drops the entry) is refused as a whole.
    fs.writeFileSync(conf, 'probes = 3f\nbogus = 1\n');
    process.kill(s.pid, 'SIGHUP');
    const refusedRec = await waitRecord(s.log, (r) => r.event === 'reload' && r.run?.status === 'refused', 'the refused reload record');
    expect(refusedRec.run).toEqual({
      status: 'refused',
      config_digest: applied.run!.config_digest,
      error: `${conf}:2: unknown key 'bogus'`,
    });
    fs.writeFileSync(go2!, '');
    const r = await finish(s);

    expect(r.exitCode).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.includes('config reload refused'))).toEqual([
      `netlog-run: config reload refused, the previous configuration stays: ${conf}:2: unknown key 'bogus'`,
    ]);
    expectGapless(r.records);
    // Three real connections; only the first, before the entry, is recorded.
    const outs = ['c1.out', 'c2.out', 'c3.out'].map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8').split('\n')[0]!) as { result: string; local: { port: number } });
    expect(outs.map((o) => o.result)).toEqual(['ok', 'ok', 'ok']);
    expect(server.clientPorts.sort()).toEqual(outs.map((o) => o.local.port).sort());
    const connects = ofKind(r.records, 'connect');
    expect(connects.map((x) => netOf(x).local.port)).toEqual([outs[0]!.local.port]);
    expect(r.records.map((x) => x.event)).toEqual(['start', 'connect', 'close', 'reload', 'reload', 'end']);
    expect(endOf(r.records).hidden).toBe(4); // connect and close of connections 2 and 3
  });

  it('turns probes off and on among trapped syscalls, and refuses to turn on an untrapped one', async () => {
    const server = await tcpServer();
    const dir = tempDir();
    // tcp_connect + tcp_close: connect and close are trapped, accept and bind are not.
    const conf = writeConf(dir, 'probes = 0x5\n');
    const gates = ['go1', 'go2', 'go3'].map((f) => path.join(dir, f));
    const readies = ['ready1', 'ready2', 'ready3'].map((f) => path.join(dir, f));
    const step = (n: number) =>
      `${NET_CLIENT} udp 127.0.0.1 9 > u${n}.out; ${NET_CLIENT} tcp 127.0.0.1 ${server.port} > t${n}.out; touch ${readies[n - 1]}`;
    const s = startSession(
      dir,
      ['-c', conf, '--no-exec'],
      `${step(1)}; ${waitFileSh(gates[0]!)}; ${step(2)}; ${waitFileSh(gates[1]!)}; ${step(3)}`,
      gates,
    );
    const reloads = () => ofKind(readRecords(s.log), 'reload');

    await waitFor(() => fs.existsSync(readies[0]!), 15_000, 'step 1');
    // Turning on accept and bind (not trapped at start) is refused whole.
    fs.writeFileSync(conf, 'probes = 3f\n');
    process.kill(s.pid, 'SIGHUP');
    await waitFor(() => reloads().length === 1, 15_000, 'the first reload record');
    expect(reloads()[0]!.run).toMatchObject({
      status: 'refused',
      error: `${conf}: probes for accept, bind cannot be turned on while running (not trapped at start; restart netlog-run)`,
    });
    // udp_connect and udp_close ride on connect and close, which are trapped: applied.
    fs.writeFileSync(conf, 'probes = 0x2d\n');
    process.kill(s.pid, 'SIGHUP');
    await waitFor(() => reloads().length === 2, 15_000, 'the second reload record');
    expect(reloads()[1]!.run).toMatchObject({ status: 'applied' });
    fs.writeFileSync(gates[0]!, '');

    await waitFor(() => fs.existsSync(readies[1]!), 15_000, 'step 2');
    // Turning a probe off is always possible.
    fs.writeFileSync(conf, 'probes = 0x2d\nprobe_tcp_connect = 0\n');
    process.kill(s.pid, 'SIGHUP');
    await waitFor(() => reloads().length === 3, 15_000, 'the third reload record');
    expect(reloads()[2]!.run).toMatchObject({ status: 'applied' });
    fs.writeFileSync(gates[1]!, '');
    const r = await finish(s);

    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`netlog-run: config reload refused, the previous configuration stays: ${conf}: probes for accept, bind cannot be turned on while running`);
    expectGapless(r.records);
    const steps = [1, 2, 3].map((n) => ({
      udp: JSON.parse(fs.readFileSync(path.join(dir, `u${n}.out`), 'utf8').split('\n')[0]!) as { result: string; local: { port: number } },
      tcp: JSON.parse(fs.readFileSync(path.join(dir, `t${n}.out`), 'utf8').split('\n')[0]!) as { result: string; local: { port: number } },
    }));
    expect(steps.flatMap((x) => [x.udp.result, x.tcp.result])).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    const seen = r.records
      .filter((x) => x.event !== 'start' && x.event !== 'end')
      .map((x) => {
        if (x.event === 'reload') return `reload ${String(x.run!.status)}`;
        const stepNo = steps.findIndex((st) => st.udp.local.port === netOf(x).local.port || st.tcp.local.port === netOf(x).local.port) + 1;
        return `${stepNo} ${x.event} ${netOf(x).proto}`;
      });
    expect(seen).toEqual([
      '1 connect tcp', '1 close tcp', // udp off at start
      'reload refused', 'reload applied',
      '2 connect udp', '2 close udp', '2 connect tcp', '2 close tcp',
      'reload applied',
      '3 connect udp', '3 close udp', '3 close tcp', // tcp_connect now off
    ]);
    expect(endOf(r.records).hidden).toBe(0);
  });

  it('without -c, SIGHUP goes to COMMAND; with -c it reloads and COMMAND does not see it', async () => {
    for (const withConfig of [false, true]) {
      const dir = tempDir();
      const [ready, go, hup] = ['ready', 'go', 'hup'].map((f) => path.join(dir, f));
      const args = withConfig ? ['--no-exec', '-c', writeConf(dir, 'probes = 3f\n')] : ['--no-exec'];
      const s = startSession(dir, args, `trap 'touch ${hup}; exit 3' HUP; touch ${ready}; ${waitFileSh(go!)}`, [go!]);
      await waitFor(() => fs.existsSync(ready!), 15_000, 'the script to start');
      process.kill(s.pid, 'SIGHUP');
      if (withConfig) {
        await waitFor(() => ofKind(readRecords(s.log), 'reload').length === 1, 15_000, 'the reload record');
        fs.writeFileSync(go!, '');
      }
      const r = await finish(s);
      expect(fs.existsSync(hup!)).toBe(!withConfig);
      expect(r.exitCode).toBe(withConfig ? 0 : 3);
      expect(ofKind(r.records, 'reload')).toHaveLength(withConfig ? 1 : 0);
    }
  });
});

describe('--format seed', () => {
  const HEADER = (module: string) => `<6>1 - - ${module} - - - `;
  const STAMP = /^\[( *\d+)\.(\d{6})\]: $/;
  /** `[%5lu.%06lu]: ` → seconds since boot, checking the padding. */
  function stampSeconds(stamp: string): number {
    const m = STAMP.exec(stamp);
    expect(m, `timestamp '${stamp}'`).not.toBeNull();
    const secs = m![1]!;
    expect(secs.length).toBeGreaterThanOrEqual(5);
    if (secs.length > 5) expect(secs.startsWith(' ')).toBe(false);
    return Number(secs.trim()) + Number(m![2]) / 1e6;
  }
  const uptime = () => Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

  interface SeedLine {
    module: string;
    secs: number;
    p: number; s: number; pp: number; u: number; g: number; eu: number; eg: number; t: string;
    body: string;
  }
  const LINE = /^(<6>1 - - (netlog|execlog) - - - |(netlog|execlog) )(\[ *\d+\.\d{6}\]: )p:(\d+) s:(\d+) pp:(\d+) u:(\d+) g:(\d+) eu:(\d+) eg:(\d+) t:(NULL|pts\d+|tty\w+) (.*)$/s;
  function parseSeed(line: string): SeedLine {
    const m = LINE.exec(line);
    expect(m, `seed line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, , mod1, mod2, stamp, p, s, pp, u, g, eu, eg, t, body] = m!;
    return {
      module: (mod1 ?? mod2)!, secs: stampSeconds(stamp!), p: +p!, s: +s!, pp: +pp!, u: +u!, g: +g!, eu: +eu!, eg: +eg!, t: t!, body: body!,
    };
  }

  it('writes every kind of event as the original did, with the values the programs saw', async (ctx) => {
    requireRoot(ctx, 'expects the records of uid 0');
    const dir = tempDir();
    const udpPort = await freeUdpPort();
    const wait = (f: string) => `i=0; while [ ! -s ${f} ] && [ $i -lt 400 ]; do sleep 0.02; i=$((i+1)); done`;
    const script = path.join(dir, 'session.sh');
    fs.writeFileSync(
      script,
      `read -r _ _ _ _ _ sid _ < /proc/$$/stat; echo "$$ $sid" > ${dir}/bash.ids
${ACCEPT_SERVER} 127.0.0.1 0 1 --ready-file ${dir}/ready4 > ${dir}/server4.out &
${ACCEPT_SERVER} ::1 0 1 --ready-file ${dir}/ready6 > ${dir}/server6.out &
${wait(`${dir}/ready4`)}; ${wait(`${dir}/ready6`)}
${NET_CLIENT} tcp 127.0.0.1 $(cat ${dir}/ready4) > ${dir}/client4.out
${NET_CLIENT} tcp ::1 $(cat ${dir}/ready6) > ${dir}/client6.out
${NET_CLIENT} udp-bind 127.0.0.1 ${udpPort} > ${dir}/udpbind.out
${NET_CLIENT} udp 127.0.0.1 9 > ${dir}/udp.out
wait
/usr/bin/true 'line1
line2' $'cr\\rx' ''
`,
    );
    const log = path.join(dir, 'seed.log');
    const before = uptime();
    const r = await netlogRaw(['-f', 'seed', '-o', log, '--', 'bash', script], { cwd: dir, env: { PATH } });
    const after = uptime();
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);

    const text = fs.readFileSync(log, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    // start and end stay JSON lines, first and last
    const start = JSON.parse(lines[0]!) as JsonRecord;
    const end = JSON.parse(lines.at(-1)!) as JsonRecord;
    expect(start.event).toBe('start');
    expect(start.seq).toBe(1);
    expect(end.event).toBe('end');
    expect(end.seq).toBe(lines.length);
    expect(end.run).toMatchObject({ exit_code: 0, records: lines.length - 1, hidden: 0, refused: 0 });
    const seed = lines.slice(1, -1).map(parseSeed);
    for (const l of seed) {
      expect(l.secs).toBeGreaterThanOrEqual(Math.floor(before) - 1);
      expect(l.secs).toBeLessThanOrEqual(after + 1);
      expect([l.u, l.g, l.eu, l.eg]).toEqual([0, 0, 0, 0]);
      expect(l.t).toBe('NULL');
    }
    for (const l of lines.slice(1, -1)) expect(l.startsWith(HEADER('netlog')) || l.startsWith(HEADER('execlog'))).toBe(true);

    // Ground truth from the programs themselves.
    const [bashPid, sid] = fs.readFileSync(path.join(dir, 'bash.ids'), 'utf8').trim().split(' ').map(Number) as [number, number];
    const json = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
    const server4 = json('server4.out');
    const server6 = json('server6.out');
    const c4 = json('client4.out')[0]!;
    const c6 = json('client6.out')[0]!;
    const ub = json('udpbind.out')[0]!;
    const uc = json('udp.out')[0]!;
    const s4pid = server4[0]!.pid as number;
    const s6pid = server6[0]!.pid as number;
    const sp4 = server4[0]!.listening.port as number;
    const sp6 = server6[0]!.listening.port as number;
    expect(server4[1]!.accepted.peer.port).toBe(c4.local.port);
    expect(server6[1]!.accepted.peer.port).toBe(c6.local.port);
    expect(ub.local.port).toBe(udpPort);

    const bodies = seed.map((l) => `${l.module} ${l.body}`);
    const expected = [
      `execlog /usr/bin/bash bash ${script} `,
      `execlog ${ACCEPT_SERVER} ${ACCEPT_SERVER} 127.0.0.1 0 1 --ready-file ${dir}/ready4 `,
      `execlog ${ACCEPT_SERVER} ${ACCEPT_SERVER} ::1 0 1 --ready-file ${dir}/ready6 `,
      `execlog ${NET_CLIENT} ${NET_CLIENT} tcp 127.0.0.1 ${sp4} `,
      `execlog ${NET_CLIENT} ${NET_CLIENT} tcp ::1 ${sp6} `,
      `execlog ${NET_CLIENT} ${NET_CLIENT} udp-bind 127.0.0.1 ${udpPort} `,
      `execlog ${NET_CLIENT} ${NET_CLIENT} udp 127.0.0.1 9 `,
      `netlog ${NET_CLIENT} TCP 127.0.0.1:${c4.local.port} -> 127.0.0.1:${sp4}`,
      `netlog ${ACCEPT_SERVER} TCP 127.0.0.1:${sp4} <- 127.0.0.1:${c4.local.port}`,
      `netlog ${NET_CLIENT} TCP 127.0.0.1:${c4.local.port} <!> 127.0.0.1:${sp4}`,
      `netlog ${ACCEPT_SERVER} TCP 127.0.0.1:${sp4} <!> 127.0.0.1:${c4.local.port}`,
      `netlog ${NET_CLIENT} TCP [::1]:${c6.local.port} -> [::1]:${sp6}`,
      `netlog ${ACCEPT_SERVER} TCP [::1]:${sp6} <- [::1]:${c6.local.port}`,
      `netlog ${NET_CLIENT} TCP [::1]:${c6.local.port} <!> [::1]:${sp6}`,
      `netlog ${ACCEPT_SERVER} TCP [::1]:${sp6} <!> [::1]:${c6.local.port}`,
      `netlog ${NET_CLIENT} UDP 127.0.0.1:${udpPort} BIND `,
      `netlog ${NET_CLIENT} UDP 127.0.0.1:${udpPort} <!> 0.0.0.0:0`,
      `netlog ${NET_CLIENT} UDP 127.0.0.1:${uc.local.port} -> 127.0.0.1:9`,
      `netlog ${NET_CLIENT} UDP 127.0.0.1:${uc.local.port} <!> 127.0.0.1:9`,
      // argv joined with a space after each argument, CR and LF made spaces
      'execlog /usr/bin/true /usr/bin/true line1 line2 cr x  ',
    ];
    for (const e of expected) expect(bodies, e).toContain(e);
    // Nothing else but the polling's cat and sleep execs.
    const rest = bodies.filter((b) => !expected.includes(b));
    for (const b of rest) expect(b).toMatch(/^execlog \/usr\/bin\/(cat cat \S+|sleep sleep 0\.02) $/);

    // Identity fields against ground truth.
    const line = (body: string) => seed[bodies.indexOf(body)]!;
    const bashExec = line(expected[0]!);
    expect([bashExec.p, bashExec.pp, bashExec.s]).toEqual([bashPid, start.run!.pid, sid]);
    const accept4 = line(`netlog ${ACCEPT_SERVER} TCP 127.0.0.1:${sp4} <- 127.0.0.1:${c4.local.port}`);
    expect([accept4.p, accept4.pp, accept4.s]).toEqual([s4pid, bashPid, sid]);
    expect(line(`netlog ${ACCEPT_SERVER} TCP [::1]:${sp6} <- [::1]:${c6.local.port}`).p).toBe(s6pid);
    expect(line(`netlog ${ACCEPT_SERVER} TCP [::1]:${sp6} <!> [::1]:${c6.local.port}`).p).toBe(s6pid);
    for (const e of expected.slice(1)) expect(line(e).pp).toBe(bashPid);
    for (const l of seed) expect(l.s).toBe(sid);
  });

  it('simple_format and argv_max_size from a config file', async (ctx) => {
    requireRoot(ctx, 'expects the records of uid 0');
    const dir = tempDir();
    const conf = writeConf(dir, 'format = seed\nsimple_format = 1\nargv_max_size = 100\n');
    const log = path.join(dir, 'seed.log');
    const long = 'y'.repeat(150);
    const r = await netlogRaw(['-c', conf, '-o', log, '--', 'bash', '-c', `/usr/bin/true short; /usr/bin/true ${long}`], { cwd: dir, env: { PATH } });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');

    const lines = fs.readFileSync(log, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(lines[0]!).event).toBe('start');
    expect(JSON.parse(lines.at(-1)!).event).toBe('end');
    const seed = lines.slice(1, -1);
    for (const l of seed) expect(l).toMatch(/^execlog \[ *\d+\.\d{6}\]: p:\d+ s:\d+ pp:\d+ u:0 g:0 eu:0 eg:0 t:NULL \//);
    expect(seed.map(parseSeed).map((l) => l.body)).toEqual([
      `/usr/bin/bash ${`bash -c /usr/bin/true short; /usr/bin/true ${long}`.slice(0, 100)}$`,
      '/usr/bin/true /usr/bin/true short ',
      // argv (joined with single spaces) cut at 100 bytes, then '$'
      `/usr/bin/true /usr/bin/true ${'y'.repeat(100 - '/usr/bin/true '.length)}$`,
    ]);
  });

  it('a reload record in a seed log is a JSON line, like start and end', async () => {
    const dir = tempDir();
    const conf = writeConf(dir, 'format = seed\n');
    const go = path.join(dir, 'go');
    const ready = path.join(dir, 'ready');
    // startSession adds -o LOG; the config's `format = seed` applies to it.
    const s = startSession(dir, ['-c', conf, '--no-exec'], `touch ${ready}; ${waitFileSh(go)}`, [go]);
    await waitFor(() => fs.existsSync(ready), 15_000, 'the script to start');
    process.kill(s.pid, 'SIGHUP');
    // Bounded wait; the assertions below say what went wrong if it never comes.
    await waitFor(() => fs.readFileSync(s.log, 'utf8').includes('"reload"'), 3_000, 'reload').catch(() => {});
    const r = await finish(s);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    const lines = fs.readFileSync(s.log, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as JsonRecord).event)).toEqual(['start', 'reload', 'end']);
    expect((JSON.parse(lines[1]!) as JsonRecord).run).toMatchObject({ status: 'applied' });
    expect((JSON.parse(lines[2]!) as JsonRecord).seq).toBe(3);
  });
});
