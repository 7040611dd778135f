// The only file that talks to the addon: starts the session, turns native
// batches into records, has them written, then answers the held syscalls
// (log before allow). Whitelisted events are answered without a record.
import { addon, type AttachOptions, type NativeEgress, type NativeEvent, type NativeMessage, type NativeSession, type SpawnOptions } from './native.js';
import { PROBE_TCP_CONNECT, PROBE_UDP_CONNECT, type Config } from './config/keys.js';
import type { EventRecord } from './record/types.js';
import type { RecordWriter } from './record/writer.js';
import { matchExec } from './whitelist/exec.js';
import { matchNet } from './whitelist/net.js';

export interface SessionHandlers {
  onExit(code: number, signal: number, launchError?: { stage: string; message: string; errno: number }): void;
  onStopped(signal: number): void;
  onEnd(): void;
  onWarning(text: string): void;
}

export interface SessionCounts {
  hidden: number;
}

// The date and time to the second change once a second, not once a record:
// Date's formatting cost ~14 µs a record on the exec path (cpu profile of a
// 1,000-exec loop), the sub-second digits cost almost nothing.
let isoSecond = NaN;
let isoPrefix = '';

/** ISO 8601 UTC with microseconds, from microseconds since the epoch. */
export function isoMicros(us: number): string {
  const second = Math.floor(us / 1e6);
  if (second !== isoSecond) {
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20); // 'YYYY-MM-DDTHH:MM:SS.'
    isoSecond = second;
  }
  return isoPrefix + String(us - second * 1e6).padStart(6, '0') + 'Z';
}

/** Wall-clock time in microseconds since the epoch. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export function toRecord(ev: NativeEvent): EventRecord {
  const rec: EventRecord = {
    v: 1,
    seq: 0,
    ts: isoMicros(ev.realtimeUs),
    boot: [Math.floor(ev.boottimeUs / 1e6), ev.boottimeUs % 1e6],
    event: ev.kind,
    proc: ev.proc,
  };
  if (ev.net) rec.net = ev.net;
  if (ev.exec) {
    rec.exec = {
      file: ev.exec.file, path: ev.exec.path, argv: ev.exec.argv, cwd: ev.exec.cwd,
      argv_truncated: ev.exec.argvTruncated, id: ev.exec.fileId,
    };
  }
  if (ev.result !== undefined) rec.result = ev.result;
  if (ev.outcome !== undefined) rec.outcome = ev.outcome;
  if (ev.blocked) {
    rec.blocked = true;
    if (ev.via !== undefined) rec.via = ev.via;
  }
  return rec;
}

/** Probe bit of the TCP-bind extension, beside the original six. */
export const PROBE_TCP_BIND = 0x40;

/** The mask the native side works with: the original probes plus tcp_bind. */
export function effectiveProbes(config: Config): number {
  // Block mode checks, and so records, every connect.
  const connects = config.egress === 'block' ? PROBE_TCP_CONNECT | PROBE_UDP_CONNECT : 0;
  return config.probes | connects | (config.probeTcpBind ? PROBE_TCP_BIND : 0);
}

export class Supervision {
  private session: NativeSession | undefined;
  private reaped = false;
  private writeOk = true;
  private sessionId: string | undefined;
  readonly counts: SessionCounts = { hidden: 0 };

  constructor(
    private config: Config,
    private readonly writer: RecordWriter,
    private readonly handlers: SessionHandlers,
  ) {}

  /** Starts COMMAND; throws the addon's LaunchError when it cannot. */
  start(options: SpawnOptions): number {
    this.session = addon.spawn(options, (batchJson) => this.onBatch(JSON.parse(batchJson) as NativeMessage[]));
    return this.session.pid;
  }

  /** Supervises a listener handed over by netlog-shell (netlogd); its records carry `session`. */
  attach(listenerFd: number, options: AttachOptions, session: string): void {
    this.sessionId = session;
    this.session = addon.attach(listenerFd, options, (batchJson) => this.onBatch(JSON.parse(batchJson) as NativeMessage[]));
  }

  /** Swaps in a new configuration (whitelists, probes) between two batches. */
  reconfigure(config: Config): void {
    this.config = config;
    this.session?.setProbes(effectiveProbes(config));
  }

  /** Signals COMMAND; once it has been reaped its pid may be another process's, so nothing is sent. */
  kill(signal: number): void {
    if (!this.reaped) this.session?.kill(signal);
  }

  close(): void {
    this.session?.close();
  }

  /** A new allow table after a config reload. */
  setEgress(egress: NativeEgress): void {
    this.session?.setEgress(egress);
  }

  private hidden(rec: EventRecord): boolean {
    // A blocked call is always recorded: the whitelist hides traffic, not refusals.
    if (rec.blocked) return false;
    return rec.event === 'exec'
      ? matchExec(this.config.execWhitelist, rec, this.config.whitelistIncludeRoot)
      : matchNet(this.config.whitelist, rec);
  }

  private onBatch(batch: NativeMessage[]): void {
    const records: EventRecord[] = [];
    const recorded: number[] = [];
    const quiet: number[] = [];
    for (const msg of batch) {
      if (msg.type !== 'event') continue;
      const rec = toRecord(msg);
      if (this.sessionId !== undefined) rec.session = this.sessionId;
      if (this.hidden(rec)) {
        this.counts.hidden++;
        quiet.push(msg.token);
      } else {
        records.push(rec);
        recorded.push(msg.token);
      }
    }
    if (this.session && (recorded.length > 0 || quiet.length > 0)) {
      const ok = this.writer.write(records, recorded.length);
      // Connects are refused before they are performed while records fail.
      if (recorded.length > 0 && ok !== this.writeOk) {
        this.writeOk = ok;
        this.session.setRefuseConnects(!ok);
      }
      const tokens = Uint32Array.from([...recorded, ...quiet]);
      const refuse = new Uint8Array(tokens.length);
      if (!ok) refuse.fill(1, 0, recorded.length);
      this.session.answer(tokens, refuse);
    }
    for (const msg of batch) {
      switch (msg.type) {
        case 'exit': {
          this.reaped = true;
          let launchError;
          if (msg.error) {
            const [stage = 'exec', message = '', errno = '0'] = msg.error.split('\t');
            launchError = { stage, message, errno: Number(errno) };
          }
          this.handlers.onExit(msg.code, msg.signal, launchError);
          break;
        }
        case 'stopped':
          this.handlers.onStopped(msg.signal);
          break;
        case 'end':
          this.handlers.onEnd();
          break;
        case 'warning':
          this.handlers.onWarning(msg.text);
          break;
        default:
          break;
      }
    }
  }
}
