// connect, accept, bind and close of inet sockets: connect and accept are
// emulated on a duplicate of the caller's socket (so the address recorded is
// the address used), bind is recorded and let go, close is checked cheaply and
// recorded for inet sockets. See docs/design.md.
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

#include "blocking.h"
#include "kernel.h"
#include "procinfo.h"
#include "record_json.h"
#include "sockets.h"
#include "target_mem.h"

namespace netlog {

namespace {

// fdget() fails on an O_PATH descriptor (EBADF); pidfd_getfd() does not.
bool IsOpath(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && (fl & O_PATH);
}

// move_addr_to_kernel(): the length, then the bytes (none for 0); `otherwise`
// if both are fine.
int AddrError(pid_t tid, uint64_t addr, int32_t len, int otherwise) {
  if (len < 0 || static_cast<size_t>(len) > sizeof(sockaddr_storage)) return EINVAL;
  sockaddr_storage ss;
  if (len > 0 && !ReadMem(tid, addr, &ss, static_cast<size_t>(len))) return EFAULT;
  return otherwise;
}

// The outcome of a connect, at close: established, or why not. A connect
// that failed at once says so itself; one in progress (EINPROGRESS,
// EALREADY, interrupted) ended as the socket tells: its pending error
// (SO_ERROR: ECONNREFUSED, ETIMEDOUT...), a handshake still going on
// (EINPROGRESS), or, when the program has collected the error itself
// (SO_ERROR reads it once), "failed".
// TCP_SYN_SENT and TCP_SYN_RECV of the kernel's tcp_states.h (tcpi_state).
const uint8_t kSynSent = 2, kSynRecv = 3;

std::string ConnectOutcome(int fd, int connect_errno, bool has_peer) {
  if (has_peer || WasEstablished(fd)) return "established";
  if (connect_errno != 0 && connect_errno != EINPROGRESS && connect_errno != EALREADY && connect_errno != EINTR &&
      connect_errno != EAGAIN)
    return ErrnoName(connect_errno);
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0) return ErrnoName(soerr);
  tcp_info ti{};
  len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && (ti.tcpi_state == kSynSent || ti.tcpi_state == kSynRecv))
    return "EINPROGRESS";
  return "failed";
}

}  // namespace

// As move_addr_to_user() (the order seen on Linux 6.18): read the caller's
// length, clamp it to the address, refuse a negative one, store the full
// length, then copy the address. Only into a caller still waiting: its pid
// could otherwise be another process's by now.
int Supervisor::CopyPeerOut(const Call& c, const Pending& p) {
  if (p.addr == 0) return 0;
  if (!notif_valid(listener_, c.id)) return EINTR;
  int32_t len;
  if (!ReadMem(c.tid, p.addrlen, &len, sizeof len)) return EFAULT;
  int32_t full = static_cast<int32_t>(p.peer_len);
  if (len > full) len = full;
  if (len < 0) return EINVAL;
  if (!WriteMem(c.tid, p.addrlen, &full, sizeof full)) return EFAULT;
  if (len > 0 && !WriteMem(c.tid, p.addr, &p.peer, static_cast<size_t>(len))) return EFAULT;
  return 0;
}

// The caller's descriptor args[0], duplicated; -1 when the call has been
// answered already: EBADF for a bad descriptor or an O_PATH one (fdget()
// fails on O_PATH, pidfd_getfd() does not), EACCES when it cannot be read.
// Answered here, not let go, so that no socket can be put in its place
// meanwhile.
int Supervisor::DupCallerFd(const Call& c) {
  int err = 0;
  int dup = DupFd(c, static_cast<int>(c.args[0]), err);
  if (dup < 0) {
    if (err == EBADF || err == ESRCH) {
      Respond(c.id, EBADF, false);
    } else {
      errno = err;
      Fail(c, "a socket");
    }
    return -1;
  }
  if (IsOpath(dup)) {
    close(dup);
    Respond(c.id, EBADF, false);
    return -1;
  }
  return dup;
}

