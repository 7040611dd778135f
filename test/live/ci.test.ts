// --ci and the GitHub action, under the runner's contract simulated exactly:
// the action's main and post scripts with the runner's file commands, each
// step's script written under $RUNNER_TEMP and the shell line run with {0}
// replaced and no shell expansion, $GITHUB_STEP_SUMMARY per step, $GITHUB_ENV
// applied between steps. Then a job of real tools: audited, replayed in block
// mode with the learnt allow-list, and with one entry removed.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { NETLOG_RUN, ROOT, httpServer, readRecords, tempDir, type HttpServer } from './harness.js';

const dirs: string[] = [];
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Reads a runner file command file (NAME=VALUE and NAME<<DELIM heredocs). */
function parseFileCommands(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(file)) return out;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i]!);
      out[heredoc[1]!] = body.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/** A job on a simulated runner: RUNNER_TEMP, file commands, steps run through the shell line. */
class Runner {
  readonly temp: string;
  private readonly commands: string;
  env: Record<string, string>;

  constructor() {
    this.temp = tempDir();
    dirs.push(this.temp);
    fs.chmodSync(this.temp, 0o755);
    this.commands = path.join(this.temp, '_runner_file_commands');
    fs.mkdirSync(this.commands);
    this.env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', RUNNER_TEMP: this.temp, CI: 'true' };
  }

  private fresh(name: string): string {
    const file = path.join(this.commands, `${name}_${randomUUID()}`);
    fs.writeFileSync(file, '');
    return file;
  }

  /** Runs a JavaScript action's entry (main or post) with the env the runner gives it. */
  async action(entry: 'main' | 'post', inputs: Record<string, string>, state: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; summary: string; state: Record<string, string> }> {
    const files = { GITHUB_ENV: this.fresh('set_env'), GITHUB_PATH: this.fresh('add_path'), GITHUB_STATE: this.fresh('save_state'), GITHUB_STEP_SUMMARY: this.fresh('step_summary') };
    const env: Record<string, string> = { ...this.env, ...files };
    for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
    for (const [k, v] of Object.entries(state)) env[`STATE_${k}`] = v;
    const r = await execa(process.execPath, [path.join(ROOT, 'action', `${entry}.js`)], { env, extendEnv: false, reject: false, timeout: 120_000 });
    this.apply(files.GITHUB_ENV, files.GITHUB_PATH);
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), summary: fs.readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'), state: parseFileCommands(files.GITHUB_STATE) };
  }

  private apply(envFile: string, pathFile: string): void {
    Object.assign(this.env, parseFileCommands(envFile));
    const added = fs.readFileSync(pathFile, 'utf8').split('\n').filter((l) => l !== '');
    if (added.length > 0) this.env.PATH = [...added.reverse(), this.env.PATH].join(':');
  }

  /** One `run:` step: the script goes to a file; the shell line is split on blanks, {0} replaced, run without a shell. */
  async step(shell: string, script: string, cwd = this.temp): Promise<{ exitCode: number; stdout: string; stderr: string; summary: string }> {
    const file = path.join(this.temp, `${randomUUID()}.sh`);
    fs.writeFileSync(file, script, { mode: 0o644 });
    const summary = this.fresh('step_summary');
    fs.chmodSync(summary, 0o666);
    const env = { ...this.env, GITHUB_STEP_SUMMARY: summary, GITHUB_ENV: this.fresh('set_env'), GITHUB_PATH: this.fresh('add_path') };
    const [cmd, ...args] = shell.split(/\s+/).map((w) => w.replace('{0}', file));
    const resolved = cmd === 'netlog-run' ? this.which('netlog-run') : cmd!;
    const r = await execa(resolved, args, { env, extendEnv: false, cwd, reject: false, timeout: 120_000 });
    this.apply(env.GITHUB_ENV, env.GITHUB_PATH);
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), summary: fs.readFileSync(summary, 'utf8') };
  }

  private which(name: string): string {
    for (const dir of (this.env.PATH ?? '').split(':')) {
      const p = path.join(dir, name);
      if (fs.existsSync(p)) return p;
    }
    throw new Error(`${name} is not on the step's PATH: ${this.env.PATH}`);
  }

  get log(): string {
    return path.join(this.temp, 'netlog.jsonl');
  }
}

