// Closed doors, fail-closed behaviour and load (SPEC §8, §9), on the real
// kernel with the project's fixture programs.
import fs from 'node:fs';
import path from 'node:path';
import { execa, execaSync } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { expectGapless, fixture, jsonLines, NETLOG_RUN, netlogRun, netlogStart, ofKind, readRecords, requireNobody, requireRoot, tempDir, waitFor } from './harness.js';
import { AUDIT_ARCH_I386, ENOSYS_RET, runBpf, seccompFilters } from './seccomp-filter.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A listening accept_server on 127.0.0.1; returns its port and a stop function. */
async function server(count = 1000): Promise<number> {
  const dir = tempDir();
  const ready = path.join(dir, 'port');
  const srv = execa(fixture('accept_server'), ['127.0.0.1', '0', String(count), '--quiet', '--close-now', '--ready-file', ready], { reject: false });
  cleanups.push(() => srv.kill('SIGKILL'));
  await waitFor(() => fs.existsSync(ready), 5000, 'server');
  return Number(fs.readFileSync(ready, 'utf8').trim());
}

describe('closed doors', () => {
  it('io_uring_setup, _enter and _register fail with ENOSYS, and no connection is made', async () => {
    const port = await server();
    const bare = jsonLines((await execa(fixture('io_uring_connect'), ['127.0.0.1', String(port)])).stdout);
    // Without netlog the same program really connects through io_uring.
    expect(bare[0]).toMatchObject({ io_uring_setup: { errno: null } });
    expect(bare.find((l) => 'io_uring_connect' in l)).toMatchObject({ io_uring_connect: { res: 0 } });

    const r = await netlogRun([fixture('io_uring_connect'), '127.0.0.1', String(port)]);
    expect(r.exitCode).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines[0]).toEqual({ io_uring_setup: { ret: -1, errno: 'ENOSYS' } });
    expect(lines.find((l) => 'io_uring_register' in l)).toMatchObject({ io_uring_register: { errno: 'ENOSYS' } });
    expect(lines.find((l) => 'io_uring_enter' in l)).toMatchObject({ io_uring_enter: { errno: 'ENOSYS' } });
    expect(lines.some((l) => 'io_uring_connect' in l)).toBe(false);
    expect(ofKind(r.records, 'connect')).toHaveLength(0);
  });

  it('the filter answers ENOSYS for every system call of the 32-bit ABI (read back from the kernel)', async (ctx) => {
    requireRoot(ctx, 'PTRACE_SECCOMP_GET_FILTER');
    const dir = tempDir();
    const log = path.join(dir, 'log.jsonl');
    const go = path.join(dir, 'go');
    const run = netlogStart(['bash', '-c', `echo $$ > ${dir}/pid.tmp && mv ${dir}/pid.tmp ${dir}/pid; while [ ! -e ${go} ]; do read -t 0.05 <> <(:) || true; done`], log, ['-q']);
    try {
      await waitFor(() => fs.existsSync(path.join(dir, 'pid')), 10_000, 'the session to start');
      const filters = await seccompFilters(Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8')));
      expect(filters).toHaveLength(1);
      // i386 getpid 20, socketcall 102, socket 359, connect 362, execve 11, and any other number.
      for (const nr of [0, 11, 20, 102, 359, 362, 400]) expect(runBpf(filters[0]!, nr, AUDIT_ARCH_I386)).toBe(ENOSYS_RET);
    } finally {
      fs.writeFileSync(go, '');
    }
    expect((await run).exitCode).toBe(0);
  });

  it('int 0x80 under netlog gets ENOSYS for socketcall and getpid (where the kernel has the 32-bit ABI)', async (ctx) => {
    // Some kernels are built or booted without IA-32 emulation (ia32_emulation=0):
    // int 0x80 then faults with or without netlog. The fixture catches the fault.
    const bare = jsonLines((await execa(fixture('int80'))).stdout)[0]!;
    ctx.skip(bare.int80_supported !== true, `this kernel has no 32-bit ABI: int 0x80 gets signal ${bare.signal} without netlog`);
    expect(bare.int80_getpid).toBe(bare.getpid);
    const r = await netlogRun([fixture('int80')]);
    const out = jsonLines(r.stdout)[0]!;
    expect(out.int80_socketcall).toBe(-38);
    expect(out.int80_getpid).toBe(-38);
    expect(r.exitCode).toBe(0);
  });
});

