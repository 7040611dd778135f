// Network whitelist (docs/configuration.md): parses `PATH[|i<IP>][|p<PORT>]` entries and lists of them,
// and decides whether an entry hides a connect/accept/bind/close record.
// Addresses are compared as bytes, never as strings; IPv4 lives in the v4-mapped IPv6 space.

import fs from 'node:fs';
import { NetlogError } from '../errors.js';
import type { EventRecord, NetInfo } from '../record/types.js';

export interface IpMatch {
  family: 'ipv4' | 'ipv6';
  /** Canonical text of the (network) address: dotted IPv4 or RFC 5952 IPv6. */
  address: string;
  /** Prefix length as written (32 or 128 for a single address). */
  prefix: number;
  /** The address in 16 bytes, IPv4 as ::ffff:a.b.c.d, so v4-mapped records match IPv4 entries. */
  bytes16: readonly number[];
  /** `prefix` counted in those 16 bytes (IPv4 prefix + 96). */
  prefix16: number;
}

export interface PortMatch {
  lo: number;
  hi: number;
}

export interface NetWhitelistEntry {
  /** The entry as written. */
  text: string;
  /** Normalised form (`/p|i<10.0.0.0/8>|p<22>`); two entries with the same one are duplicates. */
  canonical: string;
  path: string;
  /**
   * "dev:ino" of PATH in netlog's own view when the entry was read (start, SIGHUP), or
   * undefined when PATH could not be stat'ed then: such an entry hides nothing. A program
   * that a user namespace mounts over PATH has another identity and is not hidden.
   */
  id?: string;
  ip?: IpMatch;
  port?: PortMatch;
}

const FIELD_HELP = '(expected i<IP> or p<PORT>)';

function entryError(text: string, reason: string): NetlogError {
  return new NetlogError('EWHITELIST', `whitelist entry '${text}': ${reason}`);
}

/** Parses one network whitelist entry; throws NetlogError (code EWHITELIST) naming the entry. */
export function parseNetEntry(text: string): NetWhitelistEntry {
  const [path = '', ...fields] = text.split('|');
  checkPath(path, (reason) => entryError(text, reason));

  let ip: IpMatch | undefined;
  let port: PortMatch | undefined;
  for (const field of fields) {
    if (field === '') throw entryError(text, `empty field after '|' ${FIELD_HELP}`);
    const letter = field[0];
    const value = unwrapField(field.slice(1), (reason) => entryError(text, reason));
    if (letter === 'i') {
      if (ip) throw entryError(text, 'the IP is given twice (one i<IP> per entry)');
      ip = parseIpMatch(value, (reason) => entryError(text, reason));
    } else if (letter === 'p') {
      if (port) throw entryError(text, 'the port is given twice (one p<PORT> per entry)');
      port = parsePortMatch(value, (reason) => entryError(text, reason));
    } else {
      throw entryError(text, `unknown field '${letter}' ${FIELD_HELP}`);
    }
  }

  let canonical = path;
  if (ip) canonical += `|i<${ip.address}${ip.prefix === fullPrefix(ip.family) ? '' : `/${ip.prefix}`}>`;
  if (port) canonical += `|p<${port.lo === port.hi ? port.lo : `${port.lo}-${port.hi}`}>`;
  const id = fileId(path);
  return { text, canonical, path, ...(id !== undefined && { id }), ...(ip && { ip }), ...(port && { port }) };
}

/**
 * Parses the comma-separated `whitelist=` value. An empty value is an empty list;
 * an empty element (doubled, leading or trailing comma) and a duplicate entry are errors.
 */
export function parseNetList(text: string): NetWhitelistEntry[] {
  return parseList(text, 'whitelist', (item) => parseNetEntry(item.trim()));
}

/** Shared by the network and exec whitelists: split on ',', parse, refuse empties and duplicates. */
export function parseList<T extends { text: string; canonical: string }>(
  text: string,
  what: string,
  parseEntry: (item: string) => T,
): T[] {
  if (text.trim() === '') return [];
  const entries: T[] = [];
  const seen = new Map<string, T>();
  for (const raw of text.split(',')) {
    const item = raw.trimStart();
    if (item.trim() === '') {
      throw new NetlogError('EWHITELIST', `${what} '${text}': empty entry (a doubled, leading or trailing ',')`);
    }
    const entry = parseEntry(item);
    const earlier = seen.get(entry.canonical);
    if (earlier) throw duplicateError(what, entry, earlier);
    seen.set(entry.canonical, entry);
    entries.push(entry);
  }
  return entries;
}

