// `netlog report`: folds JSON records, one at a time, into per-run and total
// summaries (programs, process tree, destinations, listeners, refusals,
// losses). Memory grows with distinct keys and execs, not with the log.
import type { RunReport, Report, Summary, TreeNode, Destination, Listener, Program } from './schema.js';

/** What the aggregator reads of a record; anything else in it is ignored. */
export interface LooseRecord {
  seq?: unknown;
  ts?: unknown;
  event?: unknown;
  session?: unknown;
  proc?: { pid?: unknown; ppid?: unknown; exe?: unknown };
  net?: { proto?: unknown; local?: { ip?: unknown; port?: unknown }; remote?: { ip?: unknown; port?: unknown } };
  exec?: { file?: unknown; argv?: unknown };
  result?: unknown;
  outcome?: unknown;
  blocked?: unknown;
  via?: unknown;
  run?: Record<string, unknown>;
}

const MAX_TREE_NODES = 2000;
const MAX_UNPARSABLE_SHOWN = 10;

class SummaryBuilder {
  records = 0;
  programs = new Map<string, { count: number; argv: string[]; exes: Set<string> }>();
  destinations = new Map<string, { proto: string; ip: string; port: number; programs: Set<string>; count: number; results: Map<string, number>; outcomes: Map<string, number>; blocked: number; via: Set<string>; blockedBy: Set<string> }>();
  listeners = new Map<string, { proto: string; ip: string; port: number; programs: Set<string>; binds: number; accepted: number; peers: Map<string, number> }>();
  refused = 0;
  blocked = 0;

  add(rec: LooseRecord): void {
    this.records++;
    const exe = str(rec.proc?.exe) ?? '?';
    switch (rec.event) {
      case 'exec': {
        const file = str(rec.exec?.file) ?? '?';
        let p = this.programs.get(file);
        if (!p) {
          p = { count: 0, argv: strArray(rec.exec?.argv), exes: new Set() };
          this.programs.set(file, p);
        }
        p.count++;
        break;
      }
      case 'connect': {
        const proto = str(rec.net?.proto) ?? '?';
        const ip = str(rec.net?.remote?.ip) ?? '?';
        const port = num(rec.net?.remote?.port) ?? 0;
        const key = `${proto}|${ip}|${port}`;
        let d = this.destinations.get(key);
        if (!d) {
          d = { proto, ip, port, programs: new Set(), count: 0, results: new Map(), outcomes: new Map(), blocked: 0, via: new Set(), blockedBy: new Set() };
          this.destinations.set(key, d);
        }
        d.programs.add(exe);
        d.count++;
        const result = str(rec.result) ?? 'unknown';
        d.results.set(result, (d.results.get(result) ?? 0) + 1);
        if (rec.blocked === true) {
          d.blocked++;
          this.blocked++;
          d.via.add(str(rec.via) ?? 'connect');
          d.blockedBy.add(exe);
        }
        break;
      }
      case 'close': {
        // How a recorded connect ended (an EINPROGRESS connect is no
        // connection yet): counted with its destination.
        const outcome = str(rec.outcome);
        if (outcome === undefined) break;
        const d = this.destinations.get(`${str(rec.net?.proto) ?? '?'}|${str(rec.net?.remote?.ip) ?? '?'}|${num(rec.net?.remote?.port) ?? 0}`);
        if (d) d.outcomes.set(outcome, (d.outcomes.get(outcome) ?? 0) + 1);
        break;
      }
      case 'bind':
      case 'accept': {
        const proto = str(rec.net?.proto) ?? '?';
        const ip = str(rec.net?.local?.ip) ?? '?';
        const port = num(rec.net?.local?.port) ?? 0;
        // An accepted connection arrives on the listening port, whatever local address it has.
        const key = rec.event === 'bind' ? `${proto}|${ip}|${port}` : this.listenerFor(proto, ip, port);
        let l = this.listeners.get(key);
        if (!l) {
          l = { proto, ip, port, programs: new Set(), binds: 0, accepted: 0, peers: new Map() };
          this.listeners.set(key, l);
        }
        l.programs.add(exe);
        if (rec.event === 'bind') l.binds++;
        else {
          l.accepted++;
          const peer = str(rec.net?.remote?.ip) ?? '?';
          l.peers.set(peer, (l.peers.get(peer) ?? 0) + 1);
        }
        break;
      }
      case 'end':
        this.refused += num(rec.run?.refused) ?? 0;
        break;
      default:
        break;
    }
  }

