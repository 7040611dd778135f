// netlogd's session records: `start` and `end` of each login session (user,
// tty, loginuid/ses, ssh client; exit status where known), and the formatter
// that writes them beside the event records (JSON in both json and seed logs).
import type * as J from '../record/schema-types.js';
import type { AnyRecord } from '../record/types.js';
import type { Formatter } from '../record/writer.js';

/**
 * The facts of a login (docs/record-schema.json, login_start_info): netlog-shell's
 * pid is the real shell's; `client` is SSH_CONNECTION as the login's
 * environment had it, null without one.
 */
export type LoginStart = J.LoginStartInfoJson;

/**
 * How a login ended (login_end_info): the real shell's exit status, null when
 * netlogd could not learn it; `reason` "exit" (no process left in the
 * session) or "netlogd stopped".
 */
export type LoginEnd = J.LoginEndInfoJson;

export interface LoginRecord {
  v: 1;
  seq: number;
  ts: string;
  event: 'start' | 'end';
  session: string;
  login: LoginStart | LoginEnd;
}

export type DaemonRecord = AnyRecord | LoginRecord;

function isLogin(rec: DaemonRecord): rec is LoginRecord {
  return 'login' in rec;
}

/** Wraps the log's formatter: session records are always JSON. */
export function daemonFormatter(inner: Formatter): Formatter {
  return (rec) => {
    const r = rec as DaemonRecord;
    if (isLogin(r)) return JSON.stringify({ v: r.v, seq: r.seq, ts: r.ts, event: r.event, session: r.session, login: r.login });
    return inner(r);
  };
}

/** The writer takes AnyRecord; session records pass through daemonFormatter only. */
export function asWritable(rec: LoginRecord): AnyRecord {
  return rec as unknown as AnyRecord;
}

/** SSH_CONNECTION is "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT". */
export function sshClient(value: string | null | undefined): { ip: string; port: number } | null {
  if (!value) return null;
  const [ip, port] = value.trim().split(/\s+/);
  const n = Number(port);
  if (!ip || !Number.isInteger(n) || n < 0 || n > 65535) return null;
  return { ip, port: n };
}