export function duplicateError(what: string, entry: { text: string }, earlier: { text: string }): NetlogError {
  const same = earlier.text === entry.text ? '' : ` (same as '${earlier.text}')`;
  return new NetlogError('EWHITELIST', `duplicate ${what} entry '${entry.text}'${same}`);
}

/**
 * A whitelist PATH is compared byte for byte with a real path, so a path that no real
 * path can equal is refused rather than silently never matching.
 */
/** "dev:ino" of a file, as the native side reports the file an exec ran or a process runs; undefined if none. */
export function fileId(path: string): string | undefined {
  try {
    // Not throwing for a missing file keeps parsing cheap (an exception costs far more than the stat).
    const st = fs.statSync(path, { bigint: true, throwIfNoEntry: false });
    return st && `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

export function checkPath(path: string, fail: (reason: string) => NetlogError): void {
  if (path === '') throw fail('the program path is empty (expected an absolute path such as /usr/sbin/sshd)');
  if (!path.startsWith('/')) throw fail(`the program path '${path}' is not absolute (expected e.g. /usr/sbin/sshd)`);
  if (/\/\/|\/\.\.?(\/|$)/.test(path) || (path.length > 1 && path.endsWith('/'))) {
    throw fail(`the program path '${path}' is not a real path (no '.', '..', '//' or trailing '/')`);
  }
}

/** `<value>`, or `value` without the brackets; anything after `>` is refused. */
function unwrapField(raw: string, fail: (reason: string) => NetlogError): string {
  let value = raw;
  if (value.startsWith('<')) {
    const close = value.indexOf('>');
    if (close < 0) throw fail(`missing '>' in '${raw}'`);
    if (close !== value.length - 1) throw fail(`unexpected '${value.slice(close + 1)}' after '>'`);
    value = value.slice(1, -1);
  } else if (value.includes('>') || value.includes('<')) {
    throw fail(`stray '<' or '>' in '${raw}'`);
  }
  if (value === '') throw fail(`empty value in '${raw}'`);
  return value;
}

function fullPrefix(family: 'ipv4' | 'ipv6'): number {
  return family === 'ipv4' ? 32 : 128;
}

/** `1.2.3.4`, `::1`, `[::1]`, and the CIDR extension `10.0.0.0/8`, `[2001:db8::]/32`. */
function parseIpMatch(value: string, fail: (reason: string) => NetlogError): IpMatch {
  const slash = value.indexOf('/');
  let addressText = slash < 0 ? value : value.slice(0, slash);
  const prefixText = slash < 0 ? undefined : value.slice(slash + 1);
  const bracketed = addressText.startsWith('[') && addressText.endsWith(']');
  if (bracketed) addressText = addressText.slice(1, -1);
  else if (addressText.startsWith('[') || addressText.endsWith(']')) throw fail(`unbalanced '[' ']' in '${value}'`);

  const v4 = parseIPv4(addressText);
  if (v4 && bracketed) throw fail(`'[${addressText}]': brackets are for IPv6 addresses only`);
  const v6 = v4 ? undefined : parseIPv6(addressText);
  if (!v4 && !v6) throw fail(`'${addressText}' is not an IPv4 or IPv6 address`);
  const family = v4 ? 'ipv4' : 'ipv6';
  const max = fullPrefix(family);

  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
      throw fail(`bad prefix length '/${prefixText}' (expected /0../${max} for ${family === 'ipv4' ? 'IPv4' : 'IPv6'})`);
    }
    prefix = Number(prefixText);
  }
  const bytes16 = v4 ? [...V4_MAPPED_PREFIX, ...v4] : (v6 as number[]);
  const prefix16 = v4 ? prefix + 96 : prefix;
  const network = applyMask(bytes16, prefix16);
  if (network.some((b, i) => b !== bytes16[i])) {
    const shown = v4 ? network.slice(12).join('.') : formatIPv6(network);
    throw fail(`'${value}' has host bits set (did you mean ${shown}/${prefix}?)`);
  }
  const address = v4 ? v4.join('.') : formatIPv6(bytes16);
  return { family, address, prefix, bytes16, prefix16 };
}

/** Port 1..65535 in decimal, 0x hex or leading-0 octal (as the kernel's kstrtoint), or a range LO-HI. */
function parsePortMatch(value: string, fail: (reason: string) => NetlogError): PortMatch {
  const dash = value.indexOf('-');
  const lo = parsePort(dash < 0 ? value : value.slice(0, dash), fail);
  const hi = dash < 0 ? lo : parsePort(value.slice(dash + 1), fail);
  if (lo > hi) throw fail(`port range '${value}' runs backwards (expected LOW-HIGH)`);
  return { lo, hi };
}

function parsePort(text: string, fail: (reason: string) => NetlogError): number {
  let port: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) port = parseInt(text.slice(2), 16);
  else if (/^0[0-7]*$/.test(text)) port = parseInt(text, 8);
  else if (/^[1-9][0-9]*$/.test(text)) port = Number(text);
  else throw fail(`'${text}' is not a port number (expected 1..65535)`);
  if (port < 1 || port > 65535) throw fail(`port ${text} is out of range (expected 1..65535)`);
  return port;
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** Strict dotted quad: four decimal parts 0..255, no leading zeros (they would read as octal elsewhere). */
export function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes.push(Number(part));
  }
  return bytes;
}

/** IPv6 text (RFC 4291 §2.2: groups, one `::`, trailing dotted IPv4) to 16 bytes. No zone ids. */
export function parseIPv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 16 ? head : undefined;
  // `::` stands for at least one group of zeros
  if (head.length + tail.length > 14) return undefined;
  return [...head, ...new Array<number>(16 - head.length - tail.length).fill(0), ...tail];
}

function parseGroups(part: string, mayEndWithIPv4: boolean): number[] | undefined {
  if (part === '') return [];
  const groups = part.split(':');
  const bytes: number[] = [];
  for (const [i, group] of groups.entries()) {
    if (mayEndWithIPv4 && i === groups.length - 1 && group.includes('.')) {
      const v4 = parseIPv4(group);
      if (!v4) return undefined;
      bytes.push(...v4);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(group)) {
      const n = parseInt(group, 16);
      bytes.push(n >> 8, n & 0xff);
    } else {
      return undefined;
    }
  }
  return bytes;
}

/** RFC 5952 text: lower case, longest run (>= 2) of zero groups as `::`, v4-mapped as ::ffff:a.b.c.d. */
export function formatIPv6(bytes: readonly number[]): string {
  if (bytes.slice(0, 12).every((b, i) => b === (V4_MAPPED_PREFIX[i] ?? -1))) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** An address from a record (IPv4 or IPv6 text) in the 16-byte space of `IpMatch.bytes16`. */
export function ipTo16(text: string): number[] | undefined {
  const v4 = parseIPv4(text);
  return v4 ? [...V4_MAPPED_PREFIX, ...v4] : parseIPv6(text);
}

function applyMask(bytes: readonly number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const bits = Math.min(8, Math.max(0, prefix - 8 * i));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
}

/** Whether `address` lies in the network `network`/`prefix`. */
function inNetwork(address: readonly number[], network: readonly number[], prefix: number): boolean {
  const a = applyMask(address, prefix);
  const b = applyMask(network, prefix);
  return a.every((x, i) => x === b[i]);
}

const NET_EVENTS = new Set<EventRecord['event']>(['connect', 'accept', 'bind', 'close']);

/**
 * The service port (docs/configuration.md): the remote port for connect, the local port for accept and
 * bind and for closing an accepted socket; closing any other socket uses the remote port,
 * or the local one when it has no peer (an unconnected UDP socket).
 */
export function servicePort(event: EventRecord['event'], net: NetInfo): number | undefined {
  switch (event) {
    case 'connect':
      return net.remote?.port;
    case 'accept':
    case 'bind':
      return net.local.port;
    case 'close':
      return net.accepted || !net.remote ? net.local.port : net.remote.port;
    default:
      return undefined;
  }
}

/** Whether some entry hides this record. A missing part of an entry matches anything. */
export function matchNet(entries: readonly NetWhitelistEntry[], rec: EventRecord): boolean {
  const net = rec.net;
  if (!net || !NET_EVENTS.has(rec.event)) return false;
  const port = servicePort(rec.event, net);
  // The IP is the remote address: a record without a peer (bind) never matches an entry with i<>.
  const remote = net.remote ? ipTo16(net.remote.ip) : undefined;
  return entries.some(
    (entry) =>
      entry.path === rec.proc.exe &&
      entry.id !== undefined &&
      entry.id === rec.proc.exe_id &&
      (!entry.port || (port !== undefined && entry.port.lo <= port && port <= entry.port.hi)) &&
      (!entry.ip || (remote !== undefined && inNetwork(remote, entry.ip.bytes16, entry.ip.prefix16))),
  );
}
