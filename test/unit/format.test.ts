// The json (SPEC §4) and text formatters: the JSON key order of the contract and no internal
// fields; text lines that are one line each, coloured only on a TTY without NO_COLOR.

import { describe, expect, it } from 'vitest';
import { formatJson } from '../../src/record/json.js';
import { formatText, textColors } from '../../src/record/text.js';
import type { EventRecord, ExecInfo, NetInfo, ProcInfo, RunRecord } from '../../src/record/types.js';

const TS = '2026-11-25T06:10:00.123456Z';
const PROC_KEYS = ['pid', 'tid', 'ppid', 'sid', 'pgid', 'tty', 'uid', 'gid', 'euid', 'egid', 'auid', 'ses', 'exe', 'comm'];

const proc: ProcInfo = {
  pid: 4242, tid: 4243, ppid: 4100, sid: 4100, pgid: 4242, tty: 'pts/0', uid: 1000, gid: 1001, euid: 1002,
  egid: 1003, auid: 1000, ses: 3, exe: '/usr/bin/curl', comm: 'curl',
};

function execRec(exec: Partial<ExecInfo> = {}, p: Partial<ProcInfo> = {}): EventRecord {
  return {
    v: 1, seq: 8, ts: TS, boot: [1234, 567890], event: 'exec', proc: { ...proc, exe: '/usr/bin/bash', comm: 'bash', ...p },
    exec: { file: '/usr/bin/ls', path: '/bin/ls', argv: ['ls', '-l', '/tmp'], cwd: '/home/u', argv_truncated: false, id: '1:2', ...exec },
  };
}

function netRec(event: EventRecord['event'], net: NetInfo, result?: string): EventRecord {
  return { v: 1, seq: 7, ts: TS, boot: [1234, 567890], event, proc, net, ...(result !== undefined && { result }) };
}

const CONNECT: NetInfo = { proto: 'tcp', family: 'ipv4', local: { ip: '10.0.0.5', port: 48712 }, remote: { ip: '93.184.216.34', port: 80 } };

const START: RunRecord = {
  v: 1, seq: 1, ts: TS, event: 'start',
  run: { version: '0.1.0', pid: 4000, command: ['bash', '-c', 'true'], uid: 1000, config_digest: 'ab'.repeat(32) },
};
const END: RunRecord = { v: 1, seq: 9, ts: TS, event: 'end', run: { exit_code: 0, signal: null, records: 8, hidden: 0, refused: 0 } };

/** Keys of a JSON object as they appear in the text (JSON.parse keeps the order). */
function keys(line: string): string[] {
  return Object.keys(JSON.parse(line) as object);
}

