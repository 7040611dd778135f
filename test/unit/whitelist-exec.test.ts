// Exec whitelist: `PATH[|ARGV_PREFIX]` entries, lists, and which exec records they hide.

import { describe, expect, it } from 'vitest';
import { NetlogError } from '../../src/errors.js';
import type { EventRecord } from '../../src/record/types.js';
import { argvPrefixMatches, fileId, matchExec, parseExecEntry, parseExecList } from '../../src/whitelist/exec.js';

/** An exec record of `file`; its identity is the file's own unless `id` says otherwise. */
function execRec(file: string, argv: string[], ids: { uid?: number; euid?: number; id?: string } = {}): EventRecord {
  return {
    v: 1,
    seq: 1,
    ts: '2026-01-01T00:00:00.000000Z',
    event: 'exec',
    proc: {
      pid: 10, tid: 10, ppid: 1, sid: 10, pgid: 10, tty: 'pts/0', uid: ids.uid ?? 1000, gid: 1000,
      euid: ids.euid ?? 1000, egid: 1000, auid: 1000, ses: 1, exe: '/usr/bin/bash', comm: 'bash',
    },
    exec: { file, path: file, argv, cwd: '/home/u', argv_truncated: false, id: ids.id ?? fileId(file) },
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
  it('takes the identity of the entry\'s file when the entry is read', () => {
    expect(parseExecEntry('/usr/bin/ls').id).toBe(fileId('/usr/bin/ls'));
    expect(parseExecEntry('/usr/bin/ls').id).toMatch(/^\d+:\d+$/);
    expect(parseExecEntry('/no/such/program').id).toBeUndefined();
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
    ['non-ASCII prefix', '/usr/bin/echo|echo héllo', execRec('/usr/bin/echo', ['echo', 'héllo', 'wörld']), false, true],
    ['last word is a byte prefix of its argument', '/usr/bin/ls|ls -l /t', ls, false, true],
    // identity: the same path with another file behind it (a bind mount in a user namespace)
    ['same path, other file', '/usr/bin/ls', execRec('/usr/bin/ls', ['ls'], { id: '1:1' }), false, false],
    ['same path, no identity', '/usr/bin/ls', execRec('/usr/bin/ls', ['ls'], { id: '' }), false, false],
    ['entry whose file did not exist when read', '/no/such/program', execRec('/no/such/program', ['x'], { id: '0:0' }), false, false],
    // argument by argument: a space in the prefix is a boundary between two arguments only
    ['one argument with spaces does not stand in for several', '/usr/bin/bash|bash /opt/backup.sh', execRec('/usr/bin/bash', ['bash /opt/backup.sh', '-c', 'payload']), false, false],
    ['nor with a trailing space', '/usr/bin/bash|bash /opt/backup.sh ', execRec('/usr/bin/bash', ['bash /opt/backup.sh', '-c', 'payload']), false, false],
    ['nor as the last word', '/usr/bin/echo|echo a', execRec('/usr/bin/echo', ['echo a b']), false, false],
    ['the real argv is hidden', '/usr/bin/bash|bash /opt/backup.sh ', execRec('/usr/bin/bash', ['bash', '/opt/backup.sh']), false, true],
    ['an empty argument is a word', '/usr/bin/ls|ls  -l', execRec('/usr/bin/ls', ['ls', '', '-l']), false, true],
    ['an empty argument is not skipped', '/usr/bin/ls|ls  -l', execRec('/usr/bin/ls', ['ls', '-l']), false, false],
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

  it('argvPrefixMatches: whole arguments, the last word a byte prefix unless a space ends the prefix', () => {
    expect(argvPrefixMatches('ls', ['ls'])).toBe(true);
    expect(argvPrefixMatches('l', ['ls'])).toBe(true);
    expect(argvPrefixMatches('l ', ['ls'])).toBe(false);
    expect(argvPrefixMatches('ls ', ['ls'])).toBe(true);
    expect(argvPrefixMatches('ls -', ['ls', '-l'])).toBe(true);
    expect(argvPrefixMatches('ls -', ['ls'])).toBe(false);
    expect(argvPrefixMatches('x', [])).toBe(false);
  });

  it('matches when any entry of a list does', () => {
    expect(matchExec(parseExecList('/usr/bin/id,/usr/bin/ls|ls -l'), ls, false)).toBe(true);
    expect(matchExec([], ls, false)).toBe(false);
  });
});
