// Runs the native unit tests (test/native/supervisor_test.cc, built by
// scripts/build-addon.sh): the Supervisor's dispatch over a fake listener.
// The binary prints one "ok"/"FAIL" line per test; each is a case here.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const BINARY = fileURLToPath(new URL('../../build/native-tests/supervisor_test', import.meta.url));
// As many as supervisor_test.cc's main() lists: a test that stops running fails here.
const EXPECTED_TESTS = 7;

it('the native unit tests of the Supervisor pass', async () => {
  expect(existsSync(BINARY), `${BINARY} is missing: run bash scripts/build-addon.sh`).toBe(true);
  const r = await execa(BINARY, [], { reject: false, timeout: 30_000 });
  const results = r.stdout.split('\n').filter((l) => /^(ok|FAIL) /.test(l));
  expect(results.filter((l) => l.startsWith('FAIL ')), r.stdout).toEqual([]);
  expect(results.length, r.stdout).toBe(EXPECTED_TESTS);
  expect(r.exitCode, r.stdout + r.stderr).toBe(0);
});