async function netlogReport(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa(process.execPath, [path.join(ROOT, 'bin', 'netlog.js'), 'report', ...args], { reject: false, timeout: 60_000 });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const SHELL = 'netlog-run --ci -- bash -e {0}';

describe('GitHub Actions: the action and the custom shell', () => {
  it('audit: every step is one run in one log, each step gets its summary, a failing step keeps its status, post summarizes the job', async () => {
    const srv = await httpServer();
    servers.push(srv);
    const job = new Runner();
    const main = await job.action('main', { 'EGRESS-POLICY': 'audit' });
    expect(main.exitCode).toBe(0);
    expect(job.env.NETLOG_OUTPUT).toBe(job.log);
    const s1 = await job.step(SHELL, `curl -s -o /dev/null http://127.0.0.1:${srv.port}/step1\necho step one done\n`);
    expect(s1.exitCode).toBe(0);
    expect(s1.stdout).toBe('step one done');
    expect(s1.stderr).toBe(''); // --ci is quiet
    expect(s1.summary).toContain(`\`127.0.0.1:${srv.port}\``);
    expect(s1.summary).toContain('`/usr/bin/curl`');
    const s2 = await job.step(SHELL, 'python3 -c "import sys; sys.exit(3)"\necho not reached\n');
    expect(s2.exitCode).toBe(3);
    expect(s2.stdout).toBe('');
    expect(s2.summary).toMatch(/python3/);
    expect(s2.summary).not.toContain(`127.0.0.1:${srv.port}`);
    const records = readRecords(job.log);
    expect(records.filter((r) => r.event === 'start')).toHaveLength(2);
    expect(records.filter((r) => r.event === 'end').map((r) => r.run?.exit_code)).toEqual([0, 3]);
    const post = await job.action('post', {}, main.state);
    expect(post.exitCode).toBe(0);
    expect(post.summary).toMatch(/^### netlog job summary: 2 run\(s\)/);
    expect(post.summary).toContain('(exit 3)');
  });

  it('block with fail-on-block: a connection not allowed fails its step and the job, and the job page names it', async () => {
    const srv = await httpServer();
    servers.push(srv);
    const job = new Runner();
    const main = await job.action('main', { 'EGRESS-POLICY': 'block', 'ALLOWED-ENDPOINTS': '# only this one\n127.0.0.1:1\n', 'FAIL-ON-BLOCK': 'true' });
    expect(main.exitCode).toBe(0);
    const s = await job.step(SHELL, `curl -sS -o /dev/null http://127.0.0.1:${srv.port}/\n`);
    expect(s.exitCode).toBe(7);
    expect(srv.requests).toHaveLength(0);
    expect(s.summary).toContain('**Blocked: 1**');
    const post = await job.action('post', { 'FAIL-ON-BLOCK': 'true' }, main.state);
    expect(post.exitCode).toBe(1);
    expect(post.stdout).toContain(`::error title=netlog::1 connection(s) blocked: /usr/bin/curl -> 127.0.0.1:${srv.port}`);
  });

  it('a bad allowed-endpoints entry fails the action\'s main step, naming it', async () => {
    const job = new Runner();
    const main = await job.action('main', { 'EGRESS-POLICY': 'block', 'ALLOWED-ENDPOINTS': 'example.org:99999' });
    expect(main.exitCode).toBe(1);
    expect(main.stdout).toContain("::error title=netlog::allowed-endpoints: allow entry 'example.org:99999': port 99999 is out of range");
  });

  it('a step that weakens the policy for later steps ($GITHUB_ENV) fails the job in post', async () => {
    const job = new Runner();
    const main = await job.action('main', { 'EGRESS-POLICY': 'block', 'ALLOWED-ENDPOINTS': '127.0.0.1:1' });
    const s1 = await job.step(SHELL, 'echo NETLOG_EGRESS=audit >> "$GITHUB_ENV"\n');
    expect(s1.exitCode).toBe(0);
    expect(job.env.NETLOG_EGRESS).toBe('audit');
    await job.step(SHELL, 'true\n');
    const post = await job.action('post', {}, main.state);
    expect(post.exitCode).toBe(1);
    expect(post.stdout).toContain('1 step(s) ran with another egress policy');
  });

  it.skipIf(process.getuid?.() !== 0 || !has('sudo'))('sudo -E netlog-run --ci --user USER -- bash --noprofile --norc -eo pipefail {0}: the steps run as USER under a root supervisor', async () => {
    const job = new Runner();
    const main = await job.action('main', {});
    expect(main.exitCode).toBe(0);
    const s = await job.step(`sudo -E ${NETLOG_RUN} --ci --user nobody -- bash --noprofile --norc -eo pipefail {0}`, 'id -un\n');
    expect(s.exitCode).toBe(0);
    expect(s.stdout.split('\n')[0]).toBe('nobody');
    const records = readRecords(job.log);
    const bash = records.find((r) => r.event === 'exec' && r.exec?.file.endsWith('/bash'));
    expect(bash?.proc?.uid).toBe(Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })));
    expect(s.summary).toMatch(/bash/);
  });
});

