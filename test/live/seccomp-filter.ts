// A session's seccomp filter read back from the kernel (PTRACE_SECCOMP_GET_FILTER,
// ptrace(2), seccomp(2); needs CAP_SYS_ADMIN) and a small classic-BPF interpreter
// that answers "what does the filter return for syscall NR of architecture ARCH".
import { execa } from 'execa';


const DUMP_FILTER_PY = String.raw`
import ctypes, json, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
SEIZE, INTERRUPT, DETACH, GET_FILTER = 0x4206, 0x4207, 17, 0x420c
pid = int(sys.argv[1])
def check(r, what):
    if r < 0:
        raise SystemExit(what + ": " + os.strerror(ctypes.get_errno()))
check(libc.ptrace(SEIZE, pid, None, None), "PTRACE_SEIZE")
filters = []
try:
    check(libc.ptrace(INTERRUPT, pid, None, None), "PTRACE_INTERRUPT")
    os.waitpid(pid, 0x40000000)
    for index in range(64):
        n = libc.ptrace(GET_FILTER, pid, index, None)
        if n < 0:
            break
        buf = ctypes.create_string_buffer(n * 8)
        check(libc.ptrace(GET_FILTER, pid, index, buf), "PTRACE_SECCOMP_GET_FILTER")
        filters.append([list(struct.unpack_from("<HBBI", buf.raw, i * 8)) for i in range(n)])
finally:
    libc.ptrace(DETACH, pid, None, None)
print(json.dumps(filters))
`;

export type Bpf = Array<[number, number, number, number]>;

/** The filters attached to a process (newest first), as classic BPF instructions. */
export async function seccompFilters(pid: number): Promise<Bpf[]> {
  const r = await execa('python3', ['-c', DUMP_FILTER_PY, String(pid)], { reject: false, timeout: 15_000 });
  if (r.exitCode !== 0) {
    throw new Error(`cannot read the seccomp filter of ${pid} (needs root / CAP_SYS_ADMIN): ${String(r.stderr)}`);
  }
  return JSON.parse(String(r.stdout)) as Bpf[];
}

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;

/** Runs a seccomp cBPF program on seccomp_data {nr, arch, ip 0, args 0} and returns its verdict. */
export function runBpf(prog: Bpf, nr: number, arch = AUDIT_ARCH_X86_64): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  const mem = new Array<number>(16).fill(0);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const [code, jt, jf, k] = prog[pc]!;
    const src = code & 0x08 ? x : k;
    switch (code & 0x07) {
      case 0x00: // BPF_LD
        if ((code & 0xe0) === 0x20 && (code & 0x18) === 0x00) a = data.readUInt32LE(k);
        else if ((code & 0xe0) === 0x00) a = k;
        else if ((code & 0xe0) === 0x60) a = mem[k]!;
        else throw new Error(`unsupported BPF load 0x${code.toString(16)}`);
        break;
      case 0x01: // BPF_LDX
        x = (code & 0xe0) === 0x60 ? mem[k]! : k;
        break;
      case 0x02:
        mem[k] = a;
        break;
      case 0x03:
        mem[k] = x;
        break;
      case 0x04: { // BPF_ALU
        const op = code & 0xf0;
        const ops: Record<number, () => number> = {
          0x00: () => a + src, 0x10: () => a - src, 0x20: () => Math.imul(a, src), 0x30: () => Math.floor(a / src),
          0x40: () => a | src, 0x50: () => a & src, 0x60: () => a << src, 0x70: () => a >>> src, 0x80: () => -a,
          0x90: () => a % src, 0xa0: () => a ^ src,
        };
        const f = ops[op];
        if (!f) throw new Error(`unsupported BPF ALU 0x${code.toString(16)}`);
        a = f() >>> 0;
        break;
      }
      case 0x05: { // BPF_JMP
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const ua = a >>> 0;
        const us = src >>> 0;
        const cond = op === 0x10 ? ua === us : op === 0x20 ? ua > us : op === 0x30 ? ua >= us : op === 0x40 ? (ua & us) !== 0 : undefined;
        if (cond === undefined) throw new Error(`unsupported BPF jump 0x${code.toString(16)}`);
        pc += cond ? jt : jf;
        break;
      }
      case 0x06: // BPF_RET
        return ((code & 0x18) === 0x10 ? a : k) >>> 0;
      case 0x07: // BPF_MISC
        if (code & 0x80) a = x;
        else x = a;
        break;
    }
  }
  throw new Error('BPF program ran off its end');
}
export const AUDIT_ARCH_I386 = 0x40000003;
/** SECCOMP_RET_ERRNO | ENOSYS: what the filter answers for a closed door. */
export const ENOSYS_RET = 0x00050000 | 38;
