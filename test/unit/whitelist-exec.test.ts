// Exec whitelist: `PATH[|ARGV_PREFIX]` entries, lists, and which exec records they hide.

import { describe, expect, it } from 'vitest';
import { NetlogError } from '../../src/errors.js';
import type { EventRecord } from '../../src/record/types.js';
import { argvText, matchExec, parseExecEntry, parseExecList } from '../../src/whitelist/exec.js';

function execRec(file: string, argv: string[], ids: { uid?: number; euid?: number } = {}): EventRecord {
  return {
    v: 1,
    seq: 1,
    ts: '2026-01-01T00:00:00.000000Z',
    event: 'exec',
    proc: {
      pid: 10, tid: 10, ppid: 1, sid: 10, pgid: 10, tty: 'pts/0', uid: ids.uid ?? 1000, gid: 1000,
      euid: ids.euid ?? 1000, egid: 1000, auid: 1000, ses: 1, exe: '/usr/bin/bash', comm: 'bash',
    },
    exec: { file, argv, cwd: '/home/u', argv_truncated: false },
  };
}

describe('parseExecEntry', () => {
  it.each([
    ['/usr/bin/ls', { path: '/usr/bin/ls', canonical: '/usr/bin/ls' }],
    ['/usr/bin/ls|ls -l', { path: '/usr/bin/ls', argvPrefix: 'ls -l', canonical: '/usr/bin/ls|ls -l' }],
    ['/usr/bin/ls|ls -l ', { path: '/usr/bin/ls', argvPrefix: 'ls -l ' }],
    ['/bin/sh|sh -c a|b', { path: '/bin/sh', argvPrefix: 'sh -c a|b' }],
    ['/usr/bin/id|', { path: '/usr/bin/id', canonical: '/usr/bin/id' }],
    ['/usr/bin/id ', { path: '/usr/bin/id', canonical: '/usr/bin/id' }],
  ])('%j', (text, expected) => {
    const entry = parseExecEntry(text);
    expect(entry).toMatchObject({ text, ...expected });
    if (!('argvPrefix' in expected)) expect(entry.argvPrefix).toBeUndefined();
  });

  it.each([
    ['', "exec whitelist entry '': the program path is empty"],
    ['|ls', "exec whitelist entry '|ls': the program path is empty"],
    ['ls|ls -l', "the program path 'ls' is not absolute"],
    ['/usr/bin/./ls', 'is not a real path'],
  ])('refuses %j', (text, message) => {
    expect(() => parseExecEntry(text)).toThrow(NetlogError);
    expect(() => parseExecEntry(text)).toThrow(message);
  });
});

describe('parseExecList', () => {
  it('reads a comma-separated list', () => {
    expect(parseExecList('/usr/bin/ls|ls -l,/usr/bin/id').map((e) => e.canonical)).toEqual(['/usr/bin/ls|ls -l', '/usr/bin/id']);
    expect(parseExecList('')).toEqual([]);
  });

  it.each([
    ['/usr/bin/id,', "exec whitelist '/usr/bin/id,': empty entry"],
    ['/usr/bin/id,,/usr/bin/ls', 'empty entry'],
    ['/usr/bin/id,/usr/bin/id', "duplicate exec whitelist entry '/usr/bin/id'"],
    ['/usr/bin/id,/usr/bin/id|', "duplicate exec whitelist entry '/usr/bin/id|' (same as '/usr/bin/id')"],
  ])('refuses %j', (text, message) => {
    expect(() => parseExecList(text)).toThrow(message);
  });
});

describe('matchExec', () => {
  it('builds the argv text as execlog did', () => {
    expect(argvText(['ls', '-l', '/tmp'])).toBe('ls -l /tmp ');
    expect(argvText([])).toBe('');
  });

  type Row = [string, string, EventRecord, boolean, boolean];
  const ls = execRec('/usr/bin/ls', ['ls', '-l', '/tmp']);
  const rows: Row[] = [
    ['path only', '/usr/bin/ls', ls, false, true],
    ['other file', '/usr/bin/id', ls, false, false],
    ['path is exact', '/usr/bin/l', ls, false, false],
    ['argv prefix', '/usr/bin/ls|ls -l', ls, false, true],
    ['whole argv', '/usr/bin/ls|ls -l /tmp', ls, false, true],
    ['whole argv and its trailing space', '/usr/bin/ls|ls -l /tmp ', ls, false, true],
    ['prefix with trailing space matches a last argument', '/usr/bin/ls|ls -l ', execRec('/usr/bin/ls', ['ls', '-l']), false, true],
    ['trailing space stops at the argument', '/usr/bin/ls|ls -l ', execRec('/usr/bin/ls', ['ls', '-lR']), false, false],
    ['prefix is a prefix, not a substring', '/usr/bin/ls|-l', ls, false, false],
    ['longer than argv', '/usr/bin/ls|ls -l /tmp /var', ls, false, false],
    ['prefix with the right argv but other file', '/bin/ls|ls -l', ls, false, false],
    ['non-ASCII prefix', '/usr/bin/echo|echo héllo', execRec('/usr/bin/echo', ['echo', 'héllo wörld']), false, true],
    // root is always recorded unless whitelist_include_root
    ['uid 0', '/usr/bin/ls', execRec('/usr/bin/ls', ['ls'], { uid: 0 }), false, false],
    ['euid 0 (setuid)', '/usr/bin/ls', execRec('/usr/bin/ls', ['ls'], { euid: 0 }), false, false],
    ['uid 0, include root', '/usr/bin/ls', execRec('/usr/bin/ls', ['ls'], { uid: 0 }), true, true],
    ['euid 0, include root', '/usr/bin/ls', execRec('/usr/bin/ls', ['ls'], { euid: 0 }), true, true],
    ['not exec', '/usr/bin/ls', { ...ls, event: 'connect' }, false, false],
  ];

  it.each(rows)('%s: %s', (_, entry, record, includeRoot, expected) => {
    expect(matchExec([parseExecEntry(entry)], record, includeRoot)).toBe(expected);
  });

  it('matches when any entry of a list does', () => {
    expect(matchExec(parseExecList('/usr/bin/id,/usr/bin/ls|ls -l'), ls, false)).toBe(true);
    expect(matchExec([], ls, false)).toBe(false);
  });
});
