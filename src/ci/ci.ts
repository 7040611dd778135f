// --ci (docs/ci.md): where a CI job's log goes, and the Markdown summary of
// one run that is appended to $GITHUB_STEP_SUMMARY when netlog-run exits.
import fs from 'node:fs';
import path from 'node:path';
import { ReportBuilder, type LooseRecord } from '../report/aggregate.js';
import { renderMarkdown } from '../report/render.js';
import type { AnyRecord } from '../record/types.js';

/** $NETLOG_OUTPUT, else $RUNNER_TEMP/netlog.jsonl (GitHub), else $CI_PROJECT_DIR/netlog.jsonl (GitLab), else ./netlog.jsonl. */
export function ciLogPath(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  const set = (v: string | undefined): v is string => v !== undefined && v !== '';
  if (set(env.NETLOG_OUTPUT)) return path.resolve(cwd, env.NETLOG_OUTPUT);
  if (set(env.RUNNER_TEMP)) return path.join(env.RUNNER_TEMP, 'netlog.jsonl');
  if (set(env.CI_PROJECT_DIR)) return path.join(env.CI_PROJECT_DIR, 'netlog.jsonl');
  return path.join(cwd, 'netlog.jsonl');
}

/** Collects this run's records as they are written (a formatter that writes nothing). */
export class RunSummary {
  private readonly builder = new ReportBuilder();

  readonly tap = (rec: AnyRecord): string => {
    this.builder.add(rec as unknown as LooseRecord, 'netlog-run');
    return '';
  };

  markdown(): string {
    return renderMarkdown(this.builder.build(), 'netlog');
  }

  /** Appends the summary to the step summary file; false (and why) when it cannot. */
  appendTo(file: string): string | undefined {
    try {
      fs.appendFileSync(file, this.markdown());
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }
}
