// netlog report: runs told apart (start records, seq starting again, the
// `session` field), programs and the process tree, destinations, listeners,
// blocked calls, losses (seq gaps, no end, unparsable lines), the allow list,
// and the JSON output checked against docs/report-schema.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readLogs } from '../../src/report/read.js';
import { allowList, renderMarkdown, renderText } from '../../src/report/render.js';
import { parseAllowEntry } from '../../src/egress/entry.js';
import { validate, type Schema } from '../json-schema.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netlog-report-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'report-schema.json'), 'utf8')) as Schema;

// ---- logs -------------------------------------------------------------------
const proc = (pid: number, ppid: number, exe: string) => ({ pid, tid: pid, ppid, sid: 1, pgid: pid, tty: null, uid: 1000, gid: 1000, euid: 1000, egid: 1000, auid: null, ses: null, exe, comm: path.basename(exe) });
let seq = 0;
const rec = (o: Record<string, unknown>) => JSON.stringify({ v: 1, seq: ++seq, ts: `2026-12-02T08:00:00.${String(seq).padStart(6, '0')}Z`, ...o });
const start = (command: string[], extra: Record<string, unknown> = {}) => {
  seq = 0;
  return rec({ event: 'start', run: { version: '0.1.0', pid: 1, command, uid: 1000, config_digest: 'x', ...extra } });
};
const exec = (pid: number, ppid: number, file: string, argv: string[]) => rec({ event: 'exec', proc: proc(pid, ppid, '/usr/bin/bash'), exec: { file, argv, cwd: '/', argv_truncated: false } });
const connect = (pid: number, exe: string, proto: string, ip: string, port: number, result: string, blocked?: string) =>
  rec({ event: 'connect', proc: proc(pid, 1, exe), net: { proto, family: ip.includes(':') ? 'ipv6' : 'ipv4', local: { ip: '0.0.0.0', port: 0 }, remote: { ip, port } }, result, ...(blocked && { blocked: true, via: blocked }) });
const end = (exit_code: number, refused = 0) => rec({ event: 'end', run: { exit_code, signal: null, records: seq, hidden: 0, refused } });

const LOG1 = [
  start(['bash', '-c', 'curl x'], { egress: { mode: 'block', allow: ['127.0.0.1:80'] } }),
  exec(10, 1, '/usr/bin/bash', ['bash', '-c', 'curl x']),
  exec(11, 10, '/usr/bin/curl', ['curl', 'http://127.0.0.1/']),
  exec(12, 10, '/usr/bin/curl', ['curl', 'http://[::1]:8080/']),
  connect(11, '/usr/bin/curl', 'tcp', '127.0.0.1', 80, 'ok'),
  connect(11, '/usr/bin/curl', 'tcp', '127.0.0.1', 80, 'EINPROGRESS'),
  connect(12, '/usr/bin/curl', 'tcp', '::1', 8080, 'EPERM', 'connect'),
  connect(13, '/usr/bin/dig', 'udp', '10.0.0.53', 53, 'EPERM', 'sendto'),
  rec({ event: 'bind', proc: proc(20, 10, '/usr/bin/python3.12'), net: { proto: 'tcp', family: 'ipv4', local: { ip: '0.0.0.0', port: 8000 } } }),
  rec({ event: 'accept', proc: proc(20, 10, '/usr/bin/python3.12'), net: { proto: 'tcp', family: 'ipv4', local: { ip: '127.0.0.1', port: 8000 }, remote: { ip: '127.0.0.1', port: 50000 } }, result: 'ok' }),
  end(0, 2),
  'this is not json',
  '',
  '{"truncated": ',
  // a second run in the same file, with a gap (seq 3 and 4 missing) and no end record
  start(['make']),
  exec(30, 1, '/usr/bin/make', ['make']),
].join('\n');

