// Bounded fuzzing of the config and whitelist parsers with a fixed-seed PRNG: random text and
// mutations of valid files and entries must either parse or throw a NetlogError. A fixed
// number of cases, not a time budget, so that a loaded machine runs the same test; a parser
// that hangs on some input is caught by the test's timeout.

import { describe, expect, it } from 'vitest';
import { parseCliValue, parseConfig, resolveConfig } from '../../src/config/parse.js';
import { NetlogError } from '../../src/errors.js';
import { parseExecEntry, parseExecList } from '../../src/whitelist/exec.js';
import { parseNetEntry, parseNetList } from '../../src/whitelist/net.js';

const SEED = 0x6e65746c; // "netl"
const CASES = 4000;

/** mulberry32: small, fast and reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID_CONFIGS = [
  'probes = 3f\nwhitelist = /usr/sbin/sshd|i<127.0.0.1>|p<22>,/usr/bin/curl|i<::1>\n',
  '# netlog\noptions netlog probes=0x7 whitelist=/usr/sbin/sshd|p<22>\noptions execlog whitelist="/usr/bin/ls|ls -l" argv_max_size=2048\n',
  'exec_whitelist = "/usr/bin/id|id -u "\nwhitelist_include_root = 1 # root too\nsimple_format=1\nformat = seed\n',
  'output = /var/log/netlog.jsonl\nsyslog = 1\nsyslog_facility = local3\nprobe_tcp_close = 0\nprobe_tcp_bind = 1\n',
  'whitelist = /x|i<10.0.0.0/8>|p<8000-8100>,\\\n /y|i<[2001:db8::]/32>\ninstall netlog /bin/true\nalias a b\n',
];

const VALID_ENTRIES = [
  '/usr/sbin/sshd|i<127.0.0.1>|p<22>',
  '/usr/sbin/sshd|p<22>',
  '/usr/bin/curl|i<::1>',
  '/usr/bin/curl|i[::1]|p0x50',
  '/x|i<0.0.0.0/0>|p<8000-8100>',
  '/x|i<2001:db8::/32>|p<010>',
  '/usr/bin/ls|ls -l /tmp',
];

const ALPHABET = [...'ip/|<>[]:.,=#" \\\n\r\t-0123456789abcdefxX%\u00e9\u0000'];
const TOKENS = [
  'options', 'netlog', 'execlog', 'secure_log', 'whitelist', 'exec_whitelist', 'probes', 'argv_max_size',
  '0x', '::', '::ffff:', '/32', '/128', '/129', '|i<', '|p<', '>', '[', ']', ',', '=', '"', '#', '\\\n', '\n',
  '65535', '65536', '999', '255.255.255.255', '__proto__', 'constructor', 'hasOwnProperty', 'toString',
];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function randomText(rand: () => number): string {
  const length = Math.floor(rand() * 60);
  let text = '';
  for (let i = 0; i < length; i++) text += rand() < 0.2 ? pick(rand, TOKENS) : pick(rand, ALPHABET);
  return text;
}

function mutate(rand: () => number, text: string): string {
  let out = text;
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (out.length + 1));
    const end = Math.min(out.length, at + 1 + Math.floor(rand() * 6));
    switch (Math.floor(rand() * 5)) {
      case 0: // delete a span
        out = out.slice(0, at) + out.slice(end);
        break;
      case 1: // insert a character or token
        out = out.slice(0, at) + (rand() < 0.5 ? pick(rand, ALPHABET) : pick(rand, TOKENS)) + out.slice(at);
        break;
      case 2: // replace a character
        out = out.slice(0, at) + pick(rand, ALPHABET) + out.slice(at + 1);
        break;
      case 3: // duplicate a span
        out = out.slice(0, end) + out.slice(at, end) + out.slice(end);
        break;
      default: // splice in part of another valid input
        out = out.slice(0, at) + pick(rand, [...VALID_ENTRIES, ...VALID_CONFIGS]).slice(0, 12) + out.slice(at);
    }
  }
  return out;
}

/** Runs fn; it must return, or throw a NetlogError. Returns the value or undefined. */
function survive<T>(what: string, input: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof NetlogError)) {
      throw new Error(`${what}(${JSON.stringify(input)}) threw a non-NetlogError: ${String(err)}`, { cause: err });
    }
    if (err.message === '') throw new Error(`${what}(${JSON.stringify(input)}) threw an error without a message`);
    return undefined;
  }
}

/** Feeds one input to every parser; returns whether it was a valid config file. */
function check(input: string): boolean {
  const layer = survive('parseConfig', input, () => parseConfig(input, '/etc/netlog.conf'));
  if (layer) {
    const config = resolveConfig([layer]);
    expect(config.probes).toBeGreaterThanOrEqual(0);
    expect(config.probes).toBeLessThanOrEqual(0x3f);
    expect(config.digest).toMatch(/^[0-9a-f]{64}$/);
  }

  const net = survive('parseNetEntry', input, () => parseNetEntry(input));
  if (net) {
    expect(net.path.startsWith('/')).toBe(true);
    // the normalised form reads back as itself
    expect(parseNetEntry(net.canonical).canonical).toBe(net.canonical);
    if (net.port) expect(1 <= net.port.lo && net.port.lo <= net.port.hi && net.port.hi <= 65535).toBe(true);
  }
  const exec = survive('parseExecEntry', input, () => parseExecEntry(input));
  if (exec) expect(parseExecEntry(exec.canonical).canonical).toBe(exec.canonical);

  survive('parseNetList', input, () => parseNetList(input));
  survive('parseExecList', input, () => parseExecList(input));
  survive('parseCliValue', input, () => parseCliValue('whitelist', input, '--whitelist'));
  survive('parseCliValue', input, () => parseCliValue('probes', input, '--probes'));
  return layer !== undefined;
}

describe('config and whitelist parsers under fuzzing', () => {
  it('every valid seed input parses', () => {
    for (const config of VALID_CONFIGS) expect(() => parseConfig(config, '/etc/netlog.conf')).not.toThrow();
    for (const entry of VALID_ENTRIES.slice(0, -1)) expect(() => parseNetEntry(entry)).not.toThrow();
  });

  it(`returns or throws NetlogError for ${CASES} random and mutated inputs (seed ${SEED})`, { timeout: 60_000 }, () => {
    const rand = prng(SEED);
    let parsed = 0;
    for (let cases = 0; cases < CASES; cases++) {
      const roll = rand();
      const input =
        roll < 0.3 ? randomText(rand)
        : roll < 0.65 ? mutate(rand, pick(rand, VALID_CONFIGS))
        : mutate(rand, pick(rand, VALID_ENTRIES));
      if (check(input)) parsed++;
    }
    // the pass is only worth something if some of the inputs parsed
    expect(parsed).toBeGreaterThan(0);
  });
});
