// COMMAND's stdin, stdout and stderr are exactly what it would have without netlog-run
// (docs/design.md "Descriptors shared with COMMAND"): netlog-run never changes the flags
// of the open file descriptions it shares with COMMAND (O_NONBLOCK above all), before,
// during or after the run. Pipes in both directions with a slow reader, `read` from a
// pipe and from a pty, `cat` on a pty, and the fdinfo flags compared with a bare run.

import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { NETLOG_RUN, readRecords, tempDir, waitFor, waitForAsync } from './harness.js';
import { shellCommand, Tmux } from './tmux.js';

const RUN = `${process.execPath} ${NETLOG_RUN}`;
const dirs: string[] = [];
const tmux = new Tmux();

function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await tmux.cleanup();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Waits (bounded) until the process whose pid is in `file` is blocked reading its fd 0. */
async function waitReading(file: string, what: string): Promise<number> {
  await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').endsWith('\n'), 15_000, `${what} to start`);
  const pid = Number(fs.readFileSync(file, 'utf8').trim());
  // /proc/PID/syscall: "0 0x0 ..." is read(2) on fd 0, in progress.
  const reading = (): boolean => {
    try {
      return /^0 0x0 /.test(fs.readFileSync(`/proc/${pid}/syscall`, 'utf8'));
    } catch {
      return false;
    }
  };
  await waitFor(reading, 15_000, `${what} to wait in read(2) on its stdin`);
  return pid;
}

/** The `flags:` of /proc/self/fdinfo/{0,1,2} as COMMAND sees them (octal, O_CLOEXEC included). */
const FLAGS = `python3 -c "print(' '.join(open('/proc/self/fdinfo/%d' % i).read().split()[3] for i in range(3)))"`;

describe('pipes shared with COMMAND', () => {
  it('seq 1 1000000 | netlog-run -q -- wc -l counts every line', async () => {
    const r = await execa('bash', ['-c', `seq 1 1000000 | ${RUN} -q -- wc -l`], { reject: false, timeout: 60_000 });
    expect(r.stdout.trim()).toBe('1000000');
    expect(r.exitCode).toBe(0);
  });

  it('netlog-run -q -- seq 1 1000000 | a reader that starts a second late gets every line', async () => {
    // The sleep is the workload (a slow reader), not a wait of the test.
    const r = await execa('bash', ['-c', `${RUN} -q -- seq 1 1000000 | (sleep 1; wc -l)`], { reject: false, timeout: 60_000 });
    expect(r.stdout.trim()).toBe('1000000');
    expect(r.exitCode).toBe(0);
  });

  it('read from a pipe waits for its input (records on stderr, the text format)', async () => {
    const d = dir();
    const sub = execa(process.execPath, [NETLOG_RUN, '-q', '--', 'sh', '-c', `echo $$ > ${d}/pid; read x; echo "got $x"`], { reject: false, timeout: 30_000 });
    // The input comes only once sh is blocked reading.
    await waitReading(`${d}/pid`, 'sh');
    sub.stdin!.end('hello\n');
    const r = await sub;
    expect(r.stdout).toBe('got hello');
    expect(r.stderr).toMatch(/ end +session=\w+ exit 0, /);
  });

  it('the flags of fds 0, 1 and 2 inside the session are those outside, during and after the run', async () => {
    const d = dir();
    const bare = await execa('bash', ['-c', FLAGS], { timeout: 30_000 });
    for (const sink of ['', `-o ${d}/log`]) {
      const under = await execa('bash', ['-c', `${RUN} -q ${sink} -- ${FLAGS}`], { timeout: 30_000 });
      expect(under.stdout).toBe(bare.stdout);
    }
    // After the run: the shell that started netlog-run shares the descriptions. A COMMAND
    // that makes its stdin non-blocking leaves it so, as it would without netlog-run (Node's
    // exit would otherwise put the flag back).
    const nonblock = `python3 -c "import os; os.set_blocking(0, False)"`;
    const script = (run: string) => `${run}${nonblock}; ${FLAGS}`;
    const bareAfter = await execa('bash', ['-c', script('')], { timeout: 30_000, stdin: 'pipe' });
    const underAfter = await execa('bash', ['-c', script(`${RUN} -q -o ${d}/log -- `)], { timeout: 30_000, stdin: 'pipe' });
    expect(underAfter.stdout).toBe(bareAfter.stdout);
    const seen = (out: string) => out.split(' ').map((f) => parseInt(f, 8));
    expect(seen(bareAfter.stdout)[0]! & 0o4000).toBe(0o4000);
  });
});

