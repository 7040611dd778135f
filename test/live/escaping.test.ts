// Names chosen by the audited user (a file named with a newline, an argument with U+202E or
// U+009B) cannot forge a log line or reach the reader's terminal raw, in any format: seed
// (and so syslog) and text escape them (docs/seed-format.md, README), json parses back exact.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { netlogRaw, readRecords, tempDir } from './harness.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

// eslint-disable-next-line no-control-regex
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const FORGED = '<6>1 - - execlog - - - [    1.000000]: p:1 s:1 pp:1 u:0 g:0 eu:0 eg:0 t:NULL forged-entry';

describe('hostile names in every format', () => {
  it('an exec file and a program path with a newline, argv with U+202E and U+009B', async () => {
    const d = tempDir();
    dirs.push(d);
    // A copy of bash whose name carries a forged seed line: it is the exec file, and
    // the exe of the connect it makes (port 9 on loopback: refused, recorded all the same).
    const evil = path.join(d, `sh\n${FORGED}`);
    fs.copyFileSync('/bin/bash', evil);
    fs.chmodSync(evil, 0o755);
    const argv = [evil, '-c', 'exec 3<>/dev/tcp/127.0.0.1/9 || true', `x\u202eexe.txt\u009b31m`];
    const logs = { json: path.join(d, 'log.jsonl'), seed: path.join(d, 'log.seed'), text: path.join(d, 'log.txt') };
    for (const [format, log] of Object.entries(logs)) {
      const r = await netlogRaw(['-q', '-o', log, '-f', format, '--', ...argv]);
      expect(r.exitCode, r.stderr).toBe(0);
    }

    // json: exact values back, nothing raw in the bytes.
    const records = readRecords(logs.json);
    const exec = records.find((r) => r.event === 'exec')!;
    expect(exec.exec!.argv).toEqual(argv);
    expect(records.find((r) => r.event === 'connect')!.proc!.exe).toBe(evil);
    expect(fs.readFileSync(logs.json, 'utf8')).not.toMatch(RAW);

    // seed: start, exec, connect, close (of the refused connection), end:
    // five lines, none forged, no raw control.
    const seed = fs.readFileSync(logs.seed, 'utf8').split('\n').filter((l) => l !== '');
    expect(seed).toHaveLength(5);
    expect(seed.filter((l) => l.startsWith('<6>1 - - execlog '))).toHaveLength(1);
    expect(seed.some((l) => l.includes('forged-entry') && l.startsWith('<6>1 - - execlog - - - [    1.000000]'))).toBe(false);
    expect(seed[1]).toContain(` ${d}/sh ${FORGED} ${d}/sh ${FORGED} -c exec 3<>/dev/tcp/127.0.0.1/9 || true x?exe.txt?31m `);
    expect(seed[2]).toContain(` ${d}/sh ${FORGED} TCP `);
    expect(seed[2]).toMatch(/ -> 127\.0\.0\.1:9$/);
    for (const l of seed) expect(l).not.toMatch(RAW);

    // text: one line per record, every hostile character escaped.
    const text = fs.readFileSync(logs.text, 'utf8').split('\n').filter((l) => l !== '');
    expect(text).toHaveLength(5);
    for (const l of text) expect(l).not.toMatch(RAW);
    expect(text[1]).toContain(`file="${d}/sh\\n${FORGED}"`);
    expect(text[1]).toContain('"x\\u{202e}exe.txt\\x9b31m"');
    expect(text[2]).toContain(`exe="${d}/sh\\n${FORGED}" TCP `);
    expect(text[3]).toContain(`exe="${d}/sh\\n${FORGED}" TCP `);
    expect(text[3]).toContain('outcome=ECONNREFUSED');
  });
});
