// The action's post step: the job's summary (every step's run, from the one
// log) on the job page, and the job's failure when fail-on-block is set and
// something was blocked, or when a step ran with another policy than the
// action's (a step can rewrite $GITHUB_ENV for the steps after it).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, error, input, warning } from './common.js';

const NETLOG = path.join(ROOT, 'bin', 'netlog.js');

/** The log's text; a root supervisor (sudo -E netlog-run --user) wrote it 0600 root. */
function readLog(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    if (err.code !== 'EACCES') throw err;
    return execFileSync('sudo', ['-n', 'cat', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  }
}

function report(file, format) {
  return execFileSync(process.execPath, [NETLOG, 'report', '--format', format, file], { encoding: 'utf8', maxBuffer: 1 << 30 });
}

function main() {
  const log = process.env.STATE_log || path.join(process.env.RUNNER_TEMP ?? ROOT, 'netlog.jsonl');
  const expected = process.env.STATE_egress || 'audit';
  const allow = JSON.parse(process.env.STATE_allow || '[]');
  const text = readLog(log);
  if (text === undefined) {
    warning(`no log at ${log}: no step ran under netlog-run (set defaults.run.shell, see docs/ci.md)`);
    return 0;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netlog-post-'));
  try {
    const copy = path.join(dir, 'netlog.jsonl');
    fs.writeFileSync(copy, text, { mode: 0o600 });
    const summary = process.env.GITHUB_STEP_SUMMARY;
    if (summary) fs.appendFileSync(summary, report(copy, 'markdown').replace(/^### netlog:/, '### netlog job summary:'));
    const r = JSON.parse(report(copy, 'json'));
    let code = 0;
    if (expected === 'block') {
      const want = [...allow].sort().join('\n');
      const weaker = r.runs.filter((run) => !run.egress || run.egress.mode !== 'block' || [...run.egress.allow].sort().join('\n') !== want);
      if (weaker.length > 0) {
        error(`${weaker.length} step(s) ran with another egress policy than the action's (was $GITHUB_ENV changed by a step?): ${weaker.map((w) => (w.command ?? []).join(' ')).join('; ')}`);
        code = 1;
      }
    }
    const blocked = r.total.refusals.blocked;
    if (blocked > 0) {
      const where = r.total.destinations.filter((d) => d.blocked > 0).map((d) => `${(d.blocked_programs ?? d.programs).join(',')} -> ${d.ip}:${d.port}`);
      const msg = `${blocked} connection(s) blocked: ${where.slice(0, 10).join('; ')}`;
      if (input('fail-on-block', 'false') === 'true') {
        error(msg);
        code = 1;
      } else {
        warning(msg);
      }
    }
    if (r.losses.missing_records > 0 || r.losses.unparsable_lines > 0) {
      warning(`the log has losses: ${r.losses.missing_records} missing record(s), ${r.losses.unparsable_lines} unparsable line(s)`);
    }
    return code;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

try {
  process.exit(main());
} catch (err) {
  error(`summary failed: ${err.message}`);
  process.exit(1);
}
