// Configuration keys (docs/configuration.md): the layer and effective-config types, the defaults, one
// validator per key, and which key of a modprobe.d `options MODULE` line maps to which.

import { NetlogError } from '../errors.js';
import { parseExecList, type ExecWhitelistEntry } from '../whitelist/exec.js';
import { parseNetList, type NetWhitelistEntry } from '../whitelist/net.js';
import { parseAllowList, type AllowEntry } from '../egress/entry.js';

export type OutputFormat = 'text' | 'json' | 'seed';

/** The settings one source (a config file, the command line) sets; absent keys are not set. */
export interface ConfigLayer {
  /** Raw `probes` mask, 0..0xffffffff. */
  probes?: number;
  probeTcpConnect?: boolean;
  probeTcpAccept?: boolean;
  probeTcpClose?: boolean;
  probeUdpConnect?: boolean;
  probeUdpBind?: boolean;
  probeUdpClose?: boolean;
  probeTcpBind?: boolean;
  whitelist?: NetWhitelistEntry[];
  execWhitelist?: ExecWhitelistEntry[];
  whitelistIncludeRoot?: boolean;
  argvMaxSize?: number;
  simpleFormat?: boolean;
  output?: string;
  format?: OutputFormat;
  /** Socket path; null turns syslog off again (`syslog=0`). */
  syslog?: string | null;
  syslogFacility?: number;
  /** --egress: audit (record only) or block (refuse what `allow` does not list). */
  egress?: EgressMode;
  /** Allowed destinations for --egress block (add up across layers). */
  allow?: AllowEntry[];
}

export type EgressMode = 'audit' | 'block';

/** The effective configuration: every layer merged onto the defaults. */
export interface Config {
  /** Effective 6-bit probe mask: `probes` AND the probe_* switches. */
  probes: number;
  probeTcpBind: boolean;
  whitelist: NetWhitelistEntry[];
  execWhitelist: ExecWhitelistEntry[];
  whitelistIncludeRoot: boolean;
  argvMaxSize: number;
  simpleFormat: boolean;
  output?: string;
  format?: OutputFormat;
  /** Syslog socket path; absent when syslog is off. */
  syslog?: string;
  syslogFacility: number;
  egress: EgressMode;
  allow: AllowEntry[];
  /** sha256 (hex) of the canonical JSON of the settings above. */
  digest: string;
}

export const PROBE_TCP_CONNECT = 0x1;
export const PROBE_TCP_ACCEPT = 0x2;
export const PROBE_TCP_CLOSE = 0x4;
export const PROBE_UDP_CONNECT = 0x8;
export const PROBE_UDP_BIND = 0x10;
export const PROBE_UDP_CLOSE = 0x20;
export const ALL_PROBES = 0x3f;

export const ARGV_MAX_SIZE_MIN = 100;
export const ARGV_MAX_SIZE_MAX = 39936;
export const DEFAULT_SYSLOG_SOCKET = '/dev/log';

/** syslog(3) facility codes (the PRI value is facility * 8 + severity). */
export const SYSLOG_FACILITIES: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21,
  local6: 22, local7: 23,
};

export const DEFAULTS = {
  probes: 0xffffffff,
  argvMaxSize: ARGV_MAX_SIZE_MAX,
  syslogFacility: 10, // authpriv
} as const;

/** How a value is being read: from a config file, or from a command-line option. */
export interface ValueContext {
  fromFile: boolean;
}

interface KeySpec {
  parse(value: string, ctx: ValueContext): ConfigLayer;
}

function valueError(reason: string): NetlogError {
  return new NetlogError('EVALUE', reason);
}

/** 0/1 as the original module parameters; also the kernel's y/n and on/off spellings. */
export function parseSwitch(value: string): boolean {
  const v = value.toLowerCase();
  if (['1', 'y', 'yes', 'on', 'true'].includes(v)) return true;
  if (['0', 'n', 'no', 'off', 'false'].includes(v)) return false;
  throw valueError(`'${value}' is not 0 or 1`);
}

/** Hex with or without 0x, as the original `probes` parameter: `probes=3f` is 0x3f. */
export function parseProbeMask(value: string): number {
  const digits = /^0[xX]/.test(value) ? value.slice(2) : value;
  if (!/^[0-9a-fA-F]{1,8}$/.test(digits.replace(/^0+(?=.)/, ''))) {
    throw valueError(`'${value}' is not a hex mask (expected 0..0xffffffff, e.g. 0x3f: tcp_connect 0x1, tcp_accept 0x2, tcp_close 0x4, udp_connect 0x8, udp_bind 0x10, udp_close 0x20)`);
  }
  return parseInt(digits, 16);
}

