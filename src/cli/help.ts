// The one description of netlog-run's and netlog's command lines: the option
// table that cli/args.ts parses, the --help texts, and the man pages
// netlog-run(1) and netlog(1) (man-pages(7), groff_man(7)), which
// scripts/build-man.js writes into man/ from this file, so they cannot drift.

export interface OptionSpec {
  /** One letter, for -X. */
  short?: string;
  /** The long name, for --name. */
  long: string;
  /** The value's name when the option takes one (PATH, ENTRY...). */
  value?: string;
  /** The value may be left out (--syslog): attached with `=`, or an absolute path as the next word. */
  optionalValue?: boolean;
  /** May be given more than once (each adds one). */
  repeatable?: boolean;
  /** One line for --help. */
  help: string;
  /** More for the man page, after the --help line. */
  more?: string;
}

export const RUN_OPTIONS: readonly OptionSpec[] = [
  {
    short: 'o', long: 'output', value: 'PATH',
    help: 'append records to PATH (created 0600); - is stdout; default: stderr',
    more: 'A FIFO works when its reader is already running (e.g. `jq . < PATH`); without a reader netlog-run says so and exits 125.',
  },
  {
    short: 'f', long: 'format', value: 'FORMAT',
    help: 'text, json or seed (default: json with -o, else text)',
    more: 'json: one JSON object per line (docs/records.md). text: one readable line per record, coloured on a terminal unless NO_COLOR is set. seed: the line format of the original kernel modules (docs/seed-format.md).',
  },
  {
    short: 'c', long: 'config', value: 'PATH',
    help: 'configuration file (key = value, or modprobe.d lines)',
    more: 'Options given on the command line override it. SIGHUP re-reads it (docs/configuration.md).',
  },
  { long: 'whitelist', value: 'ENTRY', repeatable: true, help: 'hide network records matching PATH[|i<IP>][|p<PORT>]' },
  { long: 'exec-whitelist', value: 'ENTRY', repeatable: true, help: 'hide exec records matching PATH[|ARGV_PREFIX]' },
  {
    long: 'whitelist-include-root',
    help: 'let the exec whitelist hide processes of uid or euid 0 too',
    more: 'Without it, exec records of root are always written.',
  },
  {
    long: 'probes', value: 'MASK',
    help: 'hex mask: tcp_connect 1, tcp_accept 2, tcp_close 4, udp_connect 8, udp_bind 10, udp_close 20',
    more: 'A system call whose probes are all off is not trapped at all.',
  },
  { long: 'no-exec', help: 'do not record exec' },
  {
    long: 'syslog', value: 'PATH', optionalValue: true,
    help: 'also send records to syslog (default socket /dev/log)',
    more: 'The socket is given as --syslog=PATH or as --syslog PATH with PATH absolute.',
  },
  {
    long: 'user', value: 'USER',
    help: '(root only) run COMMAND as USER; the supervisor stays root',
    more: 'COMMAND gets USER\'s uid, gid and groups, and HOME, USER, LOGNAME and SHELL; no no_new_privs is set, so sudo keeps working inside.',
  },
  {
    long: 'egress', value: 'MODE',
    help: 'audit (default): record only; block: refuse connections --allow does not allow',
    more: 'See docs/ci.md.',
  },
  { long: 'allow', value: 'ENDPOINT', repeatable: true, help: 'a destination that --egress block lets through: HOST[:PORT]', more: 'See docs/ci.md.' },
  { long: 'ci', help: 'defaults for a CI job: JSON log file from the environment, a step summary', more: 'See docs/ci.md.' },
  { short: 'q', long: 'quiet', help: "no notices of netlog-run's own on stderr" },
  { short: 'h', long: 'help', help: 'show this help' },
  { long: 'version', help: 'show the version' },
];

export const RUN_SUMMARY = 'run a command and record its execs and network connections';

const RUN_INTRO = `Runs COMMAND and everything it starts under netlog's supervision, recording
each exec and each TCP/UDP connect, accept, bind and close.
The first argument that is not an option starts COMMAND; \`--\` may mark it.`;

