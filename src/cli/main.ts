// netlog-run: parse the command line and config, open the sinks, start the
// supervised session, pass signals on, and exit with COMMAND's status.
// First: Node's stdio streams must never exist (see own-stdio.ts).
import './own-stdio.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { constants as osConstants } from 'node:os';
import { parseArgs, USAGE, UsageError } from './args.js';
import { parseCliValue, parseConfig, resolveConfig } from '../config/parse.js';
import type { Config, ConfigLayer } from '../config/keys.js';
import { NetlogError } from '../errors.js';
import { formatJson } from '../record/json.js';
import { isRunRecord, type AnyRecord, type ReloadInfo, type RunRecord } from '../record/types.js';
import { RecordWriter, type Formatter, type SinkWithFormat } from '../record/writer.js';
import { FileSink, ownStderr, StderrSink } from '../sink/sinks.js';
import { effectiveProbes, isoMicros, nowMicros, Supervision } from '../supervisor.js';
import { addon, type Traps, type UserInfo } from '../native.js';
import { runProcess } from '../run-process.js';
import type { TextContext } from '../record/text.js';
import {
  PROBE_TCP_ACCEPT,
  PROBE_TCP_CLOSE,
  PROBE_TCP_CONNECT,
  PROBE_UDP_BIND,
  PROBE_UDP_CLOSE,
  PROBE_UDP_CONNECT,
} from '../config/keys.js';
import { PROBE_TCP_BIND } from '../supervisor.js';
import { packageVersion } from '../version.js';

const EXIT_FAILURE = 125;

function say(text: string): void {
  try {
    ownStderr().write(`netlog-run: ${text}\n`);
  } catch {
    // stderr is gone: nothing else to tell
  }
}

/** Exits at once (_exit): fds 0-2 and the terminal stay as COMMAND left them. */
function quit(code: number): never {
  return runProcess.exitNow(code);
}

/** Writes text to stdout (--help, --version) with a blocking write. */
function print(text: string): void {
  runProcess.writeAll(1, Buffer.from(text));
}

function readConfigFile(file: string): ConfigLayer {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new NetlogError('ECONFIG', `cannot read config ${file}: ${why}`);
  }
  return parseConfig(text, file);
}

/** COMMAND's candidate paths, in the order execvp(3) would try them. */
export function commandCandidates(command: string, envPath: string | undefined): string[] {
  if (command.includes('/')) return [command];
  const dirs = (envPath ?? '/usr/local/bin:/usr/bin:/bin').split(':');
  return dirs.map((d) => path.join(d === '' ? '.' : d, command));
}

// The text and seed formatters are loaded only when used: every
// module costs start-up time.
async function formatterFor(format: string, config: Config, isTty: boolean, textContext: TextContext = {}): Promise<Formatter> {
  if (format === 'json') return formatJson;
  if (format === 'seed') {
    const { formatSeed } = await import('../record/seed.js');
    // The run's own records (start, reload, end) have no seed form: JSON.
    return (rec: AnyRecord) => (isRunRecord(rec) ? formatJson(rec) : formatSeed(rec, { simpleFormat: config.simpleFormat }));
  }
  const { formatText, textColors } = await import('../record/text.js');
  const colors = textColors(isTty);
  return (rec: AnyRecord) => formatText(rec, colors, textContext);
}

function signalName(n: number): string | null {
  if (n === 0) return null;
  const entry = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return entry ? entry[0] : `SIG${n}`;
}

