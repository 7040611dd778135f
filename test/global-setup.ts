// Once per `vitest run`: every temporary file of the suite (tempDir(), mktemp and
// python's tempfile in the programs under test, tmux's sockets) goes into one
// directory that is removed when the run ends, so nothing is left in /tmp.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'netlog-test-run-'));
  // Sticky and world-writable like /tmp: tests run programs as nobody in it.
  fs.chmodSync(base, 0o1777);
  const saved = { TMPDIR: process.env.TMPDIR, TMUX_TMPDIR: process.env.TMUX_TMPDIR };
  // Inherited by the test workers, which vitest starts after this.
  process.env.TMPDIR = base;
  process.env.TMUX_TMPDIR = base;
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    // rm(1), not fs.rmSync: a test makes paths longer than PATH_MAX, which
    // rm walks with openat; --one-file-system leaves a mount that is still
    // there (a failed test's tmpfs) alone.
    execFileSync('rm', ['-rf', '--one-file-system', base], { stdio: 'inherit' });
  };
}
