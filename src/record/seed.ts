// The `seed` output format (docs/seed-format.md): one line per record, byte-compatible with what the
// original secure_log device printed for netlog and execlog records.

import { seedSafe } from './escape.js';
import type { Endpoint, EventRecord, NetInfo, ProcInfo } from './types.js';

export interface SeedOptions {
  /** secure_log's simple_format: `netlog [ 1234.567890]: ` instead of the RFC 5424 header. */
  simpleFormat: boolean;
}

const ARROWS: Record<Exclude<EventRecord['event'], 'exec'>, string> = {
  bind: ' BIND ',
  connect: ' -> ',
  accept: ' <- ',
  close: ' <!> ',
};

/** The seed line for a record, without the trailing newline. */
export function formatSeed(rec: EventRecord, opts: SeedOptions): string {
  const module = rec.event === 'exec' ? 'execlog' : 'netlog';
  // A record without a boot time has no better stand-in than the kernel's zero.
  const [secs, usecs] = rec.boot ?? [0, 0];
  const stamp = `[${String(secs).padStart(5, ' ')}.${String(usecs).padStart(6, '0')}]`;
  const header = opts.simpleFormat ? `${module} ${stamp}: ` : `<6>1 - - ${module} - - - ${stamp}: `;
  return header + formatProc(rec.proc) + ' ' + formatBody(rec);
}

/** `p:TID s:SID pp:PPID u:UID g:GID eu:EUID eg:EGID t:TTY`, ids printed with the original's %d. */
function formatProc(proc: ProcInfo): string {
  const d = (n: number): number => n | 0;
  return (
    `p:${d(proc.tid)} s:${d(proc.sid)} pp:${d(proc.ppid)} u:${d(proc.uid)} g:${d(proc.gid)} ` +
    `eu:${d(proc.euid)} eg:${d(proc.egid)} t:${shortTty(proc.tty)}`
  );
}

/** The kernel's tty_name(): "pts/0" is "pts0", "/dev/tty1" is "tty1", none is "NULL". */
export function shortTty(tty: string | null): string {
  if (tty === null || tty === '') return 'NULL';
  const name = tty.replace(/^\/dev\//, '');
  const pts = /^pts\/(\d+)$/.exec(name);
  if (pts) return `pts${pts[1]}`;
  return name.slice(name.lastIndexOf('/') + 1);
}

function formatBody(rec: EventRecord): string {
  if (rec.event === 'exec') {
    const exec = rec.exec;
    if (!exec) return '';
    // execlog: each argument followed by a space, CR and LF made spaces; a cut argv ends in '$'.
    // Other controls become '?' here, in the file too (docs/seed-format.md): no forged line.
    const args = exec.argv.map(seedSafe);
    const argv = exec.argv_truncated && args.length > 0 ? `${args.join(' ')}$` : args.map((a) => `${a} `).join('');
    return `${seedSafe(exec.file)} ${argv}`;
  }
  const net = rec.net;
  const exe = seedSafe(rec.proc.exe);
  if (!net) return exe;
  const local = formatEndpoint(net.family, net.local);
  if (rec.event === 'bind') return `${exe} ${protoName(net)} ${local}${ARROWS.bind}`;
  // The kernel printed the socket's peer even when unset: 0.0.0.0:0 or [::]:0.
  const remote = formatEndpoint(net.family, net.remote ?? { ip: net.family === 'ipv4' ? '0.0.0.0' : '::', port: 0 });
  return `${exe} ${protoName(net)} ${local}${ARROWS[rec.event]}${remote}`;
}

function protoName(net: NetInfo): string {
  return net.proto === 'tcp' ? 'TCP' : 'UDP';
}

/** %pI4:%d, or [%pI6c]:%d (v4-mapped addresses of an IPv6 socket stay in brackets). */
function formatEndpoint(family: NetInfo['family'], endpoint: Endpoint): string {
  return family === 'ipv6' ? `[${endpoint.ip}]:${endpoint.port}` : `${endpoint.ip}:${endpoint.port}`;
}
