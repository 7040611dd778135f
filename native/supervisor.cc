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

#include "kernel.h"
#include "procinfo.h"
#include "target_mem.h"

namespace netlog {

namespace {

const int kInterruptSignal = SIGRTMAX - 3;
// The kernel's internal "restart if the handler has SA_RESTART" errno; it is
// turned into EINTR or a restart on the way back to user space.
const int ERESTARTSYS = 512;
void OnInterrupt(int) {}

int64_t NowUs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

bool IsExecutableBy(const struct stat& st, const Identity& id) {
  if (!S_ISREG(st.st_mode)) return false;
  if (id.fsuid == 0) return (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
  if (st.st_uid == id.fsuid) return (st.st_mode & S_IXUSR) != 0;
  bool in_group = st.st_gid == id.fsgid;
  for (uint32_t g : id.groups) in_group = in_group || g == st.st_gid;
  return (st.st_mode & (in_group ? S_IXGRP : S_IXOTH)) != 0;
}

// Looks `file` (absolute) up through the caller's root (/proc/TID/root), so
// a chrooted caller's file is found where it would be.
bool StatInRoot(pid_t tid, const std::string& file, struct stat& st) {
  char prefix[48];
  snprintf(prefix, sizeof prefix, "/proc/%d/root", tid);
  std::string path = prefix + file;
  return stat(path.c_str(), &st) == 0;
}

std::string JoinPath(const std::string& base, const std::string& rel) {
  std::string out = base;
  size_t i = 0;
  // Drop leading "./" components, which the kernel resolves to the base itself.
  while (rel.compare(i, 2, "./") == 0) {
    i += 2;
    while (i < rel.size() && rel[i] == '/') i++;
  }
  if (out.empty() || out.back() != '/') out += '/';
  out.append(rel, i, std::string::npos);
  return out;
}

bool SockInfo(int fd, int& domain, int& protocol) {
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) return false;
  len = sizeof protocol;
  return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0;
}

bool IsInetTcpUdp(int domain, int protocol) {
  return (domain == AF_INET || domain == AF_INET6) &&
         (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP);
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

int Supervisor::AnswerFor(int err, BlockingOp* op, int fd, int timeo_opt) {
  if (err != EINTR || !op || !op->interrupted) return err;
  if (op->interrupt_error != ERESTARTSYS) return op->interrupt_error;
  timeval tv{};
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, timeo_opt, &tv, &len) == 0 && (tv.tv_sec != 0 || tv.tv_usec != 0)) return EINTR;
  return ERESTARTSYS;
}

Supervisor::Supervisor(int listener, const SupervisorOptions& opts, std::function<void(Supervisor*)> post)
    : listener_(listener), opts_(opts), probes_(opts.probes), post_(std::move(post)) {}

void Supervisor::Start() {
  thread_ = std::thread([this] { Run(); });
  thread_.detach();
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
    default: return Respond(c.id, 0, true);
  }
}

bool Supervisor::FillEvent(const Call& c, Kind kind, Event& ev) {
  ev.kind = kind;
  ev.realtime_us = c.realtime_us;
  ev.boottime_us = c.boottime_us;
  return ReadIdentity(c.tid, ev.proc, opts_.exec ? &stable_ : nullptr);
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
      if (p.how == How::Return && p.error == 0) {
        sockaddr sa{};
        sa.sa_family = AF_UNSPEC;
        connect(p.fd, &sa, sizeof sa);
      }
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

// Duplicates the caller's fd. pidfds of thread-group leaders are kept: a
// leader's pid cannot be reused while its group lives, so a kept pidfd is
// either the caller's process or a dead one (ESRCH: opened anew).
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
  pidfd = sys_pidfd_open(c.tid);
  bool leader = pidfd >= 0;
  if (pidfd < 0 && (errno == EINVAL || errno == ENOENT)) {
    // Not a thread-group leader (EINVAL before 6.9, ENOENT since): the fd
    // table is the thread group's.
    Identity id;
    if (ReadIdentity(c.tid, id)) pidfd = sys_pidfd_open(id.pid);
  }
  if (pidfd < 0) {
    err = errno;
    return -1;
  }
  int dup = sys_pidfd_getfd(pidfd, fd);
  err = errno;
  if (leader) {
    std::lock_guard<std::mutex> lk(pidfd_mu_);
    if (pidfds_.size() >= 4096) {
      for (auto& kv : pidfds_) close(kv.second);
      pidfds_.clear();
    }
    auto ins = pidfds_.insert({c.tid, pidfd});
    if (!ins.second) close(pidfd);
  } else {
    close(pidfd);
  }
  return dup;
}

