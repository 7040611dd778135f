// Login sessions (docs/login-sessions.md): netlog install, netlogd and
// netlog-shell with a real Debian sshd on a loopback port (key login, PAM),
// su -l, sudo, scp/sftp, an interactive pty through tmux, and what a user must
// not be able to do. netlog-shell has netlogd's socket compiled in, so the
// test's netlogd listens on the real /run/netlog/netlogd.sock: the file is
// skipped when a netlogd already runs there. A test user, sshd, a sudoers.d
// file and an /etc/shells line are created here and removed after.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fixture, readRecords, ROOT, tempDir, waitFor, waitForAsync, type JsonRecord } from './harness.js';

const NETLOG = path.join(ROOT, 'bin', 'netlog.js');
const SOCKET = '/run/netlog/netlogd.sock';
const SSHD = '/usr/sbin/sshd';

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (setuid helper, useradd, sshd)';
  for (const tool of [SSHD, '/usr/bin/ssh', '/usr/bin/scp', '/usr/bin/sftp', '/usr/bin/sudo', '/usr/bin/tmux', '/usr/sbin/useradd', '/usr/bin/su']) {
    if (!fs.existsSync(tool)) return `${tool} is missing (scripts/setup-test.sh installs it)`;
  }
  if (fs.existsSync(SOCKET)) return `${SOCKET} exists: a netlogd runs on this machine, and netlog-shell's socket is compiled in`;
  if (!fs.existsSync(path.join(ROOT, 'build', 'shell', 'netlog-shell'))) return 'build/shell/netlog-shell is not built';
  return undefined;
}
const skip = missing();

interface Login {
  v: number;
  seq: number;
  event: string;
  session?: string;
  login?: Record<string, unknown>;
  run?: Record<string, unknown>;
  proc?: JsonRecord['proc'];
  exec?: JsonRecord['exec'];
}

let dir = '';
let prefix = '';
let shellPath = '';
let log = '';
let conf = '';
let user = '';
let user2 = ''; // shell /bin/bash; netlog-shell comes from an sshd ForceCommand
let uid = -1;
let port = 0;
let sshd: ResultPromise | undefined;
let daemon: ResultPromise | undefined;
let madeRunSshd = false;
let sudoers = '';
let tmuxSocket = '';

function records(): Login[] {
  return readRecords(log) as unknown as Login[];
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return p;
}

async function startDaemon(): Promise<void> {
  daemon = execa(process.execPath, [NETLOG, 'daemon', '-c', conf], { reject: false, stdin: 'ignore' });
  await waitFor(() => fs.existsSync(SOCKET) || daemon!.exitCode !== null, 20_000, 'netlogd to listen');
  if (!fs.existsSync(SOCKET)) throw new Error(`netlogd did not start: ${String((await daemon).stderr)}`);
}

async function stopDaemon(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (!daemon) return;
  daemon.kill(signal);
  await daemon;
  daemon = undefined;
}

const SSH_OPTS = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];

function sshArgs(): string[] {
  return [...SSH_OPTS, '-i', path.join(dir, 'userkey'), '-p', String(port), `${user}@127.0.0.1`];
}

