// The `text` record format: one readable line per record, for a person at a
// terminal: labelled fields, one quoting rule for every value (escape.ts), so
// no name can break the line or drive the terminal. Colours (SGR escape
// codes, console_codes(4)) only when the sink is a TTY and NO_COLOR is unset.
import { quoteText } from './escape.js';
import { isRunRecord, type AnyRecord, type EndInfo, type Endpoint, type EventRecord, type ReloadInfo, type StartInfo } from './types.js';

export interface TextColors {
  dim(s: string): string;
  bold(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const sgr = (on: number, off: number) => (s: string) => `\x1b[${on}m${s}\x1b[${off}m`;
const PLAIN: TextColors = { dim: String, bold: String, red: String, green: String, yellow: String, cyan: String };
const ANSI: TextColors = { dim: sgr(2, 22), bold: sgr(1, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39) };

export function textColors(isTty: boolean, env: NodeJS.ProcessEnv = process.env): TextColors {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return isTty && !noColor ? ANSI : PLAIN;
}

/** What the formatter knows of the run beyond the record itself. */
export interface TextContext {
  /** COMMAND's pid once started: its first exec is made by netlog-run's forked child. */
  commandPid?: number;
  /** The real path of netlog-run's own program (node), the exe of that child. */
  launcherExe?: string;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function ep(e: Endpoint, v6: boolean): string {
  return v6 ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

const ARROWS = { connect: '->', accept: '<-', close: '<!>', bind: 'BIND' } as const;

/** The launch of COMMAND: the exec made by netlog-run's own child, whose program is still node. */
function isLaunch(rec: EventRecord, ctx: TextContext): boolean {
  return rec.event === 'exec' && ctx.commandPid !== undefined && rec.proc.pid === ctx.commandPid && rec.proc.exe === ctx.launcherExe;
}

export function formatText(rec: AnyRecord, c: TextColors, ctx: TextContext = {}): string {
  const head = (event: string, paint: (s: string) => string): string => `${c.dim(rec.ts.slice(11, 26))} ${paint(event.padEnd(7))}`;
  const session = rec.session !== undefined ? ` session=${quoteText(rec.session)}` : '';
  if (rec.event === 'start') {
    const r = rec.run as StartInfo;
    return `${head('start', c.bold)}${session} version=${quoteText(r.version)} pid=${r.pid} uid=${r.uid} command: ${r.command.map(quoteText).join(' ')}`;
  }
  if (rec.event === 'reload') {
    const r = rec.run as ReloadInfo;
    return r.status === 'applied'
      ? `${head('reload', c.bold)}${session} config applied digest=${quoteText(r.config_digest.slice(0, 12))}`
      : `${head('reload', c.bold)}${session} ${c.red(`config refused error=${quoteText(r.error ?? '')}`)}`;
  }
  if (isRunRecord(rec)) {
    const r = rec.run as EndInfo;
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.exit_code}`;
    const refused = r.refused ? c.red(`, ${r.refused} refused`) : '';
    return `${head('end', c.bold)}${session} ${how}, ${plural(r.records, 'record')}, ${r.hidden} hidden${refused}`;
  }
  const p = rec.proc;
  const uid = `uid=${p.uid}${p.euid !== p.uid ? `/${p.euid}` : ''}`;
  const who = c.dim(`pid=${p.pid} ppid=${p.ppid} ${uid} tty=${p.tty === null ? '-' : quoteText(p.tty)}`);
  if (rec.exec) {
    const by = isLaunch(rec, ctx) ? 'by=netlog-run' : `exe=${quoteText(p.exe)}`;
    const cut = rec.exec.argv_truncated ? c.yellow(' (argv truncated)') : '';
    return `${head('exec', c.green)} ${who} ${by} ${c.bold(`file=${quoteText(rec.exec.file)}`)} argv: ${rec.exec.argv.map(quoteText).join(' ')}${cut}`;
  }
  const n = rec.net!;
  const v6 = n.family === 'ipv6';
  const arrow = ARROWS[rec.event as keyof typeof ARROWS];
  const where = n.remote ? `${ep(n.local, v6)} ${arrow} ${ep(n.remote, v6)}` : `${ep(n.local, v6)} ${arrow}`;
  const blocked = rec.blocked ? ` ${c.red(`blocked${rec.via && rec.via !== 'connect' ? `=${quoteText(rec.via)}` : ''}`)}` : '';
  const result = rec.result && rec.result !== 'ok' ? ` ${c.red(`result=${quoteText(rec.result)}`)}` : '';
  const outcome =
    rec.outcome === undefined ? '' : rec.outcome === 'established' ? ` outcome=established` : ` ${c.red(`outcome=${quoteText(rec.outcome)}`)}`;
  return `${head(rec.event, c.cyan)} ${who} exe=${quoteText(p.exe)} ${n.proto.toUpperCase()} ${where}${result}${outcome}${blocked}`;
}