void Supervisor::HandleExec(const Call& c) {
  bool at = c.nr == __NR_execveat;
  uint64_t path_ptr = at ? c.args[1] : c.args[0];
  uint64_t argv_ptr = at ? c.args[2] : c.args[1];
  int dirfd = at ? static_cast<int>(c.args[0]) : AT_FDCWD;
  int flags = at ? static_cast<int>(c.args[4]) : 0;
  if (!opts_.exec) return Respond(c.id, 0, true);

  // The path and argv are read once, here; an unreadable path is answered as
  // the kernel would, so that a racing thread cannot make it readable later.
  std::string path;
  if (!ReadString(c.tid, path_ptr, PATH_MAX, path)) {
    char first;
    return Respond(c.id, ReadMem(c.tid, path_ptr, &first, 1) ? ENAMETOOLONG : EFAULT, false);
  }
  char link[64];
  std::string file;
  if (path.empty() && (flags & AT_EMPTY_PATH)) {
    snprintf(link, sizeof link, "/proc/%d/fd/%d", c.tid, dirfd);
    file = ReadLink(link);
  } else if (!path.empty() && path[0] == '/') {
    file = path;
  } else if (path.empty()) {
    return Respond(c.id, 0, true);  // ENOENT from the kernel, nothing ran
  } else {
    if (dirfd == AT_FDCWD)
      snprintf(link, sizeof link, "/proc/%d/cwd", c.tid);
    else
      snprintf(link, sizeof link, "/proc/%d/fd/%d", c.tid, dirfd);
    std::string base = ReadLink(link);
    if (base.empty()) return Respond(c.id, 0, true);
    file = JoinPath(base, path);
  }
  if (file.empty()) return Respond(c.id, 0, true);

  struct stat st;
  bool found = (path.empty() && (flags & AT_EMPTY_PATH)) ? stat(link, &st) == 0
                                                           : StatInRoot(c.tid, file, st);
  // glibc's execvp tries each PATH entry: failed attempts are not execs.
  if (!found) return Respond(c.id, 0, true);

  Event ev;
  if (!FillEvent(c, Kind::Exec, ev)) return;
  // Once this exec goes on, the process may have another program (and a
  // thread that execs takes over its leader's pid).
  stable_.Forget(c.tid);
  stable_.Forget(ev.proc.pid);
  if (!IsExecutableBy(st, ev.proc)) return Respond(c.id, 0, true);
  if (!ReadArgv(c.tid, argv_ptr, opts_.argv_max, ev.argv, ev.argv_truncated))
    return Respond(c.id, EFAULT, false);
  snprintf(link, sizeof link, "/proc/%d/cwd", c.tid);
  ev.cwd = ReadLink(link);
  ev.file = std::move(file);
  Hold(std::move(ev), c, Pending{});
}

