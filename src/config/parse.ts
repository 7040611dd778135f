// Reads netlog config files (docs/configuration.md: `key = value` lines and modprobe.d `options netlog|execlog`
// lines), validates command-line values with the same code, and merges layers into a Config.
// Pure: the caller reads the file; errors are ConfigError naming the file, line and key.

import { createHash } from 'node:crypto';
import { ConfigError, NetlogError } from '../errors.js';
import { parseExecEntry } from '../whitelist/exec.js';
import { duplicateError } from '../whitelist/net.js';
import {
  ALL_PROBES,
  DEFAULTS,
  KEYS,
  MODPROBE_KEYS,
  PROBE_TCP_ACCEPT,
  PROBE_TCP_CLOSE,
  PROBE_TCP_CONNECT,
  PROBE_UDP_BIND,
  PROBE_UDP_CLOSE,
  PROBE_UDP_CONNECT,
  isConfigKey,
  type Config,
  type ConfigKey,
  type ConfigLayer,
} from './keys.js';

/** modprobe.d(5) commands other than `options`, whose lines are skipped. */
const MODPROBE_COMMANDS = new Set(['options', 'install', 'remove', 'alias', 'blacklist', 'softdep']);

interface Line {
  number: number;
  text: string;
}

/** Parses the text of config file `file` (named in messages) into the settings it sets. */
export function parseConfig(text: string, file: string): ConfigLayer {
  const layer: ConfigLayer = {};
  const setOn = new Map<ConfigKey, number>();
  const seen = new Map<string, { text: string; line: number }>();

  const set = (key: ConfigKey, value: string, line: number, shownKey: string): void => {
    const where = { file, line, key: shownKey };
    const part = withLocation(() => KEYS[key].parse(value, { fromFile: true }), shownKey, where);
    if (part.whitelist) layer.whitelist = addEntries(layer.whitelist, part.whitelist, 'whitelist', seen, where);
    if (part.execWhitelist) {
      layer.execWhitelist = addEntries(layer.execWhitelist, part.execWhitelist, 'exec whitelist', seen, where);
    }
    if (part.whitelist || part.execWhitelist) return;
    const earlier = setOn.get(key);
    if (earlier !== undefined) throw new ConfigError(`key '${shownKey}' is already set on line ${earlier}`, where);
    setOn.set(key, line);
    Object.assign(layer, part);
  };

  for (const { number, text: raw } of logicalLines(text)) {
    const where = { file, line: number };
    const content = stripComment(raw, where).trim();
    if (content === '') continue;

    const command = /^([a-z]+)\s+([^=\s].*)$/.exec(content);
    if (command && MODPROBE_COMMANDS.has(command[1] ?? '')) {
      if (command[1] === 'options') parseOptionsLine(command[2] ?? '', number, where, set);
      continue;
    }

    const eq = content.indexOf('=');
    if (eq < 0) throw new ConfigError(`expected 'key = value', got '${content}'`, where);
    const name = content.slice(0, eq).trim();
    if (!isConfigKey(name)) throw unknownKey(name, Object.keys(KEYS), where);
    set(name, unquote(content.slice(eq + 1).trim(), where, name), number, name);
  }
  return layer;
}

/** `options MODULE k=v k2="v 2" ...`: lines for modules other than ours are skipped. */
function parseOptionsLine(
  rest: string,
  line: number,
  where: { file: string; line: number },
  set: (key: ConfigKey, value: string, line: number, shownKey: string) => void,
): void {
  const [module = '', ...params] = splitWords(rest, where);
  const keys = MODPROBE_KEYS[module];
  if (!keys || !Object.hasOwn(MODPROBE_KEYS, module)) return;
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq <= 0) throw new ConfigError(`options ${module}: expected key=value, got '${param}'`, where);
    const name = param.slice(0, eq);
    if (!Object.hasOwn(keys, name)) {
      const owner = Object.keys(MODPROBE_KEYS).find((m) => m !== module && Object.hasOwn(MODPROBE_KEYS[m] ?? {}, name));
      const hint = owner ? ` (it belongs to 'options ${owner}')` : '';
      throw unknownKey(name, Object.keys(keys), { ...where, key: name }, `options ${module}: `, hint);
    }
    const key = keys[name];
    if (key) set(key, param.slice(eq + 1), line, name);
  }
}

