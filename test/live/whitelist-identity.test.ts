// A network whitelist entry names a program by its path and by its identity
// (st_dev/st_ino when the entry is read): a user namespace that mounts its own
// program over the whitelisted path runs under the same name and is recorded.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { httpServer, netlogRun, ofKind, tempDir, type HttpServer } from './harness.js';

const CURL = '/usr/bin/curl';
const servers: HttpServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function canMountInUserns(): Promise<string | undefined> {
  const r = await execa('unshare', ['-Urm', 'true'], { reject: false });
  return r.exitCode === 0 ? undefined : `unshare -Urm is not allowed here: ${r.stderr.trim()}`;
}

describe('network whitelist by identity', () => {
  it('hides the whitelisted curl; records a copy bind-mounted over /usr/bin/curl in a user namespace', async (ctx) => {
    const why = await canMountInUserns();
    ctx.skip(why !== undefined, why);
    const server = await httpServer();
    servers.push(server);
    const url = `http://127.0.0.1:${server.port}/`;
    const dir = tempDir();
    const copy = path.join(dir, 'curl');
    fs.copyFileSync(CURL, copy);
    fs.chmodSync(copy, 0o755);

    const plain = await netlogRun(['bash', '-c', `${CURL} -sS -o /dev/null ${url}`], { args: ['--whitelist', CURL] });
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(ofKind(plain.records, 'connect').filter((r) => r.proc!.exe === CURL)).toEqual([]);

    const mounted = await netlogRun(
      ['unshare', '-Urm', 'bash', '-c', `mount --bind ${copy} ${CURL} && ${CURL} -sS -o /dev/null ${url}`],
      { args: ['--whitelist', CURL] },
    );
    expect(mounted.exitCode, mounted.stderr).toBe(0);
    // Both requests reached the server; only the impostor's connect is in the log, under the same name.
    expect(server.requests).toHaveLength(2);
    const connects = ofKind(mounted.records, 'connect').filter((r) => r.net!.remote?.port === server.port);
    expect(connects).toHaveLength(1);
    expect(connects[0]!.proc!.exe).toBe(CURL);
  });
});
