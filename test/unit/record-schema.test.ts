// docs/record-schema.json binds the rest: the generated types are current,
// the hand-written types agree with them (src/record/schema-check.ts, compiled
// here with tsc, and shown to fail on a drifted type), what the formatters
// write is valid, the checker rejects what is not, and docs/records.md
// names every field and kind of the schema and its examples are valid.
// test/live/record-schema.test.ts holds the records of real programs to it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { formatJson } from '../../src/record/json.js';
import type { EventRecord, RunRecord } from '../../src/record/types.js';
import { daemonFormatter, type LoginRecord } from '../../src/daemon/records.js';
import { validate, type Schema } from '../json-schema.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'record-schema.json'), 'utf8')) as Schema;
const DEFS = SCHEMA.$defs as Record<string, Schema>;
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netlog-record-schema-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const check = (line: string): string[] => validate(SCHEMA, JSON.parse(line));

// ---- records as the supervisor and the CLI build them ----------------------
const proc = { pid: 10, tid: 11, ppid: 1, sid: 10, pgid: 10, tty: 'pts/0', uid: 1000, gid: 1000, euid: 1000, egid: 1000, auid: 1000, ses: 3, exe: '/usr/bin/curl', comm: 'curl', exe_id: '2049:12' };
const noTty = { ...proc, tty: null, auid: null, ses: null };
const ev = (o: Partial<EventRecord> & Pick<EventRecord, 'event'>): EventRecord => ({ v: 1, seq: 2, ts: '2026-12-02T13:33:04.985997Z', boot: [12, 345], session: 'b6563a58fd26c36d', proc, ...o });
const tcp = (remote = true) => ({
  proto: 'tcp' as const, family: 'ipv4' as const, local: { ip: '127.0.0.1', port: 37282 },
  ...(remote && { remote: { ip: '127.0.0.1', port: 8000 } }),
});
const run = (event: RunRecord['event'], r: RunRecord['run'], session: string | undefined = 'b6563a58fd26c36d'): RunRecord => ({
  v: 1, seq: 1, ts: '2026-12-02T13:33:04.000001Z', ...(session !== undefined && { session }), event, run: r,
});
const DIGEST = 'a'.repeat(64);

const EVENTS: EventRecord[] = [
  ev({ event: 'exec', proc: noTty, exec: { file: '/usr/bin/curl', path: 'curl', argv: ['curl', '-s', 'http://127.0.0.1:8000/'], cwd: '/root', argv_truncated: false, id: '2049:12' } }),
  ev({ event: 'connect', net: tcp(), result: 'EINPROGRESS' }),
  ev({ event: 'connect', net: { ...tcp(), proto: 'udp' } }),
  ev({ event: 'connect', net: { ...tcp(), family: 'ipv6', local: { ip: '::', port: 0 }, remote: { ip: '::ffff:1.2.3.4', port: 443 } }, result: 'EPERM', blocked: true, via: 'sendto' }),
  ev({ event: 'accept', net: tcp(), result: 'ok' }),
  ev({ event: 'bind', net: { ...tcp(false), proto: 'udp', local: { ip: '0.0.0.0', port: 5353 } } }),
  ev({ event: 'close', net: { ...tcp(), accepted: false }, outcome: 'established' }),
  ev({ event: 'close', net: { ...tcp(), accepted: false }, outcome: 'ECONNREFUSED' }),
  ev({ event: 'close', net: { ...tcp(), accepted: true } }),
  ev({ event: 'close', net: { ...tcp(false), proto: 'udp', accepted: false } }),
];
const RUNS: RunRecord[] = [
  run('start', { version: '0.1.0', pid: 4242, command: ['bash', '-c', 'curl x'], uid: 0, config_digest: DIGEST }),
  run('start', { version: '0.1.0', pid: 4242, command: ['curl'], uid: 0, config_digest: DIGEST, egress: { mode: 'block', allow: ['127.0.0.1:80'] } }),
  run('reload', { status: 'applied', config_digest: DIGEST }),
  run('reload', { status: 'refused', config_digest: DIGEST, error: "/etc/netlog.conf:2: unknown key 'bogus'" }),
  run('end', { exit_code: 0, signal: null, records: 9, hidden: 0, refused: 0 }),
  run('end', { exit_code: 143, signal: 'SIGTERM', records: 1, hidden: 2, refused: 3 }, undefined), // netlogd's own: no session
];
const LOGINS: LoginRecord[] = [
  { v: 1, seq: 2, ts: '2026-12-02T13:33:04.000002Z', event: 'start', session: 'e34610b2c8ef6d76', login: { user: 'alice', uid: 1001, gid: 1001, pid: 4242, tty: 'pts/1', auid: 1001, ses: 7, client: { ip: '192.0.2.7', port: 50122 }, argv: ['-netlog-shell'], shell: '/bin/bash' } },
  { v: 1, seq: 3, ts: '2026-12-02T13:33:04.000003Z', event: 'start', session: 'e34610b2c8ef6d76', login: { user: 'bob', uid: 1002, gid: 1002, pid: 4243, tty: null, auid: null, ses: null, client: null, argv: ['netlog-shell', '-c', 'id'], shell: '/bin/sh' } },
  { v: 1, seq: 40, ts: '2026-12-02T13:33:04.000040Z', event: 'end', session: 'e34610b2c8ef6d76', login: { user: 'alice', pid: 4242, exit_code: null, signal: null, reason: 'netlogd stopped', hidden: 0 } },
];