/** Serves the files of `dir` over HTTP (what a dumb git server is). */
async function staticServer(dir: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent((req.url ?? '/').split('?')[0]!));
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.statusCode = 404;
      return res.end();
    }
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a job of real tools', () => {
  it.skipIf(!has('git') || !has('npm'))('audited, then replayed in block mode with the learnt allow-list, then with one entry removed', async () => {
    const work = tempDir();
    dirs.push(work);
    const run = (cmd: string, args: string[], cwd = work): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    // A bare repository served by plain HTTP (update-server-info), and a package tarball.
    run('git', ['init', '-q', '--bare', 'repo.git']);
    run('git', ['init', '-q', 'src']);
    fs.writeFileSync(path.join(work, 'src', 'README'), 'hello\n');
    run('git', ['-C', 'src', 'add', 'README']);
    run('git', ['-C', 'src', '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'one']);
    run('git', ['-C', 'src', 'push', '-q', '../repo.git', 'HEAD:refs/heads/main']);
    run('git', ['-C', 'repo.git', 'symbolic-ref', 'HEAD', 'refs/heads/main']);
    run('git', ['-C', 'repo.git', 'update-server-info']);
    fs.mkdirSync(path.join(work, 'pkg'));
    fs.writeFileSync(path.join(work, 'pkg', 'package.json'), JSON.stringify({ name: 'netlog-fixture-pkg', version: '1.0.0' }));
    fs.writeFileSync(path.join(work, 'pkg', 'index.js'), 'module.exports = 42;\n');
    run('npm', ['pack', '--silent', './pkg']);
    fs.writeFileSync(path.join(work, 'hello.txt'), 'hi\n');
    const files = await staticServer(work);
    servers.push(files);
    const api: HttpServer = await httpServer();
    servers.push(api);

    const script = [
      'rm -rf clone proj && mkdir proj',
      `git clone -q http://127.0.0.1:${files.port}/repo.git clone`,
      'test -f clone/README',
      `curl -sf -o /dev/null http://127.0.0.1:${files.port}/hello.txt`,
      `python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${api.port}/py').read()"`,
      `cd proj && echo '{"name":"p","version":"1.0.0"}' > package.json && npm install --offline --no-audit --no-fund --silent ${work}/netlog-fixture-pkg-1.0.0.tgz`,
      'node -e "process.exit(require(\'netlog-fixture-pkg\') === 42 ? 0 : 1)"',
      'echo job-ok',
    ].join('\n') + '\n';

    const audit = new Runner();
    await audit.action('main', {});
    const a = await audit.step(SHELL, script, work);
    expect(a.stderr).toBe('');
    expect(a.stdout.trim()).toBe('job-ok');
    expect(a.exitCode).toBe(0);
    const learnt = await netlogReport(['--allow-list', audit.log]);
    expect(learnt.exitCode).toBe(0);
    const entries = learnt.stdout.trim().split('\n');
    expect(entries).toContain(`/usr/bin/curl=127.0.0.1:${files.port}`);
    expect(entries.some((e) => /git-remote-http=127\.0\.0\.1:/.test(e))).toBe(true);
    expect(entries.some((e) => /python3[.0-9]*=127\.0\.0\.1:/.test(e) && e.endsWith(`:${api.port}`))).toBe(true);

    const block = new Runner();
    await block.action('main', { 'EGRESS-POLICY': 'block', 'ALLOWED-ENDPOINTS': entries.join('\n'), 'FAIL-ON-BLOCK': 'true' });
    const b = await block.step(SHELL, script, work);
    expect(b.stdout.trim()).toBe('job-ok');
    expect(b.exitCode).toBe(0);
    expect(readRecords(block.log).filter((r) => (r as { blocked?: boolean }).blocked)).toHaveLength(0);
    const bpost = await block.action('post', { 'FAIL-ON-BLOCK': 'true' }, (await block.action('main', { 'EGRESS-POLICY': 'block', 'ALLOWED-ENDPOINTS': entries.join('\n') })).state);
    expect(bpost.exitCode).toBe(0);

    const without = entries.filter((e) => !e.startsWith('/usr/bin/curl='));
    const cut = new Runner();
    const main = await cut.action('main', { 'EGRESS-POLICY': 'block', 'ALLOWED-ENDPOINTS': without.join('\n'), 'FAIL-ON-BLOCK': 'true' });
    const c = await cut.step(SHELL, script, work);
    expect(c.exitCode).toBe(7); // curl: could not connect (7); bash -e stops there
    expect(c.stdout).not.toContain('job-ok');
    const rep = await netlogReport(['--format', 'json', cut.log]);
    const total = JSON.parse(rep.stdout).total;
    expect(total.refusals.blocked).toBe(1);
    expect(total.destinations.filter((d: { blocked: number }) => d.blocked > 0)).toEqual([
      expect.objectContaining({ proto: 'tcp', ip: '127.0.0.1', port: files.port, blocked_programs: ['/usr/bin/curl'], blocked: 1 }),
    ]);
    const post = await cut.action('post', { 'FAIL-ON-BLOCK': 'true' }, main.state);
    expect(post.exitCode).toBe(1);
    expect(post.summary).toContain(`\`127.0.0.1:${files.port}\``);
  }, 180_000);
});