  private listenerFor(proto: string, ip: string, port: number): string {
    for (const any of [ip, '0.0.0.0', '::']) {
      const key = `${proto}|${any}|${port}`;
      if (this.listeners.has(key)) return key;
    }
    return `${proto}|${ip}|${port}`;
  }

  build(): Summary {
    const programs: Program[] = [...this.programs.entries()]
      .map(([file, p]) => ({ file, count: p.count, example_argv: p.argv }))
      .sort((a, b) => b.count - a.count || a.file.localeCompare(b.file));
    const destinations: Destination[] = [...this.destinations.values()]
      .map((d) => ({
        proto: d.proto,
        ip: d.ip,
        port: d.port,
        programs: [...d.programs].sort(),
        count: d.count,
        results: Object.fromEntries([...d.results].sort()),
        ...(d.outcomes.size > 0 && { outcomes: Object.fromEntries([...d.outcomes].sort()) }),
        blocked: d.blocked,
        ...(d.via.size > 0 && { blocked_via: [...d.via].sort(), blocked_programs: [...d.blockedBy].sort() }),
      }))
      .sort((a, b) => b.blocked - a.blocked || b.count - a.count || a.ip.localeCompare(b.ip) || a.port - b.port);
    const listeners: Listener[] = [...this.listeners.values()]
      .map((l) => ({
        proto: l.proto,
        ip: l.ip,
        port: l.port,
        programs: [...l.programs].sort(),
        binds: l.binds,
        accepted: l.accepted,
        peers: [...l.peers].map(([ip, count]) => ({ ip, count })).sort((a, b) => b.count - a.count || a.ip.localeCompare(b.ip)),
      }))
      .sort((a, b) => a.port - b.port || a.ip.localeCompare(b.ip));
    return { records: this.records, programs, destinations, listeners, refusals: { refused: this.refused, blocked: this.blocked } };
  }
}

class RunBuilder {
  readonly summary = new SummaryBuilder();
  lastSeq = 0;
  gaps: { after: number; missing: number }[] = [];
  start: LooseRecord | undefined;
  end: LooseRecord | undefined;
  firstTs: string | undefined;
  lastTs: string | undefined;
  nodes = new Map<number, { pid: number; ppid: number; execs: { file: string; argv: string[] }[] }>();
  treeTruncated = false;

  constructor(
    readonly file: string,
    readonly session: string | null,
  ) {}

  add(rec: LooseRecord): void {
    const seq = num(rec.seq);
    if (seq !== undefined) {
      if (seq > this.lastSeq + 1) this.gaps.push({ after: this.lastSeq, missing: seq - this.lastSeq - 1 });
      if (seq > this.lastSeq) this.lastSeq = seq;
    }
    const ts = str(rec.ts);
    if (ts) {
      this.firstTs ??= ts;
      this.lastTs = ts;
    }
    if (rec.event === 'start') this.start ??= rec;
    if (rec.event === 'end') this.end = rec;
    if (rec.event === 'exec') {
      const pid = num(rec.proc?.pid);
      if (pid !== undefined) {
        let n = this.nodes.get(pid);
        if (!n) {
          if (this.nodes.size >= MAX_TREE_NODES) this.treeTruncated = true;
          else {
            n = { pid, ppid: num(rec.proc?.ppid) ?? 0, execs: [] };
            this.nodes.set(pid, n);
          }
        }
        n?.execs.push({ file: str(rec.exec?.file) ?? '?', argv: strArray(rec.exec?.argv) });
      }
    }
    this.summary.add(rec);
  }

