// `netlog install [--prefix P] [--uninstall]` (root): puts netlog-shell at
// P/libexec/netlog/netlog-shell (root:root 4755), lists it in /etc/shells,
// writes /etc/netlog/netlogd.conf when absent and netlogd's systemd unit when
// systemd runs; --uninstall undoes each step. Running it twice changes nothing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetlogError } from '../errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILT_SHELL = path.join(ROOT, 'build', 'shell', 'netlog-shell');
const UNIT_TEMPLATE = path.join(ROOT, 'packaging', 'netlogd.service');
const SHELLS = '/etc/shells';
const CONFIG = '/etc/netlog/netlogd.conf';
const UNIT = '/etc/systemd/system/netlogd.service';

export const DEFAULT_DAEMON_CONFIG = `# netlogd configuration (netlog daemon); see docs/login-sessions.md and
# docs/configuration.md. Written by 'netlog install'.
#
# The real shell that netlog-shell starts, and per-user overrides:
login_shell = /bin/bash
# login_shell.alice = /bin/zsh
#
# The log (0600 root, in a 0700 directory), and optionally syslog:
output = /var/log/netlog/netlog.jsonl
# syslog = /dev/log
`;

export const INSTALL_USAGE = `Usage: netlog install [--prefix PREFIX] [--uninstall]

(root) Installs netlog-shell at PREFIX/libexec/netlog/netlog-shell (setuid
root, default PREFIX /usr/local), adds it to /etc/shells, writes
/etc/netlog/netlogd.conf when absent and netlogd's systemd unit when systemd
runs. --uninstall removes them (the config only when unchanged; logs stay).`;

function say(text: string): void {
  fs.writeSync(1, text + '\n');
}

function parseInstallArgs(argv: string[]): { prefix: string; uninstall: boolean; help: boolean } {
  let prefix = '/usr/local';
  let uninstall = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return { prefix, uninstall, help: true };
    if (a === '--uninstall') uninstall = true;
    else if (a === '--prefix') {
      const v = argv[++i];
      if (v === undefined) throw new NetlogError('EUSAGE', '--prefix needs a directory');
      prefix = v;
    } else if (a.startsWith('--prefix=')) prefix = a.slice('--prefix='.length);
    else throw new NetlogError('EUSAGE', `install: unknown argument '${a}' (try 'netlog install --help')`);
  }
  if (!path.isAbsolute(prefix)) throw new NetlogError('EUSAGE', `--prefix must be an absolute path, not '${prefix}'`);
  return { prefix: path.resolve(prefix), uninstall, help: false };
}

/** Copies the built helper next to its destination, then renames it in place (never a half-written setuid file). */
function installShell(dest: string): boolean {
  if (!fs.existsSync(BUILT_SHELL)) throw new NetlogError('EINSTALL', `${BUILT_SHELL} is missing: build netlog first (npm ci)`);
  const want = fs.readFileSync(BUILT_SHELL);
  try {
    const st = fs.lstatSync(dest);
    if (st.isFile() && st.uid === 0 && st.gid === 0 && (st.mode & 0o7777) === 0o4755 && fs.readFileSync(dest).equals(want)) {
      return false;
    }
  } catch {
    // not there yet
  }
  const dir = path.dirname(dest);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  // Whoever can rename a directory on the way can swap the setuid file.
  for (let d = dir; ; d = path.dirname(d)) {
    const st = fs.lstatSync(d);
    const sticky = (st.mode & 0o1000) !== 0 && d !== dir;
    if (!st.isDirectory() || st.uid !== 0 || ((st.mode & 0o022) !== 0 && !sticky)) {
      throw new NetlogError('EINSTALL', `${d} must be a directory owned by root and writable by root only`);
    }
    if (d === '/') break;
  }
  const tmp = `${dest}.new-${process.pid}`;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o700);
  try {
    fs.writeSync(fd, want);
    fs.fchownSync(fd, 0, 0);
    fs.fchmodSync(fd, 0o4755); // after chown: chown clears the setuid bit
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, dest);
  return true;
}

function shellsLines(): string[] {
  try {
    return fs.readFileSync(SHELLS, 'utf8').split('\n');
  } catch {
    return [];
  }
}