describe('the record schema', () => {
  it('src/record/schema-types.ts is what scripts/gen-record-types.js writes from it', async () => {
    const r = await execa(process.execPath, [path.join(ROOT, 'scripts', 'gen-record-types.js'), '--stdout']);
    expect(fs.readFileSync(path.join(ROOT, 'src', 'record', 'schema-types.ts'), 'utf8')).toBe(r.stdout + '\n');
  });

  it('the hand-written types agree with it (tsc), and the check fails on a type that drifted', async () => {
    // One tsc run: the real check (schema-check.ts, and what it imports) and
    // the same check on types that drifted each way: a field the schema
    // lacks, a field the schema has and TS lacks, a field TS requires and the
    // schema does not.
    const src = (p: string) => JSON.stringify(path.join(ROOT, 'src', p));
    const file = path.join(dir, 'drift.ts');
    fs.writeFileSync(
      file,
      `import type { Agrees, Assert } from ${src('record/schema-check.js')};
import type * as J from ${src('record/schema-types.js')};
import type { EventRecord } from ${src('record/types.js')};
type Written = Omit<EventRecord, 'boot'>;
export type A = Assert<Agrees<Written & { cgroup?: string }, J.EventRecordJson>>;
export type B = Assert<Agrees<Omit<Written, 'via'>, J.EventRecordJson>>;
export type C = Assert<Agrees<Written & { result: string }, J.EventRecordJson>>;
export type D = Assert<Agrees<Written, J.EventRecordJson>>;
`,
    );
    const opts = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node'];
    const r = await execa(TSC, [...opts, path.join(ROOT, 'src', 'record', 'schema-check.ts'), file], { reject: false, cwd: ROOT });
    const errors = r.stdout.split('\n').filter((l) => l.includes('error TS'));
    // Exactly A, B and C fail (lines 5-7): nothing in schema-check.ts, nor D, the real one.
    expect(errors.map((l) => /^(.*)\((\d+),/.exec(l)?.slice(1).map((x) => path.basename(x)).join(':'))).toEqual(['drift.ts:5', 'drift.ts:6', 'drift.ts:7']);
  });

  it('holds what formatJson writes, every kind of record, and the login records of netlogd', () => {
    for (const rec of [...EVENTS, ...RUNS]) expect(check(formatJson(rec)), formatJson(rec)).toEqual([]);
    const login = daemonFormatter(formatJson);
    for (const rec of LOGINS) expect(check(login(rec as never)), login(rec as never)).toEqual([]);
  });

  it('rejects unknown and missing fields, wrong values and half of blocked/via', () => {
    const line = (o: object) => JSON.stringify(o);
    const connect = JSON.parse(formatJson(EVENTS[1]!));
    expect(check(line({ ...connect, extra: 1 }))).toEqual(['$: unexpected extra']);
    expect(check(line({ ...connect, proc: { ...connect.proc, exe_id: '1:2' } }))).toEqual(['$.proc: unexpected exe_id']);
    const { session: _s, ...noSession } = connect;
    expect(check(line(noSession))).toEqual(['$: missing session']);
    expect(check(line({ ...connect, blocked: true }))).toEqual(['$: blocked without via']);
    expect(check(line({ ...connect, result: 'refused' }))).toEqual(['$.result: "refused" does not match ^(ok|E[A-Z0-9]+)$']);
    expect(check(line({ ...connect, net: { ...connect.net, remote: undefined } }))).toEqual(['$.net: missing remote']);
    expect(check(line({ ...connect, ts: '2026-12-02T13:33:04.985Z' }))).toHaveLength(1);
    const bind = JSON.parse(formatJson(EVENTS[5]!));
    expect(check(line({ ...bind, net: tcp() }))).toEqual(['$.net: unexpected remote']);
    expect(check(line({ ...bind, result: 'ok' }))).toEqual(['$: unexpected result']);
    const exec = JSON.parse(formatJson(EVENTS[0]!));
    expect(check(line({ ...exec, exec: { ...exec.exec, argvTruncated: false } }))).toEqual(['$.exec: unexpected argvTruncated']);
    const end = JSON.parse(formatJson(RUNS[4]!));
    expect(check(line({ ...end, run: { ...end.run, records: undefined } }))).toEqual(['$.run: missing records']);
    expect(check(line({ ...end, event: 'notice' }))).not.toEqual([]);
  });

  it('describes every record docs/records.md shows, and records.md names every field and kind of it', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'records.md'), 'utf8');
    expect(doc).toContain('(record-schema.json)');
    const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const e of examples) expect(validate(SCHEMA, JSON.parse(e)), e).toEqual([]);
    // Every field name of the records (netlogd's login ones are in login-sessions.md).
    const fields = new Set<string>();
    for (const name of ['exec', 'connect', 'accept', 'bind', 'close', 'start', 'end', 'reload', 'proc', 'net', 'exec_info', 'start_info', 'end_info']) {
      for (const k of Object.keys(DEFS[name]!.properties as object)) fields.add(k);
    }
    for (const s of DEFS.reload_info!.oneOf as Schema[]) for (const k of Object.keys(s.properties as object)) fields.add(k);
    fields.add('egress');
    const missing = [...fields].filter((f) => !doc.includes(`\`${f}\``));
    expect(missing).toEqual([]);
    expect(doc).toContain(`(\`{${Object.keys(DEFS.endpoint!.properties as object).join(', ')}}\`)`);
    // Every kind in the first column of the table of what is recorded.
    const kinds = doc.slice(doc.indexOf('## What is recorded'), doc.indexOf('## JSON'));
    for (const kind of ['exec', 'connect', 'accept', 'bind', 'close', 'start', 'end', 'reload']) expect(kinds, kind).toMatch(new RegExp(`\\n\\| [^|\\n]*\`${kind}\``));
    const login = fs.readFileSync(path.join(ROOT, 'docs', 'login-sessions.md'), 'utf8');
    for (const name of ['login_start_info', 'login_end_info']) {
      for (const k of Object.keys(DEFS[name]!.properties as object)) expect(login, k).toContain(`"${k}"`);
    }
  });
});