export async function main(argv: string[]): Promise<void> {
  // One line, and an exit that leaves fds 0-2 as COMMAND set them (not Node's
  // stack trace and exit). The session then fails closed.
  process.on('uncaughtException', (err) => {
    say(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    quit(EXIT_FAILURE);
  });
  let args;
  let config: Config;
  try {
    args = parseArgs(argv);
    if (args.help) {
      print(USAGE + '\n');
      quit(0);
    }
    if (args.version) {
      print(`netlog-run ${packageVersion()}\n`);
      quit(0);
    }
    if (args.user !== undefined && process.getuid?.() !== 0) throw new UsageError('--user needs netlog-run to be started as root');
    // --ci: the policy the CI action exported (docs/ci.md), under the command line.
    const ciLayers = args.ci ? ciEnvLayers(process.env) : [];
    const layers = [...(args.configFile ? [readConfigFile(args.configFile)] : []), ...ciLayers, ...args.layers];
    config = resolveConfig(layers);
    if (args.ci && config.output === undefined) {
      const { ciLogPath } = await import('../ci/ci.js');
      config = { ...config, output: ciLogPath(process.env) };
    }
  } catch (err) {
    if (err instanceof NetlogError) {
      say(err.message);
      if (err instanceof UsageError) say("try 'netlog-run --help'");
      quit(EXIT_FAILURE);
    }
    throw err;
  }

  const sinks: SinkWithFormat[] = [];
  // COMMAND's launch is told apart in the text format (its caller is our own child, running node).
  const textContext: TextContext = { launcherExe: realPath(process.execPath) };
  try {
    if (config.output !== undefined) {
      sinks.push({ sink: new FileSink(config.output), format: await formatterFor(config.format ?? 'json', config, false, textContext) });
    } else {
      // node:tty (and node:net under it) only for this check: a run with -o does not load them.
      const { isatty } = await import('node:tty');
      sinks.push({ sink: new StderrSink(), format: await formatterFor(config.format ?? 'text', config, isatty(2), textContext) });
    }
    if (config.syslog !== undefined) {
      const inner = config.format === 'seed' ? await formatterFor('seed', config, false) : formatJson;
      const { SyslogSink } = await import('../sink/syslog.js');
      sinks.push({ sink: new SyslogSink(config.syslog, config.syslogFacility), format: inner });
    }
  } catch (err) {
    if (err instanceof NetlogError) {
      // A sink that cannot work at start: COMMAND is not started, and the
      // sinks opened so far leave nothing behind.
      say(err.message);
      for (const { sink } of sinks) sink.discard?.();
      quit(EXIT_FAILURE);
    }
    throw err;
  }

  const quiet = args.quiet || args.ci === true;
  // --ci: this run's summary for the job's page, from the records as they are written.
  const stepSummary = args.ci ? process.env.GITHUB_STEP_SUMMARY : undefined;
  let summary: import('../ci/ci.js').RunSummary | undefined;
  if (stepSummary) {
    const { RunSummary } = await import('../ci/ci.js');
    summary = new RunSummary();
    sinks.push({ sink: { name: 'step summary', write() {}, close() {} }, format: summary.tap });
  }
  // --egress block: the table the supervisor checks before each connect and
  // datagram. No fallback to audit: a policy that cannot be loaded stops here.
  let egress: import('../egress/load.js').LoadedEgress | undefined;
  if (config.egress === 'block') {
    const { loadEgress } = await import('../egress/load.js');
    egress = await loadEgress(config.allow);
    for (const name of egress.unresolved) {
      if (!quiet) say(`allow entry '${name}': the name has no address now; it is looked up again before each refusal`);
    }
  } else if (config.allow.length > 0 && !quiet) {
    say('--allow has no effect without --egress block');
  }
  // Several runs may append to one log (the steps of a CI job): each record names its run.
  const session = crypto.randomBytes(8).toString('hex');
  const writer = new RecordWriter(
    sinks,
    (reason) => say(`${reason}; refusing the supervised system calls whose records cannot be written (EACCES)`),
    session,
  );
  const runRecord = (event: RunRecord['event'], run: RunRecord['run']): RunRecord => {
    return { v: 1, seq: 0, ts: isoMicros(nowMicros()), event, run };
  };
  if (!quiet && process.getuid?.() === 0 && args.user === undefined && config.execWhitelist.length > 0 && !config.whitelistIncludeRoot) {
    say(
      'the exec whitelist does not apply to processes running as root (uid or euid 0), and COMMAND runs as root: ' +
        'its execs are all recorded (--whitelist-include-root or whitelist_include_root = 1 applies it to root too)',
    );
  }

  let exit: { code: number; signal: number } | undefined;
  let ended = false;
  let startFailed = false;
  let lingerTimer: NodeJS.Timeout | undefined;
  const finish = (): void => {
    if (!exit || !ended) return;
    if (lingerTimer) clearTimeout(lingerTimer);
    const end = runRecord('end', {
      exit_code: exit.code,
      signal: signalName(exit.signal),
      records: writer.counts.records,
      hidden: supervision.counts.hidden,
      refused: writer.counts.refused,
    });
    if (startFailed) {
      say('COMMAND was not started: its log cannot be written');
    } else {
      const stored = writer.counts.records;
      writer.write([end], 0);
      // Only when the main log could not take the end record, with the same counts it holds.
      if (writer.counts.records === stored && !quiet) {
        say(`end: exit ${exit.code}, ${stored} record${stored === 1 ? '' : 's'}, ${writer.counts.refused} refused`);
      }
    }
    if (summary && stepSummary && !startFailed) {
      const why = summary.appendTo(stepSummary);
      if (why) say(`cannot append the summary to $GITHUB_STEP_SUMMARY: ${why}`);
    }
    writer.close();
    supervision.close();
    runProcess.exitNow(startFailed ? EXIT_FAILURE : exit.code);
  };

  const supervision = new Supervision(config, writer, {
    onExit(code, signal, launchError) {
      exit = { code, signal };
      if (launchError) say(`${args.command[0]}: ${launchError.message}`);
      else if (!ended && !quiet) {
        lingerTimer = setTimeout(() => say('COMMAND has exited; supervising the processes it left running until they exit'), 200);
      }
      finish();
    },
    onStopped(signal) {
      // Ctrl-Z on COMMAND: stop netlog-run too, so that the calling shell
      // sees the job stopped (resumed below on SIGCONT), as sudo does.
      if ([osConstants.signals.SIGTSTP, osConstants.signals.SIGTTIN, osConstants.signals.SIGTTOU].includes(signal)) {
        process.kill(process.pid, 'SIGSTOP');
      }
    },
    onEnd() {
      ended = true;
      finish();
    },
    onWarning(text) {
      say(text);
    },
  });

  // SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 and SIGALRM are
  // handled natively (native/signals.cc): relayed to COMMAND when a process
  // outside the session sent them, not when the terminal did (COMMAND's
  // foreground job got those already). With a config file, a SIGHUP sent by
  // a process re-reads it instead (docs/configuration.md).
  // Ctrl-Z and the other job-control stops reach COMMAND through its process
  // group; netlog-run survives them and follows COMMAND's stop (onStopped).
  for (const sig of ['SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGPIPE'] as const) process.on(sig, () => {});
  const configFile = args.configFile;
  const reload = (file: string): void => {
    const outcome = reloadConfig(file, args.layers, config, traps);
    if (outcome.config) {
      const fixed = (['output', 'format', 'syslog', 'argvMaxSize', 'simpleFormat', 'syslogFacility', 'egress'] as const).filter(
        (k) => outcome.config![k] !== config[k],
      );
      if (fixed.length > 0 && !quiet) say(`config reload: ${fixed.join(', ')} cannot change while running; the rest is applied`);
      const allowChanged = outcome.config.allow.map((e) => e.canonical).join(',') !== config.allow.map((e) => e.canonical).join(',');
      config = { ...outcome.config, ...Object.fromEntries(fixed.map((k) => [k, config[k]])) };
      supervision.reconfigure(config);
      if (config.egress === 'block' && allowChanged) void import('../egress/load.js').then(({ loadEgressSync }) => supervision.setEgress(loadEgressSync(config.allow).native));
    } else {
      say(`config reload refused, the previous configuration stays: ${outcome.error}`);
    }
    writer.write([runRecord('reload', outcome.record)], 0);
  };
  const relay = runProcess.relaySignals(configFile !== undefined ? () => reload(configFile) : undefined);
  if (relay !== 'ok') {
    say(`cannot set up the signal relay: ${relay}`);
    writer.discard();
    quit(EXIT_FAILURE);
  }
  process.on('SIGCONT', () => supervision.kill(osConstants.signals.SIGCONT));

  const command = args.command;
  const traps = trapsFor(config, args.noExec);
  const env = { ...process.env };
  let user: UserInfo | undefined;
  if (args.user !== undefined) {
    user = addon.lookupUser(args.user) ?? undefined;
    if (!user) {
      say(`--user: no such user '${args.user}'`);
      writer.discard();
      quit(EXIT_FAILURE);
    }
    // As su - sets them.
    Object.assign(env, { HOME: user.home, USER: user.name, LOGNAME: user.name, SHELL: user.shell });
  }
  const envList = Object.entries(env).map(([k, v]) => `${k}=${v ?? ''}`);
  // Taken before the launch: COMMAND's first exec is stamped after it.
  const startRecord = runRecord('start', {
    version: packageVersion(),
    pid: process.pid,
    command,
    uid: process.getuid?.() ?? -1,
    config_digest: config.digest,
    ...(config.egress === 'block' && { egress: { mode: 'block' as const, allow: config.allow.map((e) => e.canonical) } }),
  });
  let commandPid: number;
  try {
    commandPid = supervision.start({
      candidates: commandCandidates(command[0]!, process.env.PATH),
      argv: command,
      env: envList,
      traps,
      probes: effectiveProbes(config),
      argvMax: config.argvMaxSize,
      testFailSeccomp: process.env.NETLOG_TEST_FAIL_SECCOMP === '1',
      ...(user && { user: { uid: user.uid, gid: user.gid, groups: user.groups } }),
      ...(egress && { egress: egress.native }),
    });
  } catch (err) {
    const e = err as { code?: string; stage?: string; errno?: number; message: string };
    if (e.code !== 'ELAUNCH') throw err;
    say(e.message + launchHint(e.stage, e.errno));
    writer.discard();
    quit(EXIT_FAILURE);
  }
  textContext.commandPid = commandPid;
  // COMMAND is held in its first exec: signals that came meanwhile reach it now.
  // ESRCH: COMMAND failed its first exec and was reaped already; nothing to relay to.
  const relayed = runProcess.relayTo(commandPid);
  if (relayed !== 'ok' && relayed !== 'ESRCH') say(`signals sent to netlog-run cannot be relayed to COMMAND: ${relayed}`);
  // COMMAND's first exec reaches us through the event loop, so this record
  // still comes first in the log.
  writer.write([startRecord], 0);
  // Without its log the session must not run: COMMAND is still held in its
  // first exec, and is killed there; netlog-run then exits 125. (A failing
  // secondary sink, syslog, refuses the session's syscalls one by one.)
  if (writer.nextSeq() === 1) {
    startFailed = true;
    supervision.kill(osConstants.signals.SIGKILL);
  }
}

/** Which syscalls the filter traps: a syscall whose probes are all off is not trapped. */
export function trapsFor(config: Config, noExec: boolean): Traps {
  const probes = effectiveProbes(config);
  return {
    exec: !noExec,
    connect: config.egress === 'block' || (probes & (PROBE_TCP_CONNECT | PROBE_UDP_CONNECT)) !== 0,
    accept: (probes & PROBE_TCP_ACCEPT) !== 0,
    bind: (probes & (PROBE_UDP_BIND | PROBE_TCP_BIND)) !== 0,
    close: (probes & (PROBE_TCP_CLOSE | PROBE_UDP_CLOSE)) !== 0,
  };
}

/**
 * Re-reads the config file for SIGHUP. The new whitelists and probe switches
 * apply as a whole, or not at all: a config with an error, or one that turns
 * on a probe whose syscall was not trapped at start, is refused.
 */
export function reloadConfig(
  file: string,
  cliLayers: ConfigLayer[],
  current: Config,
  traps: Traps,
): { config?: Config; error?: string; record: ReloadInfo } {
  let next: Config;
  try {
    next = resolveConfig([readConfigFile(file), ...cliLayers]);
  } catch (err) {
    if (!(err instanceof NetlogError)) throw err;
    return { error: err.message, record: { status: 'refused', config_digest: current.digest, error: err.message } };
  }
  const wanted = trapsFor(next, !traps.exec);
  const missing = (Object.keys(wanted) as (keyof Traps)[]).filter((k) => wanted[k] && !traps[k]);
  if (missing.length > 0) {
    const error = `${file}: probes for ${missing.join(', ')} cannot be turned on while running (not trapped at start; restart netlog-run)`;
    return { error, record: { status: 'refused', config_digest: current.digest, error } };
  }
  return { config: next, record: { status: 'applied', config_digest: next.digest } };
}

function realPath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/** --ci: NETLOG_EGRESS and NETLOG_ALLOW, as the GitHub action exports them. */
function ciEnvLayers(env: NodeJS.ProcessEnv): ConfigLayer[] {
  const layers: ConfigLayer[] = [];
  if (env.NETLOG_EGRESS) layers.push(parseCliValue('egress', env.NETLOG_EGRESS, '$NETLOG_EGRESS'));
  // One entry a line or comma separated, as the action's input is written.
  const allow = (env.NETLOG_ALLOW ?? '').split(/[\n,]/).map((s) => s.trim()).filter((s) => s !== '' && !s.startsWith('#'));
  if (allow.length > 0) layers.push(parseCliValue('allow', allow.join(','), '$NETLOG_ALLOW'));
  return layers;
}

function launchHint(stage: string | undefined, errno: number | undefined): string {
  if (stage !== 'seccomp') return '';
  if (errno === 22 /* EINVAL */ || errno === 38 /* ENOSYS */) {
    return ' (hint: netlog needs Linux 5.19 or later with CONFIG_SECCOMP_FILTER for seccomp user notification with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)';
  }
  if (errno === 13 /* EACCES */) return ' (hint: installing a seccomp filter needs no_new_privs or CAP_SYS_ADMIN)';
  if (errno === 16 /* EBUSY */) {
    return ' (hint: this process already runs under a seccomp notifier, e.g. inside another netlog-run session; the kernel allows one listener per filter chain)';
  }
  return '';
}
