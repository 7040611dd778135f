// JSON Lines record format, schema version 1 (SPEC §4): keys in the contract's
// order; internal fields (boot time, accepted) are not written.
import { isRunRecord, type EventRecord, type NetInfo, type RunRecord } from './types.js';

function net(n: NetInfo): object {
  const out: Record<string, unknown> = { proto: n.proto, family: n.family, local: n.local };
  if (n.remote) out.remote = n.remote;
  return out;
}

export function formatJson(rec: EventRecord | RunRecord): string {
  if (isRunRecord(rec)) return JSON.stringify(rec);
  const out: Record<string, unknown> = { v: rec.v, seq: rec.seq, ts: rec.ts, event: rec.event, proc: rec.proc };
  if (rec.net) out.net = net(rec.net);
  if (rec.exec) out.exec = rec.exec;
  if (rec.result !== undefined) out.result = rec.result;
  return JSON.stringify(out);
}