/**
 * Validates one command-line value with the config file's rules, e.g.
 * parseCliValue('whitelist', '/usr/sbin/sshd|p<22>', '--whitelist'). `whitelist` takes one
 * entry or a comma-separated list, as in a file; `exec_whitelist` takes exactly one entry,
 * so its argv prefix may hold a comma.
 */
export function parseCliValue(key: string, value: string, origin: string): ConfigLayer {
  const where = { origin, key };
  if (!isConfigKey(key)) throw unknownKey(key, Object.keys(KEYS), where);
  const parse = (): ConfigLayer => {
    if (key === 'exec_whitelist') return { execWhitelist: [parseExecEntry(value)] };
    return KEYS[key].parse(value, { fromFile: false });
  };
  return withLocation(parse, key, where);
}

/** Runs a value parser, turning its NetlogError into a ConfigError that says where the value came from. */
function withLocation(
  parse: () => ConfigLayer,
  shownKey: string,
  where: { file?: string; line?: number; origin?: string; key?: string },
): ConfigLayer {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof NetlogError)) throw err;
    // A whitelist message names its entry; in a file a plain value needs its key (an option names itself).
    const prefix = err.code === 'EWHITELIST' || where.file === undefined ? '' : `key '${shownKey}': `;
    throw new ConfigError(prefix + err.message, where, { cause: err });
  }
}

/** Whitelist lines add up; an entry already given on an earlier line is an error. */
function addEntries<T extends { text: string; canonical: string }>(
  list: T[] | undefined,
  entries: T[],
  what: string,
  seen: Map<string, { text: string; line: number }>,
  where: { file: string; line: number; key: string },
): T[] {
  for (const entry of entries) {
    const id = `${what}\0${entry.canonical}`;
    const earlier = seen.get(id);
    if (earlier) {
      throw new ConfigError(`${duplicateError(what, entry, earlier).message} (already on line ${earlier.line})`, where);
    }
    seen.set(id, { text: entry.text, line: where.line });
  }
  return [...(list ?? []), ...entries];
}

/** Physical lines joined where one ends in a backslash (modprobe.d(5)); numbered from the first. */
function* logicalLines(text: string): Generator<Line> {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const number = i + 1;
    let joined = (lines[i] ?? '').replace(/\r$/, '');
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      i++;
      joined = joined.slice(0, -1) + (lines[i] ?? '').replace(/\r$/, '');
    }
    yield { number, text: joined };
  }
}

/** Cuts a comment: `#` at the start of the line or after a blank, outside double quotes. */
function stripComment(text: string, where: { file: string; line: number }): string {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '#' && !quoted && (i === 0 || /\s/.test(text[i - 1] ?? ''))) return text.slice(0, i);
  }
  if (quoted) throw new ConfigError('unterminated \'"\'', where);
  return text;
}

/** `"value"` → `value`, so a value may keep leading or trailing blanks. */
function unquote(value: string, where: { file: string; line: number }, key: string): string {
  if (!value.startsWith('"')) return value;
  if (value.length < 2 || !value.endsWith('"')) {
    throw new ConfigError(`key '${key}': a value that starts with '"' must end with '"'`, { ...where, key });
  }
  return value.slice(1, -1);
}

/** Splits on blanks outside double quotes and drops the quotes, as modprobe does. */
function splitWords(text: string, where: { file: string; line: number }): string[] {
  const words: string[] = [];
  let word = '';
  let quoted = false;
  let inWord = false;
  for (const c of text) {
    if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (/\s/.test(c) && !quoted) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quoted) throw new ConfigError('unterminated \'"\'', where);
  if (inWord) words.push(word);
  return words;
}

function unknownKey(
  name: string,
  known: string[],
  where: { file?: string; line?: number; origin?: string; key?: string },
  context = '',
  hint = '',
): ConfigError {
  const near = nearest(name, known);
  const suggestion = hint || (near ? ` (did you mean '${near}'?)` : '');
  return new ConfigError(`${context}unknown key '${name}'${suggestion}`, { ...where, key: name });
}

