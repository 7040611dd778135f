// Exec whitelist (docs/configuration.md): parses `PATH[|ARGV_PREFIX]` entries and lists of them, and
// decides whether an entry hides an exec record. Root is never hidden unless asked.

import { NetlogError } from '../errors.js';
import type { EventRecord } from '../record/types.js';
import { checkPath, parseList } from './net.js';

export interface ExecWhitelistEntry {
  /** The entry as written. */
  text: string;
  /** Normalised form; two entries with the same one are duplicates. */
  canonical: string;
  path: string;
  /** Byte prefix of the argv as the original execlog built it ("ls -l /tmp "). */
  argvPrefix?: string;
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
  if (argvPrefix === '') return { text, canonical: path, path };
  return { text, canonical: `${path}|${argvPrefix}`, path, argvPrefix };
}

/** Parses the comma-separated `exec_whitelist=` value; empty elements and duplicates are errors. */
export function parseExecList(text: string): ExecWhitelistEntry[] {
  return parseList(text, 'exec whitelist', parseExecEntry);
}

/**
 * The argv text a prefix is compared with: each argument followed by a space, as the
 * original execlog's buffer, so a prefix such as "ls -l " matches `ls -l` alone too.
 */
export function argvText(argv: readonly string[]): string {
  return argv.map((arg) => `${arg} `).join('');
}

/** Whether some entry hides this exec record. */
export function matchExec(entries: readonly ExecWhitelistEntry[], rec: EventRecord, includeRoot: boolean): boolean {
  const exec = rec.exec;
  if (rec.event !== 'exec' || !exec) return false;
  if (!includeRoot && (rec.proc.uid === 0 || rec.proc.euid === 0)) return false;
  let text: string | undefined;
  return entries.some((entry) => {
    if (entry.path !== exec.file) return false;
    if (entry.argvPrefix === undefined) return true;
    text ??= argvText(exec.argv);
    // A prefix of whole code points: startsWith on the strings is the byte-prefix test on their UTF-8.
    return text.startsWith(entry.argvPrefix);
  });
}
