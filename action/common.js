// Shared by the action's main and post steps: the runner's file commands
// (GITHUB_ENV, GITHUB_PATH, GITHUB_STATE), inputs and annotations. Plain Node, no dependencies.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** An input as the runner passes it: INPUT_<NAME upper-cased, spaces as _>. */
export function input(name, fallback = '') {
  const v = process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`];
  return v === undefined || v === '' ? fallback : v.trim();
}

/** Appends NAME=VALUE to a runner file command, with the heredoc form for multi-line values. */
export function fileCommand(envName, name, value) {
  const file = process.env[envName];
  if (!file) throw new Error(`$${envName} is not set (not running in GitHub Actions?)`);
  const text = String(value);
  if (!text.includes('\n')) return fs.appendFileSync(file, `${name}=${text}\n`);
  const delim = `netlog_${randomBytes(8).toString('hex')}`;
  fs.appendFileSync(file, `${name}<<${delim}\n${text}\n${delim}\n`);
}

export function error(message) {
  process.stdout.write(`::error title=netlog::${message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`);
}

export function warning(message) {
  process.stdout.write(`::warning title=netlog::${message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`);
}

/** The allowed-endpoints input as a list of entries. */
export function allowEntries(text) {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'));
}
