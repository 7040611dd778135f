// Answering each trapped syscall (see docs/design.md and DESIGN.md "Answering"):
// exec: read, record, CONTINUE; connect and accept of inet sockets: emulated on
// a duplicate of the caller's socket; bind: record, CONTINUE; close: a quick
// /proc check, then record inet sockets, CONTINUE.
#include "supervisor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <climits>
#include <cstring>

#include "exec_lookup.h"
#include "kernel.h"
#include "procinfo.h"
#include "target_mem.h"

namespace netlog {

namespace {

const int kInterruptSignal = SIGRTMAX - 3;
const unsigned kPidfdThread = O_EXCL;  // PIDFD_THREAD (6.9+)
// Kept pidfds count against netlog-run's own fd limit: a few hundred only.
const size_t kMaxPidfds = 256;
// The kernel's internal "restart if the handler has SA_RESTART" errno; it is
// turned into EINTR or a restart on the way back to user space.
const int ERESTARTSYS = 512;
void OnInterrupt(int) {}

int64_t NowUs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

bool SockInfo(int fd, int& domain, int& protocol) {
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) return false;
  len = sizeof protocol;
  return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0;
}

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

// MPTCP sockets connect and accept like TCP ones, and are recorded as tcp.
bool IsTcp(int protocol) { return protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP; }

bool IsInetTcpUdp(int domain, int protocol) {
  return (domain == AF_INET || domain == AF_INET6) && (IsTcp(protocol) || protocol == IPPROTO_UDP);
}

bool LocalEndpoint(int fd, Endpoint& ep, bool& v6) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return false;
  return DecodeSockaddr(ss, len, ep, v6);
}

bool PeerEndpoint(int fd, Endpoint& ep, bool& v6) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return false;
  return DecodeSockaddr(ss, len, ep, v6);
}

// A TCP socket that completed its handshake has sent at least the SYN and
// the ACK of the peer's SYN-ACK (retransmitted SYNs aside).
bool WasEstablished(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) return false;
  return ti.tcpi_segs_out >= ti.tcpi_total_retrans + 2;
}

uint64_t Inode(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

}  // namespace

bool DecodeSockaddr(const sockaddr_storage& ss, socklen_t len, Endpoint& ep, bool& ipv6) {
  char buf[INET6_ADDRSTRLEN];
  if (ss.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    ep.ip = buf;
    ep.port = ntohs(sin->sin_port);
    ipv6 = false;
    return true;
  }
  if (ss.ss_family == AF_INET6 && len >= 24 /* SIN6_LEN_RFC2133 */) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
    ep.ip = buf;
    ep.port = ntohs(sin6->sin6_port);
    ipv6 = true;
    return true;
  }
  return false;
}

void InstallInterruptHandler() {
  struct sigaction sa{};
  sa.sa_handler = OnInterrupt;  // no SA_RESTART: the blocked call returns EINTR
  sigemptyset(&sa.sa_mask);
  sigaction(kInterruptSignal, &sa, nullptr);
}

// A worker blocked in accept/connect on behalf of a target task. The monitor
// interrupts it when the task has a deliverable signal or is gone.
struct Supervisor::BlockingOp {
  uint64_t id;
  pid_t tid;
  pthread_t worker;
  std::mutex mu;
  bool in_call = false;
  bool interrupted = false;
  // What the caller is answered when interrupted: ERESTARTSYS lets the
  // kernel restart the call for an SA_RESTART handler, as it would have.
  int interrupt_error = EINTR;
  int shared_rounds = 0;  // monitor rounds a process-wide signal stayed pending

  // Runs fn() until it completes or the op is interrupted (then EINTR).
  template <typename F>
  long Call(F fn) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lk(mu);
        if (interrupted) {
          errno = EINTR;
          return -1;
        }
        in_call = true;
      }
      long r = fn();
      int e = errno;
      {
        std::lock_guard<std::mutex> lk(mu);
        in_call = false;
      }
      if (r >= 0 || e != EINTR) {
        errno = e;
        return r;
      }
    }
  }
};

long Supervisor::OpCall(BlockingOp* op, const std::function<long()>& fn) { return op->Call(fn); }

