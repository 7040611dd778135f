// JSON Lines record format, schema version 1 (docs/records.md): keys in the contract's
// order; internal fields (boot time, accepted) are not written. Characters
// that JSON leaves raw but a terminal or a line splitter would act on (C1,
// U+2028, bidi controls) are written as \uXXXX escapes.
import { jsonSafe } from './escape.js';
import { isRunRecord, type Endpoint, type EventRecord, type NetInfo, type ProcInfo, type RunRecord } from './types.js';

const endpoint = (e: Endpoint): Endpoint => ({ ip: e.ip, port: e.port });

function net(n: NetInfo): object {
  return n.remote
    ? { proto: n.proto, family: n.family, local: endpoint(n.local), remote: endpoint(n.remote) }
    : { proto: n.proto, family: n.family, local: endpoint(n.local) };
}

function proc(p: ProcInfo): ProcInfo {
  return {
    pid: p.pid, tid: p.tid, ppid: p.ppid, sid: p.sid, pgid: p.pgid, tty: p.tty,
    uid: p.uid, gid: p.gid, euid: p.euid, egid: p.egid, auid: p.auid, ses: p.ses,
    exe: p.exe, comm: p.comm,
  };
}

// One object, built in the contract's key order and stringified once (a
// record is written for every trapped call: no spreads, no second pass
// unless an unsafe character is there).
export function formatJson(rec: EventRecord | RunRecord): string {
  const out: Record<string, unknown> = { v: rec.v, seq: rec.seq, ts: rec.ts, event: rec.event };
  if (rec.session !== undefined) out.session = rec.session;
  if (isRunRecord(rec)) {
    out.run = rec.run;
    return jsonSafe(JSON.stringify(out));
  }
  out.proc = proc(rec.proc);
  if (rec.net) out.net = net(rec.net);
  if (rec.exec) {
    const e = rec.exec;
    out.exec = { file: e.file, path: e.path, argv: e.argv, cwd: e.cwd, argv_truncated: e.argv_truncated };
  }
  if (rec.result !== undefined) out.result = rec.result;
  if (rec.outcome !== undefined) out.outcome = rec.outcome;
  if (rec.blocked) {
    out.blocked = true;
    if (rec.via !== undefined) out.via = rec.via;
  }
  return jsonSafe(JSON.stringify(out));
}