describe('netlog report', () => {
  const file1 = path.join(dir, 'job.jsonl');
  const file2 = path.join(dir, 'other.jsonl');
  const lines = LOG1.split('\n');
  // seq gap: drop the records 3 and 4 of the second run by renumbering its last record
  lines[lines.length - 1] = lines[lines.length - 1]!.replace('"seq":2', '"seq":5');
  fs.writeFileSync(file1, lines.join('\n') + '\n');
  // sessions: records of two runs interleaved in one file
  fs.writeFileSync(
    file2,
    [
      JSON.stringify({ v: 1, seq: 1, ts: 't', event: 'start', session: 'aaa', run: { command: ['a'] } }),
      JSON.stringify({ v: 1, seq: 1, ts: 't', event: 'start', session: 'bbb', run: { command: ['b'] } }),
      JSON.stringify({ v: 1, seq: 2, ts: 't', event: 'connect', session: 'aaa', proc: proc(1, 0, '/bin/a'), net: { proto: 'udp', remote: { ip: '192.0.2.1', port: 123 } }, result: 'ok' }),
      JSON.stringify({ v: 1, seq: 2, ts: 't', event: 'end', session: 'bbb', run: { exit_code: 1, signal: null, refused: 0 } }),
      JSON.stringify({ v: 1, seq: 3, ts: 't', event: 'end', session: 'aaa', run: { exit_code: 0, signal: null, refused: 0 } }),
    ].join('\n') + '\n',
  );

  it('tells runs apart, counts programs, destinations, listeners, blocked calls and losses', async () => {
    const r = await readLogs([file1, file2]);
    expect(r.runs.map((x) => x.command)).toEqual([['bash', '-c', 'curl x'], ['make'], ['a'], ['b']]);
    const [one, two, a, b] = r.runs;
    expect(one!.programs.map((p) => [p.file, p.count])).toEqual([['/usr/bin/curl', 2], ['/usr/bin/bash', 1]]);
    expect(one!.programs[0]!.example_argv).toEqual(['curl', 'http://127.0.0.1/']);
    expect(one!.tree).toHaveLength(1);
    expect(one!.tree[0]!.file).toBe('/usr/bin/bash');
    expect(one!.tree[0]!.children.map((c) => c.pid)).toEqual([11, 12]);
    expect(one!.destinations).toEqual([
      { proto: 'tcp', ip: '::1', port: 8080, programs: ['/usr/bin/curl'], count: 1, results: { EPERM: 1 }, blocked: 1, blocked_via: ['connect'], blocked_programs: ['/usr/bin/curl'] },
      { proto: 'udp', ip: '10.0.0.53', port: 53, programs: ['/usr/bin/dig'], count: 1, results: { EPERM: 1 }, blocked: 1, blocked_via: ['sendto'], blocked_programs: ['/usr/bin/dig'] },
      { proto: 'tcp', ip: '127.0.0.1', port: 80, programs: ['/usr/bin/curl'], count: 2, results: { EINPROGRESS: 1, ok: 1 }, blocked: 0 },
    ]);
    expect(one!.listeners).toEqual([{ proto: 'tcp', ip: '0.0.0.0', port: 8000, programs: ['/usr/bin/python3.12'], binds: 1, accepted: 1, peers: [{ ip: '127.0.0.1', count: 1 }] }]);
    expect(one!.refusals).toEqual({ refused: 2, blocked: 2 });
    expect(one!.egress).toEqual({ mode: 'block', allow: ['127.0.0.1:80'] });
    expect(one!.losses).toEqual({ seq_gaps: [], missing_records: 0, no_start: false, no_end: false });
    expect(two!.losses).toEqual({ seq_gaps: [{ after: 1, missing: 3 }], missing_records: 3, no_start: false, no_end: true });
    expect([a!.session, a!.exit_code, b!.session, b!.exit_code]).toEqual(['aaa', 0, 'bbb', 1]);
    expect(a!.destinations[0]).toMatchObject({ proto: 'udp', ip: '192.0.2.1', port: 123 });
    expect(r.losses).toEqual({ unparsable_lines: 2, unparsable_at: [{ file: file1, line: 12 }, { file: file1, line: 14 }], runs_without_end: 1, missing_records: 3 });
    expect(r.total.refusals.blocked).toBe(2);
  });

  it('the JSON output of the command matches docs/report-schema.json (and the checker finds a broken one)', async () => {
    const out = await execa(process.execPath, [path.join(ROOT, 'bin', 'netlog.js'), 'report', '--format', 'json', file1, file2], { reject: false });
    expect(out.exitCode).toBe(0);
    const report = JSON.parse(String(out.stdout));
    expect(validate(SCHEMA, report)).toEqual([]);
    const broken = { ...report, total: { ...report.total, records: -1 }, extra: 1 };
    delete broken.losses;
    expect(validate(SCHEMA, broken)).toEqual(['$: missing losses', '$.total.records: -1 < 0', '$: unexpected extra']);
  });

  it('--allow-list prints entries that parse and allow exactly the logged destinations, per program', async () => {
    const r = await readLogs([file1, file2]);
    const entries = allowList(r);
    expect(entries).toEqual(['/bin/a=192.0.2.1:123', '/usr/bin/curl=127.0.0.1:80', '/usr/bin/curl=[::1]:8080', '/usr/bin/dig=10.0.0.53:53']);
    for (const e of entries) expect(parseAllowEntry(e).canonical).toBe(e);
  });

  it('text and markdown name the blocked calls and the losses', async () => {
    const r = await readLogs([file1]);
    const text = renderText(r);
    expect(text).toContain('TCP [::1]:8080  ×1  EPERM  /usr/bin/curl  BLOCKED 1 (connect, /usr/bin/curl)');
    expect(text).toContain('LOSS: 3 record(s) missing after seq 1');
    expect(text).toContain('LOSS: no end record');
    expect(text).toContain('LOSS: 2 line(s) are not records');
    const md = renderMarkdown(r);
    expect(md).toMatch(/^### netlog: 2 run\(s\), 3 destination\(s\), 2 blocked/);
    expect(md).toContain('| tcp | `[::1]:8080` | `/usr/bin/curl` | 1 | connect |');
    expect(md).toContain('<details><summary>Process tree</summary>');
  });

  it('a missing log: one netlog: line and exit 1; a bad option: exit 2', async () => {
    const missing = await execa(process.execPath, [path.join(ROOT, 'bin', 'netlog.js'), 'report', path.join(dir, 'nope')], { reject: false });
    expect(missing.exitCode).toBe(1);
    expect(String(missing.stderr)).toBe(`netlog: cannot read ${path.join(dir, 'nope')}: no such file`);
    const bad = await execa(process.execPath, [path.join(ROOT, 'bin', 'netlog.js'), 'report', '--format', 'xml', file1], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr).split('\n')[0]).toBe("netlog: report: --format 'xml': expected text, markdown or json");
  });

  it('counts how connections ended from the close records: EINPROGRESS is not established', async () => {
    const file = path.join(dir, 'outcomes.jsonl');
    const close = (outcome: string, port: number) =>
      rec({ event: 'close', proc: proc(11, 1, '/usr/bin/curl'), net: { proto: 'tcp', family: 'ipv4', local: { ip: '127.0.0.1', port }, remote: { ip: '127.0.0.1', port: 9 } }, outcome });
    fs.writeFileSync(
      file,
      [
        start(['curl']),
        connect(11, '/usr/bin/curl', 'tcp', '127.0.0.1', 9, 'EINPROGRESS'),
        close('ECONNREFUSED', 40000),
        connect(11, '/usr/bin/curl', 'tcp', '127.0.0.1', 9, 'EINPROGRESS'),
        close('established', 40001),
        end(7),
      ].join('\n') + '\n',
    );
    const r = await readLogs([file]);
    const d = r.total.destinations[0]!;
    expect(d.results).toEqual({ EINPROGRESS: 2 });
    expect(d.outcomes).toEqual({ ECONNREFUSED: 1, established: 1 });
    expect(renderText(r)).toContain('EINPROGRESS (closed: ECONNREFUSED×1 established×1)');
    expect(validate(SCHEMA, JSON.parse(JSON.stringify(r)))).toEqual([]);
  });
});