// A connect that succeeded, or goes on in the background (EINPROGRESS,
// interrupted), is dissolved: connect(2) with AF_UNSPEC.
void Supervisor::Disconnect(int fd, int err) {
  if (err != 0 && err != EINPROGRESS && err != EALREADY && err != EINTR && err != ERESTARTSYS) return;
  sockaddr sa{};
  sa.sa_family = AF_UNSPEC;
  connect(fd, &sa, sizeof sa);
}

int Supervisor::AnswerFor(int err, BlockingOp* op, int fd, int timeo_opt) {
  if (err != EINTR || !op) return err;
  int interrupt_error;
  {
    std::lock_guard<std::mutex> lk(op->mu);
    if (!op->interrupted) return err;
    interrupt_error = op->interrupt_error;
  }
  if (interrupt_error != ERESTARTSYS) return interrupt_error;
  timeval tv{};
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, timeo_opt, &tv, &len) == 0 && (tv.tv_sec != 0 || tv.tv_usec != 0)) return EINTR;
  return ERESTARTSYS;
}

Supervisor::Supervisor(int listener, const SupervisorOptions& opts, std::function<void(Supervisor*)> post)
    : listener_(listener), opts_(opts), probes_(opts.probes), post_(std::move(post)) {}

bool StartThread(std::function<void()> fn) {
  auto* heap = new std::function<void()>(std::move(fn));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int r = pthread_create(
      &t, &attr,
      [](void* p) -> void* {
        auto* f = static_cast<std::function<void()>*>(p);
        (*f)();
        delete f;
        return nullptr;
      },
      heap);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    delete heap;
    errno = r;
    return false;
  }
  return true;
}

bool Supervisor::Start() {
  return StartThread([this] { Monitor(); }) && StartThread([this] { Run(); });
}

void Supervisor::Push(Message&& m) {
  bool post = false;
  {
    std::lock_guard<std::mutex> lk(queue_mu_);
    queue_.push_back(std::move(m));
    if (!posted_) posted_ = post = true;
  }
  if (post) post_(this);
}

std::deque<Message> Supervisor::Drain() {
  std::lock_guard<std::mutex> lk(queue_mu_);
  std::deque<Message> out;
  out.swap(queue_);
  posted_ = false;
  return out;
}

void Supervisor::Warn(const std::string& text) {
  Message m;
  m.type = MsgType::Warning;
  m.text = text;
  Push(std::move(m));
}

void Supervisor::Run() {
  // Without a signal of its own to handle, the thread blocks them all so they
  // go to Node's main thread.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);

  seccomp_notif_sizes sizes{};
  size_t notif_size = sizeof(seccomp_notif);
  if (sys_seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0 && sizes.seccomp_notif > notif_size)
    notif_size = sizes.seccomp_notif;
  std::vector<char> buf(notif_size);
  auto* notif = reinterpret_cast<seccomp_notif*>(buf.data());

  pollfd pfd{listener_, POLLIN, 0};
  for (;;) {
    int r = poll(&pfd, 1, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      Warn(std::string("poll: ") + strerror(errno));
      break;
    }
    if (pfd.revents & POLLIN) {
      memset(notif, 0, notif_size);
      if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_RECV, notif) < 0) {
        // ENOENT: the caller went away between poll and receive.
        if (errno == EINTR || errno == ENOENT) continue;
        Warn(std::string("SECCOMP_IOCTL_NOTIF_RECV: ") + strerror(errno));
        break;
      }
      Handle(*notif);
      continue;
    }
    if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) break;  // no task uses the filter
  }
  ended_.store(true);
  // The monitor and idle workers end with the session: netlogd supervises
  // many sessions over its life.
  { std::lock_guard<std::mutex> lk(ops_mu_); }
  ops_cv_.notify_all();
  { std::lock_guard<std::mutex> lk(pool_mu_); }
  pool_cv_.notify_all();
  Message m;
  m.type = MsgType::End;
  Push(std::move(m));
}

void Supervisor::Respond(uint64_t id, int error, bool cont) {
  seccomp_notif_resp resp{};
  resp.id = id;
  if (cont) {
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  } else {
    resp.error = -error;
    resp.val = 0;
  }
  // ENOENT: the caller was killed meanwhile; nothing to answer.
  while (ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno == EINTR) {
  }
}

