// Typed surface of the addon functions that guard netlog-run's own process
// (native/run_process.cc): signal relay, stderr of its own, exit. Loading the
// addon also makes netlog-run undumpable (prctl PR_SET_DUMPABLE 0).
import { addon } from './native.js';

interface RunProcessAddon {
  /** Installs the native signal relay; onReload gets a process's SIGHUP instead of COMMAND. "ok" or an errno name. */
  relaySignals(onReload?: () => void): string;
  /** Relays to COMMAND (by pidfd) from now on. "ok" or an errno name. */
  relayTo(pid: number): string;
  /** A descriptor of our own for fd 2, or fd -1 when fd 2 itself must be written. */
  openOwnStderr(): { fd: number; kind: string };
  /** A blocking write of the whole buffer, also on a descriptor someone made non-blocking. */
  writeAll(fd: number, data: Buffer): { written: number; error: string };
  /** st_nlink of an open file, or -1 when fstat fails. */
  linkCount(fd: number): number;
  /** _exit(2): leaves fds 0-2 and the terminal as COMMAND left them. */
  exitNow(code: number): never;
  /** Whether a unix datagram socket has a listener (connect, nothing sent). "ok" or an errno name. */
  connectDatagram(path: string): string;
}

export const runProcess = addon as unknown as RunProcessAddon;
