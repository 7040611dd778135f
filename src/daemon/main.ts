// `netlog daemon [-c CONFIG]`: netlogd, the root supervisor of login sessions.
// netlog-shell registers each login on the unix socket; netlogd sends it the
// filter, receives its seccomp listener, supervises it and writes every
// session's records into one gapless stream (docs/login-sessions.md).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { NetlogError } from '../errors.js';
import { formatJson } from '../record/json.js';
import type { RunRecord } from '../record/types.js';
import { RecordWriter, type Formatter, type SinkWithFormat } from '../record/writer.js';
import { FileSink } from '../sink/sinks.js';
import { effectiveProbes, isoMicros, nowMicros, Supervision } from '../supervisor.js';
import { trapsFor } from '../cli/main.js';
import { addon, type DaemonConnection, type Traps } from '../native.js';
import { readDaemonConfig, shellFor, type DaemonConfig } from './config.js';
import { asWritable, daemonFormatter, sshClient, type LoginEnd, type LoginRecord, type LoginStart } from './records.js';
import { packageVersion } from '../version.js';

export const DAEMON_USAGE = `Usage: netlog daemon [-c CONFIG]

netlogd: supervises the login sessions that netlog-shell registers and writes
their records to one log (default /var/log/netlog/netlog.jsonl). Root only.

  -c, --config FILE   configuration (default /etc/netlog/netlogd.conf)
  -h, --help          this help

SIGHUP re-reads the configuration; SIGTERM stops netlogd (the trapped calls of
running sessions then fail: fail closed). See docs/login-sessions.md.`;

function say(text: string): void {
  try {
    fs.writeSync(2, `netlog: ${text}\n`);
  } catch {
    // stderr is gone: nothing else to tell
  }
}

function parseDaemonArgs(argv: string[]): { configFile?: string; help: boolean } {
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return { help: true };
    if (a === '-c' || a === '--config') {
      const v = argv[++i];
      if (v === undefined) throw new NetlogError('EUSAGE', `${a} needs a file`);
      configFile = v;
    } else if (a.startsWith('--config=')) {
      configFile = a.slice('--config='.length);
    } else {
      throw new NetlogError('EUSAGE', `daemon: unknown argument '${a}' (try 'netlog daemon --help')`);
    }
  }
  return { configFile, help: false };
}

/** The log's directory is root's alone: created 0700, refused when others can write to it. */
function prepareOutput(file: string): void {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new NetlogError('EOUTPUT', `log directory ${dir} must be a directory owned by root and writable by root only`);
  }
  let f: fs.Stats | undefined;
  try {
    f = fs.lstatSync(file);
  } catch {
    return; // created 0600 by the sink
  }
  if (f.isSymbolicLink()) throw new NetlogError('EOUTPUT', `output ${file} is a symbolic link; refusing`);
  if (f.isFile() && (f.uid !== 0 || (f.mode & 0o077) !== 0)) {
    fs.chownSync(file, 0, 0);
    fs.chmodSync(file, 0o600);
    say(`output ${file}: made root's, mode 0600 (it was not)`);
  }
}

/** The message of native/shell/protocol.h: header, BPF program (none when nested), shell path. */
function filterMessage(filter: Buffer, shell: string, magic: 'NLF1' | 'NLN1' = 'NLF1'): Buffer {
  const sh = Buffer.from(shell);
  const head = Buffer.alloc(12);
  head.write(magic, 0, 'latin1');
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const insns = filter.length / 8;
  if (little) {
    head.writeUInt32LE(insns, 4);
    head.writeUInt32LE(sh.length, 8);
  } else {
    head.writeUInt32BE(insns, 4);
    head.writeUInt32BE(sh.length, 8);
  }
  return Buffer.concat([head, filter, sh]);
}

interface LiveSession {
  id: string;
  supervision: Supervision;
  start: LoginStart;
  /** netlog-shell's pidfd: proves later that start.pid is still this session's root. */
  pidfd: number;
  /** The real shell's wait status, once the proc connector told. */
  status?: number;
  /** The session is over; its end record waits (briefly) for the status. */
  ending?: NodeJS.Timeout;
}

// The exit event is sent before the shell is reaped, and the session ends
// only once it is: it comes first unless the proc connector dropped it.
const EXIT_STATUS_GRACE_MS = 200;

function signalName(n: number): string {
  const entry = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return entry ? entry[0] : `SIG${n}`;
}

/** exit_code and signal as netlog-run's end record has them (128+N for a signal N). */
function exitOf(status: number | undefined): { exit_code: number | null; signal: string | null } {
  if (status === undefined) return { exit_code: null, signal: null };
  const sig = status & 0x7f;
  return sig === 0 ? { exit_code: (status >> 8) & 0xff, signal: null } : { exit_code: 128 + sig, signal: signalName(sig) };
}