describe('formatJson', () => {
  it('writes the SPEC §4 connect example with its keys in the contract order', () => {
    const line = formatJson({ ...netRec('connect', CONNECT), session: '6f1c2a9e04b3d771' });
    expect(line).toBe(
      '{"v":1,"seq":7,"ts":"2026-11-25T06:10:00.123456Z","event":"connect","session":"6f1c2a9e04b3d771",' +
        '"proc":{"pid":4242,"tid":4243,"ppid":4100,"sid":4100,"pgid":4242,"tty":"pts/0","uid":1000,"gid":1001,"euid":1002,"egid":1003,"auid":1000,"ses":3,"exe":"/usr/bin/curl","comm":"curl"},' +
        '"net":{"proto":"tcp","family":"ipv4","local":{"ip":"10.0.0.5","port":48712},"remote":{"ip":"93.184.216.34","port":80}}}',
    );
  });

  it('writes an exec record: v,seq,ts,event,proc,exec, and no boot', () => {
    const line = formatJson(execRec());
    expect(keys(line)).toEqual(['v', 'seq', 'ts', 'event', 'proc', 'exec']);
    expect(JSON.parse(line).exec).toEqual({ file: '/usr/bin/ls', path: '/bin/ls', argv: ['ls', '-l', '/tmp'], cwd: '/home/u', argv_truncated: false });
    expect(line).not.toContain('boot');
    expect(line).not.toContain('\n');
  });

  it('puts result last', () => {
    const line = formatJson(netRec('connect', CONNECT, 'ECONNREFUSED'));
    expect(keys(line)).toEqual(['v', 'seq', 'ts', 'event', 'proc', 'net', 'result']);
    expect(JSON.parse(line).result).toBe('ECONNREFUSED');
  });

  it('orders the top level as the contract says whatever order the record object was built in', () => {
    const rec = {
      result: 'ok', net: CONNECT, proc, boot: [1, 2], event: 'connect', ts: TS, seq: 3, v: 1,
    } as unknown as EventRecord;
    const line = formatJson(rec);
    expect(keys(line)).toEqual(['v', 'seq', 'ts', 'event', 'proc', 'net', 'result']);
  });

  it('orders net as proto,family,local,remote and drops `accepted`', () => {
    const net = { accepted: true, remote: { ip: '10.0.0.9', port: 51234 }, local: { ip: '10.0.0.5', port: 22 }, family: 'ipv4', proto: 'tcp' } as NetInfo;
    const line = formatJson(netRec('close', net));
    expect(keys(line)).toEqual(['v', 'seq', 'ts', 'event', 'proc', 'net']);
    expect(Object.keys(JSON.parse(line).net)).toEqual(['proto', 'family', 'local', 'remote']);
    expect(line).not.toContain('accepted');
    expect(line).not.toContain('boot');
  });

  it('writes bind without remote', () => {
    const line = formatJson(netRec('bind', { proto: 'udp', family: 'ipv6', local: { ip: '::', port: 123 } }));
    expect(JSON.parse(line).net).toEqual({ proto: 'udp', family: 'ipv6', local: { ip: '::', port: 123 } });
  });

  it('writes null tty, auid and ses as null', () => {
    const line = formatJson(execRec({}, { tty: null, auid: null, ses: null }));
    const p = JSON.parse(line).proc;
    expect(p.tty).toBeNull();
    expect(p.auid).toBeNull();
    expect(p.ses).toBeNull();
    expect(Object.keys(p)).toEqual(PROC_KEYS);
  });

  // SPEC §4: "keys in this order where present" holds for the nested objects too; the
  // formatter, not whoever built the record, is what the contract binds.
  it('orders proc and exec keys as the contract says whatever order the record object was built in', () => {
    const scrambledProc = Object.fromEntries([...PROC_KEYS].reverse().map((k) => [k, (proc as unknown as Record<string, unknown>)[k]])) as unknown as ProcInfo;
    const rec = execRec();
    rec.proc = scrambledProc;
    rec.exec = { id: '1:2', argv_truncated: false, cwd: '/', argv: ['ls'], path: 'ls', file: '/usr/bin/ls' } as ExecInfo;
    const out = JSON.parse(formatJson(rec));
    expect(Object.keys(out.proc)).toEqual(PROC_KEYS);
    expect(Object.keys(out.exec)).toEqual(['file', 'path', 'argv', 'cwd', 'argv_truncated']);
  });

  it('writes start and end records as v,seq,ts,event,run', () => {
    expect(keys(formatJson(START))).toEqual(['v', 'seq', 'ts', 'event', 'run']);
    expect(keys(formatJson(END))).toEqual(['v', 'seq', 'ts', 'event', 'run']);
    expect(JSON.parse(formatJson(END)).run).toEqual({ exit_code: 0, signal: null, records: 8, hidden: 0, refused: 0 });
  });

  it('puts session right after event in run records too', () => {
    expect(keys(formatJson({ ...START, session: 'ab' }))).toEqual(['v', 'seq', 'ts', 'event', 'session', 'run']);
    expect(keys(formatJson({ ...execRec(), session: 'ab' }))).toEqual(['v', 'seq', 'ts', 'event', 'session', 'proc', 'exec']);
  });

  it('escapes C1 controls, DEL, U+2028/U+2029 and bidi controls, and the value parses back the same', () => {
    const nasty = 'a\u009b31m\u0085\u2028\u2029\u202e\u2066\u200f\x7f\x1b\nb';
    const line = formatJson(execRec({ file: nasty, argv: [nasty] }, { exe: nasty }));
    // eslint-disable-next-line no-control-regex
    expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f]/u);
    expect(line).toContain('\\u009b');
    expect(line).toContain('\\u202e');
    const back = JSON.parse(line);
    expect(back.exec.file).toBe(nasty);
    expect(back.exec.argv).toEqual([nasty]);
    expect(back.proc.exe).toBe(nasty);
  });

  it('never writes the internal boot time, not even for start and end records', () => {
    const withBoot: RunRecord = { ...START, boot: [1234, 567890] };
    expect(formatJson(withBoot)).not.toContain('boot');
    expect(keys(formatJson(withBoot))).toEqual(['v', 'seq', 'ts', 'event', 'run']);
  });
});

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[/;

describe('formatText', () => {
  const records: [string, EventRecord | RunRecord][] = [
    ['start', START],
    ['end', { ...END, run: { exit_code: 137, signal: 'SIGKILL', records: 8, hidden: 1, refused: 2 } }],
    ['exec', execRec({ argv_truncated: true }, { uid: 1000, euid: 0 })],
    ['connect with an error', netRec('connect', CONNECT, 'ECONNREFUSED')],
    ['bind', netRec('bind', { proto: 'udp', family: 'ipv6', local: { ip: '::', port: 123 } })],
  ];

  it.each(records)('%s: no colour codes with textColors(false)', (_name, rec) => {
    const line = formatText(rec, textColors(false, {}));
    expect(line).not.toMatch(ANSI);
    expect(line).not.toContain('\n');
  });

  it.each(records)('%s: no colour codes on a TTY when NO_COLOR is set', (_name, rec) => {
    expect(formatText(rec, textColors(true, { NO_COLOR: '1' }))).not.toMatch(ANSI);
  });

  it.each(records)('%s: colours on a TTY when NO_COLOR is unset', (_name, rec) => {
    expect(formatText(rec, textColors(true, {}))).toMatch(ANSI);
  });

  it('an empty NO_COLOR does not turn colours off (no-color.org)', () => {
    expect(formatText(execRec(), textColors(true, { NO_COLOR: '' }))).toMatch(ANSI);
  });

  it('reads NO_COLOR from process.env by default', () => {
    const saved = process.env.NO_COLOR;
    try {
      process.env.NO_COLOR = '1';
      expect(formatText(execRec(), textColors(true))).not.toMatch(ANSI);
      delete process.env.NO_COLOR;
      expect(formatText(execRec(), textColors(true))).toMatch(ANSI);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });

  it('shows the time, the event, labelled process fields, the file and the argv of an exec', () => {
    const line = formatText(execRec({ argv: ['echo', 'a b'], file: '/bin/echo' }), textColors(false, {}));
    expect(line).toBe('06:10:00.123456 exec    pid=4242 ppid=4100 uid=1000/1002 tty=pts/0 exe=/usr/bin/bash file=/bin/echo argv: echo "a b"');
    expect(formatText(execRec({}, { tty: null }), textColors(false, {}))).toContain(' tty=- ');
    expect(formatText(execRec({ argv_truncated: true }), textColors(false, {}))).toContain('(argv truncated)');
  });

  it('shows uid/euid when they differ', () => {
    expect(formatText(execRec({}, { uid: 1000, euid: 0 }), textColors(false, {}))).toContain('uid=1000/0 ');
    expect(formatText(execRec({}, { uid: 1000, euid: 1000 }), textColors(false, {}))).toMatch(/uid=1000 /);
  });

  it('credits the launch of COMMAND to netlog-run, not to node, and only that exec', () => {
    const ctx = { commandPid: 4242, launcherExe: '/usr/bin/node' };
    const launch = execRec({}, { exe: '/usr/bin/node', comm: 'node' });
    expect(formatText(launch, textColors(false, {}), ctx)).toContain(' by=netlog-run file=/usr/bin/ls argv: ls -l /tmp');
    expect(formatText(launch, textColors(false, {}), ctx)).not.toContain('node');
    // COMMAND exec'ing again from the same pid, or a node program elsewhere in the session.
    expect(formatText(execRec(), textColors(false, {}), ctx)).toContain(' exe=/usr/bin/bash ');
    expect(formatText(execRec({}, { pid: 5000, exe: '/usr/bin/node' }), textColors(false, {}), ctx)).toContain(' exe=/usr/bin/node ');
  });

  it('shows network endpoints with arrows, IPv6 in brackets, and a failed result', () => {
    const c = textColors(false, {});
    expect(formatText(netRec('connect', CONNECT, 'ECONNREFUSED'), c)).toBe(
      '06:10:00.123456 connect pid=4242 ppid=4100 uid=1000/1002 tty=pts/0 exe=/usr/bin/curl TCP 10.0.0.5:48712 -> 93.184.216.34:80 result=ECONNREFUSED',
    );
    expect(formatText(netRec('connect', CONNECT, 'ok'), c)).toMatch(/-> 93\.184\.216\.34:80$/);
    const v6: NetInfo = { proto: 'tcp', family: 'ipv6', local: { ip: '::1', port: 22 }, remote: { ip: '::ffff:1.2.3.4', port: 5 } };
    expect(formatText(netRec('accept', v6), c)).toContain('TCP [::1]:22 <- [::ffff:1.2.3.4]:5');
    expect(formatText(netRec('close', v6), c)).toContain('[::1]:22 <!> [::ffff:1.2.3.4]:5');
    expect(formatText(netRec('bind', { proto: 'udp', family: 'ipv4', local: { ip: '0.0.0.0', port: 123 } }), c)).toContain('UDP 0.0.0.0:123 BIND');
  });

  it('shows start and end with the session, in words with correct plurals', () => {
    const c = textColors(false, {});
    expect(formatText({ ...START, session: '6f1c2a9e04b3d771' }, c)).toBe(
      '06:10:00.123456 start   session=6f1c2a9e04b3d771 version=0.1.0 pid=4000 uid=1000 command: bash -c true',
    );
    expect(formatText({ ...END, session: '6f1c2a9e04b3d771' }, c)).toBe('06:10:00.123456 end     session=6f1c2a9e04b3d771 exit 0, 8 records, 0 hidden');
    const one = { ...END, run: { exit_code: 143, signal: 'SIGTERM', records: 1, hidden: 0, refused: 0 } };
    expect(formatText(one, c)).toMatch(/ killed by SIGTERM, 1 record, 0 hidden$/);
  });

  it('quotes and escapes every field with one rule: the start command as exec argv', () => {
    const c = textColors(false, {});
    const argv = ['sh', '-c', 'echo "a\\b"\nexit', ''];
    const start = formatText({ ...START, run: { ...(START.run as object), command: argv } as RunRecord['run'] }, c);
    const exec = formatText(execRec({ argv, file: '/tmp/a b' }), c);
    const shown = 'sh -c "echo \\"a\\\\b\\"\\nexit" ""';
    expect(start.endsWith(`command: ${shown}`)).toBe(true);
    expect(exec.endsWith(`file="/tmp/a b" argv: ${shown}`)).toBe(true);
  });

  // U+009B is CSI on a terminal that takes C1 controls; U+202E reverses the text after it.
  it('writes no C0/C1 control, DEL, line separator or bidi control raw, in any field', () => {
    const nasty = 'x\u009b31m\u202egnp.exe\u2028\u2066\x7f\x1b[2J\ty';
    const recs: (EventRecord | RunRecord)[] = [
      execRec({ file: nasty, argv: [nasty], cwd: nasty }, { exe: nasty, tty: nasty }),
      { ...netRec('connect', CONNECT, nasty), proc: { ...proc, exe: nasty } },
      { ...START, run: { ...(START.run as object), command: [nasty] } as RunRecord['run'] },
      { v: 1, seq: 2, ts: TS, event: 'reload', run: { status: 'refused', config_digest: 'ab', error: nasty } },
    ];
    for (const colors of [textColors(false, {}), textColors(true, {})]) {
      for (const rec of recs) {
        // eslint-disable-next-line no-control-regex
        const raw = formatText(rec, colors).replace(/\x1b\[\d+m/g, '');
        // eslint-disable-next-line no-control-regex
        expect(raw).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u);
      }
    }
    expect(formatText(recs[0]!, textColors(false, {}))).toContain('file="x\\x9b31m\\u{202e}gnp.exe\\u{2028}\\u{2066}\\x7f\\x1b[2J\\ty"');
  });

  // The text format is "one readable line per record" (SPEC §2) for a person at a terminal:
  // names chosen by the audited user (a file, a program path, an argument) must not break
  // the line or reach the terminal as control sequences.
  it('keeps a record on one line and passes no control characters from names through', () => {
    const evil = '/tmp/x\n12:00:00 exec fake\x1b[2J\x07';
    for (const colors of [textColors(false, {}), textColors(true, {})]) {
      const exec = formatText(execRec({ file: evil, argv: [evil, 'a\nb'] }, { exe: evil }), colors);
      expect(exec).not.toContain('\n');
      expect(exec).not.toContain('\x07');
      expect(exec).not.toContain('\x1b[2J');
      const net = formatText({ ...netRec('connect', CONNECT), proc: { ...proc, exe: evil } }, colors);
      expect(net).not.toContain('\n');
      expect(net).not.toContain('\x1b[2J');
    }
  });
});