describe('other ways to connect', () => {
  it('TCP Fast Open (sendto with MSG_FASTOPEN) is refused with EOPNOTSUPP and makes no connection', async () => {
    const port = await server();
    const script = `
import socket, errno
s = socket.socket()
try:
    s.sendto(b"x", socket.MSG_FASTOPEN, ("127.0.0.1", ${port})); print("sent")
except OSError as e:
    print(errno.errorcode[e.errno])
try:
    s.getpeername(); print("connected")
except OSError:
    print("not connected")
`;
    const bare = await execa('python3', ['-c', script]);
    // Without netlog the same call goes out (and opens a connection).
    expect(bare.stdout.split('\n')[0]).toBe('sent');
    const r = await netlogRun(['python3', '-c', script]);
    expect(r.stdout.split('\n')).toEqual(['ENOTSUP', 'not connected']);
  });

  it('an IPv6 routing header (which would send packets to other hosts than connect names) cannot be set', async (ctx) => {
    const script = `
import socket, struct, errno
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
# A type-4 (segment routing) header with two segments, the next one fd00::2.
hdr = struct.pack("!BBBBBBH", 0, 4, 4, 1, 1, 0, 0) + socket.inet_pton(socket.AF_INET6, "::1") + socket.inet_pton(socket.AF_INET6, "fd00::2")
for opt in (57, 5, 6):  # IPV6_RTHDR, IPV6_2292RTHDR, IPV6_2292PKTOPTIONS
    try:
        s.setsockopt(socket.IPPROTO_IPV6, opt, hdr); print("set")
    except OSError as e:
        print(errno.errorcode[e.errno])
`;
    const bare = await execa('python3', ['-c', script], { reject: false });
    // Without netlog the kernel takes the header, where it has IPv6 and segment routing headers.
    ctx.skip(bare.exitCode !== 0, `this machine has no IPv6 sockets: ${bare.stderr.split('\n').pop()}`);
    ctx.skip(bare.stdout.split('\n')[0] !== 'set', `this kernel refuses the header itself: ${bare.stdout.split('\n')[0]}`);
    const r = await netlogRun(['python3', '-c', script]);
    expect(r.stdout.split('\n')).toEqual(['ENOTSUP', 'ENOTSUP', 'ENOTSUP']);
  });

  it('MPTCP sockets are recorded as tcp', async () => {
    const port = await server();
    const script = `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262); s.connect(("127.0.0.1", ${port})); print(s.getsockname()[1]); s.close()`;
    const r = await netlogRun(['python3', '-c', script]);
    expect(r.exitCode, r.stderr).toBe(0);
    const connects = ofKind(r.records, 'connect');
    expect(connects).toHaveLength(1);
    expect(connects[0]!.net).toMatchObject({ proto: 'tcp', remote: { ip: '127.0.0.1', port } });
  });
});

describe('programs that bypass libc', () => {
  it('records a raw-syscall connect and execve, and a static binary', async () => {
    const port = await server();
    const r = await netlogRun([fixture('raw_syscalls'), '127.0.0.1', String(port), fixture('static_true')]);
    expect(r.exitCode).toBe(0);
    const out = jsonLines(r.stdout);
    const connect = out.find((l) => 'connect' in l)!;
    expect(connect.connect).toBe(0);
    const rec = ofKind(r.records, 'connect');
    expect(rec).toHaveLength(1);
    expect(rec[0]!.net!.remote).toEqual({ ip: '127.0.0.1', port });
    expect(rec[0]!.proc!.exe).toBe(fixture('raw_syscalls'));
    const execs = ofKind(r.records, 'exec').map((e) => e.exec!.file);
    expect(execs).toEqual([fixture('raw_syscalls'), fixture('static_true')]);
  });
});

