#!/usr/bin/env node
// netlog report on a 100,000-record log (the size a long CI job reaches):
// wall time of `netlog report` for each format, best of 3 runs. The log is
// synthetic (execs, connects with blocked ones, binds, accepts, closes).
// Usage: node bench/report.js [RECORDS]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 100_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netlog-bench-report-'));
try {
  const log = path.join(dir, 'netlog.jsonl');
  const out = fs.openSync(log, 'w');
  const proc = (pid) => ({ pid, tid: pid, ppid: pid - 1, sid: 1, pgid: 1, tty: null, uid: 1001, gid: 1001, euid: 1001, egid: 1001, auid: null, ses: null, exe: `/usr/bin/tool${pid % 40}`, comm: 'tool' });
  let seq = 0;
  let buf = '';
  const put = (o) => {
    buf += JSON.stringify({ v: 1, seq: ++seq, ts: '2026-12-02T08:00:00.000000Z', event: o.event, ...o }) + '\n';
    if (buf.length > 1 << 20) {
      fs.writeSync(out, buf);
      buf = '';
    }
  };
  const runs = 10;
  for (let r = 0; r < runs; r++) {
    seq = 0;
    put({ event: 'start', run: { version: '0.1.0', pid: 1, command: ['bash', '-e', `/tmp/step${r}.sh`], uid: 1001, config_digest: 'x' } });
    for (let i = 0; i < N / runs - 2; i++) {
      const pid = 1000 + ((r * 977 + i) % 5000);
      switch (i % 5) {
        case 0:
          put({ event: 'exec', proc: proc(pid), exec: { file: `/usr/bin/tool${i % 300}`, argv: ['tool', '--flag', String(i)], cwd: '/work', argv_truncated: false } });
          break;
        case 1:
        case 2:
          put({ event: 'connect', proc: proc(pid), net: { proto: i % 2 ? 'tcp' : 'udp', family: 'ipv4', local: { ip: '10.0.0.5', port: 40000 + (i % 20000) }, remote: { ip: `10.${i % 7}.${i % 13}.${i % 250}`, port: 443 } }, result: i % 97 === 0 ? 'EPERM' : 'ok', ...(i % 97 === 0 && { blocked: true, via: 'connect' }) });
          break;
        case 3:
          put({ event: 'bind', proc: proc(pid), net: { proto: 'udp', family: 'ipv4', local: { ip: '0.0.0.0', port: 5000 + (i % 50) } } });
          break;
        default:
          put({ event: 'close', proc: proc(pid), net: { proto: 'tcp', family: 'ipv4', local: { ip: '10.0.0.5', port: 40000 }, remote: { ip: '10.1.1.1', port: 443 } } });
      }
    }
    put({ event: 'end', run: { exit_code: 0, signal: null, records: seq, hidden: 0, refused: 0 } });
  }
  fs.writeSync(out, buf);
  fs.closeSync(out);
  const size = fs.statSync(log).size;
  const lines = fs.readFileSync(log, 'utf8').split('\n').length - 1;
  console.log(`netlog report: ${lines} records, ${(size / 1e6).toFixed(1)} MB, best of 3 (limit: 2 s)`);
  for (const format of ['text', 'markdown', 'json']) {
    let best = Infinity;
    for (let k = 0; k < 3; k++) {
      const t0 = process.hrtime.bigint();
      execFileSync(process.execPath, [path.join(ROOT, 'bin', 'netlog.js'), 'report', '--format', format, log], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    console.log(`  --format ${format.padEnd(8)} ${best.toFixed(0).padStart(6)} ms`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
