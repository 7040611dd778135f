// `netlog report` output: text for a terminal, Markdown for a CI job's page
// ($GITHUB_STEP_SUMMARY), and the --allow entries that let through exactly
// the logged connections.
import type { Destination, Report, RunReport, Summary, TreeNode } from './schema.js';

const MAX_ROWS = 50;
const MAX_TREE_LINES = 200;

function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function results(d: Destination): string {
  const r = Object.entries(d.results)
    .map(([r, n]) => (n === d.count ? r : `${r}×${n}`))
    .join(' ');
  // A connect answered EINPROGRESS may have failed later: the closes say.
  const o = Object.entries(d.outcomes ?? {}).map(([k, n]) => `${k}×${n}`).join(' ');
  return o ? `${r} (closed: ${o})` : r;
}

function argvText(argv: readonly string[]): string {
  const s = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function runTitle(run: RunReport, i: number): string {
  const cmd = run.command ? argvText(run.command) : '(no start record)';
  const status = run.ended === null ? 'no end record' : run.signal ? `killed by ${run.signal}` : `exit ${run.exit_code}`;
  return `run ${i + 1}: ${cmd} (${status})`;
}

function treeLines(nodes: readonly TreeNode[], depth: number, out: string[]): void {
  for (const n of nodes) {
    if (out.length >= MAX_TREE_LINES) return;
    const then = n.then ? ` → ${n.then.join(' → ')}` : '';
    out.push(`${'  '.repeat(depth)}${n.pid} ${argvText(n.argv.length > 0 ? n.argv : [n.file])} [${n.file}]${then}`);
    treeLines(n.children, depth + 1, out);
  }
}

function lossLines(run: RunReport): string[] {
  const out: string[] = [];
  if (run.losses.no_start) out.push('no start record (the log begins mid-run)');
  if (run.losses.no_end) out.push('no end record (netlog-run was killed, or the run is still going)');
  for (const g of run.losses.seq_gaps) out.push(`${g.missing} record(s) missing after seq ${g.after}`);
  return out;
}

// ---- text ----------------------------------------------------------------

function summaryText(s: Summary, out: string[], indent: string): void {
  out.push(`${indent}programs: ${s.programs.length} (${s.programs.reduce((n, p) => n + p.count, 0)} execs)`);
  for (const p of s.programs.slice(0, MAX_ROWS)) out.push(`${indent}  ${String(p.count).padStart(5)}  ${p.file}  e.g. ${argvText(p.example_argv)}`);
  if (s.programs.length > MAX_ROWS) out.push(`${indent}  ... ${s.programs.length - MAX_ROWS} more`);
  out.push(`${indent}destinations: ${s.destinations.length}`);
  for (const d of s.destinations.slice(0, MAX_ROWS)) {
    const blocked = d.blocked > 0 ? `  BLOCKED ${d.blocked} (${[...(d.blocked_via ?? []), ...(d.blocked_programs ?? [])].join(', ')})` : '';
    out.push(`${indent}  ${d.proto.toUpperCase()} ${endpoint(d.ip, d.port)}  ×${d.count}  ${results(d)}  ${d.programs.join(', ')}${blocked}`);
  }
  if (s.destinations.length > MAX_ROWS) out.push(`${indent}  ... ${s.destinations.length - MAX_ROWS} more`);
  if (s.listeners.length > 0) {
    out.push(`${indent}listeners: ${s.listeners.length}`);
    for (const l of s.listeners.slice(0, MAX_ROWS)) {
      const peers = l.peers.slice(0, 5).map((p) => `${p.ip}×${p.count}`).join(' ');
      out.push(`${indent}  ${l.proto.toUpperCase()} ${endpoint(l.ip, l.port)}  ${l.programs.join(', ')}  accepted ${l.accepted}${peers ? ` from ${peers}` : ''}`);
    }
  }
  out.push(`${indent}refusals: ${s.refusals.blocked} blocked, ${s.refusals.refused} refused (record not written)`);
}

export function renderText(report: Report): string {
  const out: string[] = [];
  report.runs.forEach((run, i) => {
    out.push(runTitle(run, i));
    if (run.session) out.push(`  session ${run.session}`);
    if (run.egress) out.push(`  egress ${run.egress.mode}${run.egress.allow.length > 0 ? `: ${run.egress.allow.join(', ')}` : ''}`);
    summaryText(run, out, '  ');
    const tree: string[] = [];
    treeLines(run.tree, 2, tree);
    if (tree.length > 0) out.push('  process tree:', ...tree);
    for (const l of lossLines(run)) out.push(`  LOSS: ${l}`);
    out.push('');
  });
  if (report.runs.length > 1) {
    out.push(`total: ${report.runs.length} runs, ${report.total.records} records`);
    summaryText(report.total, out, '  ');
  }
  const l = report.losses;
  if (l.unparsable_lines > 0) {
    out.push(`LOSS: ${l.unparsable_lines} line(s) are not records (first at ${l.unparsable_at.map((u) => `${u.file}:${u.line}`).join(', ')})`);
  }
  if (l.missing_records > 0 || l.runs_without_end > 0) {
    out.push(`LOSS: ${l.missing_records} record(s) missing, ${l.runs_without_end} run(s) without an end record`);
  }
  return out.join('\n') + '\n';
}

// ---- markdown ------------------------------------------------------------

/** Table cells: no pipes or newlines, code spans for paths and addresses. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

function code(s: string): string {
  const t = cell(s).replace(/`/g, "'");
  return `\`${t}\``;
}

function summaryMarkdown(s: Summary, out: string[]): void {
  const blocked = s.destinations.filter((d) => d.blocked > 0);
  if (blocked.length > 0) {
    out.push(`**Blocked: ${s.refusals.blocked}**`, '', '| proto | destination | programs | count | via |', '|---|---|---|---:|---|');
    for (const d of blocked.slice(0, MAX_ROWS)) {
      out.push(`| ${d.proto} | ${code(endpoint(d.ip, d.port))} | ${(d.blocked_programs ?? d.programs).map(code).join(' ')} | ${d.blocked} | ${(d.blocked_via ?? []).join(', ')} |`);
    }
    out.push('');
  }
  out.push(`**Destinations: ${s.destinations.length}**`, '');
  if (s.destinations.length > 0) {
    out.push('| proto | destination | programs | count | results |', '|---|---|---|---:|---|');
    for (const d of s.destinations.slice(0, MAX_ROWS)) {
      out.push(`| ${d.proto} | ${code(endpoint(d.ip, d.port))} | ${d.programs.map(code).join(' ')} | ${d.count} | ${cell(results(d))} |`);
    }
    if (s.destinations.length > MAX_ROWS) out.push(`| | ... ${s.destinations.length - MAX_ROWS} more | | | |`);
    out.push('');
  }
  out.push(`**Programs: ${s.programs.length}**`, '');
  if (s.programs.length > 0) {
    out.push('| program | execs | example |', '|---|---:|---|');
    for (const p of s.programs.slice(0, MAX_ROWS)) out.push(`| ${code(p.file)} | ${p.count} | ${code(argvText(p.example_argv))} |`);
    if (s.programs.length > MAX_ROWS) out.push(`| ... ${s.programs.length - MAX_ROWS} more | | |`);
    out.push('');
  }
  if (s.listeners.length > 0) {
    out.push(`**Listeners: ${s.listeners.length}**`, '', '| proto | address | programs | accepted | peers |', '|---|---|---|---:|---|');
    for (const l of s.listeners.slice(0, MAX_ROWS)) {
      out.push(`| ${l.proto} | ${code(endpoint(l.ip, l.port))} | ${l.programs.map(code).join(' ')} | ${l.accepted} | ${l.peers.slice(0, 5).map((p) => `${code(p.ip)}×${p.count}`).join(' ')} |`);
    }
    out.push('');
  }
  if (s.refusals.refused > 0) out.push(`**Refused: ${s.refusals.refused}** calls whose record could not be written`, '');
}

export function renderMarkdown(report: Report, heading = 'netlog'): string {
  const out: string[] = [];
  const blocked = report.total.refusals.blocked;
  out.push(`### ${heading}: ${report.runs.length} run(s), ${report.total.destinations.length} destination(s)${blocked > 0 ? `, ${blocked} blocked` : ''}`, '');
  report.runs.forEach((run, i) => {
    out.push(`#### ${cell(runTitle(run, i))}`, '');
    if (run.egress) out.push(`egress **${run.egress.mode}**${run.egress.allow.length > 0 ? `: ${run.egress.allow.map(code).join(' ')}` : ''}`, '');
    summaryMarkdown(run, out);
    const tree: string[] = [];
    treeLines(run.tree, 0, tree);
    if (tree.length > 0) out.push('<details><summary>Process tree</summary>', '', '```', ...tree.map((l) => l.replace(/```/g, "'''")), '```', '', '</details>', '');
    const losses = lossLines(run);
    if (losses.length > 0) out.push(...losses.map((l) => `- :warning: ${l}`), '');
  });
  if (report.runs.length > 1) {
    out.push('#### All runs', '');
    summaryMarkdown(report.total, out);
  }
  if (report.losses.unparsable_lines > 0) out.push(`- :warning: ${report.losses.unparsable_lines} line(s) of the log are not records`, '');
  return out.join('\n') + '\n';
}

// ---- allow list ----------------------------------------------------------

/**
 * One `PATH=ADDRESS:PORT` entry per program, address and port connected to
 * (blocked ones too): what --egress block needs to let exactly these through.
 */
export function allowList(report: Report): string[] {
  const out = new Set<string>();
  for (const d of report.total.destinations) {
    if (d.ip === '?' || d.port === 0) continue;
    // A path an entry cannot carry (',' splits lists, '=' ends the path) allows every program.
    for (const exe of d.programs) out.add(/^\/[^,=\s]*$/.test(exe) ? `${exe}=${endpoint(d.ip, d.port)}` : endpoint(d.ip, d.port));
  }
  return [...out].sort();
}
