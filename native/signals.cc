// Signal relay (see signals.h). The handler only copies the siginfo into a
// pipe (async-signal-safe); a thread of its own reads it and decides, so the
// decision may read /proc and the relay happens even while JS is busy.
// See sigaction(2), signal(7), pidfd_open(2), pidfd_send_signal(2), proc(5).
#include "signals.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace netlog {
namespace {

const int kRelayed[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM};

struct Caught {
  int sig;
  int code;
  pid_t pid;
  uid_t uid;
  sigval value;
};

int g_pipe[2] = {-1, -1};
std::atomic<int> g_target{-1};  // pidfd of COMMAND
std::atomic<bool> g_started{false};
std::function<void()> g_on_reload;
pid_t g_self = 0;

// async-signal-safe
void OnSignal(int sig, siginfo_t* si, void*) {
  int saved = errno;
  Caught c{sig, si->si_code, si->si_pid, si->si_uid, si->si_value};
  // The pipe is non-blocking: in a flood the excess is dropped, as the
  // kernel itself merges pending standard signals.
  ssize_t ignored = write(g_pipe[1], &c, sizeof c);
  (void)ignored;
  errno = saved;
}

// The parent of pid from /proc/PID/stat (comm may hold spaces and ')').
pid_t ParentOf(pid_t pid) {
  char path[32], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char* close_paren = strrchr(buf, ')');
  if (!close_paren) return -1;
  char state;
  int ppid;
  if (sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2) return -1;
  return ppid;
}

// A process of the session: netlog-run itself, or one of its descendants
// (COMMAND and everything it started, orphans reparented to netlog-run too).
bool InSession(pid_t pid) {
  for (int depth = 0; pid > 1 && depth < 4096; depth++) {
    if (pid == g_self) return true;
    pid = ParentOf(pid);
  }
  return false;
}

bool SentByProcess(int code) { return code == SI_USER || code == SI_QUEUE || code == SI_TKILL; }

void Relay(int pidfd, const Caught& c) {
  if (c.code == SI_QUEUE) {
    // sigqueue(3): COMMAND gets the value and the sender it would have seen.
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = c.sig;
    info.si_code = SI_QUEUE;
    info.si_pid = c.pid;
    info.si_uid = c.uid;
    info.si_value = c.value;
    if (syscall(SYS_pidfd_send_signal, pidfd, c.sig, &info, 0) == 0) return;
  }
  // ESRCH once COMMAND has been reaped: nothing to do.
  syscall(SYS_pidfd_send_signal, pidfd, c.sig, nullptr, 0);
}

void* RelayMain(void*) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  unsigned long early = 0;  // signals relayed before COMMAND existed, one bit each
  Caught early_info[NSIG];
  for (;;) {
    Caught c;
    ssize_t n = read(g_pipe[0], &c, sizeof c);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof c)) {
      if (n < 0 || n == 0) return nullptr;
      continue;
    }
    if (c.sig == 0) {
      // SetRelayTarget: deliver what came early, lowest signal first as the kernel would.
      int pidfd = g_target.load();
      for (int s = 1; s < NSIG && s < 64; s++)
        if (early & (1UL << s)) Relay(pidfd, early_info[s]);
      early = 0;
      continue;
    }
    bool relay;
    if (SentByProcess(c.code)) {
      // A process of the session signalling netlog-run (kill 0, kill $PPID)
      // must not make COMMAND signal itself through us.
      relay = !InSession(c.pid);
      if (relay && c.sig == SIGHUP && g_on_reload) {
        g_on_reload();
        continue;
      }
    } else {
      // From the kernel: the terminal's SIGINT/SIGQUIT reached COMMAND's
      // foreground job already. A hangup's SIGHUP goes to the session leader
      // and the foreground job; when netlog-run is the leader, COMMAND would
      // have been, so it gets the hangup (never a config reload).
      relay = c.sig == SIGHUP && getsid(0) == g_self;
    }
    if (!relay) continue;
    int pidfd = g_target.load();
    if (pidfd < 0) {
      early |= 1UL << c.sig;
      early_info[c.sig] = c;
    } else {
      Relay(pidfd, c);
    }
  }
}

}  // namespace

bool StartSignalRelay(std::function<void()> on_reload) {
  if (g_started.exchange(true)) return true;
  g_self = getpid();
  g_on_reload = std::move(on_reload);
  if (pipe2(g_pipe, O_CLOEXEC) < 0) return false;
  fcntl(g_pipe[1], F_SETFL, O_NONBLOCK);
  pthread_t t;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int err = pthread_create(&t, nullptr, RelayMain, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err != 0) {
    errno = err;
    return false;
  }
  pthread_detach(t);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = OnSignal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  for (int s : kRelayed) sigaction(s, &sa, nullptr);
  return true;
}

bool SetRelayTarget(pid_t pid) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return false;
  // COMMAND may have failed its first exec and been reaped by the waiter
  // already; a pid reused since is not our child: nothing to relay to.
  if (ParentOf(pid) != getpid()) {
    close(pidfd);
    errno = ESRCH;
    return false;
  }
  fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  g_target.store(pidfd);
  Caught wake{0, 0, 0, 0, {}};
  ssize_t ignored = write(g_pipe[1], &wake, sizeof wake);
  (void)ignored;
  return true;
}

}  // namespace netlog
