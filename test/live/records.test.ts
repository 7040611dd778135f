// What the log says about the run itself: a session id on every record, so runs appended
// to one file can be told apart; a whitelist that cannot apply says so at start.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, netlogRaw, netlogRun, ofKind, readRecords, tempDir, type JsonRecord } from './harness.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

describe('session', () => {
  it('two runs appended to one file are separable: one id per run on every record, seq 1..n within each', async () => {
    const log = path.join(dir(), 'netlog.jsonl');
    await netlogRun(['bash', '-c', '/bin/true; /bin/true'], { log });
    await netlogRun(['/bin/true'], { log });
    const records = readRecords(log) as (JsonRecord & { session?: string })[];
    const ids = [...new Set(records.map((r) => r.session))];
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    for (const id of ids) {
      const run = records.filter((r) => r.session === id);
      run.forEach((r, i) => expect(r.seq).toBe(i + 1));
      expect(run[0]!.event).toBe('start');
      expect(run.at(-1)!.event).toBe('end');
    }
    // Each run's records are together: the second run starts after the first ended.
    expect(records.findIndex((r) => r.session === ids[1])).toBe(records.filter((r) => r.session === ids[0]).length);
    // `session` comes right after `event`.
    for (const r of records) expect(Object.keys(r).slice(3, 5)).toEqual(['event', 'session']);
  });

  it('the text format names the session on its start and end lines', async () => {
    const r = await netlogRaw(['--', '/bin/true']);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    const start = /^\S+ start +session=([0-9a-f]{16}) /.exec(lines[0]!);
    expect(start).not.toBeNull();
    expect(lines.at(-1)).toMatch(new RegExp(` end +session=${start![1]} exit 0, 2 records, 0 hidden$`));
  });
});

describe('an exec whitelist as root', () => {
  const needsRoot = process.getuid?.() !== 0;
  const TRUE = fs.realpathSync(fixture('static_true'));

  it.skipIf(needsRoot)('says once at start that it does not apply to root; -q silences it; --whitelist-include-root applies it', async () => {
    const warned = await netlogRun([TRUE], { args: ['--exec-whitelist', TRUE] });
    const lines = warned.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^netlog-run: the exec whitelist does not apply to processes running as root .*--whitelist-include-root/);
    // Not applied: the exec is recorded.
    expect(ofKind(warned.records, 'exec').map((r) => r.exec!.argv[0])).toEqual([TRUE]);

    const quiet = await netlogRun([TRUE], { args: ['-q', '--exec-whitelist', TRUE] });
    expect(quiet.stderr).toBe('');

    const applied = await netlogRun([TRUE], { args: ['--whitelist-include-root', '--exec-whitelist', TRUE] });
    expect(applied.stderr).toBe('');
    expect(ofKind(applied.records, 'exec')).toHaveLength(0);
    expect(applied.records.at(-1)!.run).toMatchObject({ hidden: 1 });
  });
});
