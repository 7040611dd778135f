// The record: what netlog writes for each event (docs/records.md, schema version 1).
// Formatters (json, text, seed) and the whitelist matchers work on these types only.
// The shape of a record is docs/record-schema.json: the parts are its generated
// types (schema-types.ts) plus what a record carries in memory but never writes;
// EventRecord and RunRecord, built field by field by the supervisor and the
// CLI, are checked against it in schema-check.ts.
import type * as J from './schema-types.js';

export type EventKind = J.RecordJson['event'];

/** Identity of the process that made the call, read from /proc by the supervisor. */
export type ProcInfo = J.ProcJson & {
  /** "dev:ino" of the program, for the network whitelist. Not serialised. */
  exe_id?: string;
};

export type Endpoint = J.EndpointJson;

export type NetInfo = J.NetJson & {
  /** For close: true when the socket came from accept (service port is the local port). Not serialised. */
  accepted?: boolean;
};

export type ExecInfo = J.ExecInfoJson & {
  /** "dev:ino" of the file run, for the exec whitelist. Not serialised. */
  id?: string;
};

export interface EventRecord {
  v: 1;
  seq: number;
  ts: string; // ISO 8601 UTC with microseconds
  /** Seconds since boot (CLOCK_BOOTTIME) for the seed format: [secs, usecs]. Not serialised to JSON. */
  boot?: [number, number];
  event: J.EventRecordJson['event'];
  /** The run or login session this record belongs to (16 hex digits): set by the RecordWriter with seq, or by netlogd per login. */
  session?: string;
  proc: ProcInfo;
  net?: NetInfo;
  exec?: ExecInfo;
  /** errno name ("ECONNREFUSED") or "ok" where the outcome is known. */
  result?: string;
  /**
   * close of a TCP socket whose connect was recorded: "established" if the
   * handshake completed, else why it did not: an errno name (ECONNREFUSED,
   * ETIMEDOUT...), "EINPROGRESS" (still under way at close), or "failed"
   * (the program had already collected the error).
   */
  outcome?: string;
  /** Refused by --egress block (result EPERM); `via` names the call: connect, sendto, sendmsg, sendmmsg. */
  blocked?: boolean;
  via?: string;
}

/** The run's own records: `start` (first) and `end` (last). */
export interface RunRecord {
  v: 1;
  seq: number;
  ts: string;
  boot?: [number, number];
  event: J.RunRecordJson['event'];
  /** As EventRecord.session. */
  session?: string;
  run: StartInfo | EndInfo | ReloadInfo;
}

/** A SIGHUP re-read of the config file: applied, or refused whole (with why). */
export type ReloadInfo = J.ReloadInfoJson;

export type StartInfo = J.StartInfoJson;

export type EndInfo = J.EndInfoJson;

export type AnyRecord = EventRecord | RunRecord;

export function isRunRecord(rec: AnyRecord): rec is RunRecord {
  return rec.event === 'start' || rec.event === 'end' || rec.event === 'reload';
}
