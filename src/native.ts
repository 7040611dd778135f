// The addon's typed surface; the one file that loads the .node (built by
// cmake-js into build/Release). Nothing else in src/ touches the addon.
import { createRequire } from 'node:module';
import type { NativeRule } from './egress/policy.js';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface NativeProc {
  pid: number; tid: number; ppid: number; sid: number; pgid: number;
  tty: string | null;
  uid: number; gid: number; euid: number; egid: number;
  auid: number | null; ses: number | null;
  exe: string; comm: string;
  /** "dev:ino" of the program (stat of /proc/PID/exe), for the network whitelist. */
  exe_id?: string;
}

export interface NativeEndpoint { ip: string; port: number }

export interface NativeEvent {
  type: 'event';
  token: number;
  kind: 'exec' | 'connect' | 'accept' | 'bind' | 'close';
  realtimeUs: number;
  boottimeUs: number;
  proc: NativeProc;
  /** file: the real path run; path: the argument as passed; fileId: "dev:ino" of the file run. */
  exec?: { file: string; path: string; fileId: string; argv: string[]; cwd: string; argvTruncated: boolean };
  net?: { proto: 'tcp' | 'udp'; family: 'ipv4' | 'ipv6'; local: NativeEndpoint; remote?: NativeEndpoint; accepted?: boolean };
  result?: string;
  /** close of a socket whose connect was recorded: "established", an errno name, "EINPROGRESS" or "failed". */
  outcome?: string;
  blocked?: boolean;
  via?: string;
}

export type NativeMessage =
  | NativeEvent
  | { type: 'exit'; code: number; signal: number; error?: string }
  | { type: 'stopped'; signal: number }
  | { type: 'continued' }
  | { type: 'end' }
  | { type: 'warning'; text: string };

export interface Traps { exec: boolean; connect: boolean; accept: boolean; bind: boolean; close: boolean }

export interface SpawnOptions {
  candidates: string[];
  argv: string[];
  env: string[];
  traps: Traps;
  probes: number;
  argvMax: number;
  testFailSeccomp?: boolean;
  /** --user: the credentials COMMAND runs with (the supervisor stays root). */
  user?: { uid: number; gid: number; groups: number[] };
  /** --egress block: the table the supervisor checks before each connect and datagram. */
  egress?: NativeEgress;
}

export interface NativeEgress {
  block: boolean;
  rules: NativeRule[];
}

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  groups: number[];
  home: string;
  shell: string;
}

export interface NativeSession {
  readonly pid: number;
  answer(tokens: Uint32Array, refuse: Uint8Array): void;
  setProbes(mask: number): void;
  /** While true (records fail to be written), connects are refused before they are performed. */
  setRefuseConnects(on: boolean): void;
  /** A new allow table (the mode stays as started). */
  setEgress(egress: NativeEgress): void;
  /** Signals COMMAND (the session's first process), by pid. */
  kill(signal: number): boolean;
  close(): void;
}

/** Thrown by spawn() when the session could not be started. */
export interface LaunchError extends Error {
  code: 'ELAUNCH';
  stage: string;
  errno?: number;
  errnoName?: string;
}

/** attach(): a listener received from netlog-shell, supervised like a spawned session. */
export interface AttachOptions {
  traps: Traps;
  probes: number;
  argvMax: number;
  /** Sessions with the same key share one engine thread (netlogd: the login's uid, so one user's stalled call stalls only that user's sessions). */
  engine: number;
}

/** A registration on netlogd's socket, with the login's facts read from /proc/PID of the peer. */
export interface DaemonConnection {
  fd: number; // -1 when refused (error set)
  pid: number;
  peerUid: number;
  error?: string;
  uid?: number;
  gid?: number;
  euid?: number;
  tty?: string | null;
  auid?: number | null;
  ses?: number | null;
  exe?: string;
  argv?: string[];
  sshConnection?: string | null;
  /** The peer already has a seccomp filter (netlog-shell inside a session, or elsewhere). */
  seccomp?: boolean;
  /** A pidfd of the peer (present when error is not); the caller closes it. */
  pidfd?: number;
}

interface Addon {
  /** onMessages gets each batch as one JSON text of NativeMessage[] (cheaper than N-API objects). */
  spawn(options: SpawnOptions, onMessages: (batchJson: string) => void): NativeSession;
  sendDatagram(path: string, data: Buffer): string;
  lookupUser(name: string): UserInfo | null;
  /** Clears O_NONBLOCK on fd; "ok" or an errno name. */
  setBlocking(fd: number): string;
  /** Supervises a listener that another process handed over; the session has no pid of ours (kill() is a no-op). */
  attach(listenerFd: number, options: AttachOptions, onMessages: (batchJson: string) => void): NativeSession;
  /** The BPF program of the filter for these traps (struct sock_filter[]), for netlog-shell. */
  exportFilter(traps: Traps): Buffer;
  daemonListen(path: string): number;
  daemonServe(listenFd: number, onConnection: (c: DaemonConnection) => void): void;
  daemonHandshake(fd: number, payload: Buffer, onDone: (r: { listener?: number; error?: string }) => void): void;
  daemonAck(fd: number): string;
  daemonClose(fd: number): void;
  daemonSend(fd: number, payload: Buffer): string;
  /** PPid chain of pid, nearest first. */
  daemonAncestors(pid: number): number[];
  daemonPidfdAlive(pidfd: number): boolean;
  daemonShutdown(listenFd: number): void;
  /** Starts watching process exits (proc connector); '' or why exit statuses cannot be known. */
  daemonWatchExits(onExit: (e: { pid: number; status: number }) => void): string;
  daemonWatchPid(pid: number, on: boolean): void;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const addon: Addon = createRequire(import.meta.url)(path.join(root, 'build', 'Release', 'netlog_native.node')) as Addon;