/** The known name closest to a misspelt one, if it is close enough to be what was meant. */
export function nearest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= 2 && bestDistance < name.length ? best : undefined;
}

/** Levenshtein distance counting a swap of two neighbours as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

const PROBE_SWITCHES: ReadonlyArray<[keyof ConfigLayer, number]> = [
  ['probeTcpConnect', PROBE_TCP_CONNECT],
  ['probeTcpAccept', PROBE_TCP_ACCEPT],
  ['probeTcpClose', PROBE_TCP_CLOSE],
  ['probeUdpConnect', PROBE_UDP_CONNECT],
  ['probeUdpBind', PROBE_UDP_BIND],
  ['probeUdpClose', PROBE_UDP_CLOSE],
];

/**
 * Merges layers left to right onto the defaults: a later scalar wins; whitelists add up
 * (an entry given again by a later layer is kept once).
 */
export function resolveConfig(layers: readonly ConfigLayer[]): Config {
  const merged: ConfigLayer = {};
  const whitelist = new Map<string, NonNullable<ConfigLayer['whitelist']>[number]>();
  const execWhitelist = new Map<string, NonNullable<ConfigLayer['execWhitelist']>[number]>();
  const allow = new Map<string, NonNullable<ConfigLayer['allow']>[number]>();
  for (const layer of layers) {
    for (const [field, value] of Object.entries(layer) as [keyof ConfigLayer, unknown][]) {
      if (value !== undefined) (merged as Record<string, unknown>)[field] = value;
    }
    for (const entry of layer.whitelist ?? []) if (!whitelist.has(entry.canonical)) whitelist.set(entry.canonical, entry);
    for (const entry of layer.execWhitelist ?? []) if (!execWhitelist.has(entry.canonical)) execWhitelist.set(entry.canonical, entry);
    for (const entry of layer.allow ?? []) if (!allow.has(entry.canonical)) allow.set(entry.canonical, entry);
  }

  let probes = (merged.probes ?? DEFAULTS.probes) & ALL_PROBES;
  for (const [field, bit] of PROBE_SWITCHES) if (merged[field] === false) probes &= ~bit;

  const settings: Omit<Config, 'digest'> = {
    probes,
    probeTcpBind: merged.probeTcpBind ?? false,
    whitelist: [...whitelist.values()],
    execWhitelist: [...execWhitelist.values()],
    whitelistIncludeRoot: merged.whitelistIncludeRoot ?? false,
    argvMaxSize: merged.argvMaxSize ?? DEFAULTS.argvMaxSize,
    simpleFormat: merged.simpleFormat ?? false,
    ...(merged.output !== undefined && { output: merged.output }),
    ...(merged.format !== undefined && { format: merged.format }),
    ...(typeof merged.syslog === 'string' && { syslog: merged.syslog }),
    syslogFacility: merged.syslogFacility ?? DEFAULTS.syslogFacility,
    egress: merged.egress ?? 'audit',
    allow: [...allow.values()],
  };
  return { ...settings, digest: configDigest(settings) };
}

/** sha256 of a canonical JSON: fixed key order, whitelist entries in their normalised form. */
export function configDigest(settings: Omit<Config, 'digest'>): string {
  const canonical = {
    argvMaxSize: settings.argvMaxSize,
    execWhitelist: settings.execWhitelist.map((e) => e.canonical),
    format: settings.format ?? null,
    output: settings.output ?? null,
    probeTcpBind: settings.probeTcpBind,
    probes: settings.probes,
    simpleFormat: settings.simpleFormat,
    syslog: settings.syslog ?? null,
    syslogFacility: settings.syslogFacility,
    whitelist: settings.whitelist.map((e) => e.canonical),
    whitelistIncludeRoot: settings.whitelistIncludeRoot,
    // Only when set, so the digests of configs from before egress stay the same.
    ...(settings.egress !== 'audit' && { egress: settings.egress }),
    ...(settings.allow.length > 0 && { allow: settings.allow.map((e) => e.canonical) }),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