describe('--user (root only)', () => {
  it('runs COMMAND as the user, without no_new_privs, while the supervisor stays root and out of its reach', async (ctx) => {
    requireRoot(ctx, '--user');
    const script = 'id -u; id -g; echo "$HOME $USER $LOGNAME"; grep NoNewPrivs /proc/self/status; kill -9 $PPID 2>/dev/null; echo "kill=$?"';
    const r = await netlogRun(['bash', '-c', script], { args: ['--user', 'nobody'] });
    expect(r.exitCode, r.stderr).toBe(0);
    const home = (await execa('getent', ['passwd', 'nobody'])).stdout.split(':')[5];
    expect(r.stdout.split('\n')).toEqual(['65534', '65534', `${home} nobody nobody`, 'NoNewPrivs:\t0', 'kill=1']);
    const execs = ofKind(r.records, 'exec');
    expect(execs.map((e) => e.proc!.uid)).toEqual(execs.map(() => 65534));
    expect(r.records[0]!.run!.uid).toBe(0);
  });

  it('refuses an unknown user, and --user when not started as root, without running COMMAND', async (ctx) => {
    requireNobody(ctx, '--user and setpriv');
    const marker = path.join(tempDir(), 'ran');
    const unknown = await netlogRun(['bash', '-c', `touch ${marker}`], { args: ['--user', 'no-such-user-here'] });
    expect(unknown.exitCode).toBe(125);
    expect(unknown.stderr).toMatch(/^netlog-run: --user: no such user 'no-such-user-here'$/m);
    const dir = tempDir();
    fs.chmodSync(dir, 0o777);
    const r = await execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, NETLOG_RUN, '-o', path.join(dir, 'log'), '--user', 'nobody', '--', 'bash', '-c', `touch ${marker}`], { reject: false });
    expect(r.exitCode).toBe(125);
    expect(String(r.stderr)).toMatch(/^netlog-run: --user needs netlog-run to be started as root$/m);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('fail closed', () => {
  it('when the supervisor is killed, the session\'s next connect and exec fail with ENOSYS', async () => {
    const port = await server();
    const dir = tempDir();
    const go = path.join(dir, 'go');
    const log = path.join(dir, 'log.jsonl');
    // Python waits without exec (time.sleep), then tries to connect and exec.
    const script = `
import os, socket, sys, time
for _ in range(600):
    if os.path.exists(${JSON.stringify(go)}): break
    time.sleep(0.05)
s = socket.socket()
try:
    s.connect(("127.0.0.1", ${port})); print("connect ok", flush=True)
except OSError as e:
    print("connect", e.errno, flush=True)
try:
    os.execv("/bin/true", ["/bin/true"])
except OSError as e:
    print("exec", e.errno, flush=True)
os._exit(0)
`;
    // The interpreter itself, not a wrapper script that would still be exec'ing.
    const python = (await execa('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
    const run = netlogStart([python, '-c', script], log);
    await waitFor(() => readRecords(log).some((r) => r.event === 'exec'), 10_000, 'python started');
    await new Promise((r) => setTimeout(r, 300));
    process.kill(run.pid!, 'SIGKILL');
    await waitFor(() => { try { process.kill(run.pid!, 0); return false; } catch { return true; } }, 5000, 'netlog-run gone');
    fs.writeFileSync(go, '');
    const r = await run;
    expect(String(r.stdout)).toContain('connect 38');
    expect(String(r.stdout)).toContain('exec 38');
  });

  it('a process netlog cannot inspect (not dumpable, unprivileged session) has its bind refused, not let through', async (ctx) => {
    requireNobody(ctx, 'setpriv to nobody');
    const dir = tempDir();
    fs.chmodSync(dir, 0o777);
    const script = `
import ctypes, socket, errno
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", 0)); print("bound")
except OSError as e:
    print(errno.errorcode[e.errno])
`;
    const log = path.join(dir, 'log.jsonl');
    const r = await execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, NETLOG_RUN, '-o', log, '--', 'python3', '-c', script], { reject: false, env: { PATH: process.env.PATH } });
    expect(String(r.stdout).trim()).toBe('EACCES');
    // The warning comes once, for the first call refused: python's closes come before the bind.
    expect(String(r.stderr)).toMatch(/netlog-run: cannot read (a socket|\/proc) of a supervised process/);
    expect(ofKind(readRecords(log), 'bind')).toHaveLength(0);
  });

  it('a socket connected while inspectable cannot be closed unrecorded once its process is not dumpable', async (ctx) => {
    requireNobody(ctx, 'setpriv to nobody');
    const dir = tempDir();
    fs.chmodSync(dir, 0o777);
    const script = `
import ctypes, socket, os
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
c = socket.create_connection(srv.getsockname()); a, _ = srv.accept()
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
for s in (c, a, open("/dev/null")):
    try:
        os.close(s.detach() if isinstance(s, socket.socket) else s.fileno()); print("closed")
    except OSError as e:
        print(e.errno)
`;
    const log = path.join(dir, 'log.jsonl');
    const r = await execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, NETLOG_RUN, '-o', log, '--', 'python3', '-c', script], { reject: false, env: { PATH: process.env.PATH } });
    // None of the three (two sockets, /dev/null) can be told a socket or not: each close is refused (EACCES = 13).
    expect(String(r.stdout).trim().split('\n')).toEqual(['13', '13', '13']);
    expect(String(r.stderr)).toMatch(/netlog-run: cannot read \/proc of a supervised process \(Permission denied\)/);
    const records = readRecords(log);
    expect(ofKind(records, 'connect')).toHaveLength(1);
    expect(ofKind(records, 'accept')).toHaveLength(1);
    expect(ofKind(records, 'close')).toHaveLength(0);
  });

  it('a file descriptor limit of 0 set on an unprivileged netlog-run by its own session: refused calls, no hang', async (ctx) => {
    requireNobody(ctx, 'setpriv to nobody');
    ctx.skip(!fs.existsSync('/usr/bin/prlimit'), 'prlimit (util-linux) is not installed');
    const dir = tempDir();
    fs.chmodSync(dir, 0o777);
    const log = path.join(dir, 'log.jsonl');
    // poll(2) fails with EINVAL once nfds exceeds RLIMIT_NOFILE: netlog-run used to spin on it.
    // (prlimit's output goes to /dev/null: closing a socket, such as execa's stdio, needs a
    // descriptor to inspect it, and is refused too.)
    const r = await execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, NETLOG_RUN, '-o', log, '--', 'sh', '-c', 'prlimit --pid $PPID --nofile=0 >/dev/null 2>&1; /usr/bin/true; echo "true: $?"; echo done'], { reject: false, timeout: 30_000, env: { PATH: process.env.PATH } });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    // The exec of /usr/bin/true needed a descriptor to be inspected: refused (126), not let go.
    expect(String(r.stdout).trim().split('\n')).toEqual(['true: 126', 'done']);
    expect(String(r.stderr)).toMatch(/netlog-run: poll\(2\) refuses to wait .* waiting through epoll instead/);
    const records = readRecords(log);
    expect(records.some((x) => x.exec?.argv[0] === 'prlimit')).toBe(true);
    expect(records.some((x) => x.exec?.file === '/usr/bin/true')).toBe(false);
    expect(records.at(-1)?.event).toBe('end');
  });

  it('a log that cannot take even the start record: COMMAND never runs, exit 125', async (ctx) => {
    requireRoot(ctx, 'mount of a tmpfs');
    const mnt = tempDir();
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', mnt]);
    cleanups.push(() => { execaSync('umount', ['-l', mnt], { reject: false }); });
    await execa('bash', ['-c', `head -c 1M /dev/zero > ${mnt}/filler || true`]);
    const marker = path.join(tempDir(), 'ran');
    const r = await netlogRun(['bash', '-c', `echo ran > ${marker}`], { log: path.join(mnt, 'log.jsonl') });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(/^netlog-run: cannot write to .*ENOSPC/m);
    expect(r.stderr).toMatch(/^netlog-run: COMMAND was not started/m);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a full file system refuses the next connect with EACCES and the end record counts it', async (ctx) => {
    requireRoot(ctx, 'mount of a tmpfs');
    const mnt = tempDir();
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
    cleanups.push(() => { execaSync('umount', ['-l', mnt], { reject: false }); });
    const port = await server();
    const log = path.join(mnt, 'log.jsonl');
    const filler = path.join(mnt, 'filler');
    const scratch = tempDir();
    const go = path.join(scratch, 'go');
    const refused = path.join(scratch, 'refused');
    const freed = path.join(scratch, 'freed');
    // Fill the file system once the session has started, then connect until
    // one is refused, say so and wait (builtins only: no exec, no record) for
    // the test to free space again so that the end record fits.
    const wait = (file: string) => `while [ ! -e ${file} ]; do read -t 0.05 <> <(:) || true; done`;
    const script = `
${wait(go)}
for i in $(seq 200); do ${fixture('net_client')} tcp 127.0.0.1 ${port} > ${scratch}/out.$i 2>&1 || { echo "refused at $i: $?"; echo > ${refused}; break; }; done
${wait(freed)}
`;
    const run = netlogStart(['bash', '-c', script], log, ['-q']);
    await waitFor(() => readRecords(log).some((r) => r.event === 'exec'), 10_000, 'session started');
    await execa('bash', ['-c', `head -c 10M /dev/zero > ${filler} || true`]);
    fs.writeFileSync(go, '');
    // Once the session has hit the wall, give the end record room.
    try {
      await waitFor(() => fs.existsSync(refused), 30_000, 'a refused connect');
    } finally {
      fs.rmSync(filler);
      fs.writeFileSync(freed, '');
    }
    const r = await run;
    expect(String(r.stdout)).toMatch(/refused at \d+/);
    expect(String(r.stderr)).toMatch(/netlog-run: cannot write to .*ENOSPC/);
    const records = readRecords(log);
    const end = records.at(-1)!;
    expect(end.event).toBe('end');
    expect(end.run!.refused).toBeGreaterThan(0);
    records.forEach((rec, i) => expect(rec.seq).toBe(i + 1));
  });
});

