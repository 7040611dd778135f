// The launcher. Everything between fork() and execve() in the child is
// async-signal-safe only: no allocation, no stdio, no locks; failures are
// written as a ChildError to a close-on-exec pipe.
#include "launch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include "kernel.h"

namespace netlog {

const char* StageName(int stage) {
  switch (stage) {
    case kStageSigmask: return "signal setup";
    case kStageNoNewPrivs: return "no_new_privs";
    case kStageSeccomp: return "seccomp";
    case kStageSendListener: return "sending the seccomp listener";
    case kStageAck: return "waiting for the supervisor";
    case kStageExec: return "exec";
    case kStageUser: return "changing to the --user credentials";
    default: return "launch";
  }
}

namespace {

// async-signal-safe
[[noreturn]] void ChildFail(int err_fd, int stage, int err, int code) {
  ChildError e{stage, err};
  ssize_t ignored = write(err_fd, &e, sizeof e);
  (void)ignored;
  _exit(code);
}

// async-signal-safe
int SendFd(int sock, int fd) {
  char byte = 'L';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int RecvFd(int sock) {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n != 1) return -1;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

// The child's listener, by the number it wrote (the child waits for the ack
// meanwhile, so the number still names the listener).
int ListenerByNumber(int sock, pid_t pid) {
  int num = -1;
  ssize_t n;
  while ((n = read(sock, &num, sizeof num)) < 0 && errno == EINTR) {
  }
  if (n != sizeof num) return -1;
  int pidfd = sys_pidfd_open(pid, 0);
  if (pidfd < 0) return -1;
  int fd = sys_pidfd_getfd(pidfd, num);  // O_CLOEXEC
  close(pidfd);
  return fd;
}

struct ChildArgs {
  int sock, err_fd;
  sock_fprog prog;
  char* const* candidates;
  char* const* argv;
  char* const* envp;
  bool test_fail_seccomp;
  bool listener_by_number;
  bool drop;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t ngroups;
};

// async-signal-safe
[[noreturn]] void ChildMain(const ChildArgs& a) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++) {
    if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, nullptr);
  }
  // Node marks its stdio close-on-exec; COMMAND inherits them.
  for (int fd = 0; fd <= 2; fd++) fcntl(fd, F_SETFD, 0);
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) < 0) ChildFail(a.err_fd, kStageSigmask, errno, 125);

  unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  if (a.test_fail_seccomp) flags |= 1UL << 31;  // a flag no kernel knows: EINVAL
  // Without CAP_SYS_ADMIN the kernel requires no_new_privs; root keeps
  // setuid programs (sudo) working inside the session.
  bool nnp = geteuid() != 0;
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ChildFail(a.err_fd, kStageNoNewPrivs, errno, 125);
  int listener = sys_seccomp(SECCOMP_SET_MODE_FILTER, static_cast<unsigned>(flags), const_cast<sock_fprog*>(&a.prog));
  if (listener < 0 && errno == EACCES && !nnp) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ChildFail(a.err_fd, kStageNoNewPrivs, errno, 125);
    listener = sys_seccomp(SECCOMP_SET_MODE_FILTER, static_cast<unsigned>(flags), const_cast<sock_fprog*>(&a.prog));
  }
  if (listener < 0) ChildFail(a.err_fd, kStageSeccomp, errno, 125);
  if (a.listener_by_number) {
    if (write(a.sock, &listener, sizeof listener) != sizeof listener) ChildFail(a.err_fd, kStageSendListener, errno, 125);
  } else if (SendFd(a.sock, listener) < 0) {
    ChildFail(a.err_fd, kStageSendListener, errno, 125);
  }
  char ack;
  ssize_t n;
  while ((n = read(a.sock, &ack, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) ChildFail(a.err_fd, kStageAck, n < 0 ? errno : EPIPE, 125);
  // netlog-run is undumpable (run_process.cc) and this child inherited it:
  // the supervisor, unprivileged, could not read this exec's path. With its
  // copy of the listener closed first (after the ack: in block mode the
  // parent takes it with pidfd_getfd), nothing here is worth protecting.
  // close_range, which the filter does not trap: a trapped close would ask
  // the supervisor, which cannot read this still undumpable process and
  // refuses what it cannot read.
  if (syscall(SYS_close_range, listener, listener, 0) < 0) close(listener);
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  // --user: the filter was installed with root's CAP_SYS_ADMIN, so no
  // no_new_privs is needed and setuid programs keep working; the supervisor
  // stays root, out of the user's reach.
  if (a.drop) {
    if (syscall(SYS_setgroups, a.ngroups, a.groups) < 0 || syscall(SYS_setresgid, a.gid, a.gid, a.gid) < 0 ||
        syscall(SYS_setresuid, a.uid, a.uid, a.uid) < 0)
      ChildFail(a.err_fd, kStageUser, errno, 125);
  }
  // As execvp: try each candidate; EACCES is remembered, ENOENT/ENOTDIR go on.
  int err = ENOENT;
  bool eacces = false;
  for (char* const* c = a.candidates; *c; c++) {
    execve(*c, a.argv, a.envp);
    err = errno;
    if (err == EACCES) {
      eacces = true;
    } else if (err != ENOENT && err != ENOTDIR && err != ENAMETOOLONG && err != ELOOP) {
      break;
    }
  }
  if (eacces && (err == ENOENT || err == ENOTDIR)) err = EACCES;
  ChildFail(a.err_fd, kStageExec, err, (err == ENOENT || err == ENOTDIR) ? 127 : 126);
}

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

bool Launch(const LaunchSpec& spec, Launched& out, ChildError& error) {
  int sv[2], ep[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    error = {kStageSendListener, errno};
    return false;
  }
  if (pipe2(ep, O_CLOEXEC) < 0) {
    error = {kStageExec, errno};
    close(sv[0]);
    close(sv[1]);
    return false;
  }
  // Everything the child needs is allocated before fork.
  std::vector<char*> candidates = CStrings(spec.candidates);
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<char*> envp = CStrings(spec.env);
  ChildArgs a;
  a.sock = sv[1];
  a.err_fd = ep[1];
  a.prog.len = static_cast<unsigned short>(spec.filter.size());
  a.prog.filter = const_cast<sock_filter*>(spec.filter.data());
  a.candidates = candidates.data();
  a.argv = argv.data();
  a.envp = envp.data();
  a.test_fail_seccomp = spec.test_fail_seccomp;
  a.listener_by_number = spec.listener_by_number;
  a.drop = spec.drop;
  a.uid = spec.uid;
  a.gid = spec.gid;
  a.groups = spec.groups.data();
  a.ngroups = spec.groups.size();

  // _Fork: no atfork handlers (libuv's would run in the child otherwise).
  // Signals are blocked across it, so that none of Node's handlers runs in
  // the child before the child resets them.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pid_t pid = _Fork();
  if (pid != 0) pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    error = {kStageExec, errno};
    for (int fd : {sv[0], sv[1], ep[0], ep[1]}) close(fd);
    return false;
  }
  if (pid == 0) ChildMain(a);
  close(sv[1]);
  close(ep[1]);
  int listener = spec.listener_by_number ? ListenerByNumber(sv[0], pid) : RecvFd(sv[0]);
  if (listener < 0) {
    ChildError e{kStageSendListener, EPIPE};
    ssize_t n;
    while ((n = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    error = e;
    close(sv[0]);
    close(ep[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return false;
  }
  out.pid = pid;
  out.listener = listener;
  out.ack_fd = sv[0];
  out.err_fd = ep[0];
  return true;
}

}  // namespace netlog
