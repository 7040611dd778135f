// The `text` record format: one readable line per record, for a person at a
// terminal. Colours only when the sink is a TTY and NO_COLOR is unset.
import { Chalk, type ChalkInstance } from 'chalk';
import { isRunRecord, type AnyRecord, type Endpoint, type EndInfo, type ReloadInfo, type StartInfo } from './types.js';

export function textColors(isTty: boolean, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return new Chalk({ level: isTty && !noColor ? 1 : 0 });
}

/** A path as text, with control characters (newline, escape) made visible. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function ep(e: Endpoint, v6: boolean): string {
  return v6 ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

const ARROWS = { connect: '->', accept: '<-', close: '<!>', bind: 'BIND' } as const;

export function formatText(rec: AnyRecord, c: ChalkInstance): string {
  const time = rec.ts.slice(11, 26);
  if (rec.event === 'start') {
    const r = rec.run as StartInfo;
    return `${c.dim(time)} ${c.bold('start')} netlog ${r.version} pid ${r.pid}: ${printable(r.command.join(' '))}`;
  }
  if (rec.event === 'reload') {
    const r = rec.run as ReloadInfo;
    return r.status === 'applied'
      ? `${c.dim(time)} ${c.bold('reload')} config applied (${r.config_digest.slice(0, 12)})`
      : `${c.dim(time)} ${c.bold('reload')} ${c.red(`config refused: ${r.error ?? ''}`)}`;
  }
  if (isRunRecord(rec)) {
    const r = rec.run as EndInfo;
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.exit_code}`;
    const refused = r.refused ? c.red(`, ${r.refused} refused`) : '';
    return `${c.dim(time)} ${c.bold('end')} ${how}, ${r.records} records, ${r.hidden} hidden${refused}`;
  }
  const p = rec.proc;
  const who = `${c.dim(`pid ${p.pid}`)} ${c.dim(`uid ${p.uid}${p.euid !== p.uid ? `/${p.euid}` : ''}`)} ${printable(p.exe)}`;
  const kind = rec.event.padEnd(7);
  if (rec.exec) {
    const argv = rec.exec.argv.map((a) => JSON.stringify(a)).join(' ');
    const cut = rec.exec.argv_truncated ? c.yellow(' (argv truncated)') : '';
    return `${c.dim(time)} ${c.green(kind)} ${who} ${c.bold(printable(rec.exec.file))} ${argv}${cut}`;
  }
  const n = rec.net!;
  const v6 = n.family === 'ipv6';
  const arrow = ARROWS[rec.event as keyof typeof ARROWS];
  const where = n.remote ? `${ep(n.local, v6)} ${arrow} ${ep(n.remote, v6)}` : `${ep(n.local, v6)} ${arrow}`;
  const blocked = rec.blocked ? ` ${c.red.bold(`BLOCKED${rec.via && rec.via !== 'connect' ? ` (${rec.via})` : ''}`)}` : '';
  const result = (rec.result && rec.result !== 'ok' ? ` ${c.red(rec.result)}` : '') + blocked;
  return `${c.dim(time)} ${c.cyan(kind)} ${who} ${n.proto.toUpperCase()} ${where}${result}`;
}