void Supervisor::HandleConnect(const Call& c) {
  // The kernel's order (__sys_connect): the descriptor, the address, then
  // the socket.
  int dup = DupCallerFd(c);
  if (dup < 0) return;
  int domain = 0, protocol = 0;
  if (!SockInfo(dup, domain, protocol)) {
    close(dup);
    return Respond(c.id, AddrError(c.tid, c.args[1], static_cast<int32_t>(c.args[2]), ENOTSOCK), false);
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
  // Read once: what is checked is what is connected to (a second read could
  // see the page changed or gone).
  sockaddr_storage addr{};
  int addr_err = len < 0 || static_cast<size_t>(len) > sizeof addr ? EINVAL
                 : len > 0 && !ReadMem(c.tid, c.args[1], &addr, static_cast<size_t>(len)) ? EFAULT
                                                                                           : 0;
  if (addr_err != 0) {
    close(dup);
    return Respond(c.id, addr_err, false);
  }
  socklen_t slen = static_cast<socklen_t>(len);
  // A record could not be written: no connect is performed until one can
  // (a performed one would have to be dissolved, its handshake already gone).
  // One a second goes through as a probe, so that a log that has room again
  // lets connects go on even in a program that does nothing else.
  if (refuse_connects_.load() && (addr.ss_family == AF_INET || addr.ss_family == AF_INET6)) {
    int64_t now = static_cast<int64_t>(time(nullptr));
    int64_t last = refuse_probe_s_.load();
    if (now == last || !refuse_probe_s_.compare_exchange_strong(last, now)) {
      close(dup);
      return Respond(c.id, EACCES, false);
    }
  }
  // A program under its own Landlock domain connects in it, not in netlog's.
  // So does one under an AppArmor/SELinux label other than netlog-run's.
  if (OwnSandboxConnect(c, dup, tcp, addr, slen)) return;
  // --egress block: decided before the connect is performed (native/egress.cc).
  // An IPv4 socket connects to AF_INET only (tcp_v4_connect, udp): anything
  // else reaches no one and the kernel says why (EAFNOSUPPORT).
  bool reaches = domain != AF_INET || addr.ss_family == AF_INET;
  if (egress_.Blocking() && reaches && EgressGate(c, dup, tcp, addr, slen)) return;
  int fl = fcntl(dup, F_GETFL);
  if (tcp && fl >= 0 && !(fl & O_NONBLOCK)) {
    // Tried without blocking in io_uring first; only a call that cannot
    // take the ring waits on a worker.
    if (RingConnect(c, dup, addr, slen)) return;
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
  ConnectDone(c, dup, tcp, addr, len, op, r < 0 ? errno : 0);
}

void Supervisor::ConnectDone(const Call& c, int dup, bool tcp, const sockaddr_storage& addr, socklen_t len,
                             BlockingOp* op, int err) {
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
  // Failed connects too: their close is recorded, with the failure.
  if (tcp) Track(dup, ev, false);
  Hold(std::move(ev), c, p);
}

void Supervisor::HandleAccept(const Call& c) {
  // The kernel's order (__sys_accept4_file): the descriptor, the flags, a
  // free descriptor, then the socket; the caller's address length is read
  // only once a connection is taken (move_addr_to_user).
  int dup = DupCallerFd(c);
  if (dup < 0) return;
  int flags = c.nr == __NR_accept4 ? static_cast<int>(c.args[3]) : 0;
  int domain = 0, protocol = 0;
  if (!SockInfo(dup, domain, protocol)) {
    close(dup);
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return Respond(c.id, EINVAL, false);
    Identity id;
    bool full = ReadIdentity(c.tid, id) && !HasFreeFd(c.tid, id.fd_size);
    return Respond(c.id, full ? EMFILE : ENOTSOCK, false);
  }
  if (!IsInetTcpUdp(domain, protocol) || !IsTcp(protocol) || !(probes_.load() & kTcpAccept)) {
    close(dup);
    return Respond(c.id, 0, true);
  }
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) {
    close(dup);
    return Respond(c.id, EINVAL, false);
  }
  uint64_t addr = c.args[1], addrlen = c.args[2];
  int32_t user_len = 0;
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
    if (RingAccept(c, dup, flags, addr, addrlen, user_len, ev)) return;
    RunBlocking([=](BlockingOp* op) mutable { FinishAccept(c, dup, flags, addr, addrlen, user_len, std::move(ev), op); },
                c, dup);
    return;
  }
  FinishAccept(c, dup, flags, addr, addrlen, user_len, std::move(ev), nullptr);
}

