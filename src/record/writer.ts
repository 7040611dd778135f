// Numbers records and writes each batch to every sink, formatted for it, with
// one write per sink. A batch that cannot be written is refused as a whole
// (the caller fails its syscalls with EACCES) and its sequence numbers are
// given back, so `seq` in the log has no gaps.
import { NetlogError } from '../errors.js';
import type { Sink } from '../sink/sinks.js';
import type { AnyRecord } from './types.js';

export type Formatter = (rec: AnyRecord) => string;

export interface SinkWithFormat {
  sink: Sink;
  format: Formatter;
}

/** What has happened to the run's records so far (for the `end` record). */
export interface WriterCounts {
  records: number;
  refused: number;
}

export class RecordWriter {
  private seq = 0;
  readonly counts: WriterCounts = { records: 0, refused: 0 };
  private failing = new Set<string>();

  /** onFailure is called once per sink when it starts failing, with the reason. */
  constructor(
    private readonly sinks: readonly SinkWithFormat[],
    private readonly onFailure: (reason: string) => void,
    /** The run's id, written in every record (several runs may share one log). */
    private readonly session?: string,
  ) {}

  nextSeq(): number {
    return this.seq + 1;
  }

  /**
   * Gives each record its seq, writes the batch; true when every sink took it.
   * `refusable` is how many syscalls a failure refuses (counted in the end record).
   */
  write(records: AnyRecord[], refusable: number): boolean {
    if (records.length === 0) return true;
    const first = this.seq + 1;
    records.forEach((rec, i) => {
      rec.seq = first + i;
      if (this.session !== undefined) rec.session = this.session;
    });
    let primaryOk = false;
    let allOk = true;
    this.sinks.forEach(({ sink, format }, idx) => {
      try {
        sink.write(records.map((r) => format(r) + '\n').join(''));
        this.failing.delete(sink.name);
        if (idx === 0) primaryOk = true;
      } catch (err) {
        allOk = false;
        const reason = err instanceof NetlogError ? err.message : String(err);
        if (!this.failing.has(sink.name)) {
          this.failing.add(sink.name);
          this.onFailure(reason);
        }
      }
    });
    // The primary log's numbering stays gapless: numbers it did not store are reused.
    if (primaryOk) {
      this.seq += records.length;
      this.counts.records += records.length;
    }
    if (!allOk) this.counts.refused += refusable;
    return allOk;
  }

  close(): void {
    for (const { sink } of this.sinks) sink.close();
  }

  /** The run never started: sinks remove what they created for it. */
  discard(): void {
    for (const { sink } of this.sinks) sink.discard?.();
  }
}
