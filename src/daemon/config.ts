// netlogd's configuration (/etc/netlog/netlogd.conf): the keys of netlog-run's
// config files (docs/configuration.md) plus `login_shell` (with per-user
// `login_shell.USER` overrides) and `socket`. The daemon's own keys are taken
// out here; the rest is read by the shared parser, line numbers kept.
import fs from 'node:fs';
import { parseConfig, resolveConfig } from '../config/parse.js';
import type { Config } from '../config/keys.js';
import { ConfigError, NetlogError } from '../errors.js';

export const DEFAULT_CONFIG_FILE = '/etc/netlog/netlogd.conf';
export const DEFAULT_SOCKET = '/run/netlog/netlogd.sock';
export const DEFAULT_OUTPUT = '/var/log/netlog/netlog.jsonl';
export const DEFAULT_LOGIN_SHELL = '/bin/bash';

export interface DaemonConfig {
  config: Config;
  /** The real shell netlog-shell execs, for users without an override. */
  loginShell: string;
  /** login_shell.USER overrides, by user name. */
  loginShells: Map<string, string>;
  /** Where netlogd listens (netlog-shell has its path compiled in: change both together). */
  socket: string;
  output: string;
  file: string | undefined;
}

const OWN_KEY = /^\s*(login_shell(?:\.([^\s=#]+))?|socket)\s*=(.*)$/;

function value(raw: string): string {
  let v = raw.replace(/\s+#.*$/, '').trim();
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.endsWith(v[0])) v = v.slice(1, -1);
  return v;
}

function absolutePath(v: string, where: { file: string; line: number; key: string }): string {
  if (!v.startsWith('/') || v.includes('\0')) throw new ConfigError(`${where.key}: '${v}' is not an absolute path`, where);
  if (v.length > 4095) throw new ConfigError(`${where.key}: path too long`, where);
  return v;
}

/** Parses a netlogd config text; throws ConfigError naming the file and line. */
export function parseDaemonConfig(text: string, file: string): DaemonConfig {
  const loginShells = new Map<string, string>();
  let loginShell: string | undefined;
  let socket: string | undefined;
  const rest = text.split('\n').map((line, i) => {
    const m = OWN_KEY.exec(line);
    if (!m) return line;
    const where = { file, line: i + 1, key: m[1]! };
    const v = absolutePath(value(m[3]!), where);
    if (m[1] === 'socket') {
      if (socket !== undefined) throw new ConfigError(`key 'socket' is already set`, where);
      if (v.length >= 108) throw new ConfigError(`socket: path longer than 107 bytes`, where);
      socket = v;
    } else if (m[2] !== undefined) {
      if (loginShells.has(m[2])) throw new ConfigError(`key '${m[1]}' is already set`, where);
      loginShells.set(m[2], v);
    } else {
      if (loginShell !== undefined) throw new ConfigError(`key 'login_shell' is already set`, where);
      loginShell = v;
    }
    return '';
  });
  const config = resolveConfig([parseConfig(rest.join('\n'), file)]);
  if (config.format === 'text') {
    throw new ConfigError(`format: netlogd writes 'json' or 'seed' (text is for terminals)`, { file, key: 'format' });
  }
  return {
    config,
    loginShell: loginShell ?? DEFAULT_LOGIN_SHELL,
    loginShells,
    socket: socket ?? DEFAULT_SOCKET,
    output: config.output ?? DEFAULT_OUTPUT,
    file,
  };
}

/** Reads the config file; a missing default file means the defaults. */
export function readDaemonConfig(file: string | undefined): DaemonConfig {
  const path = file ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' && file === undefined) return { ...parseDaemonConfig('', path), file: undefined };
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new NetlogError('ECONFIG', `cannot read config ${path}: ${why}`);
  }
  return parseDaemonConfig(text, path);
}

/** The real shell of a user: their override, else login_shell. */
export function shellFor(dc: DaemonConfig, user: string | undefined): string {
  return (user !== undefined && dc.loginShells.get(user)) || dc.loginShell;
}
