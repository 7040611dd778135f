// Egress allow entries (`--allow`, config key `allow`; docs/ci.md):
// `[PATH=]HOST[:PORT]`, HOST an IPv4/IPv6 address, a CIDR block, a DNS name or
// a `*.` wildcard name, PORT a number, a range A-B or `*`. Pure parsing.
import { NetlogError } from '../errors.js';
import { checkPath, formatIPv6, parseIPv4, parseIPv6 } from '../whitelist/net.js';

export interface Cidr {
  /** 16 bytes; IPv4 as ::ffff:a.b.c.d so that v4-mapped destinations match IPv4 entries. */
  bytes: readonly number[];
  /** Prefix length in those 16 bytes (an IPv4 /24 is 120). */
  bits: number;
}

export type AllowHost =
  | { kind: 'cidr'; cidr: Cidr; text: string }
  | { kind: 'name'; name: string }
  | { kind: 'wildcard'; suffix: string };

export interface AllowEntry {
  /** The entry as written. */
  text: string;
  /** Normalised form; two entries with the same one are duplicates. */
  canonical: string;
  /** The program it is limited to (exact real path), if any. */
  exe?: string;
  host: AllowHost;
  portLo: number;
  portHi: number;
}

function entryError(text: string, reason: string): NetlogError {
  return new NetlogError('EALLOW', `allow entry '${text}': ${reason}`);
}

const V4_MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** Parses one entry; throws NetlogError (code EALLOW) naming the entry and what is wrong. */
export function parseAllowEntry(raw: string): AllowEntry {
  const text = raw.trim();
  const fail = (reason: string): NetlogError => entryError(text, reason);
  if (text === '') throw fail('empty entry');
  let rest = text;
  let exe: string | undefined;
  if (text.startsWith('/')) {
    const eq = text.indexOf('=');
    if (eq < 0) throw fail(`a program path needs '=HOST[:PORT]' after it (e.g. /usr/bin/curl=example.org:443)`);
    exe = text.slice(0, eq);
    checkPath(exe, fail);
    rest = text.slice(eq + 1);
  } else if (text.includes('=')) {
    throw fail(`the program before '=' must be an absolute path (e.g. /usr/bin/curl=example.org:443)`);
  }
  const { hostText, portText } = splitHostPort(rest, fail);
  const host = parseHost(hostText, fail);
  const [portLo, portHi] = parsePorts(portText, fail);
  const hostCanon = host.kind === 'cidr' ? host.text : host.kind === 'name' ? host.name : `*.${host.suffix}`;
  const shownHost = host.kind === 'cidr' && host.text.includes(':') ? `[${host.text}]` : hostCanon;
  const port = portLo === 1 && portHi === 65535 ? '*' : portLo === portHi ? `${portLo}` : `${portLo}-${portHi}`;
  const canonical = `${exe !== undefined ? `${exe}=` : ''}${shownHost}:${port}`;
  return { text, canonical, ...(exe !== undefined && { exe }), host, portLo, portHi };
}

function splitHostPort(rest: string, fail: (r: string) => NetlogError): { hostText: string; portText: string | undefined } {
  if (rest === '') throw fail('the host is empty');
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw fail(`missing ']' after the IPv6 address`);
    let after = rest.slice(close + 1);
    let inner = rest.slice(1, close);
    // `[2001:db8::]/32` as the whitelist writes it, beside `[2001:db8::/32]`.
    const prefix = /^\/[0-9]*/.exec(after);
    if (prefix && !inner.includes('/')) {
      inner += prefix[0];
      after = after.slice(prefix[0].length);
    }
    if (after !== '' && !after.startsWith(':')) throw fail(`unexpected '${after}' after ']' (expected ':PORT')`);
    if (!inner.includes(':')) throw fail(`'[${inner}]': brackets are for IPv6 addresses only`);
    return { hostText: inner, portText: after === '' ? undefined : after.slice(1) };
  }
  const colons = rest.split(':').length - 1;
  // More than one ':' is a bare IPv6 address (a port then needs brackets).
  if (colons > 1) return { hostText: rest, portText: undefined };
  if (colons === 1) {
    const i = rest.indexOf(':');
    return { hostText: rest.slice(0, i), portText: rest.slice(i + 1) };
  }
  return { hostText: rest, portText: undefined };
}