void Supervisor::FinishAccept(const Call& c, int dup, int flags, uint64_t addr, uint64_t addrlen,
                              int32_t user_len, Event ev, BlockingOp* op) {
  sockaddr_storage peer_ss{};
  socklen_t peer_len = sizeof peer_ss;
  auto* peer = reinterpret_cast<sockaddr*>(&peer_ss);
  int aflags = SOCK_CLOEXEC | (flags & SOCK_NONBLOCK);
  long r = op ? op->Call([&] { return static_cast<long>(accept4(dup, peer, &peer_len, aflags)); })
              : static_cast<long>(accept4(dup, peer, &peer_len, aflags));
  int err = errno;
  AcceptDone(c, dup, flags, addr, addrlen, user_len, std::move(ev), op, r, err, peer_ss, peer_len);
}

void Supervisor::AcceptDone(const Call& c, int dup, int flags, uint64_t addr, uint64_t addrlen, int32_t user_len,
                            Event ev, BlockingOp* op, long r, int err, const sockaddr_storage& peer,
                            socklen_t peer_len) {
  Pending p;
  p.how = How::AddFd;
  p.addr = addr;
  p.addrlen = addrlen;
  p.user_len = user_len;
  p.peer = peer;
  p.peer_len = peer_len;
  int answer = r < 0 ? AnswerFor(err, op, dup, SO_RCVTIMEO) : 0;
  close(dup);
  if (r < 0) return Respond(c.id, answer, false);
  p.fd = static_cast<int>(r);
  p.fd_flags = (flags & SOCK_CLOEXEC) ? O_CLOEXEC : 0;
  // The peer's address goes to the caller now, as the kernel's does before
  // the descriptor is installed: a fault drops the connection it took.
  if (int e = CopyPeerOut(c, p)) {
    close(p.fd);
    return Respond(c.id, e, false);
  }
  p.addr = 0;
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
  // No such descriptor (ENOENT): the kernel answers EBADF. ENAMETOOLONG: a
  // file whose path is longer than PATH_MAX, not a socket ("socket:[N]").
  // Any other failure (EACCES: a process that made itself undumpable, read
  // by an unprivileged supervisor) leaves it unknown whether a socket
  // closes: refused, as every call netlog cannot inspect is.
  if (n < 0 && errno != ENOENT && errno != ENAMETOOLONG) return Fail(c, "/proc");
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
    bool connected_here = tracked && !t.accepted;
    if (ev.tcp && connected_here) {
      ev.outcome = ConnectOutcome(dup, t.connect_errno, has_peer);
      if (!has_peer) {
        // Where it tried to go, as its connect record says.
        ev.remote = t.remote;
        if (!has_local || ev.local.port == 0) ev.local = t.local;
        has_peer = true;
      }
    }
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
  // A socket may connect again after a failed attempt: the last one counts;
  // but a connect refused because the socket is connected or connecting
  // already (EISCONN, EALREADY) leaves the connection it has.
  Tracked t{ev.local, ev.remote, accepted, ev.result_errno < 0 ? 0 : ev.result_errno};
  auto ins = tracked_.insert({ino, t});
  if (ins.second) tracked_order_.push_back(ino);
  else if (ev.result_errno != EISCONN && ev.result_errno != EALREADY) ins.first->second = t;
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
}  // namespace netlog
