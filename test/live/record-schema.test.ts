// Every record real programs produce under `netlog-run -o FILE --format json`
// is valid under docs/record-schema.json: no unknown field, none missing.
// bash, curl to a python3 http.server on 127.0.0.1 and to closed ports (IPv4
// and IPv6), a TCP bind (probe_tcp_bind), UDP bind, connect and close, two
// SIGHUP reloads (applied, refused), and --egress block refusals of a TCP
// connect and a UDP sendto. The batches the addon hands to JS on the way are
// held to the schema's native_message (test/live/native-tap.mjs), and the
// runs must have shown every kind of record, so the test cannot pass by
// producing few.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { validate, type Schema } from '../json-schema.js';
import { NETLOG_RUN, ROOT, httpServer, readRecords, tempDir, waitFor, type JsonRecord } from './harness.js';

const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'record-schema.json'), 'utf8')) as Schema;
const NATIVE: Schema = { $ref: '#/$defs/native_message' };
const TAP = path.join(import.meta.dirname, 'native-tap.mjs');
const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A TCP port nothing listens on now (the kernel's pick, released). */
async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** netlog-run with the native tap; resolves when it exits. */
function run(name: string, args: string[], command: string[]) {
  const log = path.join(dir, `${name}.jsonl`);
  const tap = path.join(dir, `${name}.native`);
  const sub = execa(process.execPath, ['--import', TAP, NETLOG_RUN, '-o', log, '--format', 'json', ...args, '--', ...command], {
    reject: false,
    timeout: 90_000,
    env: { NETLOG_NATIVE_TAP: tap },
  });
  return { log, tap, sub };
}

/** "LOG:LINE: error" for every record of the log the schema refuses. */
function recordErrors(log: string): string[] {
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .flatMap((l, i) => validate(SCHEMA, JSON.parse(l)).map((e) => `${path.basename(log)}:${i + 1}: ${e}`));
}

/** "TAP:BATCH: error" for every message of the addon the schema refuses; [] also needs the tap to hold every event the log has. */
function nativeErrors(tap: string, log: string): string[] {
  const batches = fs.readFileSync(tap, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type?: string }[]);
  const events = batches.flat().filter((m) => m.type === 'event').length;
  const recorded = readRecords(log).filter((r) => r.proc !== undefined).length;
  const errors = batches.flatMap((b, i) => b.flatMap((m) => validate(NATIVE, m, SCHEMA).map((e) => `${path.basename(tap)}:${i + 1}: ${e}`)));
  // Hidden events reach the tap and not the log: never fewer in the tap.
  return events >= recorded ? errors : [...errors, `${path.basename(tap)}: ${events} events, fewer than the log's ${recorded}`];
}

type Rec = JsonRecord & { outcome?: string; blocked?: boolean; via?: string };

/** The shapes of record a log shows: each kind, and the variants that have fields of their own. */
function shapes(records: Rec[]): Set<string> {
  const seen = new Set<string>();
  for (const r of records) {
    seen.add(r.event);
    if (r.event === 'close' && r.net && !r.net.remote) seen.add('close without remote');
    if (r.outcome !== undefined) seen.add(`outcome ${r.outcome === 'established' ? 'established' : 'failed'}`);
    if (r.blocked) seen.add(`blocked via ${r.via}`);
    if (r.event === 'reload') seen.add(`reload ${String(r.run?.status)}`);
    if (r.event === 'start' && r.run?.egress) seen.add('start egress');
    if (r.net?.family === 'ipv6') seen.add(`${r.event} ipv6`);
  }
  return seen;
}

describe('the records of real programs against docs/record-schema.json', () => {
  it('audit mode: exec, connect, accept, bind, close (TCP and UDP, v4 and v6), start, reload (applied, refused), end', async () => {
    const [port, closed] = [await freePort('127.0.0.1'), await freePort('127.0.0.1')];
    const conf = path.join(dir, 'netlog.conf');
    fs.writeFileSync(conf, 'probes = 3f\nprobe_tcp_bind = 1\n');
    const [ready, go] = [path.join(dir, 'ready'), path.join(dir, 'go')];
    const udp = [
      'import socket',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.close()',
      'u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.connect(("::1", 9)); u.close()',
    ].join('\n');
    const script = `
      python3 -m http.server --bind 127.0.0.1 ${port} >/dev/null 2>&1 & srv=$!
      for i in $(seq 200); do curl -s -o /dev/null http://127.0.0.1:${port}/ && break; sleep 0.05; done
      curl -s -o /dev/null http://127.0.0.1:${port}/
      curl -s -o /dev/null http://127.0.0.1:${closed}/
      curl -s -o /dev/null "http://[::1]:${closed}/"
      python3 -c '${udp}'
      touch ${ready}
      while [ ! -e ${go} ]; do sleep 0.05; done
      kill $srv; wait $srv
      exit 0`;
    const r = run('audit', ['-c', conf], ['bash', '-c', script]);
    const reloads = () => readRecords(r.log).filter((x) => x.event === 'reload').length;
    await waitFor(() => fs.existsSync(ready), 60_000, 'the programs of the session');
    fs.appendFileSync(conf, 'argv_max_size = 8192\n');
    process.kill(r.sub.pid!, 'SIGHUP');
    await waitFor(() => reloads() === 1, 15_000, 'the applied reload');
    fs.appendFileSync(conf, 'bogus = 1\n');
    process.kill(r.sub.pid!, 'SIGHUP');
    await waitFor(() => reloads() === 2, 15_000, 'the refused reload');
    fs.writeFileSync(go, '');
    const done = await r.sub;
    expect(done.exitCode, String(done.stderr)).toBe(0);

    expect(recordErrors(r.log)).toEqual([]);
    expect(nativeErrors(r.tap, r.log)).toEqual([]);
    const seen = shapes(readRecords(r.log) as Rec[]);
    for (const s of ['start', 'exec', 'bind', 'accept', 'connect', 'close', 'connect ipv6', 'close without remote', 'outcome established', 'outcome failed', 'reload applied', 'reload refused', 'end']) {
      expect(seen, s).toContain(s);
    }
  });

  it('--egress block: a refused TCP connect and UDP sendto (blocked, via), and an allowed one', async () => {
    const srv = await httpServer();
    try {
      const other = await freePort('127.0.0.1');
      const send = 'import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry: s.sendto(b"x", ("127.0.0.1", 9))\nexcept OSError: pass';
      const script = `curl -s -o /dev/null http://127.0.0.1:${srv.port}/; curl -s -o /dev/null http://127.0.0.1:${other}/; python3 -c '${send}'; exit 0`;
      const r = run('block', ['--egress', 'block', '--allow', `127.0.0.1:${srv.port}`], ['bash', '-c', script]);
      const done = await r.sub;
      expect(done.exitCode, String(done.stderr)).toBe(0);
      expect(srv.requests).toHaveLength(1);

      expect(recordErrors(r.log)).toEqual([]);
      expect(nativeErrors(r.tap, r.log)).toEqual([]);
      const seen = shapes(readRecords(r.log) as Rec[]);
      for (const s of ['start egress', 'exec', 'connect', 'close', 'outcome established', 'blocked via connect', 'blocked via sendto', 'end']) expect(seen, s).toContain(s);
    } finally {
      await srv.close();
    }
  });
});
