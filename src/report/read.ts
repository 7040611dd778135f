// Streams JSON Lines logs into the report builder, a line at a time
// (readline), so a log of any size is read in bounded memory.
import fs from 'node:fs';
import readline from 'node:readline';
import { NetlogError } from '../errors.js';
import { ReportBuilder } from './aggregate.js';
import type { Report } from './schema.js';

export async function readLogs(files: readonly string[]): Promise<Report> {
  const builder = new ReportBuilder();
  for (const file of files) {
    const input = file === '-' ? process.stdin : fs.createReadStream(file);
    const opened = new Promise<void>((resolve, reject) => {
      if (file === '-') return resolve();
      input.once('open', () => resolve());
      input.once('error', reject);
    });
    try {
      await opened;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message;
      throw new NetlogError('ELOG', `cannot read ${file}: ${why}`);
    }
    builder.startFile(file);
    const rl = readline.createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    try {
      for await (const line of rl) builder.addLine(file, ++n, line);
    } catch (err) {
      throw new NetlogError('ELOG', `cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return builder.build();
}
