// Errors identical to native: fixtures/errno_table performs every error case
// of the calls netlog emulates or inspects (connect, accept, accept4, bind,
// close, and sendto/sendmsg, which --egress block emulates) and prints one
// line per case: the errno, and for accept whether the connection is still
// queued and what was stored back. The lines of a bare run are the ground
// truth; under netlog-run they must be the same, as root and as nobody.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { IS_ROOT, fixture, netlogRun, requireNobody, requireRoot } from './harness.js';

const TABLE = fixture('errno_table');
const GROUPS = ['connect', 'accept', 'bind', 'close', 'send'];
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

async function bare(prefix: string[] = []): Promise<string> {
  const [cmd, ...args] = [...prefix, TABLE, ...GROUPS];
  const r = await execa(cmd!, args, { reject: false, timeout: 30_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

async function underNetlog(args: string[], prefix: string[] = []): Promise<string> {
  const r = await netlogRun([...prefix, TABLE, ...GROUPS], { args: ['-q', ...args] });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

// Line by line, so a failure names the cases that differ.
function expectSame(got: string, want: string): void {
  const g = got.split('\n');
  const w = want.split('\n');
  expect(w.length).toBeGreaterThan(100);
  const diff = w.map((line, i) => (g[i] === line ? null : `${line}  |  netlog: ${g[i]}`)).filter((d) => d !== null);
  expect(diff).toEqual([]);
  expect(g.length).toBe(w.length);
}

describe('errno of every emulated call equals the bare run', () => {
  it('the table covers the cases the issue names', async () => {
    const out = await bare();
    // A few anchors, so the ground truth itself is what the kernel says.
    expect(out).toMatch(/^connect_opath EBADF$/m);
    expect(out).toMatch(/^connect_notsock_bad_addr EFAULT$/m);
    expect(out).toMatch(/^accept_opath EBADF$/m);
    expect(out).toMatch(/^accept_bad_len EFAULT queued=no/m);
    expect(out).toMatch(/^accept_len_neg EINVAL queued=no/m);
    expect(out).toMatch(/^accept_emfile EMFILE queued=yes$/m);
    expect(out).toMatch(/^connect_nonblock_again EALREADY$/m);
  });

  it('as the invoking user (probes on)', async () => {
    expectSame(await underNetlog([]), await bare());
  });

  it('with --egress block (connect, sendto and sendmsg emulated)', async () => {
    expectSame(await underNetlog(['--egress', 'block', '--allow', '127.0.0.1']), await bare());
  });

  it('as nobody under a root netlog-run --user nobody', async (ctx) => {
    requireRoot(ctx, '--user');
    const want = await bare(NOBODY);
    expectSame(await underNetlog(['--user', 'nobody']), want);
    expectSame(await underNetlog(['--user', 'nobody', '--egress', 'block', '--allow', '127.0.0.1']), want);
  });

  it('as nobody under an unprivileged netlog-run', async (ctx) => {
    requireNobody(ctx, 'setpriv to nobody');
    const want = await bare(NOBODY);
    const r = await execa(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, 'bin/netlog-run.js', '-q', '-o', '/dev/null', '--', TABLE, ...GROUPS], {
      reject: false,
      timeout: 60_000,
      cwd: new URL('../..', import.meta.url).pathname,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expectSame(r.stdout, want);
  });

  it.skipIf(!IS_ROOT)('root and nobody differ where privileges do (the table sees them)', async () => {
    expect(await bare()).toMatch(/^bind_low_port (ok|EINVAL|EADDRINUSE)$/m);
    expect(await bare(NOBODY)).toMatch(/^bind_low_port EACCES$/m);
  });
});
