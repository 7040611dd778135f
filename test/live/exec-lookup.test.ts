// The exec rule (docs/security.md "Exec"): an exec runs only once recorded, and an exec that
// netlog's own lookup says cannot succeed is answered by netlog with the kernel's errno, with
// no record. Each case runs the same command bare and under netlog-run and compares exit
// status, stderr and which payload runs happened (the mark fixture writes a line per run).

import fs from 'node:fs';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, jsonLines, NETLOG_RUN, netlogRun, ofKind, readRecords, tempDir, type JsonRecord } from './harness.js';

const ENV = { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' };
let dir = '';
let payload = '';
let marker = '';

beforeEach(() => {
  dir = tempDir();
  fs.chmodSync(dir, 0o755);
  payload = path.join(dir, 'payload');
  fs.copyFileSync(fixture('mark'), payload);
  fs.chmodSync(payload, 0o755);
  marker = path.join(dir, 'marks');
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function marks(): string[] {
  if (!fs.existsSync(marker)) return [];
  return fs.readFileSync(marker, 'utf8').split('\n').filter((l) => l !== '');
}

function execs(records: JsonRecord[]): NonNullable<JsonRecord['exec']>[] {
  return ofKind(records, 'exec').map((r) => r.exec!);
}

interface Outcome {
  exitCode: number;
  stderr: string;
  stdout: string;
  marks: string[];
}

/** Runs `command` bare, then under netlog-run (same cwd, env, user); the marker is emptied between. */
async function compare(
  command: string[],
  opts: { args?: string[]; execa?: Options; bare?: string[] } = {},
): Promise<{ bare: Outcome; run: Outcome; records: JsonRecord[] }> {
  const options: Options = { reject: false, env: ENV, cwd: dir, timeout: 60_000, ...opts.execa };
  const bareCmd = opts.bare ?? command;
  fs.rmSync(marker, { force: true });
  const b = await execa(bareCmd[0]!, bareCmd.slice(1), options);
  const bare = { exitCode: b.exitCode ?? -1, stderr: String(b.stderr), stdout: String(b.stdout), marks: marks() };
  fs.rmSync(marker, { force: true });
  const r = await netlogRun(command, { args: ['-q', ...(opts.args ?? [])], log: path.join(dir, 'log.jsonl'), execa: options });
  const run = { exitCode: r.exitCode, stderr: r.stderr, stdout: r.stdout, marks: marks() };
  return { bare, run, records: r.records };
}

/** Whether a user namespace can be made here (unshare -Ur). */
async function userns(): Promise<string | false> {
  const r = await execa('unshare', ['-Ur', 'true'], { reject: false });
  return r.exitCode === 0 ? false : `user namespaces are not available: ${String(r.stderr).trim()}`;
}

/** The marks of a command's runs must each have an exec record of the payload with that mark. */
function expectEveryRunRecorded(records: JsonRecord[], ran: string[], file?: string): void {
  const recorded = new Set(execs(records).filter((e) => file === undefined || e.file === file).map((e) => e.argv[2]));
  const unrecorded = ran.filter((m) => !recorded.has(m));
  expect(unrecorded, `runs with no record: ${unrecorded.join(', ')}`).toEqual([]);
}

describe("the caller's own /proc/self and magic links", () => {
  const cases: Array<[string, string]> = [
    ['exec /dev/stdin < PAYLOAD', `exec /dev/stdin "$M" ran < "$P"`],
    ['/dev//fd/N', `exec 3< "$P"; /dev//fd/3 "$M" ran`],
    ['/dev/./fd/N', `exec 3< "$P"; /dev/./fd/3 "$M" ran`],
    ['//proc/self/fd/N', `exec 3< "$P"; //proc/self/fd/3 "$M" ran`],
    ['/proc/./self/fd/N', `exec 3< "$P"; /proc/./self/fd/3 "$M" ran`],
    ['/proc/thread-self/fd/N', `exec 3< "$P"; /proc/thread-self/fd/3 "$M" ran`],
    ['a symlink to /proc/self', `ln -sfn /proc/self "$D/me"; exec 3< "$P"; "$D/me/fd/3" "$M" ran`],
    ['cwd /proc and self/fd/N', `exec 3< "$P"; cd /proc && exec self/fd/3 "$M" ran`],
  ];
  it.each(cases)('%s runs and is recorded with the file the caller holds', async (_name, script) => {
    const env = { ...ENV, P: payload, M: marker, D: dir };
    const { bare, run, records } = await compare(['bash', '-c', script], { execa: { env } });
    expect(bare.marks).toEqual(['ran']);
    expect(run).toEqual(bare);
    const rec = execs(records).find((e) => e.argv[2] === 'ran');
    expect(rec?.file).toBe(fs.realpathSync(payload));
    expect(rec?.path).not.toBe(rec?.file);
  });
});

describe("the caller's own /proc/self in a pid namespace with its own /proc", () => {
  it('unshare -Urpf --mount-proc: /proc/self/fd/N and /dev/stdin mean the caller there too', async (ctx) => {
    const why = await userns();
    if (why) ctx.skip(why);
    const env = { ...ENV, P: payload, M: marker };
    const script = `exec 3< "$P"; /proc/self/fd/3 "$M" fd; /proc/thread-self/fd/3 "$M" thread; exec /dev/stdin "$M" stdin < "$P"`;
    const { bare, run, records } = await compare(['unshare', '-Urpf', '--mount-proc', 'bash', '-c', script], { execa: { env } });
    expect(bare.marks).toEqual(['fd', 'thread', 'stdin']);
    expect(run).toEqual(bare);
    const real = fs.realpathSync(payload);
    expect(execs(records).filter((e) => e.file === real).map((e) => [e.argv[2], e.path])).toEqual([
      ['fd', '/proc/self/fd/3'],
      ['thread', '/proc/thread-self/fd/3'],
      ['stdin', '/dev/stdin'],
    ]);
  });
});

describe("the kernel's limits, not netlog's", () => {
  /** python3 execs argv[1] with the mark arguments, or prints the errno name and exits 3. */
  const TRY = 'import os, sys, errno\ntry:\n    os.execv(sys.argv[1], [sys.argv[1], sys.argv[2], "ran"])\nexcept OSError as e:\n    print(errno.errorcode[e.errno], file=sys.stderr); sys.exit(3)';

  function chain(n: number): string {
    // link1 -> payload, link2 -> link1, ...: an exec of linkN follows N links.
    let prev = payload;
    for (let i = 1; i <= n; i++) {
      const link = path.join(dir, `link${i}`);
      fs.rmSync(link, { force: true });
      fs.symlinkSync(prev, link);
      prev = link;
    }
    return prev;
  }

  it('a chain of exactly 40 symbolic links runs and is recorded; 41 is ELOOP for both', async () => {
    const link40 = chain(40);
    const forty = await compare(['python3', '-c', TRY, link40, marker]);
    expect(forty.bare.marks).toEqual(['ran']);
    expect(forty.run).toEqual(forty.bare);
    expect(execs(forty.records).find((e) => e.argv[2] === 'ran')).toMatchObject({ file: fs.realpathSync(payload), path: link40 });

    const link41 = chain(41);
    const fortyOne = await compare(['python3', '-c', TRY, link41, marker]);
    expect(fortyOne.bare).toMatchObject({ exitCode: 3, stderr: 'ELOOP', marks: [] });
    expect(fortyOne.run).toEqual(fortyOne.bare);
    expect(execs(fortyOne.records).filter((e) => e.argv[0] === link41)).toEqual([]);
  });

  it('a path of 4,095 bytes runs and is recorded; 4,096 is ENAMETOOLONG for both', async () => {
    const exact = (len: number): string => {
      const prefix = `${dir}/`;
      const pad = len - prefix.length - 'payload'.length;
      return `${prefix}${pad % 2 ? '/' : ''}${'./'.repeat(pad >> 1)}payload`;
    };
    const ok = exact(4095);
    expect(ok.length).toBe(4095);
    const fits = await compare(['python3', '-c', TRY, ok, marker]);
    expect(fits.bare.marks).toEqual(['ran']);
    expect(fits.run).toEqual(fits.bare);
    expect(execs(fits.records).find((e) => e.argv[2] === 'ran')).toMatchObject({ file: fs.realpathSync(payload), path: ok });

    const tooLong = exact(4096);
    expect(tooLong.length).toBe(4096);
    const refused = await compare(['python3', '-c', TRY, tooLong, marker]);
    expect(refused.bare).toMatchObject({ exitCode: 3, stderr: 'ENAMETOOLONG', marks: [] });
    expect(refused.run).toEqual(refused.bare);
  });

  it('an absolute symbolic link inside a chroot is resolved in the chroot (unshare -Ur chroot JAIL /bin/p)', async (ctx) => {
    const why = await userns();
    if (why) ctx.skip(why);
    const jail = path.join(dir, 'jail');
    fs.mkdirSync(path.join(jail, 'real'), { recursive: true });
    fs.mkdirSync(path.join(jail, 'bin'));
    fs.copyFileSync(fixture('mark'), path.join(jail, 'real', 'p'));
    fs.chmodSync(path.join(jail, 'real', 'p'), 0o755);
    // /real/p exists only inside the jail: resolved from netlog's root, the link names nothing.
    fs.symlinkSync('/real/p', path.join(jail, 'bin', 'p'));
    const { bare, run, records } = await compare(['unshare', '-Ur', 'chroot', jail, '/bin/p', '/marks', 'jailed']);
    const jailMarks = path.join(jail, 'marks');
    expect(bare.exitCode, bare.stderr).toBe(0);
    expect(run).toMatchObject({ exitCode: 0, stderr: '' });
    expect(fs.readFileSync(jailMarks, 'utf8')).toBe('jailed\njailed\n');
    expect(execs(records).find((e) => e.argv[2] === 'jailed')).toMatchObject({ file: '/real/p', path: '/bin/p' });
  });
});

describe('races between the lookup and the exec: every run has a record', () => {
  const N = 200;

  /** Runs `exec_race MODE N ARGS... MARKER` under netlog; every run must have its record (of `file` if given). */
  async function race(mode: string, args: string[], file?: string): Promise<void> {
    const r = await netlogRun([fixture('exec_race'), mode, String(N), ...args, marker], { log: path.join(dir, 'log.jsonl') });
    expect(r.exitCode, r.stderr).toBe(0);
    const [summary] = jsonLines(r.stdout);
    expect(summary.attempts).toBe(N);
    const ran = marks();
    expect(ran.length).toBe(summary.ran);
    expectEveryRunRecorded(r.records, ran, file);
    expect(summary.ran).toBeGreaterThan(0);
  }

  it('another process renames the file into place and out again', async () => {
    // The record names the link that was in place (p or p.new: hard links of the payload).
    await race('rename', [path.join(dir, 'p'), payload]);
  });

  it('another process toggles the execute bits', async () => {
    const target = path.join(dir, 'p');
    fs.copyFileSync(payload, target);
    await race('chmod', [target], fs.realpathSync(target));
  });

  it('a thread flips the path in memory between a missing file and the payload', async () => {
    await race('flip', [path.join(dir, 'missing'), payload], fs.realpathSync(payload));
  });
});

describe("permission with the caller's credentials", () => {
  const asNobody = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];

  it('bash -c /root/nonexistent/x as nobody (--user): fails as bare, and has no record', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('needs root (--user)');
    const { bare, run, records } = await compare(['bash', '-c', '/root/nonexistent/x'], {
      args: ['--user', 'nobody'],
      bare: [...asNobody, 'bash', '-c', '/root/nonexistent/x'],
    });
    expect(bare.exitCode).toBe(126);
    expect(bare.stderr).toMatch(/Permission denied/);
    expect(run).toEqual(bare);
    expect(execs(records).map((e) => e.argv[0])).toEqual(['bash']);
  });

  it('the same in an unprivileged session (netlog-run itself run as nobody)', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('needs root to become nobody');
    fs.chmodSync(dir, 0o777);
    const cmd = ['bash', '-c', '/root/nonexistent/x'];
    const bare = await execa('setpriv', [...asNobody, ...cmd], { reject: false, env: ENV, cwd: dir });
    const log = path.join(dir, 'log.jsonl');
    const r = await execa('setpriv', [...asNobody, process.execPath, NETLOG_RUN, '-q', '-o', log, '--', ...cmd], { reject: false, env: ENV, cwd: dir });
    expect(bare.exitCode).toBe(126);
    expect([r.exitCode, String(r.stderr)]).toEqual([bare.exitCode, String(bare.stderr)]);
    const records = readRecords(log);
    expect(ofKind(records, 'start')[0]!.run!.uid).toBe(65534);
    expect(execs(records).map((e) => e.argv[0])).toEqual(['bash']);
  });

  it('a root netlog-run sees no more than its caller: a file only root can reach is EACCES for nobody, no record', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('needs root (--user)');
    const secret = path.join(dir, 'secret');
    fs.mkdirSync(secret, { mode: 0o700 });
    fs.copyFileSync(payload, path.join(secret, 'p'));
    fs.chmodSync(path.join(secret, 'p'), 0o755);
    const cmd = ['bash', '-c', `"${secret}/p" "${marker}" secret`];
    const { bare, run, records } = await compare(cmd, { args: ['--user', 'nobody'], bare: [...asNobody, ...cmd] });
    expect(bare.exitCode).toBe(126);
    expect(run).toEqual(bare);
    expect(execs(records).map((e) => e.argv[0])).toEqual(['bash']);
  });

  it("the caller's supplementary groups and effective capabilities count, and only they", async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('needs root (chown, setpriv)');
    const gid = 4242;
    fs.chmodSync(dir, 0o777);  // nobody writes the marker
    const shared = path.join(dir, 'shared');
    fs.mkdirSync(shared);
    fs.chownSync(shared, 0, gid);
    fs.chmodSync(shared, 0o750);
    fs.copyFileSync(payload, path.join(shared, 'p'));
    fs.chmodSync(path.join(shared, 'p'), 0o755);
    // setpriv execs with its capabilities still effective (keep-caps): env, exec'd without
    // any, makes the exec under test.
    const as = (groups: string) => ['setpriv', '--reuid=nobody', '--regid=nogroup', groups, 'env', path.join(shared, 'p'), marker];
    // setpriv itself still holds CAP_DAC_OVERRIDE when it execs: the kernel lets it in, so must netlog.
    const capable = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', path.join(shared, 'p'), marker, 'capable'];
    const script = [[...as(`--groups=${gid}`), 'member'], [...as('--clear-groups'), 'stranger'], capable]
      .map((c) => c.map((a) => `'${a}'`).join(' ') + '; echo $?')
      .join('; ');
    const { bare, run, records } = await compare(['bash', '-c', script]);
    expect(bare.stdout.split('\n')).toEqual(['0', '126', '0']);
    expect(bare.marks).toEqual(['member', 'capable']);
    expect(run).toEqual(bare);
    expect(execs(records).filter((e) => e.file === path.join(fs.realpathSync(shared), 'p')).map((e) => e.argv[2])).toEqual(['member', 'capable']);
  });

  it("execvp's PATH walk through unreachable directories leaves exactly one record, of the file that ran", async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('needs root (--user)');
    const walk = ['env', 'PATH=/root/bin:/root/.cargo/bin:/nonexistent:/usr/bin', 'true'];
    const { bare, run, records } = await compare(walk, { args: ['--user', 'nobody'], bare: [...asNobody, ...walk] });
    expect(bare.exitCode).toBe(0);
    expect(run).toEqual(bare);
    expect(execs(records).map((e) => [e.file, e.path])).toEqual([
      ['/usr/bin/env', '/usr/bin/env'],
      ['/usr/bin/true', '/usr/bin/true'],
    ]);
  });

  it('a file on a noexec mount is refused with EACCES by netlog, as the kernel would, and has no record', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('needs root (mount in unshare -m)');
    const mnt = path.join(dir, 'noexec');
    fs.mkdirSync(mnt);
    const script = `mount -t tmpfs -o noexec none "${mnt}" && cp "${payload}" "${mnt}/p" && "${mnt}/p" "${marker}" ran`;
    const { bare, run, records } = await compare(['unshare', '-m', 'sh', '-c', script]);
    expect(bare.exitCode).toBe(126);
    expect(bare.stderr).toMatch(/Permission denied/);
    expect(run).toEqual(bare);
    expect(execs(records).filter((e) => e.argv[0] === `${mnt}/p`)).toEqual([]);
  });

  it('an exec the kernel refuses for a missing x bit, a directory or ENOTDIR has no record and the same error', async () => {
    const plain = path.join(dir, 'plain');
    fs.writeFileSync(plain, '#!/bin/sh\n');
    fs.chmodSync(plain, 0o644);
    const script = `"${plain}"; echo $?; "${dir}"; echo $?; "${payload}/x"; echo $?; "${dir}/nope"; echo $?`;
    const { bare, run, records } = await compare(['bash', '-c', script], {});
    expect(bare.stdout.split('\n')).toEqual(['126', '126', '126', '127']);
    expect(run).toEqual(bare);
    expect(execs(records).map((e) => e.argv[0])).toEqual(['bash']);
  });
});

