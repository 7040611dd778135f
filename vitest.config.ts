import { defineConfig } from 'vitest/config';

// Live tests share the kernel, ports and process table: run files serially.
// test/global-setup.ts points TMPDIR at one directory per run and removes it.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // The default reporter, and a list of the tests that skipped themselves and why.
    reporters: ['default', './test/skip-reporter.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
