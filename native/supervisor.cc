// Answering each trapped syscall (see docs/design.md "Answering"):
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

#include "blocking.h"
#include "exec_lookup.h"
#include "kernel.h"
#include "procinfo.h"
#include "sockets.h"
#include "target_mem.h"

namespace netlog {

namespace {

const unsigned kPidfdThread = O_EXCL;  // PIDFD_THREAD (6.9+)
// Kept pidfds count against netlog-run's own fd limit: a few hundred only.
const size_t kMaxPidfds = 256;

int64_t NowUs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace

Supervisor::Supervisor(int listener, const SupervisorOptions& opts, std::function<void(Supervisor*)> post)
    : Supervisor(std::make_unique<KernelListener>(listener), opts, std::move(post)) {}

Supervisor::Supervisor(std::unique_ptr<SeccompListener> listener, const SupervisorOptions& opts,
                       std::function<void(Supervisor*)> post)
    : listener_owned_(std::move(listener)), listener_(listener_owned_.get()), opts_(opts), probes_(opts.probes),
      post_(std::move(post)) {}

bool Supervisor::Start() {
  // Connects and accepts that would block wait in the ring; the engine takes
  // their completions between notifications (OnRing).
  static std::atomic<bool> warned_ring{false};
  if (!ring_.Init(64, 16384) && !warned_ring.exchange(true))
    Warn(std::string("io_uring is not available (") + strerror(errno) +
         "); each blocking connect/accept is handed to a worker thread");
  return StartThread([this] { Monitor(); });
}

int Supervisor::RingFd() const { return ring_.Ready() ? ring_.Fd() : -1; }

void Supervisor::OnRing() {
  if (ring_.Ready()) RingDrain();
}

void Supervisor::Push(Message&& m) {
  bool post = false;
  {
    std::lock_guard<std::mutex> lk(queue_mu_);
    if (closed_.load()) return;  // nobody reads the queue any more
    queue_.push_back(std::move(m));
    if (!posted_) posted_ = post = true;
  }
  if (post) {
    // Never after Close(): the callback behind post_ is released then.
    std::lock_guard<std::mutex> lk(post_mu_);
    if (!closed_.load()) post_(this);
  }
}

void Supervisor::Close() {
  {
    std::lock_guard<std::mutex> lk(post_mu_);
    closed_.store(true);
  }
  // What is held will never be answered by JS: connects netlog performed
  // are dissolved, accepted connections dropped (the callers get ENOSYS
  // once the listener is closed).
  std::unordered_map<uint32_t, Pending> held;
  {
    std::lock_guard<std::mutex> lk(pending_mu_);
    held.swap(pending_);
  }
  for (auto& [token, p] : held) Drop(p);
}

// A held call that will not be answered as recorded: its duplicate goes, a
// connect it performed is undone and forgotten (its close has no connection
// to report).
void Supervisor::Drop(const Pending& p) {
  if (p.fd < 0) return;
  if (p.how == How::Return) {
    Disconnect(p.fd, p.error);
    Tracked gone;
    Untrack(Inode(p.fd), gone);
  }
  close(p.fd);
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

// Notifications handled per wake-up of the engine before it looks at the
// other sessions again.
const int kMaxBatch = 64;

bool Supervisor::OnReadable(short revents) {
  if (notif_buf_.empty()) {
    seccomp_notif_sizes sizes{};
    size_t notif_size = sizeof(seccomp_notif);
    if (sys_seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0 && sizes.seccomp_notif > notif_size)
      notif_size = sizes.seccomp_notif;
    notif_buf_.resize(notif_size);
  }
  auto* notif = reinterpret_cast<seccomp_notif*>(notif_buf_.data());
  // The engine's poll answered for the first round; later rounds ask again,
  // without waiting, so that RECV never blocks.
  for (int handled = 0;; revents = 0) {
    if (handled == kMaxBatch) return true;  // the rest on the engine's next round
    if (revents == 0) {
      pollfd pfd{listener_->fd(), POLLIN, 0};
      int r = poll(&pfd, 1, 0);
      if (r < 0 && errno == EINTR) continue;
      // EINVAL: RLIMIT_NOFILE below 1 (see JsEngine::EpollWait); the
      // engine's next round asks again.
      if (r == 0 || (r < 0 && errno == EINVAL)) return true;
      revents = r < 0 ? POLLERR : pfd.revents;
    }
    if (!(revents & POLLIN)) break;  // POLLHUP: no task uses the filter any more
    memset(notif, 0, notif_buf_.size());
    if (listener_->Recv(notif) < 0) {
      // ENOENT: the caller went away between poll and receive.
      if (errno == EINTR || errno == ENOENT) continue;
      Warn(std::string("SECCOMP_IOCTL_NOTIF_RECV: ") + strerror(errno));
      break;
    }
    handled++;
    Handle(*notif);
  }
  EndSession();
  return false;
}

// What a session keeps goes with it: netlogd keeps the Supervisor object for
// its life, not its descriptors (engine thread).
void Supervisor::ReleaseKept() {
  RingEnd();
  landlock_.Stop();
  stable_.Close();
  {
    std::lock_guard<std::mutex> lk(pidfd_mu_);
    for (auto& [tid, fd] : pidfds_) close(fd);
    pidfds_.clear();
  }
  std::lock_guard<std::mutex> lk(tracked_mu_);
  tracked_.clear();
  tracked_order_.clear();
}

void Supervisor::Detach() {
  ended_.store(true);
  ReleaseKept();
  { std::lock_guard<std::mutex> lk(ops_mu_); }
  ops_cv_.notify_all();
  { std::lock_guard<std::mutex> lk(pool_mu_); }
  pool_cv_.notify_all();
}

void Supervisor::EndSession() {
  if (ended_.exchange(true)) return;
  ReleaseKept();
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
  // ENOENT: the caller was killed meanwhile; nothing to answer.
  if (cont) {
    listener_->Continue(id);
  } else {
    listener_->Error(id, error);
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
    case __NR_execveat:
      // A Landlock domain outlives the parent it came from: marked here, the
      // process stays sandboxed for netlog when reparented (landlock_marks.h).
      landlock_.Find(c.tid);
      return HandleExec(c);
    case __NR_landlock_restrict_self: return HandleLandlockRestrict(c);
    case __NR_landlock_create_ruleset: return HandleLandlockCreate(c);
    case __NR_connect: return HandleConnect(c);
    case __NR_accept:
    case __NR_accept4: return HandleAccept(c);
    case __NR_bind: return HandleBind(c);
    case __NR_close: return HandleClose(c);
    case __NR_sendto:
    case __NR_sendmsg:
    case __NR_sendmmsg: return HandleSend(c);
    // A credential change of the caller's own thread (a raw syscall changes
    // one thread; glibc makes each thread call it): what is cached of the
    // thread is read anew at its next record.
    case __NR_setuid:
    case __NR_setgid:
    case __NR_setreuid:
    case __NR_setregid:
    case __NR_setresuid:
    case __NR_setresgid:
      stable_.Forget(c.tid);
      return Respond(c.id, 0, true);
    default: return Respond(c.id, 0, true);
  }
}

bool Supervisor::FillEvent(const Call& c, Kind kind, Event& ev, unsigned extra) {
  ev.kind = kind;
  ev.realtime_us = c.realtime_us;
  ev.boottime_us = c.boottime_us;
  // The cache is sound only while execs and set*id calls are trapped (the
  // filter traps set*id whenever it traps exec). FDSize is read for accept's
  // fd-limit check only.
  unsigned flags = kind == Kind::Accept ? unsigned{kReadFdSize} : kind == Kind::Exec ? unsigned{kReadExec} : 0u;
  return ReadIdentity(c.tid, ev.proc, opts_.exec ? &stable_ : nullptr, flags | extra);
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
  // The caller's socket may be shared with another process: a connect netlog
  // performed and cannot record is dissolved, not left to complete unrecorded.
  if (!notif_valid(listener_, c.id)) return Drop(p);
  p.id = c.id;
  p.tid = c.tid;
  Message m;
  {
    std::lock_guard<std::mutex> lk(pending_mu_);
    if (closed_.load()) return Drop(p);  // netlogd closed the session meanwhile
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
      // For the program this connect never happened: its close has no
      // connection to report (and must not be refused for want of a record).
      Drop(p);
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
      int r = AddFdAndAnswer(p.id, p.fd, p.fd_flags);
      int e = errno;
      close(p.fd);
      if (r < 0 && e != ENOENT) Respond(p.id, e, false);  // ENOENT: the caller is gone
      return;
    }
  }
}

// The fd first, then the answer with its number: two ioctls, not one ADDFD
// with SECCOMP_ADDFD_FLAG_SEND. SEND marks the call answered before ADDFD
// waits for the caller to take the fd, and anything that interrupts that
// wait withdraws the fd but not the answer: the caller's accept would return
// 0 with no fd (and the program then closes its fd 0). Not only a signal
// interrupts it: an io_uring completion's task work (TIF_NOTIFY_SIGNAL) does,
// and netlog-run's engine, the JS thread, owns the ring of blocking calls.
// Without SEND an interrupted ADDFD is taken back whole and restarted by the
// kernel. The caller's fd, or -1 with errno (ENOENT: the caller is gone).
int Supervisor::AddFdAndAnswer(uint64_t id, int srcfd, uint32_t newfd_flags) {
  seccomp_notif_addfd addfd{};
  addfd.id = id;
  addfd.srcfd = static_cast<uint32_t>(srcfd);
  addfd.newfd_flags = newfd_flags;
  int r;
  while ((r = listener_->AddFd(addfd)) < 0 && errno == EINTR) {
  }
  if (r >= 0) RespondValue(id, r);
  return r;
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
  unsigned extra = 0;
  if (target.have_ids) {
    // The lookup read them from the caller's status a moment ago.
    ev.proc.pid = target.tgid;
    ev.proc.uid = target.uid;
    ev.proc.gid = target.gid;
    ev.proc.euid = target.euid;
    ev.proc.egid = target.egid;
    extra = kHaveIds;
  }
  if (!FillEvent(c, Kind::Exec, ev, extra)) return Fail(c, "/proc");
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

}  // namespace netlog
