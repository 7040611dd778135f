// npm run bench: each workload bare, under netlog-run (JSON records to a file,
// every probe on), under strace -f --seccomp-bpf for the same syscalls and
// under the floor (fixtures/notify_floor: the same calls trapped and answered
// at once, what any user-notification supervisor pays), in alternating rounds; prints the median ratio to bare with min–max beside the
// goal, checks that every netlog log is complete (exact record counts, gapless
// seq) and saves everything as JSON in bench/results/.
//
//   BENCH_ROUNDS=N          rounds per workload (default 5)
//   BENCH_ONLY=WORD         only one workload by its key (exec, tar, storm,
//                           client, landlock, make, startup), or else the workloads
//                           whose name contains WORD (any case)
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const NETLOG = path.join(ROOT, 'bin', 'netlog-run.js');
const FIX = path.join(ROOT, 'build', 'fixtures');
const STRACE_SET = 'trace=execve,execveat,connect,accept,accept4,bind,close';
// One run longer than this is a hang, not a measurement.
const RUN_TIMEOUT_MS = 300_000;
const STORM = 20_000;
const CLIENT = 2_000;

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

function sh(cmd) {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

// ---- inputs, generated (no downloads) ----
function prepareTar(work) {
  const src = path.join(work, 'tarsrc');
  fs.mkdirSync(src);
  for (let d = 0; d < 20; d++) {
    const dir = path.join(src, `d${d}`);
    fs.mkdirSync(dir);
    for (let f = 0; f < 1000; f++) fs.writeFileSync(path.join(dir, `f${f}`), `file ${d}/${f}\n`);
  }
  sh(`tar cf ${work}/small.tar -C ${src} .`);
  fs.rmSync(src, { recursive: true });
}

function prepareMake(work) {
  const proj = path.join(work, 'cproj');
  fs.mkdirSync(proj);
  const objs = [];
  for (let i = 0; i < 60; i++) {
    fs.writeFileSync(path.join(proj, `f${i}.c`), `#include <stdio.h>\nint f${i}(int x) { int s = 0; for (int k = 0; k < x; k++) s += k * ${i}; return s; }\n`);
    objs.push(`f${i}.o`);
  }
  fs.writeFileSync(path.join(proj, 'main.c'), 'int main(void) { return 0; }\n');
  fs.writeFileSync(path.join(proj, 'Makefile'), `prog: main.o ${objs.join(' ')}\n\tcc -o $@ $^\n%.o: %.c\n\tcc -O1 -c $< -o $@\nclean:\n\trm -f *.o prog\n`);
}

// Successful execve/execveat calls of `bash -c CMD`, counted by strace: the
// exec records netlog must write for it (a failed exec, such as gcc's PATH
// search for `as`, has no record).
function straceExecCount(work, cmd) {
  const out = path.join(work, 'execs.strace');
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=execve,execveat', '-e', 'signal=none', '-o', out, 'bash', '-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`reference run under strace exited ${r.status}: ${r.stderr.trim()}`);
  // With -f a call may be split into "execve(... <unfinished ...>" and
  // "<... execve resumed>) = 0".
  const n = fs.readFileSync(out, 'utf8').split('\n').filter((l) => /(execve(at)?\(|<\.\.\. execve(at)? resumed>).* = 0$/.test(l)).length;
  fs.rmSync(out);
  return n;
}

// ---- record checks: each returns a list of problems, empty when complete ----
function countBy(records, key) {
  const m = new Map();
  for (const r of records) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
  return m;
}

// Exact numbers of records per event type (start and end apart); a type not
// named must not occur.
function exactCounts(records, want) {
  const problems = [];
  const got = countBy(records.filter((r) => r.event !== 'start' && r.event !== 'end'), (r) => r.event);
  for (const [event, n] of Object.entries(want)) if ((got.get(event) ?? 0) !== n) problems.push(`${event}: ${got.get(event) ?? 0} records, want ${n}`);
  for (const [event, n] of got) if (!(event in want)) problems.push(`${event}: ${n} unexpected records`);
  return problems;
}

function allOk(records, event) {
  const bad = records.filter((r) => r.event === event && r.result !== 'ok').length;
  return bad ? [`${bad} ${event} records not ok`] : [];
}

// Each connection of the storm has its connect, its accept (remote = the
// connect's local address) and a close on each side, keyed by the client port.
function pairedConnections(records) {
  const c = countBy(records.filter((r) => r.event === 'connect'), (r) => r.net?.local?.port);
  const a = countBy(records.filter((r) => r.event === 'accept'), (r) => r.net?.remote?.port);
  const listenPorts = new Set(records.filter((r) => r.event === 'accept').map((r) => r.net?.local?.port));
  const closeClient = countBy(records.filter((r) => r.event === 'close' && listenPorts.has(r.net?.remote?.port)), (r) => r.net?.local?.port);
  const closeServer = countBy(records.filter((r) => r.event === 'close' && listenPorts.has(r.net?.local?.port)), (r) => r.net?.remote?.port);
  let unpaired = 0;
  for (const [port, n] of c) if (a.get(port) !== n || closeClient.get(port) !== n || closeServer.get(port) !== n) unpaired++;
  return unpaired ? [`${unpaired} client ports without their accept and two closes`] : [];
}

// Every log: starts with start, ends with end, seq 1..N without a gap, the
// end's record count agrees.
function wellFormed(records) {
  const problems = [];
  const gap = records.findIndex((r, i) => r.seq !== i + 1);
  if (gap >= 0) problems.push(`seq gap at line ${gap + 1} (seq ${records[gap].seq})`);
  if (records[0]?.event !== 'start') problems.push('first record is not start');
  const end = records.at(-1);
  if (end?.event !== 'end') problems.push('last record is not end');
  else if (end.run?.records !== records.length - 1) problems.push(`end says ${end.run?.records} records, the log has ${records.length - 1}`);
  return problems;
}

// ---- the workloads: the table of issue #13 ----
const workloads = [
  {
    key: 'exec',
    name: '2,000 × /bin/true from a shell loop',
    goal: { ratio: 1.2 },
    cmd: () => `for i in $(seq 2000); do /bin/true; done`,
    // bash, seq and the 2,000 /bin/true
    check: (r) => [
      ...exactCounts(r, { exec: 2002 }),
      ...(r.filter((x) => x.event === 'exec' && x.exec?.path === '/bin/true').length === 2000 ? [] : ['not 2,000 exec records of /bin/true']),
    ],
  },
  {
    key: 'tar',
    name: 'tar xf of 20,000 small files',
    goal: { ratio: 1.25 },
    setup: (ctx) => prepareTar(ctx.work),
    before: (ctx) => sh(`rm -rf ${ctx.work}/x && mkdir ${ctx.work}/x`),
    cmd: (ctx) => `tar xf ${ctx.work}/small.tar -C ${ctx.work}/x`,
    check: (r) => exactCounts(r, { exec: 2 }),
  },
  {
    key: 'storm',
    name: `${STORM.toLocaleString('en')} loopback connects, accept thread in the process`,
    goal: { ratio: 4.0 },
    cmd: () => `${FIX}/connect_storm 127.0.0.1 ${STORM}`,
    check: (r) => [...exactCounts(r, { exec: 2, connect: STORM, accept: STORM, close: 2 * STORM }), ...allOk(r, 'connect'), ...allOk(r, 'accept'), ...pairedConnections(r)],
    rss: true,
  },
  {
    key: 'client',
    name: `${CLIENT.toLocaleString('en')} client connects, server outside the session`,
    goal: { ratio: 3.0 },
    // The server runs for the whole row, started here, never under netlog-run
    // or strace: only the client's connect and close are in the session.
    setup: async (ctx) => {
      ctx.server = await startServer();
      ctx.runs = 0;
    },
    before: (ctx) => ctx.runs++,
    cmd: (ctx) => `${FIX}/connect_flood 127.0.0.1 ${ctx.server.port} ${CLIENT}`,
    check: (r, ctx) => [
      ...exactCounts(r, { exec: 2, connect: CLIENT, close: CLIENT }),
      ...allOk(r, 'connect'),
      ...(r.every((x) => x.event !== 'connect' || x.net?.remote?.port === ctx.server.port) ? [] : ['a connect not to the server']),
    ],
    // Every client run of every variant reached the server.
    teardown: async (ctx) => {
      const accepted = await ctx.server.stop();
      return accepted === ctx.runs * CLIENT ? [] : [`the server accepted ${accepted} connections, want ${ctx.runs * CLIENT}`];
    },
  },
  {
    key: 'landlock',
    name: `${CLIENT.toLocaleString('en')} client connects 20 processes deep, after a program sandboxed itself with Landlock`,
    goal: { ratio: 3.0 },
    // As 'client', but a sibling restricted itself first: every process of
    // the session is then asked for its Landlock domain (a walk up its ppid
    // chain, kept per thread since this row was added).
    setup: async (ctx) => {
      ctx.server = await startServer();
      ctx.runs = 0;
      fs.writeFileSync(path.join(ctx.work, 'deep.sh'), '#!/bin/bash\n# deep.sh N CMD...: CMD runs N processes below\nn=$1; shift\nif [ "$n" -gt 0 ]; then "$0" $((n-1)) "$@"; exit $?; fi\nexec "$@"\n', { mode: 0o755 });
      ctx.execs = straceExecCount(ctx.work, landlockCmd(ctx));
    },
    before: (ctx) => ctx.runs++,
    cmd: (ctx) => landlockCmd(ctx),
    check: (r, ctx) => [
      ...exactCounts(r, { exec: ctx.execs, connect: CLIENT + 1, close: CLIENT + 1 }),
      ...allOk(r, 'connect'),
    ],
    teardown: async (ctx) => {
      const accepted = await ctx.server.stop();
      // The strace reference run connected too.
      const want = (ctx.runs + 1) * (CLIENT + 1);
      return accepted === want ? [] : [`the server accepted ${accepted} connections, want ${want}`];
    },
  },
  {
    key: 'make',
    name: 'make -j2 of 60 C files',
    goal: { ratio: 1.1 },
    setup: (ctx) => {
      prepareMake(ctx.work);
      sh(`make -s -C ${ctx.work}/cproj clean`);
      // Also the warm-up: the compiler's files are in the page cache after it.
      ctx.execs = straceExecCount(ctx.work, `make -s -j2 -C ${ctx.work}/cproj`);
    },
    before: (ctx) => sh(`make -s -C ${ctx.work}/cproj clean`),
    cmd: (ctx) => `make -s -j2 -C ${ctx.work}/cproj`,
    check: (r, ctx) => exactCounts(r, { exec: ctx.execs }),
  },
  {
    key: 'startup',
    name: 'start-up of netlog-run -- /bin/true',
    goal: { addedMs: 100 },
    // No shell: the time of netlog-run (and of strace) itself.
    argv: ['/bin/true'],
    check: (r) => exactCounts(r, { exec: 1 }),
  },
];

function landlockCmd(ctx) {
  const port = ctx.server.port;
  return `${FIX}/landlock_connect connect:${port} self ${port} >/dev/null; ${ctx.work}/deep.sh 20 ${FIX}/connect_flood 127.0.0.1 ${port} ${CLIENT}`;
}

function startServer() {
  return new Promise((resolve, reject) => {
    // stdin is a pipe: the server ends when it closes, even if the bench dies.
    const child = spawn(path.join(FIX, 'accept_close_server'), ['127.0.0.1'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let ready = false;
    const done = new Promise((res) => child.on('close', () => res(out)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      const m = /\{"port":(\d+)\}\n/.exec(out);
      if (m && !ready) {
        ready = true;
        resolve({
          port: Number(m[1]),
          stop: async () => {
            child.stdin.end();
            const text = await done;
            return Number(/\{"accepted":(\d+)\}/.exec(text)?.[1] ?? -1);
          },
        });
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => ready || reject(new Error(`accept_close_server exited ${code} before listening`)));
  });
}

function timed(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGTERM' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error?.code === 'ETIMEDOUT') throw new Error(`${argv.join(' ')}: no end after ${RUN_TIMEOUT_MS / 1000} s`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.trim().slice(0, 500)}`);
  return ms;
}

function peakRssKb(argv) {
  // GNU time is not on a fresh machine, and a finished child's /proc is gone:
  // sample netlog-run's VmHWM while it runs.
  const r = spawnSync('bash', ['-c', `"$@" >/dev/null & p=$!; peak=0; while kill -0 $p 2>/dev/null; do v=$(awk '/VmHWM/{print $2}' /proc/$p/status 2>/dev/null); [ -n "$v" ] && peak=$v; sleep 0.05; done; wait $p; echo $peak`, 'rss', ...argv], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  return Number(r.stdout.trim().split('\n').pop());
}

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function readLog(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l));
}

function argvFor(w, variant, cmd, log) {
  const target = w.argv ?? ['bash', '-c', cmd];
  if (variant === 'bare') return target;
  if (variant === 'netlog') return [process.execPath, NETLOG, '-q', '-o', log, '--', ...target];
  // The kernel's part: the same calls trapped and answered at once, nothing read or written.
  if (variant === 'floor') return [path.join(FIX, 'notify_floor'), ...target];
  return ['strace', '-f', '-qq', '--seccomp-bpf', '-e', STRACE_SET, '-o', '/dev/null', ...target];
}

async function measure(w, rounds, work) {
  const ctx = { work };
  const t = { bare: [], netlog: [], strace: [], floor: [] };
  const problems = [];
  let error = null;
  const log = path.join(work, 'netlog.jsonl');
  const variants = ['bare', 'netlog', 'strace', 'floor'];
  try {
    await w.setup?.(ctx);
    for (let round = 0; round < rounds; round++) {
      // The order turns each round so that no variant always runs right
      // after the same other one (page cache, TIME_WAIT sockets).
      for (let k = 0; k < variants.length; k++) {
        const variant = variants[(round + k) % variants.length];
        w.before?.(ctx);
        fs.rmSync(log, { force: true });
        t[variant].push(timed(argvFor(w, variant, w.cmd?.(ctx), log)));
        if (variant === 'netlog') {
          const records = readLog(log);
          for (const p of [...wellFormed(records), ...w.check(records, ctx)]) problems.push(`round ${round + 1}: ${p}`);
        }
      }
    }
  } catch (err) {
    error = String(err.message ?? err);
  }
  try {
    if (w.teardown) problems.push(...(await w.teardown(ctx)));
  } catch (err) {
    error ??= String(err.message ?? err);
  }
  let rss;
  if (w.rss && !error) rss = peakRssKb(argvFor(w, 'netlog', w.cmd(ctx), log));
  fs.rmSync(log, { force: true });
  return row(w, rounds, t, problems, error, rss);
}

function row(w, rounds, t, problems, error, rss) {
  const r = { workload: w.name, rounds, error, records_complete: !error && problems.length === 0, problems: problems.slice(0, 20) };
  if (!t.bare.length || !t.netlog.length || !t.strace.length) return r;
  const bare = median(t.bare);
  const stats = (a) => ({ median: median(a), min: Math.min(...a), max: Math.max(...a) });
  r.bare_ms = stats(t.bare);
  r.netlog_ms = stats(t.netlog);
  r.strace_ms = stats(t.strace);
  if (t.floor.length) r.floor_ms = stats(t.floor);
  const ratio = (s) => ({ median: s.median / bare, min: s.min / bare, max: s.max / bare });
  const added = (s) => ({ median: s.median - bare, min: s.min - bare, max: s.max - bare });
  if (w.goal.ratio !== undefined) {
    r.netlog_ratio = ratio(r.netlog_ms);
    r.strace_ratio = ratio(r.strace_ms);
    if (r.floor_ms) r.floor_ratio = ratio(r.floor_ms);
    r.goal = { ratio_max: w.goal.ratio, met: r.netlog_ratio.median <= w.goal.ratio };
  } else {
    r.netlog_added_ms = added(r.netlog_ms);
    r.strace_added_ms = added(r.strace_ms);
    if (r.floor_ms) r.floor_added_ms = added(r.floor_ms);
    r.goal = { added_ms_max: w.goal.addedMs, met: r.netlog_added_ms.median <= w.goal.addedMs };
  }
  r.under_strace = r.netlog_ms.median < r.strace_ms.median;
  if (rss !== undefined) r.netlog_peak_rss_kb = rss;
  r.samples_ms = t;
  return r;
}

// ---- output ----
const COLS = [
  ['workload', 54, (r) => r.workload],
  ['bare ms', 8, (r) => (r.bare_ms ? r.bare_ms.median.toFixed(0) : '–'), 'right'],
  ['netlog', 24, (r) => cell(r, 'netlog')],
  ['goal', 16, (r) => goalText(r)],
  ['strace', 24, (r) => cell(r, 'strace')],
  ['floor', 24, (r) => cell(r, 'floor')],
  ['records', 10, (r) => (r.error ? 'FAILED' : r.records_complete ? 'complete' : 'INCOMPLETE')],
];

function cell(r, v) {
  if (r[`${v}_ratio`]) {
    const s = r[`${v}_ratio`];
    return `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
  }
  if (r[`${v}_added_ms`]) {
    const s = r[`${v}_added_ms`];
    const ms = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(0)}`;
    return `${ms(s.median)} ms (${ms(s.min)}–${ms(s.max)})`;
  }
  return '–';
}

function goalText(r) {
  if (!r.goal) return '–';
  const g = r.goal.ratio_max !== undefined ? `≤ ${r.goal.ratio_max.toFixed(2)}×` : `≤ +${r.goal.added_ms_max} ms`;
  return `${g} ${r.goal.met ? 'met' : 'not met'}`;
}

function printRow(r) {
  console.log(COLS.map(([, w, f, align]) => (align === 'right' ? f(r).padStart(w) : f(r).padEnd(w))).join(' ').trimEnd());
  if (r.error) console.log(`    error: ${r.error}`);
  for (const p of r.problems.slice(0, 5)) console.log(`    ${p}`);
}

function markdown(results) {
  const lines = ['| workload | bare | netlog | goal | strace | floor | netlog under strace | records |', '|---|---|---|---|---|---|---|---|'];
  for (const r of results) {
    lines.push(`| ${r.workload} | ${r.bare_ms ? `${r.bare_ms.median.toFixed(0)} ms` : '–'} | **${cell(r, 'netlog')}** | ${goalText(r)} | ${cell(r, 'strace')} | ${cell(r, 'floor')} | ${r.under_strace === undefined ? '–' : r.under_strace ? 'yes' : 'no'} | ${COLS[6][2](r)} |`);
  }
  return lines.join('\n');
}

function loadavg() {
  return os.loadavg().map((x) => Number(x.toFixed(2)));
}

async function main() {
  const roundsText = process.env.BENCH_ROUNDS ?? '5';
  if (!/^[1-9]\d*$/.test(roundsText)) fail(`BENCH_ROUNDS must be a positive whole number, not '${roundsText}'`);
  const rounds = Number(roundsText);
  const only = process.env.BENCH_ONLY;
  // A key first: as a substring, 'tar' would also pick 'start-up'.
  const byKey = workloads.filter((w) => w.key === only?.toLowerCase());
  const chosen = !only ? workloads : byKey.length ? byKey : workloads.filter((w) => w.name.toLowerCase().includes(only.toLowerCase()));
  if (!chosen.length) fail(`BENCH_ONLY='${only}' matches no workload; the workloads are (key, name):\n  ${workloads.map((w) => `${w.key.padEnd(8)} ${w.name}`).join('\n  ')}`);
  for (const f of ['connect_storm', 'connect_flood', 'accept_close_server', 'landlock_connect']) {
    if (!fs.existsSync(path.join(FIX, f))) fail(`build/fixtures/${f} is missing: run \`bash scripts/build-fixtures.sh\` (npm run bench does)`);
  }
  if (spawnSync('strace', ['-V']).status !== 0) fail('strace is not installed (scripts/setup-test.sh lists what the bench needs)');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'netlog-bench-'));
  const cleanup = () => fs.rmSync(work, { recursive: true, force: true });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const started = new Date();
  const loadBefore = loadavg();
  console.log(`netlog bench: ${rounds} rounds, kernel ${os.release()}, ${os.cpus().length} CPUs, load average ${loadBefore.join(' ')}${only ? `, only '${only}'` : ''}`);
  for (const [title, w, , align] of COLS) process.stdout.write(`${align === 'right' ? title.padStart(w) : title.padEnd(w)} `);
  process.stdout.write('\n');
  const results = [];
  try {
    for (const w of chosen) {
      const r = await measure(w, rounds, work);
      results.push(r);
      printRow(r);
    }
  } finally {
    cleanup();
  }
  const loadAfter = loadavg();
  const seconds = (Date.now() - started.getTime()) / 1000;
  const rss = results.find((r) => r.netlog_peak_rss_kb)?.netlog_peak_rss_kb;
  if (rss) console.log(`netlog-run peak RSS on the connect storm: ${(rss / 1024).toFixed(1)} MiB`);
  console.log(`load average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}; ${(seconds / 60).toFixed(1)} min`);
  console.log(`\n${markdown(results)}\n`);

  const out = { date: started.toISOString(), kernel: os.release(), cpus: os.cpus().length, rounds, only: only ?? null, load_before: loadBefore, load_after: loadAfter, seconds, results };
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = path.join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(stamp, JSON.stringify(out, null, 2) + '\n');
  fs.copyFileSync(stamp, path.join(dir, 'latest.json'));
  console.log(`saved ${path.relative(process.cwd(), stamp)} (and latest.json)`);
  const bad = results.filter((r) => r.error || !r.records_complete);
  process.exitCode = bad.length ? 1 : 0;
}

await main();