void Supervisor::HandleConnect(const Call& c) {
  int err = 0;
  int dup = DupFd(c, static_cast<int>(c.args[0]), err);
  if (dup < 0) {
    if (err == EBADF || err == ESRCH) return Respond(c.id, EBADF, false);
    if (!warned_getfd_.exchange(true))
      Warn(std::string("cannot duplicate a supervised socket (pidfd_getfd: ") + strerror(err) +
           "); connects are refused");
    return Respond(c.id, EACCES, false);
  }
  int domain = 0, protocol = 0;
  if (!SockInfo(dup, domain, protocol)) {
    close(dup);
    return Respond(c.id, ENOTSOCK, false);
  }
  bool tcp = protocol == IPPROTO_TCP;
  uint32_t probe = tcp ? kTcpConnect : kUdpConnect;
  if (!IsInetTcpUdp(domain, protocol) || !(probes_.load() & probe)) {
    close(dup);
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
  int fl = fcntl(dup, F_GETFL);
  if (tcp && fl >= 0 && !(fl & O_NONBLOCK)) {
    RunBlocking([this, c, dup, addr, slen](BlockingOp* op) { FinishConnect(c, dup, true, addr, slen, op); }, c);
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
    return Respond(c.id, err, false);
  }
  if (!FillEvent(c, Kind::Connect, ev)) {
    close(dup);
    return;
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
    return Respond(c.id, EACCES, false);
  }
  int domain = 0, protocol = 0;
  if (!SockInfo(dup, domain, protocol)) {
    close(dup);
    return Respond(c.id, ENOTSOCK, false);
  }
  if (!IsInetTcpUdp(domain, protocol) || protocol != IPPROTO_TCP || !(probes_.load() & kTcpAccept)) {
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
  // accept(2) reserves the new descriptor before it takes a connection; a
  // caller at its fd limit gets EMFILE and the connection stays queued.
  if (!HasFreeFd(c.tid)) {
    close(dup);
    return Respond(c.id, EMFILE, false);
  }
  int fl = fcntl(dup, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) {
    RunBlocking([=](BlockingOp* op) { FinishAccept(c, dup, flags, addr, addrlen, user_len, op); }, c);
    return;
  }
  FinishAccept(c, dup, flags, addr, addrlen, user_len, nullptr);
}

void Supervisor::FinishAccept(const Call& c, int dup, int flags, uint64_t addr, uint64_t addrlen,
                              int32_t user_len, BlockingOp* op) {
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
  Event ev;
  if (!FillEvent(c, Kind::Accept, ev)) {
    close(p.fd);
    return;
  }
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
  if (dup < 0) return Respond(c.id, 0, true);
  int domain = 0, protocol = 0;
  bool ok = SockInfo(dup, domain, protocol);
  close(dup);
  uint32_t probe = protocol == IPPROTO_TCP ? kTcpBind : kUdpBind;
  if (!ok || !IsInetTcpUdp(domain, protocol) || !(probes_.load() & probe)) return Respond(c.id, 0, true);
  int32_t len = static_cast<int32_t>(c.args[2]);
  sockaddr_storage addr{};
  Event ev;
  bool v6 = false;
  if (len < 0 || static_cast<size_t>(len) > sizeof addr || !ReadMem(c.tid, c.args[1], &addr, static_cast<size_t>(len)) ||
      !DecodeSockaddr(addr, static_cast<socklen_t>(len), ev.local, v6))
    return Respond(c.id, 0, true);  // the kernel fails it; nothing is bound
  if (!FillEvent(c, Kind::Bind, ev)) return;
  ev.tcp = protocol == IPPROTO_TCP;
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
  if (dup < 0) return Respond(c.id, 0, true);
  int domain = 0, protocol = 0;
  Event ev;
  bool record = false, v6 = false;
  uint64_t ino = Inode(dup);
  if (SockInfo(dup, domain, protocol) && IsInetTcpUdp(domain, protocol)) {
    ev.tcp = protocol == IPPROTO_TCP;
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
  if (!FillEvent(c, Kind::Close, ev)) return;
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
void Supervisor::RunBlocking(std::function<void(BlockingOp*)> job, const Call& c) {
  {
    std::lock_guard<std::mutex> lk(ops_mu_);
    if (!monitor_started_) {
      monitor_started_ = true;
      std::thread([this] { Monitor(); }).detach();
    }
  }
  std::lock_guard<std::mutex> lk(pool_mu_);
  jobs_.push_back(Job{std::move(job), c});
  // Every queued job needs a worker of its own: one blocked in accept may
  // never come back for it.
  if (jobs_.size() > idle_workers_) {
    std::thread([this] { WorkerLoop(); }).detach();
  } else {
    pool_cv_.notify_one();
  }
}

void Supervisor::WorkerLoop() {
  sigset_t set;
  sigfillset(&set);
  sigdelset(&set, kInterruptSignal);
  pthread_sigmask(SIG_SETMASK, &set, nullptr);
  std::unique_lock<std::mutex> lk(pool_mu_);
  for (;;) {
    while (jobs_.empty()) {
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
  for (;;) {
    if (ops_.empty()) {
      ops_cv_.wait(lk);
      continue;
    }
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
          if (++op->shared_rounds < 2) continue;
        } else {
          op->shared_rounds = 0;
          continue;
        }
      }
      std::lock_guard<std::mutex> olk(op->mu);
      op->interrupted = true;
      op->interrupt_error = error;
      if (op->in_call) pthread_kill(op->worker, kInterruptSignal);
    }
    ops_cv_.wait_for(lk, std::chrono::milliseconds(2));
  }
}

}  // namespace netlog