export const EXIT_STATUS: ReadonlyArray<[string, string]> = [
  ["COMMAND's", 'COMMAND exited normally'],
  ['128+N', 'COMMAND was killed by signal N'],
  ['125', 'netlog-run itself failed (bad option or config, unwritable output, missing kernel feature); COMMAND was not started'],
  ['126', 'COMMAND was found but could not be executed'],
  ['127', 'COMMAND was not found'],
];

/** `-o, --output PATH` as --help shows it. */
function optionLabel(o: OptionSpec): string {
  const long = o.value === undefined ? `--${o.long}` : o.optionalValue ? `--${o.long}[=${o.value}]` : `--${o.long} ${o.value}`;
  return o.short ? `-${o.short}, ${long}` : `    ${long}`;
}

function optionLines(options: readonly OptionSpec[]): string {
  return options
    .map((o) => {
      const label = `  ${optionLabel(o)}`;
      const help = o.repeatable ? `${o.help} (repeatable)` : o.help;
      return label.length >= 28 ? `${label}\n${' '.repeat(28)}${help}` : `${label.padEnd(28)}${help}`;
    })
    .join('\n');
}

export const RUN_USAGE = `usage: netlog-run [OPTIONS] [--] COMMAND [ARG...]

${RUN_INTRO}

${optionLines(RUN_OPTIONS)}

Exit status: COMMAND's; 128+N if signal N killed it; 125 if netlog-run failed;
126 if COMMAND is not executable; 127 if it was not found.
Manual: man netlog-run; docs/ in the package.`;

// ---------------------------------------------------------------------------------------------
// netlog: the subcommand dispatcher.

export interface SubcommandSpec {
  name: string;
  synopsis: string;
  help: string;
}

export const NETLOG_SUBCOMMANDS: readonly SubcommandSpec[] = [
  { name: 'report', synopsis: 'netlog report [OPTIONS] LOG...', help: 'summarize JSON logs: programs, destinations, blocked calls, losses (docs/ci.md)' },
  { name: 'daemon', synopsis: 'netlog daemon [-c CONFIG]', help: 'netlogd, the root supervisor of login sessions (docs/login-sessions.md)' },
  { name: 'install', synopsis: 'netlog install [OPTIONS]', help: '(root) install netlog-shell, the daemon\'s unit and default config (docs/login-sessions.md)' },
];

export const NETLOG_SUMMARY = 'login-session daemon, log reports and installation of netlog';

export const NETLOG_OPTIONS: readonly OptionSpec[] = [
  { short: 'h', long: 'help', help: 'show this help' },
  { long: 'version', help: 'show the version' },
];

export const NETLOG_USAGE = `usage: netlog SUBCOMMAND [ARG...]

${NETLOG_SUBCOMMANDS.map((s) => `  ${s.name.padEnd(10)}${s.help}`).join('\n')}

${optionLines(NETLOG_OPTIONS)}

To run a command under supervision, use netlog-run (netlog-run --help).
Manual: man netlog; docs/ in the package.`;

// ---------------------------------------------------------------------------------------------
// Man pages (groff man macros).