describe('execve and execveat errors are the kernel\'s', () => {
  // Each case runs in a child: an exec that works runs the payload (which writes the case's
  // name to the marker), one that fails prints the case and its errno name.
  const PROBE = `
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
d, marker = sys.argv[1], sys.argv[2]
payload = os.path.join(d, "payload")
if os.path.lexists(os.path.join(d, "plink")):
    os.unlink(os.path.join(d, "plink"))
os.symlink(payload, os.path.join(d, "plink"))
dirfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
filefd = os.open(payload, os.O_RDONLY)
pathfd = os.open(payload, os.O_PATH)
def execveat(fd, path, flags):
    argv = (ctypes.c_char_p * 4)(path.encode() or b"payload", marker.encode(), NAME.encode(), None)
    envp = (ctypes.c_char_p * 1)(None)
    return libc.syscall(322, fd, path.encode(), argv, envp, flags)
cases = [
    ("execve-empty", -100, "", 0),
    ("relative-dirfd", dirfd, "payload", 0),
    ("nofollow-link", dirfd, "plink", 0x100),
    ("follow-link", dirfd, "plink", 0),
    ("bad-dirfd", 99, "payload", 0),
    ("negative-dirfd", -5, "payload", 0),
    ("file-as-dirfd", filefd, "payload", 0),
    ("bad-flags", dirfd, "payload", 0x4),
    ("empty-path-dir", dirfd, "", 0x1000),
    ("empty-path-file", filefd, "", 0x1000),
    ("empty-path-opath", pathfd, "", 0x1000),
    ("empty-without-flag", filefd, "", 0),
    ("absolute-ignores-dirfd", filefd, payload, 0),
    ("trailing-slash-file", dirfd, "payload/", 0),
    ("trailing-slash-dir", -100, d + "/", 0),
    ("dotdot-above-root", -100, "/../../.." + payload, 0),
    ("name-too-long", dirfd, "x" * 256, 0),
]
for NAME, fd, path, flags in cases:
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        execveat(fd, path, flags)
        print(NAME, errno.errorcode[ctypes.get_errno()], flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
`;

  it('a table of execveat calls: same errno or same run, each run recorded, no record for a failure', async () => {
    const { bare, run, records } = await compare(['python3', '-c', PROBE, dir, marker]);
    expect(bare.exitCode, bare.stderr).toBe(0);
    expect(bare.stdout.split('\n')).toEqual([
      'execve-empty ENOENT',
      'nofollow-link ELOOP',
      'bad-dirfd EBADF',
      'negative-dirfd EBADF',
      'file-as-dirfd ENOTDIR',
      'bad-flags EINVAL',
      'empty-path-dir EACCES',
      'empty-without-flag ENOENT',
      'trailing-slash-file ENOTDIR',
      'trailing-slash-dir EACCES',
      'name-too-long ENAMETOOLONG',
    ]);
    expect(bare.marks).toEqual(['relative-dirfd', 'follow-link', 'empty-path-file', 'empty-path-opath', 'absolute-ignores-dirfd', 'dotdot-above-root']);
    expect(run).toEqual(bare);
    const real = fs.realpathSync(payload);
    const ran = execs(records).filter((e) => e.file === real);
    expect(ran.map((e) => [e.argv[2], e.path])).toEqual([
      ['relative-dirfd', 'payload'],
      ['follow-link', 'plink'],
      ['empty-path-file', ''],
      ['empty-path-opath', ''],
      ['absolute-ignores-dirfd', payload],
      ['dotdot-above-root', `/../../..${payload}`],
    ]);
    expect(execs(records)).toHaveLength(1 + ran.length);
  });
});

