// npm run bench: each workload bare, under netlog-run (JSON to a file, every
// probe on) and under strace -f --seccomp-bpf for the same syscalls, in
// alternating rounds; prints medians and min/max as ratios to bare, checks
// that netlog's records are complete, and saves everything as JSON.
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const NETLOG = path.join(ROOT, 'bin', 'netlog-run.js');
const FIX = path.join(ROOT, 'build', 'fixtures');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'netlog-bench-'));
const STRACE_SET = 'trace=execve,execveat,connect,accept,accept4,bind,close';

function sh(cmd) {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

// ---- inputs, generated (no downloads) ----
function prepare() {
  // 20,000 small files in a tarball
  const src = path.join(WORK, 'tarsrc');
  fs.mkdirSync(src);
  for (let d = 0; d < 20; d++) {
    const dir = path.join(src, `d${d}`);
    fs.mkdirSync(dir);
    for (let f = 0; f < 1000; f++) fs.writeFileSync(path.join(dir, `f${f}`), `file ${d}/${f}\n`);
  }
  sh(`tar cf ${WORK}/small.tar -C ${src} .`);
  fs.rmSync(src, { recursive: true });
  // 60 C files and a Makefile
  const proj = path.join(WORK, 'cproj');
  fs.mkdirSync(proj);
  const objs = [];
  for (let i = 0; i < 60; i++) {
    fs.writeFileSync(path.join(proj, `f${i}.c`), `#include <stdio.h>\nint f${i}(int x) { int s = 0; for (int k = 0; k < x; k++) s += k * ${i}; return s; }\n`);
    objs.push(`f${i}.o`);
  }
  fs.writeFileSync(path.join(proj, 'main.c'), 'int main(void) { return 0; }\n');
  fs.writeFileSync(path.join(proj, 'Makefile'), `prog: main.o ${objs.join(' ')}\n\tcc -o $@ $^\n%.o: %.c\n\tcc -O1 -c $< -o $@\nclean:\n\trm -f *.o prog\n`);
}

const workloads = [
  {
    name: 'exec: 2,000 × /bin/true',
    cmd: () => `for i in $(seq 2000); do /bin/true; done`,
    check: (r) => count(r, (x) => x.event === 'exec' && x.exec.path === '/bin/true') === 2000,
  },
  {
    name: 'close: tar xf 20,000 files',
    before: () => sh(`rm -rf ${WORK}/x && mkdir ${WORK}/x`),
    cmd: () => `tar xf ${WORK}/small.tar -C ${WORK}/x`,
    check: (r) => count(r, (x) => x.event === 'exec') >= 1,
  },
  {
    name: 'net: 20,000 TCP connects',
    cmd: () =>
      `rm -f ${WORK}/ready; ${FIX}/accept_server 127.0.0.1 0 20000 --quiet --close-now --ready-file ${WORK}/ready >/dev/null & ` +
      `for i in $(seq 500); do [ -s ${WORK}/ready ] && break; sleep 0.01; done; ` +
      `${FIX}/connect_flood 127.0.0.1 $(cat ${WORK}/ready) 20000 >/dev/null; wait`,
    check: (r) =>
      count(r, (x) => x.event === 'connect') === 20000 &&
      count(r, (x) => x.event === 'accept') === 20000 &&
      count(r, (x) => x.event === 'close') === 40000,
  },
  {
    name: 'make -j2, 60 C files',
    before: () => sh(`make -s -C ${WORK}/cproj clean`),
    cmd: () => `make -s -j2 -C ${WORK}/cproj`,
    check: (r) => count(r, (x) => x.event === 'exec') >= 61,
  },
  {
    name: 'start-up: /bin/true',
    cmd: () => `/bin/true`,
    check: (r) => count(r, (x) => x.event === 'exec') === 1,
    startup: true,
  },
];

function count(records, pred) {
  return records.filter(pred).length;
}

function timed(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

function peakRssKb(argv) {
  // GNU time is not on a fresh machine; /proc of the finished child is gone,
  // so netlog-run's own peak is read through bash's `times`-free wrapper:
  const r = spawnSync('bash', ['-c', `"$@" & p=$!; peak=0; while kill -0 $p 2>/dev/null; do v=$(awk '/VmHWM/{print $2}' /proc/$p/status 2>/dev/null); [ -n "$v" ] && peak=$v; sleep 0.05; done; wait $p; echo $peak`, 'rss', ...argv], { encoding: 'utf8' });
  return Number(r.stdout.trim().split('\n').pop());
}

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main() {
  prepare();
  const results = [];
  const log = path.join(WORK, 'netlog.jsonl');
  for (const w of workloads) {
    const t = { bare: [], netlog: [], strace: [] };
    let complete = true;
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of ['bare', 'netlog', 'strace']) {
        w.before?.();
        const cmd = w.cmd();
        let argv;
        if (variant === 'bare') argv = ['bash', '-c', cmd];
        else if (variant === 'netlog') {
          fs.rmSync(log, { force: true });
          argv = [process.execPath, NETLOG, '-q', '-o', log, '--', 'bash', '-c', cmd];
        } else argv = ['strace', '-f', '-qq', '--seccomp-bpf', '-e', STRACE_SET, '-o', '/dev/null', 'bash', '-c', cmd];
        if (w.startup && variant !== 'strace') argv = variant === 'bare' ? ['/bin/true'] : [process.execPath, NETLOG, '-q', '-o', log, '--', '/bin/true'];
        t[variant].push(timed(argv));
        if (variant === 'netlog') {
          const records = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
          const gapless = records.every((r, i) => r.seq === i + 1);
          if (!w.check(records) || !gapless) complete = false;
        }
      }
    }
    const bare = median(t.bare);
    const row = {
      workload: w.name,
      rounds: ROUNDS,
      bare_ms: { median: bare, min: Math.min(...t.bare), max: Math.max(...t.bare) },
      netlog_ratio: { median: median(t.netlog) / bare, min: Math.min(...t.netlog) / bare, max: Math.max(...t.netlog) / bare },
      strace_ratio: { median: median(t.strace) / bare, min: Math.min(...t.strace) / bare, max: Math.max(...t.strace) / bare },
      netlog_ms: median(t.netlog),
      records_complete: complete,
    };
    if (w.startup) row.startup_overhead_ms = median(t.netlog) - bare;
    results.push(row);
    print(row);
  }
  const rss = peakRssKb([process.execPath, NETLOG, '-q', '-o', log, '--', 'bash', '-c', workloads[2].cmd()]);
  const out = { date: new Date().toISOString(), kernel: os.release(), cpus: os.cpus().length, results, netlog_peak_rss_kb_net_workload: rss };
  fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  const file = path.join(ROOT, 'bench', 'results', 'latest.json');
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`netlog-run peak RSS on the connect workload: ${(rss / 1024).toFixed(1)} MiB`);
  console.log(`saved ${path.relative(process.cwd(), file)}`);
  fs.rmSync(WORK, { recursive: true, force: true });
}

function fmt(r) {
  return `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
}

let header = false;
function print(row) {
  if (!header) {
    console.log(`${'workload'.padEnd(30)} ${'bare ms'.padStart(9)}  ${'netlog'.padEnd(22)} ${'strace'.padEnd(22)} records`);
    header = true;
  }
  const extra = row.startup_overhead_ms !== undefined ? `  (+${row.startup_overhead_ms.toFixed(0)} ms)` : '';
  console.log(`${row.workload.padEnd(30)} ${row.bare_ms.median.toFixed(1).padStart(9)}  ${fmt(row.netlog_ratio).padEnd(22)} ${fmt(row.strace_ratio).padEnd(22)} ${row.records_complete ? 'complete' : 'INCOMPLETE'}${extra}`);
}

main();
