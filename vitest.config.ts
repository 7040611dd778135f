import { defineConfig } from 'vitest/config';

// Live tests share the kernel, ports and process table: run files serially.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