/** Escapes text for roff: backslashes, a leading dot or quote, and `-` as a real minus. */
function roff(text: string): string {
  const t = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return t.replace(/^([.'])/gm, '\\&$1');
}

/** `code` spans become bold. */
function roffText(text: string): string {
  return roff(text).replace(/`([^`]+)`/g, '\\fB$1\\fR');
}

function roffOption(o: OptionSpec): string {
  const long = o.value === undefined ? `\\fB\\-\\-${roff(o.long)}\\fR`
    : o.optionalValue ? `\\fB\\-\\-${roff(o.long)}\\fR[\\fB=\\fR\\fI${o.value}\\fR]`
    : `\\fB\\-\\-${roff(o.long)}\\fR \\fI${o.value}\\fR`;
  const short = o.short ? (o.value === undefined || o.optionalValue ? `\\fB\\-${o.short}\\fR, ` : `\\fB\\-${o.short}\\fR \\fI${o.value}\\fR, `) : '';
  const body = [roffText(o.help) + '.'];
  if (o.repeatable) body.push('May be given more than once.');
  if (o.more) body.push(roffText(o.more));
  return `.TP\n${short}${long}\n${body.join('\n')}`;
}

function header(name: string, version: string, summary: string): string {
  return `.\\" Generated from src/cli/help.ts by scripts/build-man.js; do not edit.
.TH ${name.toUpperCase().replace(/-/g, '\\-')} 1 "" "netlog ${version}" "User Commands"
.SH NAME
${roff(name)} \\- ${roff(summary)}`;
}

export function runManPage(version: string): string {
  return `${header('netlog-run', version, RUN_SUMMARY)}
.SH SYNOPSIS
.B netlog\\-run
[\\fIOPTIONS\\fR] [\\fB\\-\\-\\fR] \\fICOMMAND\\fR [\\fIARG\\fR...]
.SH DESCRIPTION
${roffText(RUN_INTRO.replace(/\n/g, ' '))}
Each record is written before the system call it describes is let go; a
record that cannot be written makes netlog-run refuse the call (EACCES).
.PP
Options may be bundled and their values attached, as with other GNU tools:
\\fB\\-qo\\fR \\fIFILE\\fR, \\fB\\-o\\fR\\fIFILE\\fR, \\fB\\-fjson\\fR, \\fB\\-\\-output=\\fR\\fIFILE\\fR.
Long options cannot be abbreviated.
.SH OPTIONS
${RUN_OPTIONS.map(roffOption).join('\n')}
.SH EXIT STATUS
${EXIT_STATUS.map(([code, meaning]) => `.TP\n${roff(code)}\n${roff(meaning)}.`).join('\n')}
.SH SIGNALS
COMMAND keeps the caller's terminal, stdin, stdout and stderr. Ctrl\\-C, Ctrl\\-\\e and Ctrl\\-Z
reach COMMAND's foreground job. SIGTERM sent to netlog\\-run is passed on to COMMAND; so is
SIGHUP, unless \\fB\\-c\\fR was given, in which case SIGHUP re\\-reads the configuration file.
.SH EXAMPLES
.nf
netlog\\-run \\-\\- bash \\-c 'curl \\-s http://127.0.0.1:8000/'
netlog\\-run \\-qo session.jsonl make test
netlog\\-run \\-q \\-o >(jq \\-c 'select(.event == "connect")') \\-\\- ./job.sh
.fi
.SH ENVIRONMENT
.TP
.B NO_COLOR
Turns colours off in the text format.
.SH SEE ALSO
.BR netlog (1),
.BR seccomp (2),
.BR seccomp_unotify (2).
The documentation in the package's docs/ directory: cli.md, records.md, configuration.md,
seed-format.md, security.md, ci.md, login-sessions.md.
`;
}

export function netlogManPage(version: string): string {
  return `${header('netlog', version, NETLOG_SUMMARY)}
.SH SYNOPSIS
${NETLOG_SUBCOMMANDS.map((s) => `.B ${roff(s.synopsis.split(' ').slice(0, 2).join(' '))}\n${roff(s.synopsis.split(' ').slice(2).join(' '))}\n.br`).join('\n')}
.B netlog
\\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR
.SH DESCRIPTION
.B netlog
groups the commands around netlog\\-run: the daemon that supervises login
sessions, the installer of its pieces, and a report on JSON logs.
To run one command under supervision, use
.BR netlog\\-run (1).
.SH COMMANDS
${NETLOG_SUBCOMMANDS.map((s) => `.TP\n.B ${roff(s.name)}\n${roffText(s.help)}.`).join('\n')}
.SH OPTIONS
${NETLOG_OPTIONS.map(roffOption).join('\n')}
.SH EXIT STATUS
0 on success; 125 when netlog itself fails (an unknown command, a bad option, a command that
is not available in this build).
.SH SEE ALSO
.BR netlog\\-run (1).
`;
}
