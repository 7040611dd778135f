// The action's main step: makes netlog-run available (this checkout, built
// if needed), checks the policy, and exports it to the job's later steps so
// that `defaults.run.shell: netlog-run --ci -- bash -e {0}` applies it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, allowEntries, error, fileCommand, input } from './common.js';

function built() {
  return fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')) && fs.existsSync(path.join(ROOT, 'build', 'Release', 'netlog_native.node'));
}

function build() {
  // --ignore-scripts: the preinstall step would apt-get test tools; the
  // build needs cmake and g++ only, which hosted runners have.
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund']);
  run('npx', ['cmake-js', 'compile', '--out', 'build']);
  run('npx', ['tsc', '-p', 'tsconfig.json']);
}

async function main() {
  const policy = input('egress-policy', 'audit');
  if (policy !== 'audit' && policy !== 'block') {
    error(`egress-policy '${policy}': expected audit or block`);
    return 1;
  }
  const failOnBlock = input('fail-on-block', 'false');
  if (!['true', 'false'].includes(failOnBlock)) {
    error(`fail-on-block '${failOnBlock}': expected true or false`);
    return 1;
  }
  if (!built()) build();
  // The entries are checked now, so that a typo fails this step, not every later one.
  const { parseAllowList } = await import(path.join(ROOT, 'dist', 'egress', 'entry.js'));
  const entries = allowEntries(input('allowed-endpoints'));
  let canonical;
  try {
    canonical = parseAllowList(entries.join(',')).map((e) => e.canonical);
  } catch (err) {
    error(`allowed-endpoints: ${err.message}`);
    return 1;
  }
  // The commands by their own names, on the PATH of the later steps.
  const bin = path.join(process.env.RUNNER_TEMP ?? ROOT, 'netlog-bin');
  fs.mkdirSync(bin, { recursive: true });
  for (const name of ['netlog-run', 'netlog']) {
    fs.rmSync(path.join(bin, name), { force: true });
    fs.symlinkSync(path.join(ROOT, 'bin', `${name}.js`), path.join(bin, name));
  }
  fs.appendFileSync(process.env.GITHUB_PATH, `${bin}\n`);
  // sudo resets PATH (secure_path): on a runner, `sudo -E netlog-run` finds
  // it in /usr/local/bin.
  if (process.env.GITHUB_ACTIONS === 'true') {
    for (const name of ['netlog-run', 'netlog']) {
      try {
        execFileSync('sudo', ['-n', 'ln', '-sf', path.join(ROOT, 'bin', `${name}.js`), `/usr/local/bin/${name}`], { stdio: 'ignore' });
      } catch {
        // no passwordless sudo: the unprivileged shell line still works
      }
    }
  }
  const log = path.join(process.env.RUNNER_TEMP ?? ROOT, 'netlog.jsonl');
  fileCommand('GITHUB_ENV', 'NETLOG_OUTPUT', log);
  fileCommand('GITHUB_ENV', 'NETLOG_EGRESS', policy);
  fileCommand('GITHUB_ENV', 'NETLOG_ALLOW', canonical.join('\n'));
  fileCommand('GITHUB_STATE', 'log', log);
  fileCommand('GITHUB_STATE', 'egress', policy);
  fileCommand('GITHUB_STATE', 'allow', JSON.stringify(canonical));
  process.stdout.write(`netlog: egress ${policy}${canonical.length > 0 ? `, allowed: ${canonical.join(', ')}` : ''}; log ${log}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    error(`setup failed: ${err.message}`);
    process.exit(1);
  },
);
