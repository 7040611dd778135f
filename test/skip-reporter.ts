// A vitest reporter that lists, at the end of a run, every test that skipped
// itself and why (ctx.skip(note)): a missing feature must be seen, not hidden
// in a count. Used next to the default reporter (vitest.config.ts, .ci/run).
import path from 'node:path';
import type { Reporter, TestCase } from 'vitest/node';

export default class SkipReporter implements Reporter {
  private readonly skipped: string[] = [];

  onTestCaseResult(test: TestCase): void {
    const result = test.result();
    if (result.state === 'skipped' && result.note) {
      this.skipped.push(`${path.relative(process.cwd(), test.module.moduleId)} > ${test.fullName}: ${result.note}`);
    }
  }

  onTestRunEnd(): void {
    if (this.skipped.length === 0) return;
    process.stdout.write(`\n${this.skipped.length} test(s) skipped themselves:\n${this.skipped.map((s) => `  - ${s}\n`).join('')}`);
    this.skipped.length = 0;
  }
}