void Supervisor::Handle(const seccomp_notif& n) {
  Call c;
  c.id = n.id;
  c.tid = static_cast<pid_t>(n.pid);
  c.nr = n.data.nr;
  for (int i = 0; i < 6; i++) c.args[i] = n.data.args[i];
  c.realtime_us = NowUs(CLOCK_REALTIME);
  c.boottime_us = NowUs(CLOCK_BOOTTIME);
  switch (c.nr) {
    case __NR_execve:
    case __NR_execveat: return HandleExec(c);
    case __NR_connect: return HandleConnect(c);
    case __NR_accept:
    case __NR_accept4: return HandleAccept(c);
    case __NR_bind: return HandleBind(c);
    case __NR_close: return HandleClose(c);
    case __NR_sendto:
    case __NR_sendmsg:
    case __NR_sendmmsg: return HandleSend(c);
    default: return Respond(c.id, 0, true);
  }
}

bool Supervisor::FillEvent(const Call& c, Kind kind, Event& ev) {
  ev.kind = kind;
  ev.realtime_us = c.realtime_us;
  ev.boottime_us = c.boottime_us;
  return ReadIdentity(c.tid, ev.proc, opts_.exec ? &stable_ : nullptr);
}

void Supervisor::Fail(const Call& c, const char* what) {
  // What a record needs could not be read, and the caller still waits: it is
  // refused rather than let go unrecorded (answering a caller that is gone
  // is harmless: notification ids are never reused).
  if (!notif_valid(listener_, c.id)) return;
  if (!warned_fail_.exchange(true))
    Warn(std::string("cannot read ") + what + " of a supervised process (" + strerror(errno) +
         "); such calls are refused (EACCES)");
  Respond(c.id, EACCES, false);
}

void Supervisor::Hold(Event&& ev, const Call& c, Pending p) {
  // Everything read about the caller is trusted only if it is still the same
  // live task now (a pid reused mid-read fails this check).
  if (!notif_valid(listener_, c.id)) {
    if (p.fd >= 0) close(p.fd);
    return;
  }
  p.id = c.id;
  p.tid = c.tid;
  Message m;
  {
    std::lock_guard<std::mutex> lk(pending_mu_);
    ev.token = next_token_++;
    if (ev.token == 0) ev.token = next_token_++;
    pending_[ev.token] = p;
  }
  m.type = MsgType::Event;
  m.event = std::move(ev);
  Push(std::move(m));
}

void Supervisor::Answer(uint32_t token, bool refuse) {
  Pending p;
  {
    std::lock_guard<std::mutex> lk(pending_mu_);
    auto it = pending_.find(token);
    if (it == pending_.end()) return;
    p = it->second;
    pending_.erase(it);
  }
  if (refuse) {
    if (p.fd >= 0) {
      // A refused connect that already connected is undone (connect(2) with
      // AF_UNSPEC dissolves the association); a refused accept drops the
      // connection it took.
      if (p.how == How::Return) Disconnect(p.fd, p.error);
      close(p.fd);
    }
    return Respond(p.id, EACCES, false);
  }
  switch (p.how) {
    case How::Continue:
      return Respond(p.id, 0, true);
    case How::Return:
      if (p.fd >= 0) close(p.fd);
      return Respond(p.id, p.error, false);
    case How::AddFd: {
      // The caller may have died while the record was written, and its pid
      // been reused: write into nothing but the caller.
      if (!notif_valid(listener_, p.id)) {
        close(p.fd);
        return;
      }
      if (p.addr != 0) {
        // As move_addr_to_user(): copy at most the caller's length, then
        // store the full length.
        int32_t full = static_cast<int32_t>(p.peer_len);
        size_t n = static_cast<size_t>(p.user_len) < p.peer_len ? static_cast<size_t>(p.user_len) : p.peer_len;
        if (!WriteMem(p.tid, p.addr, &p.peer, n) || !WriteMem(p.tid, p.addrlen, &full, sizeof full)) {
          close(p.fd);
          return Respond(p.id, EFAULT, false);
        }
      }
      seccomp_notif_addfd addfd{};
      addfd.id = p.id;
      addfd.flags = SECCOMP_ADDFD_FLAG_SEND;
      addfd.srcfd = static_cast<uint32_t>(p.fd);
      addfd.newfd_flags = p.fd_flags;
      // ADDFD waits for the caller to take the fd. With SEND it marks the
      // call answered before that wait; a signal interrupting the wait
      // withdraws the fd but not the answer, and the caller's accept would
      // return 0 with no fd (seen with Node's SIGPROF). So no signal may
      // interrupt it: this runs on the JS thread, whose signals are blocked
      // for the call only (stop and kill signals cannot be).
      sigset_t all, old;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, &old);
      int r;
      while ((r = ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd)) < 0 && errno == EINTR) {
      }
      int e = errno;
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      close(p.fd);
      if (r < 0 && e != ENOENT) Respond(p.id, e, false);
      return;
    }
  }
}

