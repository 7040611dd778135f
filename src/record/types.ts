// The record: what netlog writes for each event (docs/records.md, schema version 1).
// Formatters (json, text, seed) and the whitelist matchers work on these types only.

export type EventKind = 'exec' | 'connect' | 'accept' | 'bind' | 'close' | 'start' | 'end' | 'notice';

/** Identity of the process that made the call, read from /proc by the supervisor. */
export interface ProcInfo {
  pid: number; // thread group id
  tid: number;
  ppid: number;
  sid: number;
  pgid: number;
  /** Long name as in /dev ("pts/0", "tty1"), or null without a controlling terminal. */
  tty: string | null;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  /** loginuid; null when unset (4294967295 in the kernel). */
  auid: number | null;
  ses: number | null;
  /** Real path of the program (readlink /proc/PID/exe). */
  exe: string;
  comm: string;
  /** "dev:ino" of the program, for the network whitelist. Not serialised. */
  exe_id?: string;
}

export interface Endpoint {
  ip: string; // IPv4 dotted, or IPv6 in RFC 5952 form (v4-mapped stays IPv6)
  port: number;
}

export interface NetInfo {
  proto: 'tcp' | 'udp';
  family: 'ipv4' | 'ipv6';
  local: Endpoint;
  /** Absent for bind. */
  remote?: Endpoint;
  /** For close: true when the socket came from accept (service port is the local port). */
  accepted?: boolean;
}

export interface ExecInfo {
  /** The real path of the file run, in the caller's root, every symbolic link followed. */
  file: string;
  /** The path argument of execve/execveat exactly as the caller passed it. */
  path: string;
  argv: string[];
  cwd: string;
  argv_truncated: boolean;
  /** "dev:ino" of the file run, for the exec whitelist. Not serialised. */
  id?: string;
}

export interface EventRecord {
  v: 1;
  seq: number;
  ts: string; // ISO 8601 UTC with microseconds
  /** Seconds since boot (CLOCK_BOOTTIME) for the seed format: [secs, usecs]. Not serialised to JSON. */
  boot?: [number, number];
  event: 'exec' | 'connect' | 'accept' | 'bind' | 'close';
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
  event: 'start' | 'end' | 'reload';
  /** As EventRecord.session. */
  session?: string;
  run: StartInfo | EndInfo | ReloadInfo;
}

/** A SIGHUP re-read of the config file: applied, or refused whole. */
export interface ReloadInfo {
  status: 'applied' | 'refused';
  config_digest: string;
  error?: string;
}

export interface StartInfo {
  version: string;
  pid: number; // netlog-run's own pid
  command: string[];
  uid: number;
  config_digest: string;
  /** --egress block: the policy this run enforced. */
  egress?: { mode: 'block'; allow: string[] };
}

export interface EndInfo {
  exit_code: number;
  signal: string | null;
  /** Records written, this one excluded. */
  records: number;
  /** Events hidden by a whitelist. */
  hidden: number;
  /** Syscalls refused because a record could not be written. */
  refused: number;
}

export type AnyRecord = EventRecord | RunRecord;

export function isRunRecord(rec: AnyRecord): rec is RunRecord {
  return rec.event === 'start' || rec.event === 'end' || rec.event === 'reload';
}
