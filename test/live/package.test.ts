// The npm package as a user gets it (docs: README "Install"): `npm pack` of this
// tree, `npm install -g --prefix TMP` of the tarball (the addon is built at
// install time from the vendored libseccomp; no devDependencies, no fixtures),
// then the installed commands run from a directory outside the checkout.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { readRecords, ROOT, tempDir } from './harness.js';

// The npm running these tests passes its settings to scripts as npm_* variables;
// the npm started here must read only its own.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));

describe('the npm package', () => {
  it('packs, installs into a fresh prefix, and netlog-run and netlog work from anywhere', { timeout: 600_000 }, async () => {
    const dir = tempDir();
    const prefix = path.join(dir, 'prefix');
    const elsewhere = path.join(dir, 'elsewhere');
    fs.mkdirSync(elsewhere);
    const npm = async (args: string[], cwd: string) => {
      const r = await execa('npm', args, { cwd, env: cleanEnv, extendEnv: false, reject: false, timeout: 540_000, all: true });
      expect(r.exitCode, `npm ${args.join(' ')}:\n${String(r.all)}`).toBe(0);
      return String(r.stdout);
    };
    // dist/ and man/ are fresh: `npm test` built them (pretest); prepack would write them again.
    const tarball = (await npm(['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], ROOT)).trim().split('\n').at(-1)!;
    await npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, tarball)], elsewhere);

    const installed = path.join(prefix, 'lib', 'node_modules', 'netlog');
    expect(fs.existsSync(path.join(installed, 'build', 'Release', 'netlog_native.node'))).toBe(true);
    // Only what running needs: no test tools, no fixtures, no sources of the TypeScript.
    expect(fs.existsSync(path.join(installed, 'node_modules', 'vitest'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'build', 'fixtures'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'src'))).toBe(false);
    for (const page of ['netlog-run.1', 'netlog.1']) {
      expect(fs.readFileSync(path.join(prefix, 'share', 'man', 'man1', page), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'man', page), 'utf8'));
    }

    const bin = (name: string) => path.join(prefix, 'bin', name);
    const run = (name: string, args: string[]) => execa(bin(name), args, { cwd: elsewhere, env: cleanEnv, extendEnv: false, reject: false, timeout: 60_000 });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

    const version = await run('netlog-run', ['--version']);
    expect(version.exitCode, String(version.stderr)).toBe(0);
    expect(String(version.stdout)).toBe(`netlog-run ${pkg.version}`);

    const log = path.join(dir, 'log.jsonl');
    const session = await run('netlog-run', ['-q', '-o', log, '--', '/bin/true']);
    expect(session.exitCode, String(session.stderr)).toBe(0);
    expect(String(session.stderr)).toBe('');
    expect(readRecords(log).map((r) => r.event)).toEqual(['start', 'exec', 'end']);
    expect(readRecords(log)[1]!.exec!.argv).toEqual(['/bin/true']);

    const help = await run('netlog', ['--help']);
    expect(help.exitCode, String(help.stderr)).toBe(0);
    expect(String(help.stdout)).toMatch(/^usage: netlog SUBCOMMAND/);
  });
});
