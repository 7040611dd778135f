// A refused or failed connection is recognisable from the log alone: the
// close record of a socket whose connect was recorded carries the
// connection's outcome, and is written for failed connects too. Each case is
// one socket of a Python program on 127.0.0.1; the outcome the program saw
// itself (connect_ex, SO_ERROR) is printed and compared.
import { describe, expect, it } from 'vitest';
import { netlogRun, type JsonRecord } from './harness.js';

// A port nothing listens on refuses (a bound socket, not listening); a
// listener whose queue (backlog 0) is full drops SYNs: a blackhole on
// loopback, bounded with TCP_USER_TIMEOUT (ETIMEDOUT after ~1 s).
const SCRIPT = String.raw`
import socket, select, sys
def out(*a): print(*a, flush=True)
shut = socket.socket(); shut.bind(('127.0.0.1', 0)); refused = shut.getsockname()[1]
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(8); open_port = l.getsockname()[1]
full = socket.socket(); full.bind(('127.0.0.1', 0)); full.listen(0); hole = full.getsockname()[1]
filler = socket.socket(); filler.connect(('127.0.0.1', hole))
def case(name, s, port):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\0' * 8)
    r = s.connect_ex(('127.0.0.1', port))
    out(name, s.getsockname()[1], r)
    return s
case('blocking_refused', socket.socket(), refused).close()
s = socket.socket(); s.setblocking(False); case('nonblocking_refused', s, refused)
select.select([], [s], [], 2); s.close()
s = socket.socket(); s.setblocking(False); case('nonblocking_refused_collected', s, refused)
select.select([], [s], [], 2); out('collected', s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)); s.close()
s = socket.socket(); s.setblocking(False); case('pending_at_close', s, hole); s.close()
s = socket.socket(); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 300); case('timed_out', s, hole).close()
s = case('established', socket.socket(), open_port); c, _ = l.accept(); s.close(); c.close()
s = case('peer_closed_first', socket.socket(), open_port); c, _ = l.accept(); c.close(); s.recv(1); s.close()
`;

const EXPECTED: Record<string, { result: string; outcome: string }> = {
  blocking_refused: { result: 'ECONNREFUSED', outcome: 'ECONNREFUSED' },
  nonblocking_refused: { result: 'EINPROGRESS', outcome: 'ECONNREFUSED' },
  nonblocking_refused_collected: { result: 'EINPROGRESS', outcome: 'failed' },
  pending_at_close: { result: 'EINPROGRESS', outcome: 'EINPROGRESS' },
  timed_out: { result: 'ETIMEDOUT', outcome: 'ETIMEDOUT' },
  established: { result: 'ok', outcome: 'established' },
  peer_closed_first: { result: 'ok', outcome: 'established' },
};

const ERRNO: Record<string, number> = { ok: 0, ECONNREFUSED: 111, EINPROGRESS: 115, ETIMEDOUT: 110 };

describe('close records say how a connect ended', () => {
  it('refused, timed out, pending, established: one close record each, with the outcome', async () => {
    const r = await netlogRun(['python3', '-c', SCRIPT], { args: ['-q'] });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => l.split(' '));
    expect(lines.find((l) => l[0] === 'collected')?.[1]).toBe('111');
    const byPort = (event: string, port: number): JsonRecord[] =>
      r.records.filter((x) => x.event === event && x.net?.proto === 'tcp' && x.net.local.port === port && x.net.remote?.port !== undefined);
    for (const [name, want] of Object.entries(EXPECTED)) {
      const line = lines.find((l) => l[0] === name);
      expect(line, name).toBeDefined();
      const port = Number(line![1]);
      // What the program saw is the ground truth of the connect record.
      expect(Number(line![2]), name).toBe(ERRNO[want.result]);
      const connects = byPort('connect', port);
      expect(connects.map((x) => x.result), name).toEqual([want.result]);
      const closes = byPort('close', port);
      expect(closes.map((x) => (x as JsonRecord & { outcome?: string }).outcome), name).toEqual([want.outcome]);
      expect(closes[0]!.net!.remote).toEqual(connects[0]!.net!.remote);
    }
    // Accepted connections' closes carry no outcome: no connect of theirs was recorded.
    const acceptedCloses = r.records.filter((x) => x.event === 'close' && (x as { outcome?: string }).outcome === undefined && x.net?.proto === 'tcp');
    expect(acceptedCloses.length).toBeGreaterThanOrEqual(2);
  });
});