function parseArgvMaxSize(value: string): number {
  const range = `expected ${ARGV_MAX_SIZE_MIN}..${ARGV_MAX_SIZE_MAX} bytes`;
  if (!/^[0-9]+$/.test(value)) throw valueError(`'${value}' is not a number (${range})`);
  const n = Number(value);
  if (n < ARGV_MAX_SIZE_MIN || n > ARGV_MAX_SIZE_MAX) throw valueError(`${value} is out of range (${range})`);
  return n;
}

function parseFormat(value: string): OutputFormat {
  if (value === 'text' || value === 'json' || value === 'seed') return value;
  throw valueError(`'${value}' is not a format (expected text, json or seed)`);
}

/** A config file is read from anywhere, so only an absolute path there means one thing. */
function parsePath(value: string, ctx: ValueContext): string {
  if (value === '') throw valueError('the path is empty');
  if (ctx.fromFile && !value.startsWith('/')) throw valueError(`'${value}' is not an absolute path`);
  return value;
}

function parseSyslog(value: string, ctx: ValueContext): string | null {
  if (value === '1') return DEFAULT_SYSLOG_SOCKET;
  if (value === '0') return null;
  if (!value.startsWith('/') && ctx.fromFile) {
    throw valueError(`'${value}' is neither 0, 1 nor an absolute socket path (e.g. ${DEFAULT_SYSLOG_SOCKET})`);
  }
  return parsePath(value, ctx);
}

function parseFacility(value: string): number {
  const code = SYSLOG_FACILITIES[value.toLowerCase()];
  if (code === undefined) {
    throw valueError(`'${value}' is not a syslog facility (expected one of ${Object.keys(SYSLOG_FACILITIES).join(', ')})`);
  }
  return code;
}

function parseEgress(value: string): EgressMode {
  if (value === 'audit' || value === 'block') return value;
  throw valueError(`'${value}' is not an egress policy (expected audit or block)`);
}

/** Every key a config file may set, by its name in the file. */
export const KEYS = {
  probes: { parse: (v) => ({ probes: parseProbeMask(v) }) },
  probe_tcp_connect: { parse: (v) => ({ probeTcpConnect: parseSwitch(v) }) },
  probe_tcp_accept: { parse: (v) => ({ probeTcpAccept: parseSwitch(v) }) },
  probe_tcp_close: { parse: (v) => ({ probeTcpClose: parseSwitch(v) }) },
  probe_udp_connect: { parse: (v) => ({ probeUdpConnect: parseSwitch(v) }) },
  probe_udp_bind: { parse: (v) => ({ probeUdpBind: parseSwitch(v) }) },
  probe_udp_close: { parse: (v) => ({ probeUdpClose: parseSwitch(v) }) },
  probe_tcp_bind: { parse: (v) => ({ probeTcpBind: parseSwitch(v) }) },
  whitelist: { parse: (v) => ({ whitelist: parseNetList(v) }) },
  exec_whitelist: { parse: (v) => ({ execWhitelist: parseExecList(v) }) },
  whitelist_include_root: { parse: (v) => ({ whitelistIncludeRoot: parseSwitch(v) }) },
  argv_max_size: { parse: (v) => ({ argvMaxSize: parseArgvMaxSize(v) }) },
  simple_format: { parse: (v) => ({ simpleFormat: parseSwitch(v) }) },
  output: { parse: (v, ctx) => ({ output: parsePath(v, ctx) }) },
  format: { parse: (v) => ({ format: parseFormat(v) }) },
  syslog: { parse: (v, ctx) => ({ syslog: parseSyslog(v, ctx) }) },
  syslog_facility: { parse: (v) => ({ syslogFacility: parseFacility(v) }) },
  egress: { parse: (v) => ({ egress: parseEgress(v) }) },
  allow: { parse: (v) => ({ allow: parseAllowList(v) }) },
} satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof KEYS;

export function isConfigKey(name: string): name is ConfigKey {
  return Object.hasOwn(KEYS, name);
}

/**
 * The parameters of the original modules, as written in `options MODULE k=v` lines, and the
 * key each sets here. null: a parameter with no meaning here, accepted so old files still load.
 */
export const MODPROBE_KEYS: Readonly<Record<string, Readonly<Record<string, ConfigKey | null>>>> = {
  netlog: {
    probes: 'probes',
    probe_tcp_connect: 'probe_tcp_connect',
    probe_tcp_accept: 'probe_tcp_accept',
    probe_tcp_close: 'probe_tcp_close',
    probe_udp_connect: 'probe_udp_connect',
    probe_udp_bind: 'probe_udp_bind',
    probe_udp_close: 'probe_udp_close',
    probe_tcp_bind: 'probe_tcp_bind',
    whitelist: 'whitelist',
  },
  execlog: {
    whitelist: 'exec_whitelist',
    whitelist_include_root: 'whitelist_include_root',
    argv_max_size: 'argv_max_size',
  },
  secure_log: {
    simple_format: 'simple_format',
    send_eof: null,
  },
};
