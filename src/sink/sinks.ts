// Where records go: a file (append, created 0600), a FIFO or stdout, and stderr. A batch is one
// write(2) per sink; a failed write is undone (the file is cut back) so that a
// record is either whole in the log or refused. Nothing here changes the
// flags of a descriptor that COMMAND shares.
import fs from 'node:fs';
import { NetlogError } from '../errors.js';
import { addon } from '../native.js';
import { runProcess } from '../run-process.js';

export interface Sink {
  readonly name: string;
  /** Writes the whole text or throws a NetlogError saying why. */
  write(text: string): void;
  close(): void;
  /** Removes the sink's traces when nothing was ever recorded (optional). */
  discard?(): void;
}

/** Writes all of text to a descriptor of netlog-run's own (not shared with COMMAND); on failure the error carries how many bytes went out. */
function writeAll(fd: number, text: string): void {
  let off = 0;
  try {
    // A string is written without a Buffer of its own (3-4 µs a batch); only
    // a short write needs the bytes.
    off = fs.writeSync(fd, text);
    const length = Buffer.byteLength(text);
    if (off === length) return;
    const buf = Buffer.from(text);
    while (off < length) off += fs.writeSync(fd, buf, off, length - off);
  } catch (err) {
    (err as { written?: number }).written = off;
    throw err;
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(err);
}

export class FileSink implements Sink {
  readonly name: string;
  private fd: number;
  private regular: boolean;
  private created: boolean;
  private wrote = false;

  /** PATH, or `-` for stdout (shared with COMMAND, and never closed). */
  constructor(readonly path: string) {
    if (path === '-') {
      this.name = 'stdout';
      this.fd = 1;
      this.created = false;
      try {
        this.regular = fs.fstatSync(1).isFile();
      } catch {
        throw new NetlogError('EOUTPUT', 'cannot write records to stdout: it is closed');
      }
      return;
    }
    this.name = path;
    let fd: number;
    const existing = statOrUndefined(path);
    // open(2) of a FIFO for writing waits for a reader, forever if none comes:
    // O_NONBLOCK makes it fail with ENXIO instead.
    const fifo = existing?.isFIFO() === true;
    this.created = existing === undefined;
    try {
      fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fifo ? fs.constants.O_NONBLOCK : 0), 0o600);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENXIO' && fifo) {
        throw new NetlogError('EOUTPUT', `output ${path} is a FIFO with no reader: start the reader first (e.g. jq . < ${path} &)`);
      }
      const why = e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.code === 'ENOENT' ? 'no such directory' : describe(err);
      throw new NetlogError('EOUTPUT', `cannot open output ${path}: ${why}`);
    }
    if (fifo) {
      // Then written like a file: a slow reader holds the records back, and
      // with them the calls they describe. The open file description is ours alone.
      const result = addon.setBlocking(fd);
      if (result !== 'ok') {
        fs.closeSync(fd);
        throw new NetlogError('EOUTPUT', `cannot open output ${path}: fcntl: ${result}`);
      }
    }
    this.fd = fd;
    // A FIFO or a device (a log collector, /dev/null) is written as it is;
    // only a regular file can be checked for removal and cut back.
    this.regular = fs.fstatSync(fd).isFile();
  }

  write(text: string): void {
    // A log that was deleted would swallow records unseen: check it first.
    if (this.regular && runProcess.linkCount(this.fd) === 0) throw new NetlogError('ESINK', `${this.name} was removed`);
    try {
      writeAll(this.fd, text);
      this.wrote = true;
    } catch (err) {
      const written = (err as { written?: number }).written ?? 0;
      try {
        // Cut the partial batch back out, so the log holds whole records only.
        if (written > 0 && this.regular) fs.ftruncateSync(this.fd, fs.fstatSync(this.fd).size - written);
      } catch {
        // nothing more can be undone
      }
      throw new NetlogError('ESINK', `cannot write to ${this.name}: ${describe(err)}`);
    }
  }

  close(): void {
    if (this.fd !== 1) fs.closeSync(this.fd);
  }

  discard(): void {
    this.close();
    if (this.created && !this.wrote) fs.rmSync(this.path, { force: true });
  }
}

function statOrUndefined(path: string): fs.Stats | undefined {
  try {
    return fs.statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * netlog-run's way to stderr, which it shares with COMMAND. A terminal or a
 * pipe is reopened (/proc/self/fd/2) as a description of its own, so
 * neither side sees the other's O_NONBLOCK; a file (whose offset is shared)
 * or a socket (which cannot be reopened) is written through fd 2 itself,
 * with a write that waits in poll(2) if COMMAND made it non-blocking.
 */
export class StderrWriter {
  private fd: number | undefined;
  readonly kind: string;

  constructor() {
    const own = runProcess.openOwnStderr();
    this.kind = own.kind;
    this.fd = own.fd >= 0 ? own.fd : 2;
  }

  /** Writes all of text; throws an errno-named Error when it cannot. */
  write(text: string): void {
    const buf = Buffer.from(text);
    const r = runProcess.writeAll(this.fd ?? 2, buf);
    if (r.error !== 'ok') throw Object.assign(new Error(`${r.error}: ${r.written} of ${buf.length} bytes written`), { code: r.error });
  }
}

let stderrWriter: StderrWriter | undefined;

/** The one StderrWriter of the process (notices and records share it, in order). */
export function ownStderr(): StderrWriter {
  return (stderrWriter ??= new StderrWriter());
}

export class StderrSink implements Sink {
  readonly name = 'stderr';
  write(text: string): void {
    try {
      ownStderr().write(text);
    } catch (err) {
      throw new NetlogError('ESINK', `cannot write to stderr: ${describe(err)}`);
    }
  }
  close(): void {}
}
