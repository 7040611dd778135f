// The log file is checked before every batch: once it has been removed
// (its link count is 0), records would go nowhere anyone can read, so the
// calls they describe are refused, and netlog-run says why.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { netlogRun, tempDir } from './harness.js';

describe('a log removed during the run', () => {
  it('refuses the next exec (EACCES) and says the log was removed', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'netlog.jsonl');
    const marker = path.join(dir, 'ran');
    const r = await netlogRun(['bash', '-c', `rm -f ${log}; /usr/bin/touch ${marker}; echo status=$?`], { log });
    expect(r.stderr).toContain(`${log} was removed`);
    expect(r.stdout).toContain('status=126');
    expect(fs.existsSync(marker)).toBe(false);
    // The run's records up to the removal went to the removed file; nothing recreated it.
    expect(fs.existsSync(log)).toBe(false);
  });
});
