// Generated from docs/record-schema.json by scripts/gen-record-types.js: do not edit.
// The types of the records as written (--format json); src/record/types.ts builds on them.

/** What a supervised process did. */
export type EventRecordJson = ExecJson | ConnectJson | AcceptJson | BindJson | CloseJson;

/** The run itself (netlog-run, or netlogd as a whole). */
export type RunRecordJson = StartJson | EndJson | ReloadJson;

/** netlogd: a login session (docs/login-sessions.md). */
export type LoginRecordJson = LoginStartJson | LoginEndJson;

/** execve or execveat of a file that exists and that the caller may execute. */
export type ExecJson = {
  v: 1;
  seq: number;
  ts: string;
  event: "exec";
  session: string;
  proc: ProcJson;
  exec: ExecInfoJson;
};

/** connect of a TCP or UDP socket; under --egress block also a refused connect, sendto, sendmsg or sendmmsg (blocked, via). */
export type ConnectJson = {
  v: 1;
  seq: number;
  ts: string;
  event: "connect";
  session: string;
  proc: ProcJson;
  net: NetPeerJson;
  result?: string;
  /** Refused by --egress block (result EPERM). */
  blocked?: true;
  /** The call --egress block refused. */
  via?: "connect" | "sendto" | "sendmsg" | "sendmmsg";
};

/** accept or accept4 that returned a TCP connection. */
export type AcceptJson = {
  v: 1;
  seq: number;
  ts: string;
  event: "accept";
  session: string;
  proc: ProcJson;
  net: NetPeerJson;
  result: "ok";
};

/** bind of a UDP socket (of a TCP socket with probe_tcp_bind = 1). */
export type BindJson = {
  v: 1;
  seq: number;
  ts: string;
  event: "bind";
  session: string;
  proc: ProcJson;
  net: NetLocalJson;
};

/** close of a TCP socket that has a peer or whose connect was recorded, or of a UDP socket that has a local port. */
export type CloseJson = {
  v: 1;
  seq: number;
  ts: string;
  event: "close";
  session: string;
  proc: ProcJson;
  net: NetJson;
  outcome?: string;
};

/** The run's first record. */
export type StartJson = {
  v: 1;
  seq: number;
  ts: string;
  event: "start";
  session?: string;
  run: StartInfoJson;
};

/** The run's last record. */
export type EndJson = {
  v: 1;
  seq: number;
  ts: string;
  event: "end";
  session?: string;
  run: EndInfoJson;
};

/** A SIGHUP re-read of the configuration file. */
export type ReloadJson = {
  v: 1;
  seq: number;
  ts: string;
  event: "reload";
  session?: string;
  run: ReloadInfoJson;
};

/** netlogd: a login session's first record. */
export type LoginStartJson = {
  v: 1;
  seq: number;
  ts: string;
  event: "start";
  session: string;
  login: LoginStartInfoJson;
};

/** netlogd: a login session's last record. */
export type LoginEndJson = {
  v: 1;
  seq: number;
  ts: string;
  event: "end";
  session: string;
  login: LoginEndInfoJson;
};

/** The process that made the call, read from /proc. */
export type ProcJson = {
  /** Thread group id. */
  pid: number;
  tid: number;
  ppid: number;
  sid: number;
  pgid: number;
  /** Controlling terminal as named in /dev (pts/0), null without one. */
  tty: string | null;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  /** loginuid, null when unset. */
  auid: number | null;
  /** Audit session, null when unset. */
  ses: number | null;
  /** The real path of its program. */
  exe: string;
  comm: string;
};

export type EndpointJson = {
  /** IPv4 dotted, or IPv6 in RFC 5952 form (a v4-mapped address stays IPv6). */
  ip: string;
  port: number;
};

/** connect, accept: both ends. */
export type NetPeerJson = {
  proto: "tcp" | "udp";
  family: "ipv4" | "ipv6";
  local: EndpointJson;
  remote: EndpointJson;
};

/** bind: the address bound. */
export type NetLocalJson = {
  proto: "tcp" | "udp";
  family: "ipv4" | "ipv6";
  local: EndpointJson;
};

