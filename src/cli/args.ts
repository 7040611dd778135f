// netlog-run's command line (SPEC §2): options before `--`, COMMAND after it.
// Values are validated with the config file's own rules (config/parse.ts).
import { parseCliValue } from '../config/parse.js';
import type { ConfigLayer } from '../config/keys.js';
import { NetlogError } from '../errors.js';

export interface CliArgs {
  configFile?: string;
  /** Settings given as options, in order; they override the config file. */
  layers: ConfigLayer[];
  noExec: boolean;
  quiet: boolean;
  /** --ci: log file from the environment, quiet, a step summary (docs/ci.md). */
  ci?: boolean;
  user?: string;
  help: boolean;
  version: boolean;
  command: string[];
}

export const USAGE = `usage: netlog-run [OPTIONS] -- COMMAND [ARG...]

Runs COMMAND and everything it starts under netlog's supervision, recording
each exec and each TCP/UDP connect, accept, bind and close.

  -o, --output PATH         append records to PATH (created 0600); default: stderr
  -f, --format FORMAT       text, json or seed (default: json with -o, else text)
  -c, --config PATH         configuration file (key = value, or modprobe.d lines)
      --whitelist ENTRY     hide network records matching PATH[|i<IP>][|p<PORT>]
      --exec-whitelist ENTRY  hide exec records matching PATH[|ARGV_PREFIX]
      --probes MASK         hex mask: tcp_connect 1, tcp_accept 2, tcp_close 4,
                            udp_connect 8, udp_bind 10, udp_close 20
      --no-exec             do not record exec
      --syslog[=PATH]       also send records to syslog (default socket /dev/log)
      --user USER           (root only) run COMMAND as USER; the supervisor stays root
      --egress audit|block  block: refuse (EPERM) connections and datagrams to
                            destinations not allowed by --allow
      --allow ENDPOINT      [PATH=]HOST[:PORT] allowed with --egress block: HOST an
                            IP, CIDR, DNS name or *.name; PORT N, A-B or *; repeatable
      --ci                  CI job: JSON log from $NETLOG_OUTPUT, $RUNNER_TEMP or
                            $CI_PROJECT_DIR, quiet, summary to $GITHUB_STEP_SUMMARY
  -q, --quiet               no notices of netlog-run's own on stderr
  -h, --help                show this help
      --version             show the version

Exit status: COMMAND's; 128+N if signal N killed it; 125 if netlog-run failed;
126 if COMMAND is not executable; 127 if it was not found.`;

/** An error in the command line: the caller prints it with the usage hint, exit 125. */
export class UsageError extends NetlogError {
  constructor(message: string) {
    super('EUSAGE', message);
    this.name = 'UsageError';
  }
}

// option → [config key, takes a value]
const VALUE_OPTIONS: Record<string, string> = {
  '-o': 'output', '--output': 'output',
  '-f': 'format', '--format': 'format',
  '--whitelist': 'whitelist',
  '--exec-whitelist': 'exec_whitelist',
  '--probes': 'probes',
  '--egress': 'egress',
  '--allow': 'allow',
};

export function parseArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { layers: [], noExec: false, quiet: false, help: false, version: false, command: [] };
  let i = 0;
  const valueOf = (opt: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    if (i + 1 >= argv.length || argv[i + 1] === '--') throw new UsageError(`option '${opt}' needs a value`);
    return argv[++i]!;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.command = argv.slice(i + 1);
      break;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const opt = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const key = VALUE_OPTIONS[opt];
    if (key !== undefined) {
      out.layers.push(parseCliValue(key, valueOf(opt, inline), opt));
      continue;
    }
    const noValue = (): void => {
      if (inline !== undefined) throw new UsageError(`option '${opt}' takes no value`);
    };
    switch (opt) {
      case '-c':
      case '--config':
        out.configFile = valueOf(opt, inline);
        break;
      case '--syslog':
        out.layers.push(parseCliValue('syslog', inline ?? '1', opt));
        break;
      case '--user':
        out.user = valueOf(opt, inline);
        break;
      case '--no-exec':
        noValue();
        out.noExec = true;
        break;
      case '-q':
      case '--quiet':
        noValue();
        out.quiet = true;
        break;
      case '--ci':
        noValue();
        out.ci = true;
        break;
      case '-h':
      case '--help':
        noValue();
        out.help = true;
        break;
      case '--version':
        noValue();
        out.version = true;
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option '${opt}'`);
        throw new UsageError(`expected '--' before COMMAND '${arg}'`);
    }
  }
  if (!out.help && !out.version && out.command.length === 0) throw new UsageError('missing COMMAND after --');
  return out;
}
