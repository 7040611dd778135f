// The man pages in man/ (installed by package.json's "man" field) are what
// src/cli/help.ts generates, so --help and the manual say the same; regenerate
// with `npm run build`.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { netlogManPage, NETLOG_SUBCOMMANDS, NETLOG_USAGE, RUN_OPTIONS, RUN_USAGE, runManPage } from '../../src/cli/help.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; man: string[]; files: string[] };

describe('man pages', () => {
  it.each([
    ['man/netlog-run.1', () => runManPage(pkg.version)],
    ['man/netlog.1', () => netlogManPage(pkg.version)],
  ])('%s is generated from src/cli/help.ts (run `npm run build` after changing it)', (file, generate) => {
    expect(fs.readFileSync(path.join(ROOT, file), 'utf8')).toBe(generate());
  });

  it('are installed with the package', () => {
    expect(pkg.man).toEqual(['./man/netlog-run.1', './man/netlog.1']);
    expect(pkg.files).toContain('man/');
  });

  it('name every option of --help, and --help names every option', () => {
    const page = runManPage(pkg.version);
    for (const o of RUN_OPTIONS) {
      expect(page).toContain(`\\fB\\-\\-${o.long.replace(/-/g, '\\-')}\\fR`);
      expect(RUN_USAGE).toContain(`--${o.long}`);
      if (o.short) expect(RUN_USAGE).toContain(`-${o.short}, --${o.long}`);
    }
    for (const s of NETLOG_SUBCOMMANDS) {
      expect(netlogManPage(pkg.version)).toContain(`.B ${s.name}\n`);
      expect(NETLOG_USAGE).toContain(`  ${s.name} `);
    }
  });

  it('have no line that roff would take for a request by mistake', () => {
    for (const page of [runManPage(pkg.version), netlogManPage(pkg.version)]) {
      for (const line of page.split('\n')) {
        if (line.startsWith('.') || line.startsWith("'")) expect(line).toMatch(/^\.(\\"|TH|SH|TP|PP|B|BR|br|nf|fi)( |$)/);
      }
    }
  });
});
