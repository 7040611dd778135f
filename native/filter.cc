// The filter: non-native ABIs (int 0x80, x32) get ENOSYS before the syscall
// table is consulted; io_uring gets ENOSYS (it would connect and accept
// without a system call); the trapped syscalls go to the supervisor (with
// exec, the set*id calls that change a task's uid/gid/euid/egid, so that its
// cached identity is dropped).
#include "filter.h"

#include <seccomp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <cerrno>
#include <cstring>

namespace netlog {

std::string BuildFilter(const TrapSet& traps, std::vector<sock_filter>& out) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return "seccomp_init: out of memory";
  std::string err;
  auto fail = [&](const char* what, int rc) {
    if (err.empty()) err = std::string(what) + ": " + strerror(-rc);
  };
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
  if (rc < 0) fail("seccomp_attr_set", rc);
  auto add = [&](uint32_t action, const char* name) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return fail(name, -ENOSYS);
    int r = seccomp_rule_add(ctx, action, nr, 0);
    if (r < 0) fail(name, r);
  };
  // setsockopt(fd, level, optname, ...) refused with EOPNOTSUPP: both are
  // register arguments, so no race with the caller's memory.
  auto refuse_sockopt = [&](int level, int optname) {
    int nr = seccomp_syscall_resolve_name("setsockopt");
    scmp_arg_cmp cmp[2] = {{1, SCMP_CMP_EQ, static_cast<scmp_datum_t>(level), 0},
                           {2, SCMP_CMP_EQ, static_cast<scmp_datum_t>(optname), 0}};
    int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP), nr, 2, cmp);
    if (r < 0) fail("setsockopt", r);
  };
  for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register"})
    add(SCMP_ACT_ERRNO(ENOSYS), name);
  if (traps.exec) {
    add(SCMP_ACT_NOTIFY, "execve");
    add(SCMP_ACT_NOTIFY, "execveat");
    // The supervisor keeps a task's credentials, program, loginuid and
    // session between records; only an exec or one of these calls changes
    // the credentials. Answered at once (CONTINUE), so they cost a round
    // trip each, and programs make them rarely.
    for (const char* name : {"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid"})
      add(SCMP_ACT_NOTIFY, name);
  }
  if (traps.connect) {
    add(SCMP_ACT_NOTIFY, "connect");
    // TCP Fast Open connects from sendto/sendmsg(MSG_FASTOPEN) without a
    // connect(2): a closed door (programs fall back to connect).
    auto fastopen = [&](const char* name, unsigned arg) {
      int nr = seccomp_syscall_resolve_name(name);
      scmp_arg_cmp cmp = {arg, SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN};
      int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP), nr, 1, &cmp);
      if (r < 0) fail(name, r);
    };
    fastopen("sendto", 3);
    fastopen("sendmsg", 2);
    fastopen("sendmmsg", 3);
    // An IPv6 routing header set on a socket sends its packets to the
    // header's segments first, not to the address connect names (and the
    // record and --egress block check): a closed door. IPV6_2292PKTOPTIONS
    // can set one too. (Per-datagram control data is refused in block mode.)
    for (int opt : {57 /* IPV6_RTHDR */, 5 /* IPV6_2292RTHDR */, 6 /* IPV6_2292PKTOPTIONS */})
      refuse_sockopt(IPPROTO_IPV6, opt);
  }
  if (traps.send) {
    // sendto without an address goes to the connected peer, checked at
    // connect; sendmsg's address is in memory, out of the filter's sight.
    int nr = seccomp_syscall_resolve_name("sendto");
    scmp_arg_cmp named = {4, SCMP_CMP_NE, 0, 0};
    int r = seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, nr, 1, &named);
    if (r < 0) fail("sendto", r);
    add(SCMP_ACT_NOTIFY, "sendmsg");
    add(SCMP_ACT_NOTIFY, "sendmmsg");
    // TCP_FASTOPEN_CONNECT defers the connect to the first send, which may
    // name another address: refused as MSG_FASTOPEN is.
    refuse_sockopt(IPPROTO_TCP, 30 /* TCP_FASTOPEN_CONNECT */);
  }
  if (traps.connect) {
    // A program that sandboxes itself with Landlock must keep its connect
    // rules, which an emulated connect (in netlog's domain) would skip: the
    // supervisor follows its rulesets and domains (landlock_marks.h).
    for (int nr : {__NR_landlock_create_ruleset, __NR_landlock_restrict_self}) {
      int r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
      if (r < 0) fail("landlock", r);
    }
  }
  if (traps.accept) { add(SCMP_ACT_NOTIFY, "accept"); add(SCMP_ACT_NOTIFY, "accept4"); }
  if (traps.bind) add(SCMP_ACT_NOTIFY, "bind");
  if (traps.close) add(SCMP_ACT_NOTIFY, "close");
  if (err.empty()) {
    size_t len = 0;
    rc = seccomp_export_bpf_mem(ctx, nullptr, &len);
    if (rc < 0) {
      fail("seccomp_export_bpf_mem", rc);
    } else {
      out.resize(len / sizeof(sock_filter));
      rc = seccomp_export_bpf_mem(ctx, out.data(), &len);
      if (rc < 0) fail("seccomp_export_bpf_mem", rc);
    }
  }
  seccomp_release(ctx);
  return err;
}

}  // namespace netlog