describe('a terminal shared with COMMAND', () => {
  it('read and cat on a pty wait for what is typed; the flags of fds 0-2 are those of a bare run', async () => {
    const d = dir();
    const log = path.join(d, 'netlog.jsonl');
    const name = `netlog-stdio-${process.pid}`;
    await tmux.newSession(name, shellCommand(d, 'bash --norc -i'));
    await tmux.waitScreen(name, /nl\$ $/m, 'the prompt');

    // Flags on the pty, bare and under netlog-run (records on the terminal too, in text).
    await tmux.run('send-keys', '-t', name, `${FLAGS} > ${d}/bare.flags; ${RUN} -q -- ${FLAGS} > ${d}/under.flags; echo flags-done`, 'Enter');
    await tmux.waitScreen(name, /^flags-done$/m, 'both flag reads');
    expect(fs.readFileSync(`${d}/under.flags`, 'utf8')).toBe(fs.readFileSync(`${d}/bare.flags`, 'utf8'));

    await tmux.run('send-keys', '-t', name, `${RUN} -q -- sh -c 'echo $$ > ${d}/sh.pid; read x; echo "got-$x"'`, 'Enter');
    // Typed only once read waits: a non-blocking pty would have made it return at once, empty.
    await waitReading(`${d}/sh.pid`, 'sh');
    await tmux.run('send-keys', '-t', name, 'hello', 'Enter');
    await tmux.waitScreen(name, /^got-hello$/m, 'read to get the typed line');

    await tmux.run('send-keys', '-t', name, `${RUN} -q -o ${log} -- sh -c 'echo $$ > ${d}/cat.pid; exec cat'; echo cat-rc-$?`, 'Enter');
    await waitReading(`${d}/cat.pid`, 'cat');
    await tmux.run('send-keys', '-t', name, 'typed-to-cat', 'Enter');
    // The pty echoes the line, then cat prints it: twice on the screen.
    await tmux.waitScreen(name, /^typed-to-cat\ntyped-to-cat$/m, 'cat to copy the typed line');
    await tmux.run('send-keys', '-t', name, 'C-d');
    await tmux.waitScreen(name, /^cat-rc-0$/m, 'cat to end on Ctrl-D with status 0');
    const screen = await tmux.screen(name);
    expect(screen).not.toContain('Resource temporarily unavailable');
    await waitForAsync(() => readRecords(log).at(-1)?.event === 'end', 10_000, 'the end record of cat');
  });
});

describe('a background job on a terminal with stty tostop', () => {
  it('netlog-run writes its records and ends (a caught SIGTTOU would restart its write forever)', async () => {
    const d = dir();
    const name = `netlog-tostop-${process.pid}`;
    await tmux.newSession(name, shellCommand(d, 'bash --norc -i'));
    await tmux.waitScreen(name, /nl\$ $/m, 'the prompt');
    await tmux.run('send-keys', '-t', name, `stty tostop; ${RUN} -- /bin/true & wait $!; echo bg-rc-$?`, 'Enter');
    const screen = await tmux.waitScreen(name, /^bg-rc-0$/m, 'the background netlog-run to end');
    expect(screen).toMatch(/ end +session=\w+ exit 0, 2 records, 0 hidden$/m);
  });
});

describe('records on a stderr that COMMAND made non-blocking', () => {
  it('a pipe reader that starts late loses no record, and COMMAND sees its own flag', async () => {
    const d = dir();
    const script = path.join(d, 'nb.py');
    fs.writeFileSync(
      script,
      [
        'import os, sys',
        'os.set_blocking(2, False)',
        'for i in range(200):',
        '    os.spawnv(os.P_WAIT, "/bin/true", ["true"])',
        'print(os.get_blocking(2))',
      ].join('\n'),
    );
    // The reader starts late (the sleep is the workload): the pipe fills while COMMAND runs,
    // and netlog-run's writes wait for it as a blocking write would.
    const r = await execa('bash', ['-c', `${RUN} -f json -- python3 ${script} 2>&1 >${d}/out | (sleep 1; cat)`], { reject: false, timeout: 60_000 });
    expect(fs.readFileSync(`${d}/out`, 'utf8').trim()).toBe('False');
    const records = r.stdout.split('\n').filter((l) => l.startsWith('{"v":1')).map((l) => JSON.parse(l) as { seq: number; event: string; run?: { refused: number } });
    records.forEach((rec, i) => expect(rec.seq).toBe(i + 1));
    expect(records.at(-1)).toMatchObject({ event: 'end', run: { refused: 0 } });
    expect(records.filter((rec) => rec.event === 'exec' && (rec as { exec?: { argv: string[] } }).exec?.argv[0] === 'true')).toHaveLength(200);
  });

  // A socket cannot be reopened (a systemd service's stderr is one, to journald): netlog-run
  // writes fd 2 itself and waits in poll(2) when COMMAND made it non-blocking.
  it('the same on a stderr that is a unix socket', async () => {
    const d = dir();
    const script = path.join(d, 'nb.py');
    fs.writeFileSync(script, 'import os\nos.set_blocking(2, False)\nfor i in range(200):\n    os.spawnv(os.P_WAIT, "/bin/true", ["true"])\n');
    const driver = [
      'import socket, subprocess, sys, time',
      'a, b = socket.socketpair()',
      '# A small buffer: the first few records fill it (EAGAIN once COMMAND made it non-blocking).',
      'b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)',
      'p = subprocess.Popen(sys.argv[1:], stderr=b)',
      'b.close()',
      'time.sleep(1)  # a slow reader: the workload',
      'data = b""',
      'while chunk := a.recv(65536): data += chunk',
      'sys.stdout.write(data.decode())',
      'sys.exit(p.wait())',
    ].join('\n');
    const r = await execa('python3', ['-c', driver, process.execPath, NETLOG_RUN, '-f', 'json', '--', 'python3', script], { reject: false, timeout: 60_000 });
    expect(r.exitCode).toBe(0);
    const records = r.stdout.split('\n').filter((l) => l.startsWith('{"v":1')).map((l) => JSON.parse(l) as { seq: number; event: string; exec?: { argv: string[] }; run?: { refused: number } });
    records.forEach((rec, i) => expect(rec.seq).toBe(i + 1));
    expect(records.at(-1)).toMatchObject({ event: 'end', run: { refused: 0 } });
    expect(records.filter((rec) => rec.exec?.argv[0] === 'true')).toHaveLength(200);
  });
});
