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
}

export interface NativeEndpoint { ip: string; port: number }

export interface NativeEvent {
  type: 'event';
  token: number;
  kind: 'exec' | 'connect' | 'accept' | 'bind' | 'close';
  realtimeUs: number;
  boottimeUs: number;
  proc: NativeProc;
  exec?: { file: string; argv: string[]; cwd: string; argvTruncated: boolean };
  net?: { proto: 'tcp' | 'udp'; family: 'ipv4' | 'ipv6'; local: NativeEndpoint; remote?: NativeEndpoint; accepted?: boolean };
  result?: string;
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

interface Addon {
  /** onMessages gets each batch as one JSON text of NativeMessage[] (cheaper than N-API objects). */
  spawn(options: SpawnOptions, onMessages: (batchJson: string) => void): NativeSession;
  sendDatagram(path: string, data: Buffer): string;
  lookupUser(name: string): UserInfo | null;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const addon: Addon = createRequire(import.meta.url)(path.join(root, 'build', 'Release', 'netlog_native.node')) as Addon;