  build(): RunReport {
    const run = this.start?.run ?? {};
    const end = this.end?.run;
    const egress = run.egress as { mode?: unknown; allow?: unknown } | undefined;
    return {
      session: this.session,
      file: this.file,
      command: this.start ? strArray(run.command) : null,
      started: this.firstTs ?? null,
      ended: this.end ? (str(this.end.ts) ?? null) : null,
      exit_code: end ? (num(end.exit_code) ?? null) : null,
      signal: end ? (str(end.signal) ?? null) : null,
      egress: egress ? { mode: str(egress.mode) ?? 'audit', allow: strArray(egress.allow) } : null,
      ...this.summary.build(),
      tree: this.tree(),
      tree_truncated: this.treeTruncated,
      losses: {
        seq_gaps: this.gaps,
        missing_records: this.gaps.reduce((n, g) => n + g.missing, 0),
        no_start: this.start === undefined,
        no_end: this.end === undefined,
      },
    };
  }

  private tree(): TreeNode[] {
    const children = new Map<number, TreeNode[]>();
    const made = new Map<number, TreeNode>();
    for (const n of this.nodes.values()) {
      const first = n.execs[0]!;
      made.set(n.pid, { pid: n.pid, file: first.file, argv: first.argv, ...(n.execs.length > 1 && { then: n.execs.slice(1).map((e) => e.file) }), children: [] });
    }
    const roots: TreeNode[] = [];
    for (const n of this.nodes.values()) {
      const node = made.get(n.pid)!;
      const parent = made.get(n.ppid);
      if (parent && parent !== node) {
        const list = children.get(n.ppid) ?? [];
        list.push(node);
        children.set(n.ppid, list);
        parent.children = list;
      } else {
        roots.push(node);
      }
    }
    return roots;
  }
}

/** Reads records in order (several runs per file, several files) and builds the report. */
export class ReportBuilder {
  private runs: RunBuilder[] = [];
  private bySession = new Map<string, RunBuilder>();
  private current: RunBuilder | undefined;
  private total = new SummaryBuilder();
  private unparsable = 0;
  private unparsableShown: { file: string; line: number }[] = [];
  private files: string[] = [];

  startFile(file: string): void {
    this.files.push(file);
    this.current = undefined;
  }

  addLine(file: string, lineNo: number, line: string): void {
    if (line.trim() === '') return;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      rec = undefined;
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec) || typeof (rec as LooseRecord).event !== 'string') {
      this.unparsable++;
      if (this.unparsableShown.length < MAX_UNPARSABLE_SHOWN) this.unparsableShown.push({ file, line: lineNo });
      return;
    }
    this.add(rec as LooseRecord, file);
  }

  add(rec: LooseRecord, file = '-'): void {
    const run = this.runFor(rec, file);
    run.add(rec);
    this.total.add(rec);
  }

  // A run is a session (the `session` field) where records have one; without
  // it, a new run starts at a start record or where seq starts again.
  private runFor(rec: LooseRecord, file: string): RunBuilder {
    const session = str(rec.session);
    if (session !== undefined) {
      let r = this.bySession.get(session);
      if (!r) {
        r = new RunBuilder(file, session);
        this.bySession.set(session, r);
        this.runs.push(r);
      }
      return r;
    }
    const seq = num(rec.seq);
    const cur = this.current;
    if (!cur || rec.event === 'start' || (seq !== undefined && seq <= cur.lastSeq) || cur.end !== undefined) {
      this.current = new RunBuilder(file, null);
      this.runs.push(this.current);
    }
    return this.current!;
  }

  build(): Report {
    const runs = this.runs.map((r) => r.build());
    return {
      schema: 'netlog-report/1',
      files: this.files,
      runs,
      total: this.total.build(),
      losses: {
        unparsable_lines: this.unparsable,
        unparsable_at: this.unparsableShown,
        runs_without_end: runs.filter((r) => r.losses.no_end).length,
        missing_records: runs.reduce((n, r) => n + r.losses.missing_records, 0),
      },
    };
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function strArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
