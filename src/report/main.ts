// `netlog report [--format text|markdown|json] [--allow-list] LOG...`:
// summarizes JSON logs (docs/ci.md; the JSON form: docs/report-schema.json).
import { NetlogError } from '../errors.js';
import { readLogs } from './read.js';
import { allowList, renderMarkdown, renderText } from './render.js';

export const REPORT_USAGE = `usage: netlog report [--format text|markdown|json] [--allow-list] LOG...

Summarizes netlog JSON logs (several runs per file, several files; - is stdin):
per run and in total the programs executed, the destinations connected to,
listeners and accepted peers, blocked and refused calls, and losses.

  -f, --format FORMAT   text (default), markdown (for $GITHUB_STEP_SUMMARY) or json
      --allow-list      print the --allow entries that allow exactly the logged connections
  -h, --help            show this help`;

export interface ReportArgs {
  format: 'text' | 'markdown' | 'json';
  allowList: boolean;
  files: string[];
  help: boolean;
}

export function parseReportArgs(argv: readonly string[]): ReportArgs {
  const out: ReportArgs = { format: 'text', allowList: false, files: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const opt = eq > 0 ? arg.slice(0, eq) : arg;
    if (opt === '-f' || opt === '--format') {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v !== 'text' && v !== 'markdown' && v !== 'json') throw new NetlogError('EUSAGE', `report: --format '${v ?? ''}': expected text, markdown or json`);
      out.format = v;
    } else if (arg === '--allow-list') out.allowList = true;
    else if (arg === '-h' || arg === '--help') out.help = true;
    else if (arg === '--') out.files.push(...argv.slice(i + 1)), (i = argv.length);
    else if (arg.startsWith('-') && arg !== '-') throw new NetlogError('EUSAGE', `report: unknown option '${arg}'`);
    else out.files.push(arg);
  }
  if (!out.help && out.files.length === 0) throw new NetlogError('EUSAGE', 'report: no LOG given');
  return out;
}

/** Returns the exit status: 0, or 1 when a log cannot be read, 2 for a bad command line. */
export async function reportMain(argv: readonly string[]): Promise<number> {
  let args: ReportArgs;
  try {
    args = parseReportArgs(argv);
  } catch (err) {
    if (!(err instanceof NetlogError)) throw err;
    process.stderr.write(`netlog: ${err.message}\nnetlog: try 'netlog report --help'\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(REPORT_USAGE + '\n');
    return 0;
  }
  try {
    const report = await readLogs(args.files);
    let text: string;
    if (args.allowList) {
      const entries = allowList(report);
      text = args.format === 'json' ? JSON.stringify(entries) + '\n' : entries.map((e) => e + '\n').join('');
    } else if (args.format === 'json') text = JSON.stringify(report) + '\n';
    else if (args.format === 'markdown') text = renderMarkdown(report);
    else text = renderText(report);
    await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
    return 0;
  } catch (err) {
    if (!(err instanceof NetlogError)) throw err;
    process.stderr.write(`netlog: ${err.message}\n`);
    return 1;
  }
}