// Duplicates the caller's fd. A pidfd of the caller's thread (PIDFD_THREAD,
// 6.9+) or of its thread-group leader is kept: a kept pidfd is either the
// caller's or a dead task's (ESRCH: opened anew), never another process's,
// because NOTIF_ID_VALID is checked between opening it and using it.
int Supervisor::DupFd(const Call& c, int fd, int& err) {
  int pidfd = -1;
  {
    std::lock_guard<std::mutex> lk(pidfd_mu_);
    auto it = pidfds_.find(c.tid);
    if (it != pidfds_.end()) pidfd = it->second;
  }
  if (pidfd >= 0) {
    int dup = sys_pidfd_getfd(pidfd, fd);
    if (dup >= 0 || errno != ESRCH) {
      err = errno;
      return dup;
    }
    std::lock_guard<std::mutex> lk(pidfd_mu_);
    pidfds_.erase(c.tid);
    close(pidfd);
  }
  pidfd = sys_pidfd_open(c.tid, kPidfdThread);
  bool keep = pidfd >= 0;
  if (pidfd < 0 && errno == EINVAL) {  // before 6.9: leaders only
    pidfd = sys_pidfd_open(c.tid, 0);
    keep = pidfd >= 0;
    if (pidfd < 0 && (errno == EINVAL || errno == ENOENT)) {
      Identity id;
      if (ReadIdentity(c.tid, id)) pidfd = sys_pidfd_open(id.pid, 0);
    }
  }
  if (pidfd < 0) {
    err = errno;
    return -1;
  }
  // The pid may have been reused since the notification: only a caller still
  // waiting proves this pidfd is its own.
  if (!notif_valid(listener_, c.id)) {
    close(pidfd);
    err = ESRCH;
    return -1;
  }
  int dup = sys_pidfd_getfd(pidfd, fd);
  err = errno;
  if (keep) {
    std::lock_guard<std::mutex> lk(pidfd_mu_);
    if (pidfds_.size() >= kMaxPidfds) {
      // Drop the dead (their tasks are gone: signal 0 fails with ESRCH).
      for (auto it = pidfds_.begin(); it != pidfds_.end();) {
        if (syscall(SYS_pidfd_send_signal, it->second, 0, nullptr, 0) < 0 && errno == ESRCH) {
          close(it->second);
          it = pidfds_.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (pidfds_.size() < kMaxPidfds && pidfds_.insert({c.tid, pidfd}).second) return dup;
  }
  close(pidfd);
  return dup;
}

void Supervisor::HandleExec(const Call& c) {
  bool at = c.nr == __NR_execveat;
  uint64_t path_ptr = at ? c.args[1] : c.args[0];
  uint64_t argv_ptr = at ? c.args[2] : c.args[1];
  int dirfd = at ? static_cast<int>(c.args[0]) : AT_FDCWD;
  int flags = at ? static_cast<int>(c.args[4]) : 0;
  if (!opts_.exec) return Respond(c.id, 0, true);
  // Whatever happens below, this task may run another program afterwards.
  stable_.Forget(c.tid);

  // The path and argv are read once, here; an unreadable path is answered as
  // the kernel would, so that a racing thread cannot make it readable later.
  std::string path;
  bool fault = false;
  if (!ReadString(c.tid, path_ptr, PATH_MAX, path, &fault)) return Respond(c.id, fault ? EFAULT : ENAMETOOLONG, false);

  // An exec is let go only once recorded; one that netlog's own lookup (as
  // the kernel's, see exec_lookup.h) says cannot succeed is answered here
  // with that errno, so no race and no difference between the two lookups
  // can run a program unrecorded.
  ExecTarget target = LookupExec(c.tid, dirfd, path, flags);
  if (target.internal) {
    errno = target.error;
    return Fail(c, target.what);
  }
  if (target.error != 0) return Respond(c.id, target.error, false);

  Event ev;
  if (!FillEvent(c, Kind::Exec, ev)) return Fail(c, "/proc");
  // A thread that execs takes over its leader's pid.
  stable_.Forget(ev.proc.pid);
  if (!ReadArgv(c.tid, argv_ptr, opts_.argv_max, ev.argv, ev.argv_truncated)) return Respond(c.id, EFAULT, false);
  char link[64];
  snprintf(link, sizeof link, "/proc/%d/cwd", c.tid);
  ev.cwd = ReadLink(link);
  ev.file = std::move(target.file);
  ev.path = std::move(path);
  ev.file_dev = target.dev;
  ev.file_ino = target.ino;
  Hold(std::move(ev), c, Pending{});
}

void Supervisor::HandleConnect(const Call& c) {
  int err = 0;
  int dup = DupFd(c, static_cast<int>(c.args[0]), err);
  if (dup < 0) {
    if (err == EBADF || err == ESRCH) return Respond(c.id, EBADF, false);
    errno = err;
    return Fail(c, "a socket");
  }
  int domain = 0, protocol = 0;
  if (!SockInfo(dup, domain, protocol)) {
    close(dup);
    return Respond(c.id, ENOTSOCK, false);
  }
  bool tcp = IsTcp(protocol);
  uint32_t probe = tcp ? kTcpConnect : kUdpConnect;
  // In block mode every connect is checked, whatever the probes say.
  if (!IsInetTcpUdp(domain, protocol) || (!(probes_.load() & probe) && !egress_.Blocking())) {
    close(dup);
    if (egress_.Blocking() && (domain == AF_INET || domain == AF_INET6)) return Unchecked(c, protocol);
    return Respond(c.id, 0, true);
  }
  int32_t len = static_cast<int32_t>(c.args[2]);
  if (len < 0 || static_cast<size_t>(len) > sizeof(sockaddr_storage)) {
    close(dup);
    return Respond(c.id, EINVAL, false);
  }
  sockaddr_storage addr{};
  if (!ReadMem(c.tid, c.args[1], &addr, static_cast<size_t>(len))) {
    close(dup);
    return Respond(c.id, EFAULT, false);
  }
  socklen_t slen = static_cast<socklen_t>(len);
  // --egress block: decided before the connect is performed (native/egress.cc).
  if (egress_.Blocking() && EgressGate(c, dup, tcp, addr, slen)) return;
  int fl = fcntl(dup, F_GETFL);
  if (tcp && fl >= 0 && !(fl & O_NONBLOCK)) {
    RunBlocking([this, c, dup, addr, slen](BlockingOp* op) { FinishConnect(c, dup, true, addr, slen, op); }, c, dup);
    return;
  }
  FinishConnect(c, dup, tcp, addr, slen, nullptr);
}

void Supervisor::FinishConnect(const Call& c, int dup, bool tcp, const sockaddr_storage& addr,
                               socklen_t len, BlockingOp* op) {
  auto* sa = reinterpret_cast<const sockaddr*>(&addr);
  long r = op ? op->Call([&] { return static_cast<long>(connect(dup, sa, len)); })
              : static_cast<long>(connect(dup, sa, len));
  int err = r < 0 ? errno : 0;
  Pending p;
  p.how = How::Return;
  p.error = AnswerFor(err, op, dup, SO_SNDTIMEO);
  p.fd = dup;
  p.tcp = tcp;
  Event ev;
  bool v6 = false;
  if (!DecodeSockaddr(addr, len, ev.remote, v6)) {
    // AF_UNSPEC (disconnect) or a malformed address: nothing to record.
    close(dup);
    return Respond(c.id, p.error, false);
  }
  if (!FillEvent(c, Kind::Connect, ev)) {
    Disconnect(dup, err);
    close(dup);
    return Fail(c, "/proc");
  }
  ev.tcp = tcp;
  ev.ipv6 = v6;
  ev.has_remote = true;
  bool lv6;
  if (!LocalEndpoint(dup, ev.local, lv6)) ev.local.ip = v6 ? "::" : "0.0.0.0";
  ev.result_errno = err;
  if (tcp && (err == 0 || err == EINPROGRESS)) Track(dup, ev, false);
  Hold(std::move(ev), c, p);
}

void Supervisor::HandleAccept(const Call& c) {
  int err = 0;
  int dup = DupFd(c, static_cast<int>(c.args[0]), err);
  if (dup < 0) {
    if (err == EBADF || err == ESRCH) return Respond(c.id, EBADF, false);
    errno = err;
    return Fail(c, "a socket");
  }
  int domain = 0, protocol = 0;
  if (!SockInfo(dup, domain, protocol)) {
    close(dup);
    return Respond(c.id, ENOTSOCK, false);
  }
  if (!IsInetTcpUdp(domain, protocol) || !IsTcp(protocol) || !(probes_.load() & kTcpAccept)) {
    close(dup);
    return Respond(c.id, 0, true);
  }
  int flags = c.nr == __NR_accept4 ? static_cast<int>(c.args[3]) : 0;
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) {
    close(dup);
    return Respond(c.id, EINVAL, false);
  }
  uint64_t addr = c.args[1], addrlen = c.args[2];
  int32_t user_len = 0;
  if (addr != 0) {
    if (!ReadMem(c.tid, addrlen, &user_len, sizeof user_len)) {
      close(dup);
      return Respond(c.id, EFAULT, false);
    }
    if (user_len < 0) {
      close(dup);
      return Respond(c.id, EINVAL, false);
    }
  }
  // The caller's identity is read at the call: one /proc status read serves
  // the record and the fd-limit check below.
  Event ev;
  if (!FillEvent(c, Kind::Accept, ev)) {
    close(dup);
    return Fail(c, "/proc");
  }
  // accept(2) reserves the new descriptor before it takes a connection; a
  // caller at its fd limit gets EMFILE and the connection stays queued.
  if (!HasFreeFd(c.tid, ev.proc.fd_size)) {
    close(dup);
    return Respond(c.id, EMFILE, false);
  }
  int fl = fcntl(dup, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) {
    RunBlocking([=](BlockingOp* op) mutable { FinishAccept(c, dup, flags, addr, addrlen, user_len, std::move(ev), op); },
                c, dup);
    return;
  }
  FinishAccept(c, dup, flags, addr, addrlen, user_len, std::move(ev), nullptr);
}

void Supervisor::FinishAccept(const Call& c, int dup, int flags, uint64_t addr, uint64_t addrlen,
                              int32_t user_len, Event ev, BlockingOp* op) {
  Pending p;
  p.how = How::AddFd;
  p.addr = addr;
  p.addrlen = addrlen;
  p.user_len = user_len;
  p.peer_len = sizeof p.peer;
  auto* peer = reinterpret_cast<sockaddr*>(&p.peer);
  int aflags = SOCK_CLOEXEC | (flags & SOCK_NONBLOCK);
  long r = op ? op->Call([&] { return static_cast<long>(accept4(dup, peer, &p.peer_len, aflags)); })
              : static_cast<long>(accept4(dup, peer, &p.peer_len, aflags));
  int err = errno;
  int answer = r < 0 ? AnswerFor(err, op, dup, SO_RCVTIMEO) : 0;
  close(dup);
  if (r < 0) return Respond(c.id, answer, false);
  p.fd = static_cast<int>(r);
  p.fd_flags = (flags & SOCK_CLOEXEC) ? O_CLOEXEC : 0;
  bool v6 = false;
  DecodeSockaddr(p.peer, p.peer_len, ev.remote, v6);
  ev.has_remote = true;
  ev.ipv6 = v6;
  LocalEndpoint(p.fd, ev.local, v6);
  ev.result_errno = 0;
  Track(p.fd, ev, true);
  Hold(std::move(ev), c, p);
}

void Supervisor::HandleBind(const Call& c) {
  int err = 0;
  int dup = DupFd(c, static_cast<int>(c.args[0]), err);
  if (dup < 0) {
    if (err == EBADF) return Respond(c.id, EBADF, false);
    errno = err;
    return Fail(c, "a socket");
  }
  int domain = 0, protocol = 0;
  bool ok = SockInfo(dup, domain, protocol);
  close(dup);
  uint32_t probe = IsTcp(protocol) ? kTcpBind : kUdpBind;
  if (!ok || !IsInetTcpUdp(domain, protocol) || !(probes_.load() & probe)) return Respond(c.id, 0, true);
  int32_t len = static_cast<int32_t>(c.args[2]);
  sockaddr_storage addr{};
  Event ev;
  bool v6 = false;
  if (len < 0 || static_cast<size_t>(len) > sizeof addr) return Respond(c.id, EINVAL, false);
  if (!ReadMem(c.tid, c.args[1], &addr, static_cast<size_t>(len))) return Respond(c.id, EFAULT, false);
  // inet_bind() takes AF_UNSPEC with INADDR_ANY as AF_INET.
  auto* sin = reinterpret_cast<sockaddr_in*>(&addr);
  if (domain == AF_INET && addr.ss_family == AF_UNSPEC && static_cast<size_t>(len) >= sizeof(sockaddr_in) &&
      sin->sin_addr.s_addr == htonl(INADDR_ANY))
    addr.ss_family = AF_INET;
  if (!DecodeSockaddr(addr, static_cast<socklen_t>(len), ev.local, v6))
    return Respond(c.id, 0, true);  // the kernel fails it; nothing is bound
  if (!FillEvent(c, Kind::Bind, ev)) return Fail(c, "/proc");
  ev.tcp = IsTcp(protocol);
  ev.ipv6 = v6;
  Hold(std::move(ev), c, Pending{});
}

void Supervisor::HandleClose(const Call& c) {
  int fd = static_cast<int>(c.args[0]);
  char link[64];
  snprintf(link, sizeof link, "/proc/%d/fd/%d", c.tid, fd);
  char target[16];
  ssize_t n = readlink(link, target, sizeof target);
  // The hot path: anything but a socket goes on at once.
  if (n < 7 || memcmp(target, "socket:", 7) != 0) return Respond(c.id, 0, true);
  int err = 0;
  int dup = DupFd(c, fd, err);
  if (dup < 0) {
    if (err == EBADF) return Respond(c.id, 0, true);  // closed meanwhile: the kernel says EBADF
    errno = err;
    return Fail(c, "a socket");
  }
  int domain = 0, protocol = 0;
  Event ev;
  bool record = false, v6 = false;
  uint64_t ino = Inode(dup);
  if (SockInfo(dup, domain, protocol) && IsInetTcpUdp(domain, protocol)) {
    ev.tcp = IsTcp(protocol);
    uint32_t probes = probes_.load();
    bool has_peer = PeerEndpoint(dup, ev.remote, v6);
    bool has_local = LocalEndpoint(dup, ev.local, v6);
    Tracked t;
    bool tracked = Untrack(ino, t);
    // A connection that has ended (TIME_WAIT, reset) no longer has a peer for
    // getpeername, but it had one; a connect that never got through did not.
    if (!has_peer && tracked && (t.accepted || WasEstablished(dup))) {
      ev.remote = t.remote;
      ev.local = t.local;
      has_peer = true;
    }
    ev.accepted = tracked && t.accepted;
    if (ev.tcp)
      record = (probes & kTcpClose) && has_peer;
    else
      record = (probes & kUdpClose) && has_local && ev.local.port != 0;
    ev.has_remote = has_peer;
    ev.ipv6 = v6;
  }
  // The duplicate must be gone before the caller's close goes on, or the
  // connection would outlive it.
  close(dup);
  if (!record) return Respond(c.id, 0, true);
  if (!FillEvent(c, Kind::Close, ev)) return Fail(c, "/proc");
  Hold(std::move(ev), c, Pending{});
}

void Supervisor::Track(int fd, const Event& ev, bool accepted) {
  uint64_t ino = Inode(fd);
  std::lock_guard<std::mutex> lk(tracked_mu_);
  auto ins = tracked_.insert({ino, Tracked{ev.local, ev.remote, accepted}});
  if (ins.second) tracked_order_.push_back(ino);
  // Bounded: sockets that leave without a trapped close() (exit, dup2)
  // would otherwise accumulate.
  while (tracked_order_.size() > 65536) {
    tracked_.erase(tracked_order_.front());
    tracked_order_.pop_front();
  }
}

bool Supervisor::Untrack(uint64_t ino, Tracked& out) {
  std::lock_guard<std::mutex> lk(tracked_mu_);
  auto it = tracked_.find(ino);
  if (it == tracked_.end()) return false;
  out = it->second;
  tracked_.erase(it);
  return true;
}

// Blocking emulations run on worker threads so the supervisor keeps
// answering; the monitor watches the callers for signals meanwhile. Workers
// are kept for reuse: a thread per connect would cost more than the connect.
void Supervisor::RunBlocking(std::function<void(BlockingOp*)> job, const Call& c, int dup) {
  std::unique_lock<std::mutex> lk(pool_mu_);
  jobs_.push_back(Job{std::move(job), c});
  // Every queued job needs a worker of its own: one blocked in accept may
  // never come back for it.
  if (jobs_.size() <= idle_workers_) {
    pool_cv_.notify_one();
    return;
  }
  if (StartThread([this] { WorkerLoop(); })) return;
  // No thread to be had (RLIMIT_NPROC, pids.max shared with the session):
  // the call fails as the kernel fails a call short of resources.
  int err = errno;
  jobs_.pop_back();
  lk.unlock();
  close(dup);
  if (!warned_thread_.exchange(true))
    Warn(std::string("cannot start a worker thread (") + strerror(err) + "); blocking connect/accept answered EAGAIN");
  Respond(c.id, EAGAIN, false);
}

void Supervisor::WorkerLoop() {
  sigset_t set;
  sigfillset(&set);
  sigdelset(&set, kInterruptSignal);
  pthread_sigmask(SIG_SETMASK, &set, nullptr);
  std::unique_lock<std::mutex> lk(pool_mu_);
  for (;;) {
    while (jobs_.empty()) {
      if (ended_.load()) return;
      idle_workers_++;
      pool_cv_.wait(lk);
      idle_workers_--;
    }
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lk.unlock();
    BlockingOp op;
    op.id = job.call.id;
    op.tid = job.call.tid;
    op.worker = pthread_self();
    {
      std::lock_guard<std::mutex> olk(ops_mu_);
      ops_.push_back(&op);
    }
    ops_cv_.notify_one();
    job.run(&op);
    {
      std::lock_guard<std::mutex> olk(ops_mu_);
      for (auto it = ops_.begin(); it != ops_.end(); ++it) {
        if (*it == &op) {
          ops_.erase(it);
          break;
        }
      }
    }
    lk.lock();
  }
}

// With WAIT_KILLABLE_RECV the held caller only wakes for fatal signals, so
// netlog looks for the others itself: a deliverable signal (or the caller's
// death) interrupts the worker, which answers EINTR.
void Supervisor::Monitor() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_lock<std::mutex> lk(ops_mu_);
  // Every op is looked at every `interval`: 2 ms after anything happened,
  // doubling to 32 ms while nothing does (a prefork server idle in accept
  // must not keep a CPU busy reading /proc).
  int interval_ms = 2;
  size_t seen_ops = 0;
  for (;;) {
    if (ops_.empty()) {
      if (ended_.load()) return;
      ops_cv_.wait(lk);
      interval_ms = 2;
      continue;
    }
    bool busy = ops_.size() != seen_ops;
    seen_ops = ops_.size();
    for (BlockingOp* op : ops_) {
      SignalState sig;
      bool alive = ReadSignalState(op->tid, sig) && notif_valid(listener_, op->id);
      int error = EINTR;
      if (alive) {
        if (sig.thread_pending ||
            (sig.shared_pending && (sig.threads == 1 || OnlyThreadFor(sig.tgid, op->tid, sig.shared_mask)))) {
          // The signal is this thread's: the kernel will run its handler on
          // the way out, and restart the call if the handler asks for it.
          error = ERESTARTSYS;
        } else if (sig.shared_pending) {
          // Another thread may take a process-wide signal; only one that
          // stays pending interrupts, and with EINTR: -ERESTARTSYS must
          // never reach a thread with no signal to handle.
          busy = true;
          if (++op->shared_rounds < 2) continue;
        } else if (sig.threads > 1 && OtherThreadStopped(sig.tgid, op->tid)) {
          // A group stop waits for every thread; the held one joins it on
          // its way out and restarts the call on SIGCONT.
          error = ERESTARTSYS;
        } else {
          op->shared_rounds = 0;
          continue;
        }
      }
      busy = true;
      std::lock_guard<std::mutex> olk(op->mu);
      op->interrupted = true;
      op->interrupt_error = error;
      if (op->in_call) pthread_kill(op->worker, kInterruptSignal);
    }
    interval_ms = busy ? 2 : std::min(interval_ms * 2, 32);
    ops_cv_.wait_for(lk, std::chrono::milliseconds(interval_ms));
  }
}

}  // namespace netlog