describe('load', () => {
  it('a bounded fork bomb of 2,000 processes: every exec recorded, seq gapless', async () => {
    const r = await netlogRun(['bash', '-c', 'for i in $(seq 2000); do /bin/true & done; wait']);
    expect(r.exitCode).toBe(0);
    expectGapless(r.records);
    expect(ofKind(r.records, 'exec').filter((e) => e.exec!.file === '/usr/bin/true')).toHaveLength(2000);
  });

  it('a storm of 20,000 connects: every connect, accept and close recorded, seq gapless, memory bounded', async () => {
    const dir = tempDir();
    const ready = path.join(dir, 'port');
    const log = path.join(dir, 'log.jsonl');
    const cmd =
      `${fixture('accept_server')} 127.0.0.1 0 20000 --quiet --close-now --ready-file ${ready} > /dev/null & ` +
      `for i in $(seq 500); do [ -s ${ready} ] && break; read -t 0.01 <> <(:) || true; done; ` +
      `${fixture('connect_flood')} 127.0.0.1 $(cat ${ready}) 20000; wait`;
    const run = netlogStart(['bash', '-c', cmd], log, ['-q']);
    let peakKb = 0;
    const timer = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${run.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // exited
      }
    }, 50);
    const r = await run;
    clearInterval(timer);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(String(r.stdout).trim().split('\n').at(-1)!)).toMatchObject({ connects: 20000, errors: 0 });
    const records = readRecords(log);
    expectGapless(records);
    expect(ofKind(records, 'connect')).toHaveLength(20000);
    expect(ofKind(records, 'accept')).toHaveLength(20000);
    expect(ofKind(records, 'close')).toHaveLength(40000);
    // 80,000 records must not be held in memory: the supervisor's RSS stays
    // near its idle size (Node itself is ~50 MiB).
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb).toBeLessThan(200 * 1024);
  });
});