/** close: remote is absent for a UDP socket that has no peer. */
export type NetJson = {
  proto: "tcp" | "udp";
  family: "ipv4" | "ipv6";
  local: EndpointJson;
  remote?: EndpointJson;
};

export type ExecInfoJson = {
  /** The real path of the file executed, every symbolic link followed, absolute in the caller's root. */
  file: string;
  /** The path argument exactly as passed. */
  path: string;
  argv: string[];
  cwd: string;
  /** argv was cut at argv_max_size bytes. */
  argv_truncated: boolean;
};

export type StartInfoJson = {
  version: string;
  /** netlog-run's (netlogd's) pid. */
  pid: number;
  command: string[];
  uid: number;
  config_digest: string;
  /** --egress block: the policy this run enforces. */
  egress?: {
    mode: "block";
    /** The --allow entries, canonical. */
    allow: string[];
  };
};

export type EndInfoJson = {
  /** COMMAND's exit status, 128+N when signal N killed it. */
  exit_code: number;
  /** The name of the signal that killed COMMAND (netlogd: that stopped it), or null. */
  signal: string | null;
  /** Records written, this one excluded. */
  records: number;
  /** Events hidden by a whitelist. */
  hidden: number;
  /** Calls refused because their record could not be written. */
  refused: number;
};

export type ReloadInfoJson = {
  status: "applied";
  config_digest: string;
} | {
  status: "refused";
  config_digest: string;
  error: string;
};

export type LoginStartInfoJson = {
  user: string;
  uid: number;
  gid: number;
  /** netlog-shell's pid, the real shell's. */
  pid: number;
  tty: string | null;
  auid: number | null;
  ses: number | null;
  /** From SSH_CONNECTION; null without one. */
  client: null | EndpointJson;
  argv: string[];
  shell: string;
};

export type LoginEndInfoJson = {
  user: string;
  pid: number;
  /** null when netlogd could not learn it. */
  exit_code: number | null;
  signal: string | null;
  reason: "exit" | "netlogd stopped";
  hidden: number;
};

/** Internal: one message of a batch the addon hands to JS (a JSON array of these). */
export type NativeMessageJson = NativeEventJson | {
  type: "exit";
  code: number;
  signal: number;
  /** Why COMMAND could not be started: stage, message and errno, tab-separated. */
  error?: string;
} | {
  type: "stopped";
  signal: number;
} | {
  type: "continued";
} | {
  type: "end";
} | {
  type: "warning";
  text: string;
};

/** Internal: a held call, turned into a record by toRecord() (src/supervisor.ts). */
export type NativeEventJson = {
  type: "event";
  /** What answer() names the call by. */
  token: number;
  kind: "exec" | "connect" | "accept" | "bind" | "close";
  realtimeUs: number;
  boottimeUs: number;
  proc: NativeProcJson;
  exec?: NativeExecJson;
  net?: NativeNetJson;
  result?: string;
  outcome?: string;
  blocked?: true;
  via?: "connect" | "sendto" | "sendmsg" | "sendmmsg";
};

export type NativeProcJson = {
  pid: number;
  tid: number;
  ppid: number;
  sid: number;
  pgid: number;
  tty: string | null;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  auid: number | null;
  ses: number | null;
  exe: string;
  comm: string;
  /** "dev:ino" of the program, for the network whitelist (not in the record). */
  exe_id?: string;
};

export type NativeExecJson = {
  file: string;
  path: string;
  /** "dev:ino" of the file run, as text (an inode number can exceed 2^53), for the exec whitelist (not in the record). */
  fileId: string;
  argv: string[];
  cwd: string;
  argvTruncated: boolean;
};

export type NativeNetJson = {
  proto: "tcp" | "udp";
  family: "ipv4" | "ipv6";
  local: EndpointJson;
  remote?: EndpointJson;
  /** close only: the socket came from accept (not in the record). */
  accepted?: boolean;
};

/** Any line of a JSON log. */
export type RecordJson = EventRecordJson | RunRecordJson | LoginRecordJson;