async function ssh(command: string, input?: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('ssh', [...sshArgs(), command], { reject: false, timeout: 30_000, ...(input !== undefined ? { input } : { stdin: 'ignore' }) });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs a command as the test user without a login (outside any session). */
async function asUser(args: string[], env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...args], {
    reject: false, timeout: 30_000, stdin: 'ignore', cwd: dir, env: { PATH: '/usr/bin:/bin', ...env }, extendEnv: false,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function sessionsOf(recs: Login[], pred: (start: Login) => boolean): { start: Login; records: Login[] }[] {
  return recs
    .filter((r) => r.event === 'start' && r.login && pred(r))
    .map((start) => ({ start, records: recs.filter((r) => r.session === start.session) }));
}

/** The state letter of a process (S, T, Z...), or null when it is gone. */
function procState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

function execs(recs: Login[]): Login[] {
  return recs.filter((r) => r.event === 'exec');
}

/** The session whose start record's argv contains `marker`, once its end record is written. */
async function finishedSession(marker: string): Promise<{ start: Login; records: Login[] }> {
  const find = () => sessionsOf(records(), (s) => JSON.stringify(s.login!.argv).includes(marker))[0];
  await waitFor(() => find()?.records.some((r) => r.event === 'end') ?? false, 15_000, `the end of the session running ${marker}`);
  return find()!;
}

describe.skipIf(skip !== undefined)(`login sessions${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    dir = tempDir();
    fs.chmodSync(dir, 0o755); // the user's home is inside
    prefix = path.join(dir, 'prefix');
    shellPath = path.join(prefix, 'libexec', 'netlog', 'netlog-shell');
    fs.mkdirSync(path.join(dir, 'log'), { mode: 0o700 });
    log = path.join(dir, 'log', 'netlog.jsonl');
    conf = path.join(dir, 'netlogd.conf');
    fs.writeFileSync(conf, `output = ${log}\nlogin_shell = /bin/bash\n`);
    user = `nlt${process.pid % 100000}`;
    user2 = `nlf${process.pid % 100000}`;
    const inst = await execa(process.execPath, [NETLOG, 'install', '--prefix', prefix], { reject: false });
    if (inst.exitCode !== 0) throw new Error(`netlog install failed: ${String(inst.stderr)}`);
    await execa('useradd', ['-m', '-d', path.join(dir, 'home'), '-s', shellPath, '-p', '*', user]);
    uid = Number((await execa('id', ['-u', user])).stdout);
    await execa('useradd', ['-m', '-d', path.join(dir, 'home2'), '-s', '/bin/bash', '-p', '*', user2]);
    const home = path.join(dir, 'home');
    fs.writeFileSync(path.join(home, '.bash_profile'), "PS1='nl$ '\nHISTFILE=/dev/null\n");
    fs.chownSync(path.join(home, '.bash_profile'), uid, uid);
    sudoers = `/etc/sudoers.d/netlog-test-${process.pid}`;
    fs.writeFileSync(sudoers, `${user} ALL=(root) NOPASSWD: /usr/bin/id\n`, { mode: 0o440 });

    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'hostkey')]);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'userkey')]);
    fs.mkdirSync(path.join(dir, 'keys'));
    fs.copyFileSync(path.join(dir, 'userkey.pub'), path.join(dir, 'keys', user));
    fs.chmodSync(path.join(dir, 'keys', user), 0o644);
    fs.copyFileSync(path.join(dir, 'userkey.pub'), path.join(dir, 'keys', user2));
    fs.chmodSync(path.join(dir, 'keys', user2), 0o644);
    port = await freePort();
    fs.writeFileSync(path.join(dir, 'sshd_config'), [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${path.join(dir, 'hostkey')}`, `PidFile ${path.join(dir, 'sshd.pid')}`,
      'UsePAM yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes',
      `AuthorizedKeysFile ${path.join(dir, 'keys')}/%u`,
      // The keys live under /tmp (world-writable), which StrictModes refuses.
      'StrictModes no', `AllowUsers ${user} ${user2}`, 'Subsystem sftp /usr/lib/openssh/sftp-server', 'LogLevel INFO',
      // docs/login-sessions.md "ssh ForceCommand as an alternative", as written there.
      `Match User ${user2}`, '    PermitUserRC no',
      `    ForceCommand if [ -n "$SSH_ORIGINAL_COMMAND" ]; then exec ${shellPath} -c "$SSH_ORIGINAL_COMMAND"; else exec -a -netlog-shell ${shellPath}; fi`, '',
    ].join('\n'));
    if (!fs.existsSync('/run/sshd')) {
      fs.mkdirSync('/run/sshd', { mode: 0o755 });
      madeRunSshd = true;
    }
    await startDaemon();
    sshd = execa(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { reject: false, stdin: 'ignore', all: true });
    let out = '';
    sshd.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('Server listening') || sshd!.exitCode !== null, 20_000, 'sshd to listen');
    if (!out.includes('Server listening')) throw new Error(`sshd did not start: ${out}`);
  });

  afterAll(async () => {
    if (tmuxSocket) await execa('tmux', ['-L', tmuxSocket, '-f', '/dev/null', 'kill-server'], { reject: false });
    sshd?.kill('SIGTERM');
    if (sshd) await sshd;
    await stopDaemon();
    // Processes the user still has (a session left behind by a failed test), by pid.
    const left = await execa('ps', ['-u', String(uid), '-o', 'pid='], { reject: false });
    for (const pid of String(left.stdout).split('\n').map(Number).filter((p) => p > 0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (user) await execa('userdel', ['-r', '-f', user], { reject: false });
    if (user2) await execa('userdel', ['-r', '-f', user2], { reject: false });
    if (sudoers) fs.rmSync(sudoers, { force: true });
    if (prefix) await execa(process.execPath, [NETLOG, 'install', '--prefix', prefix, '--uninstall'], { reject: false });
    if (madeRunSshd) fs.rmSync('/run/sshd', { recursive: true, force: true });
    fs.rmSync('/run/netlog', { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('netlog install puts netlog-shell in place setuid root, lists it in /etc/shells, and a second run changes nothing', async () => {
    const st = fs.statSync(shellPath);
    expect(st.uid).toBe(0);
    expect(st.mode & 0o7777).toBe(0o4755);
    expect(fs.readFileSync('/etc/shells', 'utf8').split('\n').filter((l) => l === shellPath)).toHaveLength(1);
    const again = await execa(process.execPath, [NETLOG, 'install', '--prefix', prefix]);
    expect(String(again.stdout)).toContain('is up to date');
    expect(String(again.stdout)).toContain(`usermod -s ${shellPath} USER`);
    expect(fs.readFileSync('/etc/shells', 'utf8').split('\n').filter((l) => l === shellPath)).toHaveLength(1);
    // Not below a directory that others could rename the helper out of.
    const open = path.join(dir, 'open');
    fs.mkdirSync(open, { mode: 0o777 });
    fs.chmodSync(open, 0o777);
    const unsafe = await execa(process.execPath, [NETLOG, 'install', '--prefix', path.join(open, 'p')], { reject: false });
    expect(unsafe.exitCode).toBe(1);
    expect(String(unsafe.stderr)).toBe(`netlog: install: ${open} must be a directory owned by root and writable by root only`);
    expect(fs.existsSync(path.join(open, 'p', 'libexec', 'netlog', 'netlog-shell'))).toBe(false);
  });

  it('ssh host CMD: the commands are recorded with uid, euid and the login auid; the exit status passes through', async () => {
    const r = await ssh('id -u; /bin/echo ssh-cmd-marker; exit 3');
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe(`${uid}\nssh-cmd-marker`);
    const s = await finishedSession('ssh-cmd-marker');
    expect(s.start.login).toMatchObject({ user, uid, tty: null, auid: uid, client: { ip: '127.0.0.1' }, shell: '/bin/bash' });
    const echo = execs(s.records).find((e) => e.exec!.argv.join(' ') === '/bin/echo ssh-cmd-marker')!;
    expect(echo.proc).toMatchObject({ uid, euid: uid, auid: uid });
    // The real shell is the session's first exec, by netlog-shell, already as the user.
    const first = execs(s.records)[0]!;
    expect(first.exec!.argv).toEqual(['bash', '-c', 'id -u; /bin/echo ssh-cmd-marker; exit 3']);
    expect(first.proc).toMatchObject({ uid, euid: uid, comm: 'netlog-shell' });
    expect(s.records.at(-1)!.login).toMatchObject({ exit_code: 3, signal: null, reason: 'exit' });
  });

  it('an sshd ForceCommand runs netlog-shell for a user whose shell is bash: commands, sftp; ~/.ssh/rc is not run', async () => {
    const home2 = path.join(dir, 'home2');
    const uid2 = fs.statSync(home2).uid;
    fs.mkdirSync(path.join(home2, '.ssh'));
    fs.writeFileSync(path.join(home2, '.ssh', 'rc'), `touch ${home2}/rc-ran\n`);
    const as2 = sshArgs().map((a) => (a === `${user}@127.0.0.1` ? `${user2}@127.0.0.1` : a));
    const r = await execa('ssh', [...as2, 'id -u; /bin/echo force-marker; exit 4'], { reject: false, timeout: 30_000, stdin: 'ignore' });
    expect(r.exitCode).toBe(4);
    expect(String(r.stdout)).toBe(`${uid2}\nforce-marker`);
    const s = await finishedSession('force-marker');
    expect(s.start.login).toMatchObject({ user: user2, uid: uid2, auid: uid2 });
    expect(execs(s.records).some((e) => e.exec!.argv.join(' ') === '/bin/echo force-marker' && e.proc!.uid === uid2)).toBe(true);
    expect(fs.existsSync(path.join(home2, 'rc-ran'))).toBe(false);
    fs.writeFileSync(path.join(home2, 'got.txt'), 'through ForceCommand\n');
    fs.chownSync(path.join(home2, 'got.txt'), uid2, uid2);
    const back = path.join(dir, 'back2.txt');
    const sftp = await execa('sftp', ['-q', ...SSH_OPTS, '-i', path.join(dir, 'userkey'), '-P', String(port), '-b', '-', `${user2}@127.0.0.1`], {
      input: `get got.txt ${back}\n`, reject: false, timeout: 30_000,
    });
    expect(sftp.exitCode).toBe(0);
    expect(fs.readFileSync(back, 'utf8')).toBe('through ForceCommand\n');
    const sftpSession = await finishedSession('sftp-server');
    expect(sftpSession.start.login!.user).toBe(user2);
  });

  it('su -l USER -c CMD is a supervised login too', async () => {
    const r = await execa('su', ['-l', user, '-c', '/bin/echo su-marker; id -un'], { reject: false, timeout: 30_000 });
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toBe(`su-marker\n${user}`);
    const s = await finishedSession('su-marker');
    expect(s.start.login!.argv).toEqual(['-netlog-shell', '-c', '/bin/echo su-marker; id -un']);
    expect(execs(s.records)[0]!.exec!.argv[0]).toBe('-bash'); // still a login shell
    expect(execs(s.records).some((e) => e.exec!.argv.join(' ') === 'id -un' && e.proc!.uid === uid)).toBe(true);
  });

  it('finished sessions leave no threads behind in netlogd', async () => {
    const threads = () => fs.readdirSync(`/proc/${daemon!.pid}/task`).length;
    const loginOnce = async (i: number) => {
      const r = await execa('su', ['-l', user, '-c', `/bin/echo threads-${i}`], { reject: false, timeout: 30_000 });
      expect(r.exitCode).toBe(0);
      await finishedSession(`threads-${i}`);
    };
    await loginOnce(0); // Node's own pools are started by now
    const before = threads();
    for (let i = 1; i <= 8; i++) await loginOnce(i);
    await waitFor(() => threads() <= before, 10_000, `netlogd's thread count to fall back to ${before} (now ${threads()})`);
  });

  // netlogd keeps a Supervisor per session for its life: what a session made
  // it hold (Landlock shadow threads and rulesets, calls waiting in
  // io_uring, their duplicates) must go when the session does.
  const daemonThreads = () => fs.readdirSync(`/proc/${daemon!.pid}/task`).length;
  const daemonFds = () => fs.readdirSync(`/proc/${daemon!.pid}/fd`).length;
  /** Runs `su -l USER -c CMD` until CMD prints `up PID`; returns that pid and the run. */
  const heldLogin = async (command: string): Promise<{ pid: number; run: ResultPromise }> => {
    const run = execa('su', ['-l', user, '-c', command], { reject: false, timeout: 60_000, stdin: 'ignore' });
    let out = '';
    run.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /^up \d+$/m.test(out) || run.exitCode !== null, 20_000, `"up PID" from ${command}`);
    const m = /^up (\d+)$/m.exec(out);
    if (!m) throw new Error(`${command}: ${out} ${String((await run).stderr)}`);
    return { pid: Number(m[1]), run };
  };
  const listen = async (backlog = 128): Promise<net.Server> => {
    const srv = net.createServer((c) => c.destroy());
    await new Promise<void>((r) => srv.listen({ port: 0, host: '127.0.0.1', backlog }, r));
    return srv;
  };
  const portOf = (srv: net.Server) => (srv.address() as net.AddressInfo).port;

  it('sessions that sandboxed themselves with Landlock leave no shadow threads or descriptors behind in netlogd', async (ctx) => {
    const FX = fixture('landlock_connect');
    const abi = Number(spawnSync(FX, ['abi'], { encoding: 'utf8' }).stdout.trim());
    ctx.skip(!(abi >= 4), `no Landlock network rules here (ABI ${abi})`);
    const a = await listen();
    try {
      const A = portOf(a);
      // Two nested domains (a shadow each, the second made by the first),
      // each checked by a connect of a forked child; then a shell that waits.
      const nested = (tail: string) => `${FX} connect:${A} run ${FX} connect:${A} run /bin/sh -c '${tail}'`;
      const once = async (i: number) => {
        const r = await execa('su', ['-l', user, '-c', `${FX} connect:${A} run ${FX} connect:${A} fork ${A} 1; /bin/echo landlock-${i}`], { reject: false, timeout: 30_000 });
        expect(String(r.stdout)).toBe(`connect ${A} ok\nconnect 1 EACCES\nlandlock-${i}`);
        await finishedSession(`landlock-${i}`);
      };
      await once(0); // what netlogd starts once (Node's pools, the user's engine thread) is there by now
      const before = { threads: daemonThreads(), fds: daemonFds() };
      // While a sandboxed session lives, its two shadows are threads of netlogd
      // (beside its monitor).
      const held = await heldLogin(nested('echo up $$; exec sleep 60'));
      await waitFor(() => daemonThreads() >= before.threads + 3, 10_000, `the session's monitor and two shadow threads (${daemonThreads()}, before ${before.threads})`);
      process.kill(held.pid, 'SIGKILL');
      await held.run;
      for (let i = 1; i <= 6; i++) await once(i);
      await waitFor(() => daemonThreads() <= before.threads && daemonFds() <= before.fds, 10_000,
        `netlogd's threads and fds to fall back to ${before.threads} and ${before.fds} (now ${daemonThreads()} and ${daemonFds()})`);
    } finally {
      await new Promise<void>((r) => a.close(() => r()));
    }
  });

  it('a session that ends with connects and accepts waiting in io_uring (and on workers) leaves no descriptors or threads behind', async () => {
    // A listener whose queue (backlog 0) one connection fills drops later
    // SYNs: connects to it wait. Accepts wait on a listener of the program's.
    const full = await listen(0);
    const filler = net.connect(portOf(full), '127.0.0.1');
    await new Promise<void>((r) => filler.once('connect', () => r()));
    const script = path.join(dir, 'blocked.py');
    fs.writeFileSync(script, [
      'import os, socket, struct, sys, threading, time',
      `port = ${portOf(full)}`,
      "lis = socket.socket(); lis.bind(('127.0.0.1', 0)); lis.listen(16)",
      'def acc(timeo):',
      '    s = lis',
      '    if timeo:',
      "        s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(16)",
      "        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack('ll', 100, 0))",
      '    s.accept()',
      'def con(timeo):',
      '    c = socket.socket()',
      "    if timeo: c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack('ll', 100, 0))",
      "    c.connect(('127.0.0.1', port))",
      // 8 of each in the ring; one of each with a socket timeout, on a worker.
      'for t in [False] * 8 + [True]:',
      '    threading.Thread(target=acc, args=(t,), daemon=True).start()',
      '    threading.Thread(target=con, args=(t,), daemon=True).start()',
      'time.sleep(1)',
      "print('up', os.getpid(), flush=True)",
      'time.sleep(600)',
    ].join('\n'));
    fs.chmodSync(script, 0o644);
    try {
      const once = () => heldLogin(`exec /usr/bin/python3 ${script}`);
      const warm = await once();
      process.kill(warm.pid, 'SIGKILL');
      await warm.run;
      await waitFor(() => !fs.existsSync(`/proc/${warm.pid}`), 10_000, 'the first program to go');
      const before = { threads: daemonThreads(), fds: daemonFds() };
      for (let i = 0; i < 3; i++) {
        const held = await once();
        // 18 duplicates held (and a monitor, two workers): the calls are netlog's.
        await waitFor(() => daemonFds() >= before.fds + 18, 10_000, `the held calls' duplicates (${daemonFds()}, before ${before.fds})`);
        process.kill(held.pid, 'SIGKILL');
        await held.run;
      }
      await waitFor(() => daemonThreads() <= before.threads && daemonFds() <= before.fds, 10_000,
        `netlogd's threads and fds to fall back to ${before.threads} and ${before.fds} (now ${daemonThreads()} and ${daemonFds()})`);
    } finally {
      filler.destroy();
      await new Promise<void>((r) => full.close(() => r()));
    }
  });

  it('a stalled or bad registration (a root client that never answers, or sends no listener) holds up no other login', async () => {
    const client = (behaviour: string) =>
      execa('/usr/bin/python3', ['-u', '-c', [
        'import socket, sys',
        'c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)', `c.connect('${SOCKET}')`,
        "m = c.recv(65536); print('filter', m[:4].decode(), flush=True)",
        behaviour,
        "print('closed' if c.recv(1) == b'' else 'ack', flush=True)",
      ].join('\n')], { reject: false, timeout: 30_000 });
    const stalled = client('sys.stdin.readline()');
    let out = '';
    stalled.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('filter NLF1'), 10_000, 'the filter message');
    const r = await execa('su', ['-l', user, '-c', '/bin/echo beside-a-stalled-one'], { reject: false, timeout: 30_000 });
    expect(String(r.stdout)).toBe('beside-a-stalled-one');
    stalled.stdin!.end('\n');
    const bad = await client("c.send(b'NLL1')");
    expect(String(bad.stdout)).toBe('filter NLF1\nclosed');
    expect((await stalled).stdout).toBe('filter NLF1\nclosed');
    expect(records().filter((x) => x.event === 'start' && x.login && (x.login.argv as string[])[0]?.includes('python'))).toEqual([]);
  });

  it('sudo works inside the session: the sudo exec and the root command it runs (euid 0) are recorded', async () => {
    const r = await ssh('sudo -n /usr/bin/id -u; echo sudo-marker');
    expect(r.stdout).toBe('0\nsudo-marker');
    const s = await finishedSession('sudo-marker');
    const sudo = execs(s.records).find((e) => e.exec!.file === '/usr/bin/sudo')!;
    expect(sudo.proc).toMatchObject({ uid, euid: uid });
    const id = execs(s.records).find((e) => e.exec!.file === '/usr/bin/id' && e.proc!.exe === '/usr/bin/sudo')!;
    expect(id.exec!.argv).toEqual(['/usr/bin/id', '-u']);
    expect(id.proc).toMatchObject({ euid: 0, auid: uid });
  });

  it('scp and sftp work through the login shell', async () => {
    const src = path.join(dir, 'payload.txt');
    fs.writeFileSync(src, 'payload through netlog-shell\n'.repeat(1000));
    const up = await execa('scp', ['-q', ...SSH_OPTS, '-i', path.join(dir, 'userkey'), '-P', String(port), src, `${user}@127.0.0.1:up.txt`], { reject: false, timeout: 30_000 });
    expect(up.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'home', 'up.txt'), 'utf8')).toBe(fs.readFileSync(src, 'utf8'));
    const back = path.join(dir, 'back.txt');
    const sftp = await execa('sftp', ['-q', ...SSH_OPTS, '-i', path.join(dir, 'userkey'), '-P', String(port), '-b', '-', `${user}@127.0.0.1`], {
      input: `get up.txt ${back}\n`, reject: false, timeout: 30_000,
    });
    expect(sftp.exitCode).toBe(0);
    expect(fs.readFileSync(back, 'utf8')).toBe(fs.readFileSync(src, 'utf8'));
    await waitFor(() => execs(records()).some((e) => e.exec!.file === '/usr/lib/openssh/sftp-server' && e.proc!.uid === uid), 10_000, 'the sftp-server exec');
  });

  it('an interactive ssh pty: Ctrl-C ends the foreground job and Ctrl-Z stops it, not the session; the exit status comes back', async () => {
    tmuxSocket = `netlog-login-${process.pid}`;
    const tmux = async (...args: string[]) => String((await execa('tmux', ['-L', tmuxSocket, '-f', '/dev/null', ...args], { timeout: 10_000 })).stdout);
    const screen = () => tmux('capture-pane', '-p', '-J', '-t', 'login');
    const command = ['ssh', '-tt', ...sshArgs()].map((a) => `'${a}'`).join(' ');
    await tmux('new-session', '-d', '-s', 'login', '-x', '120', '-y', '40', `${command}; echo SSH-RC=$?; sleep 600`);
    await waitForAsync(async () => /nl\$ $/m.test(await screen()), 20_000, 'the prompt');
    await tmux('send-keys', '-t', 'login', 'sleep 300', 'Enter');
    await waitFor(() => execs(records()).some((e) => e.exec!.argv.join(' ') === 'sleep 300' && e.proc!.uid === uid), 10_000, 'sleep 300 exec');
    const sleep = execs(records()).find((e) => e.exec!.argv.join(' ') === 'sleep 300')!;
    expect(sleep.proc!.tty).toMatch(/^pts\/\d+$/);
    await tmux('send-keys', '-t', 'login', 'C-c');
    await waitFor(() => !fs.existsSync(`/proc/${sleep.proc!.pid}`), 10_000, 'sleep to end on Ctrl-C');
    // Ctrl-Z stops the foreground job and gives the prompt back; the job can be resumed and ended.
    await tmux('send-keys', '-t', 'login', 'sleep 301', 'Enter');
    await waitFor(() => execs(records()).some((e) => e.exec!.argv.join(' ') === 'sleep 301'), 10_000, 'sleep 301 exec');
    const sleep2 = execs(records()).find((e) => e.exec!.argv.join(' ') === 'sleep 301')!.proc!.pid;
    await waitFor(() => procState(sleep2) === 'S', 10_000, 'sleep 301 to sleep');
    await tmux('send-keys', '-t', 'login', 'C-z');
    await waitFor(() => procState(sleep2) === 'T', 10_000, 'sleep 301 to stop on Ctrl-Z');
    await waitForAsync(async () => /Stopped\s+sleep 301/.test(await screen()), 10_000, 'the shell to report the stopped job');
    await tmux('send-keys', '-t', 'login', 'kill -9 %1', 'Enter');
    await waitForAsync(async () => procState(sleep2) === null || procState(sleep2) === 'Z', 10_000, 'the stopped job to be killed');
    await tmux('send-keys', '-t', 'login', '/bin/echo still-here', 'Enter');
    await waitForAsync(async () => (await screen()).includes('\nstill-here'), 10_000, 'the shell to go on');
    await tmux('send-keys', '-t', 'login', 'exit 5', 'Enter');
    await waitForAsync(async () => (await screen()).includes('SSH-RC=5'), 10_000, 'ssh to exit 5');
    const s = sessionsOf(records(), (st) => st.session === sleep.session)[0]!;
    expect(s.start.login!.tty).toMatch(/^pts\/\d+$/);
  });

  it('the user cannot read or write the log, reach the socket, or signal netlogd (outside and inside a session)', async () => {
    const pid = daemon!.pid!;
    for (const r of [await asUser(['cat', log]), await asUser(['sh', '-c', `echo x >> ${log}`]), await ssh(`cat ${log}`)]) {
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/Permission denied/);
    }
    const conn = await asUser(['/usr/bin/python3', '-c', `import socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect('${SOCKET}')`]);
    expect(conn.stderr).toMatch(/PermissionError/);
    // Even a non-root process that gets past the socket's mode (CAP_DAC_OVERRIDE)
    // is dropped by netlogd's SO_PEERCRED check: no filter message, just EOF.
    const capped = await execa('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=+dac_override', '--ambient-caps=+dac_override', '--',
      '/usr/bin/python3', '-c', `import socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect('${SOCKET}'); s.settimeout(10); print('got', len(s.recv(65536)))`],
    { reject: false, timeout: 30_000 });
    expect(capped.stdout).toBe('got 0');
    const outside = await asUser(['kill', '-TERM', String(pid)]);
    expect(outside.stderr).toMatch(/Operation not permitted/);
    const inside = await ssh(`kill -KILL ${pid}; echo rc=$?`);
    expect(inside.stdout).toBe('rc=1');
    expect(fs.existsSync(`/proc/${pid}`) && daemon!.exitCode === null).toBe(true);
  });

  it('netlog-shell runs nothing as root for a user: argv, environment, -c input, a symlinked shell', async () => {
    const link = path.join(dir, 'home', '-sh');
    fs.symlinkSync(shellPath, link);
    const tries: string[][] = [
      [shellPath, '-c', 'id -u; id -ru'],
      [shellPath, '-c', "id -u\n: '\u0001;$(id -u)' \\; -c"],
      [link, '-c', 'id -u'],
      ['bash', '-c', `exec -a -/bin/sh ${shellPath} -c 'id -u'`],
      ['env', `SHELL=/bin/sh`, 'BASH_ENV=/dev/null', 'LD_PRELOAD=/nonexistent.so', shellPath, '-c', 'id -u'],
    ];
    for (const t of tries) {
      const r = await asUser(t, { HOME: path.join(dir, 'home') });
      expect(r.exitCode, `${t.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout.split('\n').filter((l) => /^\d+$/.test(l)).every((l) => Number(l) === uid)).toBe(true);
      expect(r.stdout).toMatch(new RegExp(`^${uid}$`, 'm'));
    }
    // Not setuid (a copy), or under no_new_privs (the kernel ignores the bit): refused, nothing runs.
    const copy = path.join(dir, 'netlog-shell-copy');
    fs.copyFileSync(shellPath, copy);
    fs.chmodSync(copy, 0o755);
    for (const t of [[copy, '-c', '/bin/echo ran'], ['setpriv', '--no-new-privs', shellPath, '-c', '/bin/echo ran']]) {
      const r = await asUser(t);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe("netlog-shell: not running as setuid root (install it with 'netlog install'); login refused");
    }
    // The environment reaches the real shell as given, SHELL excepted.
    const env = await asUser([shellPath, '-c', 'echo "$SHELL $TMPDIR"'], { TMPDIR: '/tmp/x', SHELL: '/bin/false' });
    expect(env.stdout).toBe('/bin/bash /tmp/x');
    // Inside a session (already under its filter, as for `su - bob` there) it
    // is not wrapped twice: it goes on, recorded in the session it runs in.
    const nested = await ssh(`${shellPath} -c '/bin/echo nested-ran; id -u'`);
    expect(nested.stdout, nested.stderr).toBe(`nested-ran\n${uid}`);
    const outer = await finishedSession('nested-ran');
    expect(execs(outer.records).some((e) => e.exec!.argv.join(' ') === '/bin/echo nested-ran')).toBe(true);
    expect(sessionsOf(records(), (st) => (st.login!.argv as string[])[2] === '/bin/echo nested-ran; id -u')).toEqual([]);
    const child = await ssh(`${shellPath} -c '/bin/echo nested-child'; /bin/echo after`); // a child of the session's shell
    expect(child.stdout, child.stderr).toBe('nested-child\nafter');
    // Under a filter that is not one of netlogd's sessions (here root's
    // netlog-run --user): refused, nothing runs.
    const other = await execa(process.execPath, [path.join(ROOT, 'bin', 'netlog-run.js'), '-q', '-o', path.join(dir, 'other.jsonl'), '--user', user, '--',
      shellPath, '-c', '/bin/echo other-ran'], { reject: false, timeout: 30_000, cwd: dir });
    expect(String(other.stdout)).not.toContain('other-ran');
    expect(String(other.stderr)).toContain("netlog-shell: already under a seccomp filter that is not one of netlogd's sessions; login refused");
  });

  it('SIGHUP re-reads the config: a per-user login_shell applies from the next login', async () => {
    const before = records().filter((r) => r.event === 'reload').length;
    fs.writeFileSync(conf, `output = ${log}\nlogin_shell = /bin/bash\nlogin_shell.${user} = /bin/sh\n`);
    daemon!.kill('SIGHUP');
    await waitFor(() => records().filter((r) => r.event === 'reload').length > before, 10_000, 'the reload record');
    expect(records().filter((r) => r.event === 'reload').at(-1)!.run).toMatchObject({ status: 'applied' });
    const r = await ssh('echo "$0 $SHELL"; echo reload-marker');
    expect(r.stdout).toBe('sh /bin/sh\nreload-marker');
    expect((await finishedSession('reload-marker')).start.login!.shell).toBe('/bin/sh');
    // A config with an error is refused whole; the previous one stays.
    fs.writeFileSync(conf, `output = ${log}\nlogin_shell = bash\n`);
    daemon!.kill('SIGHUP');
    await waitFor(() => records().filter((r) => r.event === 'reload').length > before + 1, 10_000, 'the second reload record');
    expect(records().filter((r) => r.event === 'reload').at(-1)!.run).toMatchObject({ status: 'refused', error: `${conf}:2: login_shell: 'bash' is not an absolute path` });
    expect((await ssh('echo "$0"')).stdout).toBe('sh');
    fs.writeFileSync(conf, `output = ${log}\nlogin_shell = /bin/bash\n`);
    daemon!.kill('SIGHUP');
    await waitFor(() => records().filter((r) => r.event === 'reload').length > before + 2, 10_000, 'the third reload record');
  });

  it('killing netlogd mid-session makes the trapped calls fail; a new netlogd clears the stale socket', async () => {
    const sub = execa('ssh', [...sshArgs(), 'echo ready; read line; /usr/bin/id -u; echo "id-rc=$?"'], { reject: false, timeout: 30_000 });
    let out = '';
    sub.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('ready'), 15_000, 'the session to start');
    await stopDaemon('SIGKILL');
    expect(fs.existsSync(SOCKET)).toBe(true); // left behind by the kill
    sub.stdin!.end('go\n');
    const r = await sub;
    expect(String(r.stdout)).not.toMatch(new RegExp(`^${uid}$`, 'm'));
    expect(String(r.stdout)).toMatch(/id-rc=12[67]/);
    expect(String(r.stderr)).toMatch(/Function not implemented/);
    await startDaemon();
    expect((await ssh('echo back')).stdout).toBe('back');
  });

  it('a login while netlogd is stopped is refused and runs nothing; SIGTERM ends live sessions in the log', async () => {
    const held = execa('ssh', [...sshArgs(), 'echo ready; read line'], { reject: false, timeout: 30_000 });
    let out = '';
    held.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('ready'), 15_000, 'the session to start');
    await stopDaemon('SIGTERM');
    expect(fs.existsSync(SOCKET)).toBe(false);
    const marker = path.join(dir, 'home', 'marker');
    const r = await ssh(`touch ${marker}`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^netlog-shell: cannot reach netlogd at \/run\/netlog\/netlogd.sock; login refused: /m);
    expect(fs.existsSync(marker)).toBe(false);
    const su = await execa('su', ['-l', user, '-c', `touch ${marker}`], { reject: false, timeout: 30_000 });
    expect(su.exitCode).not.toBe(0);
    expect(fs.existsSync(marker)).toBe(false);
    // A listener of the user's own on the socket path is not netlogd: refused.
    fs.chownSync('/run/netlog', uid, uid);
    const fake = execa('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', '/usr/bin/python3', '-c',
      `import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind('${SOCKET}'); s.listen(); print('up', flush=True); c,_=s.accept(); c.recv(1)`],
    { reject: false, timeout: 30_000 });
    let up = '';
    fake.stdout?.on('data', (d: Buffer) => (up += d.toString()));
    await waitFor(() => up.includes('up'), 10_000, 'the fake listener');
    const fooled = await execa('su', ['-l', user, '-c', `touch ${marker}`], { reject: false, timeout: 30_000 });
    expect(String(fooled.stderr)).toContain('netlog-shell: the process on /run/netlog/netlogd.sock is not root; login refused');
    expect(fs.existsSync(marker)).toBe(false);
    await fake;
    // netlogd will not listen in a directory someone else owns.
    const unsafe = await execa(process.execPath, [NETLOG, 'daemon', '-c', conf], { reject: false, timeout: 30_000 });
    expect(unsafe.exitCode).toBe(1);
    expect(String(unsafe.stderr)).toBe('netlog: /run/netlog is not a directory owned by root and writable by root only: refused');
    fs.rmSync('/run/netlog', { recursive: true, force: true });
    held.stdin!.end('\n');
    await held;
    const recs = records();
    const last = recs.at(-1)!;
    expect(last).toMatchObject({ event: 'end', run: { signal: 'SIGTERM' } });
    expect(recs.some((x) => x.event === 'end' && (x.login as { reason?: string } | undefined)?.reason === 'netlogd stopped')).toBe(true);
    // Each start of netlogd numbers its records 1, 2, 3... without a gap.
    let expected = 0;
    for (const x of recs) {
      if (x.event === 'start' && x.run) expected = 0;
      expect(x.seq).toBe(++expected);
    }
    await startDaemon();
  });

  it('syslog = PATH sends every session record to syslog as well', async () => {
    await stopDaemon();
    const sock = path.join(dir, 'syslog.sock');
    const rx = execa('/usr/bin/python3', ['-u', '-c', [
      'import socket', 'import sys',
      'sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)', `sock.bind(${JSON.stringify(sock)})`, "print('up')",
      'while True:', '    print(sock.recv(65536).decode())',
    ].join('\n')], { reject: false });
    let got = '';
    rx.stdout?.on('data', (d: Buffer) => (got += d.toString()));
    await waitFor(() => got.includes('up'), 10_000, 'the syslog receiver');
    fs.writeFileSync(conf, `output = ${log}\nsyslog = ${sock}\n`);
    await startDaemon();
    const viaSyslog = await ssh('/bin/echo syslog-marker');
    expect(viaSyslog.stdout, viaSyslog.stderr).toBe('syslog-marker');
    const s = await finishedSession('syslog-marker');
    await waitFor(() => got.includes(`"event":"end","session":"${s.start.session}"`), 10_000, 'the end record on syslog');
    const lines = got.split('\n').filter((l) => l.includes(`"session":"${s.start.session}"`));
    expect(lines.length).toBe(s.records.length);
    expect(lines[0]).toMatch(/^<\d+>1 \S+ \S+ netlog \d+ - - \{"v":1,/);
    rx.kill('SIGTERM');
    await rx;
  });

  it('format = seed writes the original execlog lines, with session records as JSON', async () => {
    await stopDaemon();
    const seedLog = path.join(dir, 'log', 'seed.log');
    fs.writeFileSync(conf, `output = ${seedLog}\nformat = seed\n`);
    await startDaemon();
    const r = await execa('su', ['-l', user, '-c', '/bin/echo seed-marker'], { reject: false, timeout: 30_000 });
    expect(String(r.stdout)).toBe('seed-marker');
    await waitFor(() => fs.existsSync(seedLog) && fs.readFileSync(seedLog, 'utf8').includes('"event":"end","session"'), 15_000, 'the session end');
    const lines = fs.readFileSync(seedLog, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^\{"v":1,"seq":1,.*"event":"start","run"/);
    expect(lines.some((l) => /^\{"v":1,"seq":\d+,.*"event":"start","session":"[0-9a-f]{16}","login":/.test(l))).toBe(true);
    expect(lines.some((l) => new RegExp(`^<6>1 - - execlog - - - \\[ *\\d+\\.\\d{6}\\]: p:\\d+ s:\\d+ pp:\\d+ u:${uid} g:\\d+ eu:${uid} eg:\\d+ t:NULL /usr/bin/echo /bin/echo seed-marker $`).test(l))).toBe(true);
  });
});