export async function daemonMain(argv: string[]): Promise<void> {
  let args;
  let dc: DaemonConfig;
  try {
    args = parseDaemonArgs(argv);
    if (args.help) {
      fs.writeSync(1, DAEMON_USAGE + '\n');
      process.exit(0);
    }
    if (process.getuid?.() !== 0) throw new NetlogError('EUSAGE', 'netlog daemon must be run as root');
    dc = readDaemonConfig(args.configFile);
    prepareOutput(dc.output);
  } catch (err) {
    if (err instanceof NetlogError) {
      say(err.message);
      process.exit(1);
    }
    throw err;
  }

  const base: Formatter = dc.config.format === 'seed'
    ? await (async () => {
        const { formatSeed } = await import('../record/seed.js');
        const { isRunRecord } = await import('../record/types.js');
        const simple = dc.config.simpleFormat;
        return (rec) => (isRunRecord(rec) ? formatJson(rec) : formatSeed(rec, { simpleFormat: simple }));
      })()
    : formatJson;
  const sinks: SinkWithFormat[] = [];
  try {
    sinks.push({ sink: new FileSink(dc.output), format: daemonFormatter(base) });
    if (dc.config.syslog !== undefined) {
      const { SyslogSink } = await import('../sink/syslog.js');
      sinks.push({ sink: new SyslogSink(dc.config.syslog, dc.config.syslogFacility), format: daemonFormatter(base) });
    }
  } catch (err) {
    if (err instanceof NetlogError) {
      say(err.message);
      process.exit(1);
    }
    throw err;
  }
  const writer = new RecordWriter(sinks, (reason) =>
    say(`${reason}; refusing the supervised system calls whose records cannot be written (EACCES)`),
  );
  const runRecord = (event: RunRecord['event'], run: RunRecord['run']): RunRecord => ({
    v: 1, seq: 0, ts: isoMicros(nowMicros()), event, run,
  });
  // The socket first: a netlogd that cannot listen leaves no start record.
  let listenFd: number;
  try {
    listenFd = addon.daemonListen(dc.socket);
  } catch (err) {
    say((err as Error).message);
    process.exit(1);
  }

  if (!writer.write([runRecord('start', {
    version: packageVersion(), pid: process.pid, command: ['netlog', 'daemon', ...argv], uid: 0, config_digest: dc.config.digest,
  })], 0)) {
    say(`cannot write the log ${dc.output}; not starting`);
    fs.rmSync(dc.socket, { force: true });
    process.exit(1);
  }

  const sessions = new Map<string, LiveSession>();
  const filters = new Map<string, Buffer>();
  const filterFor = (traps: Traps): Buffer => {
    const key = JSON.stringify(traps);
    let f = filters.get(key);
    if (!f) {
      f = addon.exportFilter(traps);
      filters.set(key, f);
    }
    return f;
  };

  const writeLogin = (event: 'start' | 'end', id: string, login: LoginStart | LoginEnd, refusable = 0): boolean => {
    const rec: LoginRecord = { v: 1, seq: 0, ts: isoMicros(nowMicros()), event, session: id, login };
    return writer.write([asWritable(rec)], refusable);
  };

  const byPid = new Map<number, LiveSession>();
  const endSession = (s: LiveSession, reason: LoginEnd['reason']): void => {
    if (!sessions.delete(s.id)) return;
    if (s.ending) clearTimeout(s.ending);
    if (byPid.get(s.start.pid) === s) byPid.delete(s.start.pid);
    addon.daemonWatchPid(s.start.pid, false);
    addon.daemonClose(s.pidfd);
    writeLogin('end', s.id, {
      user: s.start.user, pid: s.start.pid, ...exitOf(s.status), reason, hidden: s.supervision.counts.hidden,
    });
    s.supervision.close();
  };
  const exitWatch = addon.daemonWatchExits((e) => {
    const s = byPid.get(e.pid);
    if (!s) return;
    byPid.delete(e.pid);
    s.status = e.status;
    if (s.ending) endSession(s, 'exit');
  });
  if (exitWatch !== '') say(`the exit status of sessions will not be known: ${exitWatch}`);

  // netlog-shell inside a session (`su - bob`, `sudo -iu bob`) is already
  // under that session's filter: it is told to go on without one, its
  // records staying in the session it runs in. Only a live session's
  // netlog-shell process or a descendant of it qualifies (a filter is inherited by every fork
  // and never removed; the pidfds prove neither pid was reused); any other
  // filter is someone else's, and the login is refused.
  const nested = (c: DaemonConnection, user: string, shell: string): void => {
    // The session's own shell counts: `bash -c CMD` execs its last command in place.
    const ancestors = [c.pid, ...addon.daemonAncestors(c.pid)];
    const outer = [...sessions.values()].find((s) => ancestors.includes(s.start.pid));
    const ok = outer !== undefined && addon.daemonPidfdAlive(outer.pidfd) && addon.daemonPidfdAlive(c.pidfd!);
    if (ok) {
      const sent = addon.daemonSend(c.fd, filterMessage(Buffer.alloc(0), shell, 'NLN1'));
      if (sent !== 'ok') say(`nested login of ${user} (pid ${c.pid}): ${sent}`);
    } else {
      say(`login of ${user} (pid ${c.pid}) refused: under a seccomp filter that is not one of netlogd's sessions`);
    }
    addon.daemonClose(c.fd);
    addon.daemonClose(c.pidfd!);
  };

  const onConnection = (c: DaemonConnection): void => {
    if (c.error !== undefined || c.uid === undefined || c.pidfd === undefined) {
      say(`registration from pid ${c.pid} (uid ${c.peerUid}) refused: ${c.error ?? 'no facts'}`);
      return;
    }
    const pidfd = c.pidfd;
    const config = dc.config;
    // lookupUser tries a name first: a user named "1001" must not stand in for uid 1001.
    const found = addon.lookupUser(String(c.uid));
    const name = found && found.uid === c.uid ? found.name : undefined;
    const shell = shellFor(dc, name);
    if (c.seccomp) return nested(c, name ?? String(c.uid), shell);
    const traps = trapsFor(config, false);
    let payload: Buffer;
    try {
      payload = filterMessage(filterFor(traps), shell);
    } catch (err) {
      say(`session of pid ${c.pid}: ${(err as Error).message}`);
      addon.daemonClose(c.fd);
      addon.daemonClose(pidfd);
      return;
    }
    const id = crypto.randomBytes(8).toString('hex');
    const start: LoginStart = {
      user: name ?? String(c.uid), uid: c.uid, gid: c.gid ?? -1, pid: c.pid, tty: c.tty ?? null,
      auid: c.auid ?? null, ses: c.ses ?? null, client: sshClient(c.sshConnection), argv: c.argv ?? [], shell,
    };
    addon.daemonHandshake(c.fd, payload, (r) => {
      if (r.listener === undefined) {
        say(`session of ${start.user} (pid ${c.pid}) not started: ${r.error ?? 'no listener'}`);
        addon.daemonClose(c.fd);
        addon.daemonClose(pidfd);
        return;
      }
      let live: LiveSession | undefined;
      const supervision = new Supervision(config, writer, {
        onExit() {},
        onStopped() {},
        onEnd() {
          const s = live;
          if (!s) return;
          if (s.status !== undefined || exitWatch !== '') endSession(s, 'exit');
          else s.ending = setTimeout(() => endSession(s, 'exit'), EXIT_STATUS_GRACE_MS);
        },
        onWarning(text) {
          say(`session ${id} (${start.user}): ${text}`);
        },
      });
      try {
        // One engine thread per user: what stalls one user's calls stalls only their sessions.
        supervision.attach(r.listener, { traps, probes: effectiveProbes(config), argvMax: config.argvMaxSize, engine: c.uid ?? -1 }, id);
      } catch (err) {
        say(`session of ${start.user} (pid ${c.pid}) not started: ${(err as Error).message}`);
        addon.daemonClose(r.listener);
        addon.daemonClose(c.fd);
        addon.daemonClose(pidfd);
        return;
      }
      // No record, no session: without the ack netlog-shell exits, running nothing.
      if (!writeLogin('start', id, start)) {
        supervision.close();
        addon.daemonClose(c.fd);
        addon.daemonClose(pidfd);
        return;
      }
      live = { id, supervision, start, pidfd };
      sessions.set(id, live);
      byPid.set(c.pid, live);
      addon.daemonWatchPid(c.pid, true);
      const ack = addon.daemonAck(c.fd);
      if (ack !== 'ok') say(`session ${id} (${start.user}): ack not delivered (${ack}); netlog-shell is gone`);
    });
  };

  addon.daemonServe(listenFd, onConnection);

  process.on('SIGHUP', () => {
    let next: DaemonConfig;
    try {
      next = readDaemonConfig(args.configFile);
    } catch (err) {
      if (!(err instanceof NetlogError)) throw err;
      say(`config reload refused, the previous configuration stays: ${err.message}`);
      writer.write([runRecord('reload', { status: 'refused', config_digest: dc.config.digest, error: err.message })], 0);
      return;
    }
    const fixed = (['output', 'format', 'syslog', 'socket'] as const).filter((k) =>
      k === 'output' || k === 'socket' ? next[k] !== dc[k] : next.config[k] !== dc.config[k],
    );
    if (fixed.length > 0) say(`config reload: ${fixed.join(', ')} cannot change while running (restart netlogd); the rest is applied`);
    dc = { ...next, output: dc.output, socket: dc.socket, config: { ...next.config, format: dc.config.format, syslog: dc.config.syslog, output: dc.config.output } };
    for (const s of sessions.values()) s.supervision.reconfigure(dc.config);
    writer.write([runRecord('reload', { status: 'applied', config_digest: dc.config.digest })], 0);
  });

  const stop = (signal: string): void => {
    addon.daemonShutdown(listenFd);
    try {
      if (fs.lstatSync(dc.socket).isSocket()) fs.unlinkSync(dc.socket);
    } catch {
      // already gone
    }
    for (const s of [...sessions.values()]) endSession(s, 'netlogd stopped');
    writer.write([runRecord('end', { exit_code: 0, signal, records: writer.counts.records, hidden: 0, refused: writer.counts.refused })], 0);
    writer.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (const sig of ['SIGPIPE', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) process.on(sig, () => {});
}
