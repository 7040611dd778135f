// netlog-run never touches the streams behind fds 0, 1 and 2, which it shares
// with COMMAND: libuv would make a pipe O_NONBLOCK, or dup a reopened
// non-blocking terminal over the fd, and COMMAND would inherit that (reads
// failing with EAGAIN, `cat` on a terminal ending at once). Node creates them
// lazily, on first use of process.stdin/stdout/stderr, which includes any
// `import process from 'node:process'` anywhere: this module, imported first,
// puts inert stand-ins in their place. See open(2), fcntl(2).
// node:stream is loaded only if something touches a stream: a plain run never does.
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import { runProcess } from '../run-process.js';

const nodeStream = (): typeof import('node:stream') => createRequire(import.meta.url)('node:stream') as typeof import('node:stream');

function blockingWriter(fd: number): Writable {
  return new (nodeStream().Writable)({
    write(chunk: Buffer | string, _encoding, done) {
      runProcess.writeAll(fd, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
}

function replace(name: 'stdin' | 'stdout' | 'stderr', make: () => Readable | Writable): void {
  let stream: Readable | Writable | undefined;
  Object.defineProperty(process, name, { configurable: true, enumerable: true, get: () => (stream ??= make()) });
}

replace('stdin', () => new (nodeStream().Readable)({ read() { this.push(null); } }));
replace('stdout', () => blockingWriter(1));
replace('stderr', () => blockingWriter(2));
