// Exec whitelist (docs/configuration.md "Whitelists"): parses `PATH[|ARGV_PREFIX]` entries and
// lists of them, and decides whether an entry hides an exec record. Root is never hidden unless
// asked. An entry names a file by its real path and by its identity (stat(2) st_dev/st_ino).

import { NetlogError } from '../errors.js';
import type { EventRecord } from '../record/types.js';
import { checkPath, fileId, parseList } from './net.js';

export { fileId };

export interface ExecWhitelistEntry {
  /** The entry as written. */
  text: string;
  /** Normalised form; two entries with the same one are duplicates. */
  canonical: string;
  path: string;
  /** Byte prefix of the argv as the original execlog built it ("ls -l /tmp "). */
  argvPrefix?: string;
  /**
   * "dev:ino" of PATH in netlog-run's own view when the entry was read (start, SIGHUP), or
   * undefined when PATH could not be stat'ed then: such an entry hides nothing. A program
   * that a user namespace mounts over PATH has another identity and is not hidden.
   */
  id?: string;
}

/**
 * Parses one exec whitelist entry. Everything after the first '|' is the argv prefix, so it
 * may itself contain '|'. An empty prefix ("/usr/bin/id|") means none, as in the original.
 */
export function parseExecEntry(text: string): ExecWhitelistEntry {
  const bar = text.indexOf('|');
  // No real path ends in blanks: "/usr/bin/ls , /bin/id" means two paths without them.
  const path = (bar < 0 ? text : text.slice(0, bar)).trimEnd();
  const argvPrefix = bar < 0 ? '' : text.slice(bar + 1);
  checkPath(path, (reason) => new NetlogError('EWHITELIST', `exec whitelist entry '${text}': ${reason}`));
  const id = fileId(path);
  if (argvPrefix === '') return { text, canonical: path, path, id };
  return { text, canonical: `${path}|${argvPrefix}`, path, argvPrefix, id };
}

/** Parses the comma-separated `exec_whitelist=` value; empty elements and duplicates are errors. */
export function parseExecList(text: string): ExecWhitelistEntry[] {
  return parseList(text, 'exec whitelist', parseExecEntry);
}

/**
 * Whether `prefix` is a prefix of argv taken argument by argument: the prefix is split at its
 * spaces into words; every word but the last must equal its argument exactly, and the last
 * word must be a byte prefix of its argument, or equal it when the prefix ends with a space
 * ("ls -l " matches ["ls","-l"] and ["ls","-l","/tmp"], not ["ls","-lR"]). So a space in the
 * prefix only ever stands for the boundary between two arguments: ["bash /opt/backup.sh","-c",X]
 * is not matched by "bash /opt/backup.sh", and no entry matches an argument containing a space
 * beyond its last word.
 */
export function argvPrefixMatches(prefix: string, argv: readonly string[]): boolean {
  const words = prefix.split(' ');
  const whole = words.at(-1) === '';
  if (whole) words.pop();
  if (words.length > argv.length) return false;
  return words.every((word, i) => {
    const arg = argv[i]!;
    if (i < words.length - 1 || whole) return arg === word;
    // A prefix of whole code points: startsWith on the strings is the byte-prefix test on their UTF-8.
    return arg.startsWith(word);
  });
}

/** Whether some entry hides this exec record. */
export function matchExec(entries: readonly ExecWhitelistEntry[], rec: EventRecord, includeRoot: boolean): boolean {
  const exec = rec.exec;
  if (rec.event !== 'exec' || !exec) return false;
  if (!includeRoot && (rec.proc.uid === 0 || rec.proc.euid === 0)) return false;
  return entries.some((entry) => {
    if (entry.path !== exec.file || entry.id === undefined || entry.id !== exec.id) return false;
    if (entry.argvPrefix === undefined) return true;
    return argvPrefixMatches(entry.argvPrefix, exec.argv);
  });
}