function parseHost(hostText: string, fail: (r: string) => NetlogError): AllowHost {
  if (hostText === '') throw fail('the host is empty');
  if (hostText === '*') throw fail(`'*' alone is not a host (allow everything with 0.0.0.0/0 and ::/0, or use --egress audit)`);
  const slash = hostText.indexOf('/');
  const addr = slash < 0 ? hostText : hostText.slice(0, slash);
  const v4 = parseIPv4(addr);
  const v6 = v4 ? undefined : addr.includes(':') ? parseIPv6(addr) : undefined;
  if (addr.includes(':') && !v6) throw fail(`'${addr}' is not an IPv6 address`);
  if (v4 || v6) {
    const max = v4 ? 32 : 128;
    let prefix = max;
    if (slash >= 0) {
      const p = hostText.slice(slash + 1);
      if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > max) {
        throw fail(`bad prefix length '/${p}' (expected /0../${max} for ${v4 ? 'IPv4' : 'IPv6'})`);
      }
      prefix = Number(p);
    }
    const bytes = v4 ? [...V4_MAPPED, ...v4] : (v6 as number[]);
    const bits = v4 ? prefix + 96 : prefix;
    const network = maskBytes(bytes, bits);
    const shown = (b: readonly number[]): string => (v4 ? b.slice(12).join('.') : formatIPv6(b));
    if (network.some((b, i) => b !== bytes[i])) {
      throw fail(`'${hostText}' has host bits set (did you mean ${shown(network)}/${prefix}?)`);
    }
    const text = prefix === max ? shown(bytes) : `${shown(bytes)}/${prefix}`;
    return { kind: 'cidr', cidr: { bytes, bits }, text };
  }
  if (slash >= 0) throw fail(`'${addr}' is not an IP address, so it cannot have a prefix length`);
  if (/^[0-9.]+$/.test(hostText)) throw fail(`'${hostText}' is not an IPv4 address (four numbers 0..255, no leading zeros)`);
  const wildcard = hostText.startsWith('*.');
  const name = (wildcard ? hostText.slice(2) : hostText).toLowerCase().replace(/\.$/, '');
  const why = badName(name);
  if (why) throw fail(`'${hostText}' is not a DNS name: ${why}`);
  if (wildcard) {
    if (!name.includes('.')) throw fail(`'${hostText}': a wildcard needs at least two labels after '*.' (e.g. *.example.org)`);
    return { kind: 'wildcard', suffix: name };
  }
  return { kind: 'name', name };
}

/** RFC 1123 host names: labels of letters, digits and '-' (not at either end), 1..63 bytes, 253 in all. */
function badName(name: string): string | undefined {
  if (name === '') return 'empty';
  if (name.length > 253) return 'longer than 253 characters';
  for (const label of name.split('.')) {
    if (label === '') return 'an empty label (\'..\')';
    if (label.length > 63) return `label '${label.slice(0, 20)}...' is longer than 63 characters`;
    if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/.test(label)) {
      return label.includes('*') ? `'*' may only stand first, as '*.'` : `label '${label}' has a character other than letters, digits, '-' and '_' (or '-' at an end)`;
    }
  }
  return undefined;
}

function parsePorts(portText: string | undefined, fail: (r: string) => NetlogError): [number, number] {
  if (portText === undefined || portText === '*') return [1, 65535];
  if (portText === '') throw fail(`empty port after ':' (expected a number, A-B or *)`);
  const dash = portText.indexOf('-');
  const lo = parsePort(dash < 0 ? portText : portText.slice(0, dash), fail);
  const hi = dash < 0 ? lo : parsePort(portText.slice(dash + 1), fail);
  if (lo > hi) throw fail(`port range '${portText}' runs backwards (expected LOW-HIGH)`);
  return [lo, hi];
}

function parsePort(text: string, fail: (r: string) => NetlogError): number {
  if (!/^[1-9][0-9]{0,4}$/.test(text)) throw fail(`'${text}' is not a port (expected 1..65535, A-B or *)`);
  const n = Number(text);
  if (n > 65535) throw fail(`port ${text} is out of range (expected 1..65535)`);
  return n;
}

/** Parses the comma-separated `allow` value; an empty element and a duplicate are errors. */
export function parseAllowList(text: string): AllowEntry[] {
  if (text.trim() === '') return [];
  const out: AllowEntry[] = [];
  const seen = new Map<string, AllowEntry>();
  for (const item of text.split(',')) {
    if (item.trim() === '') throw new NetlogError('EALLOW', `allow list '${text}': empty entry (a doubled, leading or trailing ',')`);
    const entry = parseAllowEntry(item);
    const earlier = seen.get(entry.canonical);
    if (earlier) {
      const same = earlier.text === entry.text ? '' : ` (same as '${earlier.text}')`;
      throw new NetlogError('EALLOW', `duplicate allow entry '${entry.text}'${same}`);
    }
    seen.set(entry.canonical, entry);
    out.push(entry);
  }
  return out;
}

export function maskBytes(bytes: readonly number[], bits: number): number[] {
  return bytes.map((b, i) => {
    const n = Math.min(8, Math.max(0, bits - 8 * i));
    return b & ((0xff << (8 - n)) & 0xff);
  });
}

/** Whether 16-byte `addr` lies in `cidr`. */
export function inCidr(addr: readonly number[], cidr: Cidr): boolean {
  for (let i = 0; i < 16; i++) {
    const n = Math.min(8, Math.max(0, cidr.bits - 8 * i));
    if (n === 0) return true;
    const mask = (0xff << (8 - n)) & 0xff;
    if (((addr[i] ?? 0) & mask) !== ((cidr.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** An address text (IPv4 or IPv6) as a host CIDR, or undefined if it is not one. */
export function hostCidr(ip: string): Cidr | undefined {
  const v4 = parseIPv4(ip);
  if (v4) return { bytes: [...V4_MAPPED, ...v4], bits: 128 };
  const v6 = parseIPv6(ip);
  return v6 ? { bytes: v6, bits: 128 } : undefined;
}
