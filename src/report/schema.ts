// The JSON form of `netlog report --format json` (schema "netlog-report/1",
// described for users in docs/report-schema.json).

export interface Report {
  schema: 'netlog-report/1';
  files: string[];
  runs: RunReport[];
  total: Summary;
  losses: {
    /** Lines that are not JSON records (counted, never fatal). */
    unparsable_lines: number;
    /** Where the first few of them are. */
    unparsable_at: { file: string; line: number }[];
    runs_without_end: number;
    /** Records missing from seq gaps, all runs. */
    missing_records: number;
  };
}

export interface Summary {
  records: number;
  programs: Program[];
  destinations: Destination[];
  listeners: Listener[];
  refusals: {
    /** Calls refused because their record could not be written (the end records' `refused`). */
    refused: number;
    /** Calls refused by --egress block. */
    blocked: number;
  };
}

export interface RunReport extends Summary {
  session: string | null;
  file: string;
  command: string[] | null;
  started: string | null;
  ended: string | null;
  exit_code: number | null;
  signal: string | null;
  egress: { mode: string; allow: string[] } | null;
  tree: TreeNode[];
  tree_truncated: boolean;
  losses: {
    seq_gaps: { after: number; missing: number }[];
    missing_records: number;
    no_start: boolean;
    no_end: boolean;
  };
}

export interface Program {
  file: string;
  count: number;
  example_argv: string[];
}

export interface Destination {
  proto: string;
  ip: string;
  port: number;
  programs: string[];
  count: number;
  /** result → count ("ok", "ECONNREFUSED", "EPERM", "unknown"). */
  results: Record<string, number>;
  /** TCP: outcome of the connections at their close ("established", "ECONNREFUSED", "EINPROGRESS"...) → count, when any close said. */
  outcomes?: Record<string, number>;
  blocked: number;
  /** The calls that were blocked (connect, sendto, sendmsg, sendmmsg), when any. */
  blocked_via?: string[];
  /** The programs whose calls were blocked, when any. */
  blocked_programs?: string[];
}

export interface Listener {
  proto: string;
  ip: string;
  port: number;
  programs: string[];
  binds: number;
  accepted: number;
  peers: { ip: string; count: number }[];
}

export interface TreeNode {
  pid: number;
  file: string;
  argv: string[];
  /** Later execs of the same process. */
  then?: string[];
  children: TreeNode[];
}