describe('file is the real path, path the argument', () => {
  it('/bin/true is recorded as file /usr/bin/true with path /bin/true', async () => {
    const r = await netlogRun(['/bin/true'], { log: path.join(dir, 'log.jsonl'), execa: { cwd: dir } });
    expect(r.exitCode).toBe(0);
    expect(execs(r.records)).toEqual([{ file: fs.realpathSync('/bin/true'), path: '/bin/true', argv: ['/bin/true'], cwd: dir, argv_truncated: false }]);
  });

  it('a relative path through a symlinked directory', async () => {
    fs.mkdirSync(path.join(dir, 'real'));
    fs.copyFileSync(payload, path.join(dir, 'real', 'p'));
    fs.chmodSync(path.join(dir, 'real', 'p'), 0o755);
    fs.symlinkSync('real', path.join(dir, 'alias'));
    const r = await netlogRun(['./alias/../alias/p', marker, 'rel'], { log: path.join(dir, 'log.jsonl'), execa: { cwd: dir } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(execs(r.records).at(-1)).toMatchObject({ file: path.join(fs.realpathSync(dir), 'real', 'p'), path: './alias/../alias/p' });
  });
});

describe('exec whitelist: the file, by identity, and argv argument by argument', () => {
  function conf(text: string): string {
    const file = path.join(dir, 'netlog.conf');
    // Tests run as root: the exec whitelist applies to root only with whitelist_include_root.
    fs.writeFileSync(file, `${text}\nwhitelist_include_root = 1\n`);
    return file;
  }

  it('a whitelist of /usr/bin/true hides /bin/true', async () => {
    const r = await netlogRun(['bash', '-c', '/bin/true; /usr/bin/true'], { args: ['--config', conf('exec_whitelist = /usr/bin/true')], log: path.join(dir, 'log.jsonl') });
    expect(r.exitCode).toBe(0);
    expect(execs(r.records).map((e) => e.file)).toEqual(['/usr/bin/bash']);
    expect(ofKind(r.records, 'end')[0]!.run!.hidden).toBe(2);
  });

  it('a program bind-mounted over a whitelisted path in a user namespace is not hidden', async (ctx) => {
    const why = await userns();
    if (why) ctx.skip(why);
    const script = `mount --bind "${payload}" /usr/bin/true && /usr/bin/true "${marker}" spoofed`;
    const r = await netlogRun(['unshare', '-Urm', 'sh', '-c', script], {
      args: ['--config', conf('exec_whitelist = /usr/bin/true')],
      log: path.join(dir, 'log.jsonl'),
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(marks()).toEqual(['spoofed']);
    expect(execs(r.records).find((e) => e.argv[2] === 'spoofed')).toMatchObject({ file: '/usr/bin/true', path: '/usr/bin/true' });
  });

  it("an argument containing spaces does not stand in for several (entry 'PATH|bash /opt/backup.sh')", async () => {
    const bash = fs.realpathSync('/usr/bin/bash');
    const config = conf(`exec_whitelist = ${bash}|bash /opt/backup.sh`);
    const spoof = `exec -a "bash /opt/backup.sh" ${bash} -c 'exit 0'`;
    const r = await netlogRun(['bash', '-c', spoof], { args: ['--config', config], log: path.join(dir, 'log.jsonl') });
    expect(r.exitCode).toBe(0);
    expect(execs(r.records).map((e) => e.argv)).toEqual([['bash', '-c', spoof], ['bash /opt/backup.sh', '-c', 'exit 0']]);

    const real = 'bash /opt/backup.sh 2>/dev/null; exit 0';
    const r2 = await netlogRun(['bash', '-c', real], { args: ['--config', config], log: path.join(dir, 'log2.jsonl') });
    expect(r2.exitCode).toBe(0);
    expect(execs(r2.records).map((e) => e.argv)).toEqual([['bash', '-c', real]]);
    expect(ofKind(r2.records, 'end')[0]!.run!.hidden).toBe(1);
  });
});