function writeAtomically(file: string, text: string, mode: number): void {
  const tmp = `${file}.new-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode, flag: 'wx' });
  fs.renameSync(tmp, file);
}

function hasSystemd(): boolean {
  return fs.existsSync('/run/systemd/system');
}

function systemctl(...args: string[]): void {
  try {
    execFileSync('systemctl', args, { stdio: 'ignore' });
  } catch {
    say(`note: 'systemctl ${args.join(' ')}' failed; run it yourself`);
  }
}

function install(dest: string): void {
  say(installShell(dest) ? `installed ${dest} (root:root 4755)` : `${dest} is up to date`);
  const lines = shellsLines();
  if (!lines.includes(dest)) {
    const text = lines.join('\n');
    writeAtomically(SHELLS, (text === '' || text.endsWith('\n') ? text : text + '\n') + dest + '\n', 0o644);
    say(`added ${dest} to ${SHELLS}`);
  }
  if (!fs.existsSync(CONFIG)) {
    fs.mkdirSync(path.dirname(CONFIG), { recursive: true, mode: 0o755 });
    writeAtomically(CONFIG, DEFAULT_DAEMON_CONFIG, 0o644);
    say(`wrote ${CONFIG}`);
  }
  if (hasSystemd()) {
    const unit = fs.readFileSync(UNIT_TEMPLATE, 'utf8').replace('@NODE@', process.execPath).replace('@NETLOG@', path.join(ROOT, 'bin', 'netlog.js'));
    let old = '';
    try {
      old = fs.readFileSync(UNIT, 'utf8');
    } catch {
      // new
    }
    if (old !== unit) {
      writeAtomically(UNIT, unit, 0o644);
      systemctl('daemon-reload');
      say(`wrote ${UNIT}; start it with: systemctl enable --now netlogd`);
    }
  } else {
    say(`systemd is not running: start netlogd yourself (${process.execPath} ${path.join(ROOT, 'bin', 'netlog.js')} daemon) before any login`);
  }
  say(`to supervise a user's logins: usermod -s ${dest} USER`);
}

function uninstall(dest: string): void {
  try {
    if (fs.lstatSync(dest).isFile()) {
      fs.unlinkSync(dest);
      say(`removed ${dest}`);
    }
    fs.rmdirSync(path.dirname(dest));
  } catch {
    // already gone, or the directory holds something else
  }
  const lines = shellsLines();
  if (lines.includes(dest)) {
    writeAtomically(SHELLS, lines.filter((l) => l !== dest).join('\n'), 0o644);
    say(`removed ${dest} from ${SHELLS}`);
  }
  try {
    if (fs.readFileSync(CONFIG, 'utf8') === DEFAULT_DAEMON_CONFIG) {
      fs.unlinkSync(CONFIG);
      say(`removed ${CONFIG}`);
      fs.rmdirSync(path.dirname(CONFIG));
    } else {
      say(`kept ${CONFIG} (changed since it was installed)`);
    }
  } catch {
    // absent, or the directory is not empty
  }
  if (fs.existsSync(UNIT)) {
    if (hasSystemd()) systemctl('disable', '--now', 'netlogd');
    fs.unlinkSync(UNIT);
    if (hasSystemd()) systemctl('daemon-reload');
    say(`removed ${UNIT}`);
  }
  say('logs in /var/log/netlog are kept; users whose shell was netlog-shell cannot log in until usermod -s gives them another');
}

export async function installMain(argv: string[]): Promise<void> {
  try {
    const args = parseInstallArgs(argv);
    if (args.help) {
      say(INSTALL_USAGE);
      process.exit(0);
    }
    if (process.getuid?.() !== 0) throw new NetlogError('EUSAGE', 'netlog install must be run as root');
    const dest = path.join(args.prefix, 'libexec', 'netlog', 'netlog-shell');
    if (args.uninstall) uninstall(dest);
    else install(dest);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    fs.writeSync(2, `netlog: install: ${err instanceof NetlogError ? e.message : `${e.code ?? ''} ${e.message}`}\n`);
    process.exit(1);
  }
}
