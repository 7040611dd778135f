// netlog-run is undumpable (docs/security.md): a process of the session, with the same uid,
// cannot copy the seccomp listener (pidfd_getfd), ptrace netlog-run, read its memory or list
// its descriptors; the session stays recorded, and once netlog-run is killed (kill -9) its
// trapped calls fail with ENOSYS: nothing runs unrecorded.

import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { NETLOG_RUN, readRecords, ROOT, tempDir, waitFor } from './harness.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const SCRIPT = path.join(ROOT, 'fixtures', 'reach_supervisor.py');
const canSetpriv = process.getuid?.() === 0 && fs.existsSync('/usr/bin/setpriv');

describe('an unprivileged session and its own supervisor', () => {
  it.skipIf(!canSetpriv)('cannot reach netlog-run\'s descriptors or memory; after kill -9 its calls fail with ENOSYS', async () => {
    const d = tempDir();
    dirs.push(d);
    fs.chmodSync(d, 0o777);
    const log = path.join(d, 'netlog.jsonl');
    const out = path.join(d, 'result');
    // As nobody: netlog-run and the session have the same uid, as a user's own run would.
    const sub = execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, NETLOG_RUN, '-q', '-o', log, '--', '/usr/bin/python3', SCRIPT, out], {
      reject: false,
      timeout: 60_000,
      cwd: d,
    });
    try {
      await waitFor(() => fs.existsSync(`${out}.ready`), 20_000, 'the attempts');
      const result = JSON.parse(fs.readFileSync(out, 'utf8'));
      expect(result).toMatchObject({
        pidfd_getfd_copied: [],
        pidfd_getfd_errors: ['EPERM'],
        ptrace_attach: 'EPERM',
        proc_fd: 'EACCES',
        proc_mem: 'EACCES',
        process_vm_readv: 'EPERM',
        true_status: 0,
      });
      const records = readRecords(log);
      expect(records.some((r) => r.exec?.argv[0] === 'true')).toBe(true);
      const runPid = records[0]!.run!.pid as number;
      process.kill(runPid, 'SIGKILL');
      await waitFor(() => fs.existsSync(`${out}.after`), 20_000, 'the calls after kill -9');
      expect(JSON.parse(fs.readFileSync(`${out}.after`, 'utf8'))).toEqual({ orphaned: true, exec: 'ENOSYS', connect: 'ENOSYS' });
    } finally {
      if (sub.exitCode === null) sub.kill('SIGKILL');
      await sub;
    }
  });
});
