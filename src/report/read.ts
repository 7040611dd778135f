// Streams JSON Lines logs into the report builder a chunk at a time (lines
// split by hand: readline costs twice as much on a 100,000-record log), so a
// log of any size is read in bounded memory.
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { NetlogError } from '../errors.js';
import { ReportBuilder } from './aggregate.js';
import type { Report } from './schema.js';

function readError(file: string, err: unknown): NetlogError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message;
  return new NetlogError('ELOG', `cannot read ${file}: ${why}`);
}

export async function readLogs(files: readonly string[]): Promise<Report> {
  const builder = new ReportBuilder();
  for (const file of files) {
    const input = file === '-' ? process.stdin : fs.createReadStream(file, { highWaterMark: 1 << 20 });
    builder.startFile(file);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    let n = 0;
    try {
      for await (const chunk of input) {
        const text = rest + decoder.write(chunk as Buffer);
        let from = 0;
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
          builder.addLine(file, ++n, text.slice(from, nl).replace(/\r$/, ''));
          from = nl + 1;
        }
        rest = text.slice(from);
      }
    } catch (err) {
      throw readError(file, err);
    }
    rest += decoder.end();
    if (rest !== '') builder.addLine(file, ++n, rest);
  }
  return builder.build();
}
