// See landlock_marks.h. The ancestry is read from /proc/PID/stat (ppid) and
// each process is named by the inode of a pidfd of it (pidfs, 6.9+), which
// no later process shares.
#include "landlock_marks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <functional>
#include <memory>
#include <string>

#include "kernel.h"
#include "procinfo.h"
#include "sockets.h"
#include "supervisor.h"
#include "target_mem.h"

namespace netlog {

namespace {

pid_t TgidOf(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  std::string s;
  if (!ReadSmallFile(path, s)) return -1;
  size_t at = s.find("\nTgid:");
  return at == std::string::npos ? -1 : static_cast<pid_t>(atoi(s.c_str() + at + 6));
}

pid_t PpidOf(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  std::string s;
  if (!ReadSmallFile(path, s)) return -1;
  // The command name may hold anything, ')' included: the state follows the last one.
  size_t close_paren = s.rfind(')');
  if (close_paren == std::string::npos || close_paren + 4 > s.size()) return -1;
  int ppid = -1;
  if (sscanf(s.c_str() + close_paren + 2, "%*c %d", &ppid) != 1) return -1;
  return ppid;
}

const unsigned kPidfdThread = O_EXCL;  // PIDFD_THREAD (6.9+)

// 0 when the process is gone.
uint64_t InoOf(pid_t pid, unsigned flags = 0) {
  int fd = sys_pidfd_open(pid, flags);
  if (fd < 0) return 0;
  struct stat st;
  uint64_t ino = fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
  close(fd);
  return ino;
}

// Whether the task has no_new_privs or CAP_SYS_ADMIN (proc(5): NoNewPrivs,
// CapEff); true when unreadable.
bool MayRestrictSelf(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  std::string s;
  if (!ReadSmallFile(path, s)) return true;
  size_t nnp = s.find("\nNoNewPrivs:");
  size_t cap = s.find("\nCapEff:");
  if (nnp == std::string::npos || cap == std::string::npos) return true;
  if (atoi(s.c_str() + nnp + 12) != 0) return true;
  unsigned long long eff = strtoull(s.c_str() + cap + 8, nullptr, 16);
  return (eff >> 21) & 1;  // CAP_SYS_ADMIN
}

// Bound of LandlockMarks::known_.
const size_t kMaxKnown = 4096;

}  // namespace

class LandlockMarks::Shadow {
 public:
  // Set by the thread that created it, before Spawn reads them.
  pthread_t thread{};
  bool started = false;
  // Ends the thread and waits for it (engine thread; never from the shadow's own).
  void Join() {
    Stop();
    if (started) pthread_join(thread, nullptr);
    started = false;
  }
  // Runs fn on the shadow's thread and waits for it.
  void Run(const std::function<void()>& fn) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [this] { return job_ == nullptr || stop_; });
    if (stop_) return;
    job_ = &fn;
    cv_.notify_all();
    cv_.wait(lk, [this] { return job_ == nullptr || stop_; });
  }
  void Loop() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      cv_.wait(lk, [this] { return job_ != nullptr || stop_; });
      if (stop_) return;
      (*job_)();
      job_ = nullptr;
      cv_.notify_all();
    }
  }
  void Stop() {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  // A domain never changes once made: its answer for a kind of socket and a
  // port is asked once (bounded; forgotten all at once when full).
  bool Cached(uint64_t key, int& verdict) {
    std::lock_guard<std::mutex> lk(cache_mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) return false;
    verdict = it->second;
    return true;
  }
  void Remember(uint64_t key, int verdict) {
    std::lock_guard<std::mutex> lk(cache_mu_);
    if (cache_.size() >= 4096) cache_.clear();
    cache_[key] = verdict;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void()>* job_ = nullptr;
  bool stop_ = false;
  std::mutex cache_mu_;
  std::unordered_map<uint64_t, int> cache_;
};

void LandlockMarks::Add(uint64_t ino, Layer m) {
  std::lock_guard<std::mutex> lk(mu_);
  marked_[ino].push_back(m);
  if (m.after < lowest_.load()) lowest_.store(m.after);
  any_.store(true, std::memory_order_release);
}

void LandlockMarks::KeepRuleset(int fd, bool handles_net) {
  std::lock_guard<std::mutex> lk(mu_);
  // A ruleset dropped here is no longer known: it then counts as restricting
  // the network, which costs only the emulation.
  if (rulesets_.size() >= 64) {
    close(rulesets_.front().fd);
    rulesets_.pop_front();
  }
  rulesets_.push_back({fd, handles_net});
}

bool LandlockMarks::MayRestrictNet(int fd) {
  std::lock_guard<std::mutex> lk(mu_);
  pid_t self = getpid();
  for (const Ruleset& r : rulesets_)
    if (syscall(SYS_kcmp, self, self, KCMP_FILE, fd, r.fd) == 0) return r.net;
  return true;  // made elsewhere, or kcmp(2) unavailable
}

LandlockMarks::Shadow* LandlockMarks::Spawn(Shadow* parent, int ruleset, uint64_t& after) {
  struct Start {
    std::mutex mu;
    std::condition_variable cv;
    bool ready = false;
    int err = 0;
    uint64_t ino = 0;
  };
  auto st = std::make_shared<Start>();
  auto* shadow = new Shadow;
  // The thread is created by the parent shadow's thread, so that it starts
  // in that domain; no_new_privs (which landlock_restrict_self needs without
  // CAP_SYS_ADMIN) is a per-thread flag: netlog's other threads keep theirs.
  std::function<void()> start = [st, shadow, ruleset] {
    bool ok = StartThread([st, shadow, ruleset] {
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, nullptr);
      int err = 0;
      // LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF (ABI 7): the probes' denials
      // are not the program's, and are not audited.
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
          (syscall(SYS_landlock_restrict_self, ruleset, 1U) < 0 &&
           (errno != EINVAL || syscall(SYS_landlock_restrict_self, ruleset, 0U) < 0)))
        err = errno;
      uint64_t ino = InoOf(static_cast<pid_t>(syscall(SYS_gettid)), kPidfdThread);
      {
        std::lock_guard<std::mutex> lk(st->mu);
        st->ready = true;
        st->err = err;
        st->ino = ino;
      }
      st->cv.notify_all();
      if (err == 0) shadow->Loop();
    }, &shadow->thread);
    shadow->started = ok;
    if (!ok) {
      std::lock_guard<std::mutex> lk(st->mu);
      st->ready = true;
      st->err = errno ? errno : EAGAIN;
      st->cv.notify_all();
    }
  };
  if (parent) parent->Run(start);
  else start();
  std::unique_lock<std::mutex> lk(st->mu);
  st->cv.wait(lk, [&] { return st->ready; });
  if (st->err != 0) {
    shadow->Join();  // its thread, if any, returns without looping
    delete shadow;
    return nullptr;
  }
  if (st->ino != 0) after = st->ino;
  return shadow;
}

bool LandlockMarks::Mark(pid_t tid, SeccompListener* listener, uint64_t notif_id, int ruleset) {
  // Before pidfs (6.9), pidfds share one inode and name no process: on 6.7
  // and 6.8 (network rules, no pidfs) every process counts as sandboxed by a
  // domain netlog cannot reproduce.
  static const bool pidfs = [] {
    int fd = sys_pidfd_open(getpid(), 0);
    struct statfs sf;
    bool yes = fd >= 0 && fstatfs(fd, &sf) == 0 && static_cast<uint64_t>(sf.f_type) == 0x50494446;  // PID_FS_MAGIC
    if (fd >= 0) close(fd);
    return yes;
  }();
  if (!pidfs) {
    everyone_.store(true);
    any_.store(true, std::memory_order_release);
    return true;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopped_) return true;  // the session is over: Find answers "unknown" (no shadow is made)
  }
  pid_t pid = TgidOf(tid);
  uint64_t ino = pid > 0 ? InoOf(pid) : 0;
  // The pid may have been reused since the notification: only a caller still
  // waiting proves the number is its process's.
  if (ino == 0 || !notif_valid(listener, notif_id)) return false;
  Domain before = Find(tid);
  // Without a shadow, "after" is the process itself: children forked before
  // the call count as sandboxed too, which only makes them let go.
  uint64_t after = ino;
  Shadow* shadow = nullptr;
  bool room;
  {
    std::lock_guard<std::mutex> lk(mu_);
    room = shadows_.size() < 64;
  }
  // The probe relies on connect rules by port alone, as up to ABI 7; a newer
  // kernel's rules may decide otherwise.
  static const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U);
  if (ruleset >= 0 && room && abi <= 7 && (!before.sandboxed || before.shadow)) {
    shadow = Spawn(before.shadow, ruleset, after);
    if (shadow) {
      std::lock_guard<std::mutex> lk(mu_);
      shadows_.push_back(shadow);
    }
  }
  Add(ino, {after, shadow});
  // A new domain, and a new `lowest_`, may change what a walk answers for
  // any process of the session: the answers kept are asked again.
  std::lock_guard<std::mutex> lk(mu_);
  known_.clear();
  return true;
}

LandlockMarks::Domain LandlockMarks::Find(pid_t tid) {
  if (!Any()) return {};
  if (everyone_.load()) return {true, nullptr};
  // The thread's own pidfs inode names it for good: an answer kept for it
  // is still its answer (see known_).
  uint64_t thread = InoOf(tid, kPidfdThread);
  if (thread != 0) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = known_.find(thread);
    if (it != known_.end()) return it->second;
  }
  bool keep = true;
  Domain d = Walk(tid, keep);
  if (thread != 0 && keep) {
    std::lock_guard<std::mutex> lk(mu_);
    if (known_.size() >= kMaxKnown) known_.clear();
    known_[thread] = d;
  }
  return d;
}

LandlockMarks::Domain LandlockMarks::Walk(pid_t tid, bool& keep) {
  // Whatever cannot be read counts as sandboxed by a domain netlog cannot
  // reproduce: such connects are let go (or refused under --egress block).
  Domain unknown{true, nullptr};
  pid_t pid = TgidOf(tid);
  uint64_t self = pid > 0 ? InoOf(pid) : 0;
  if (self == 0) {
    keep = false;  // gone, or unreadable for now: asked again next time
    return unknown;
  }
  pid_t cur = pid;
  uint64_t cur_ino = self;
  uint64_t child = UINT64_MAX;  // the process below cur on the chain
  const pid_t reaper = getpid();  // netlog-run is the session's subreaper
  for (int depth = 0; depth < 256; depth++) {
    // Created before every mark: nothing it inherited was marked.
    if (child <= lowest_.load()) return {};
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = marked_.find(cur_ino);
      if (it != marked_.end()) {
        // The latest domain cur had when the child was made.
        for (auto m = it->second.rbegin(); m != it->second.rend(); ++m) {
          if (m->after < child) {
            Domain d{true, m->shadow};
            if (cur != pid) {
              marked_[self].push_back({self, d.shadow});
            }
            return d;
          }
        }
      }
    }
    child = cur_ino;
    if (child <= lowest_.load()) return {};
    pid_t ppid = PpidOf(cur);
    if (ppid <= 1 || ppid == reaper) {
      // cur is an orphan whose parents are gone: made after a mark, it may
      // have inherited that domain, and nothing says which.
      Add(self, {self, nullptr});
      return unknown;
    }
    uint64_t pino = InoOf(ppid);
    // A parent that died meanwhile (its pid then maybe reused) shows as
    // another ppid of cur.
    if (pino == 0 || PpidOf(cur) != ppid) {
      Add(self, {self, nullptr});
      return unknown;
    }
    cur = ppid;
    cur_ino = pino;
  }
  Add(self, {self, nullptr});
  return unknown;
}

int LandlockMarks::Probe(Shadow* s, int domain, int type, int protocol, const sockaddr_storage& addr,
                         socklen_t len) {
  sockaddr_storage probe = addr;
  // Same family and port, a multicast address: TCP fails it (ENETUNREACH)
  // after the LSM checks and before any packet; UDP just sets a peer.
  if (addr.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    reinterpret_cast<sockaddr_in*>(&probe)->sin_addr.s_addr = htonl(0xe0000001);  // 224.0.0.1
  } else if (addr.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&probe);
    memset(&a6->sin6_addr, 0, sizeof a6->sin6_addr);
    a6->sin6_addr.s6_addr[0] = 0xff;  // ff02::1
    a6->sin6_addr.s6_addr[1] = 0x02;
    a6->sin6_addr.s6_addr[15] = 0x01;
  } else {
    return 0;  // no destination: nothing for Landlock to check
  }
  uint16_t port = addr.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(&addr)->sin_port
                                             : reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port;
  uint64_t key = (static_cast<uint64_t>(domain & 0xffff) << 48) | (static_cast<uint64_t>(type & 0xff) << 40) |
                 (static_cast<uint64_t>(protocol & 0xffff) << 24) | (static_cast<uint64_t>(len & 0xff) << 16) | port;
  int verdict = 0;
  if (s->Cached(key, verdict)) return verdict;
  int result = 0;
  s->Run([&] {
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) {
      result = -1;
      return;
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&probe), len) < 0) result = errno;
    close(fd);
  });
  // No socket to ask with (netlog out of descriptors): refused, not cached.
  if (result < 0) return EACCES;
  verdict = result == EACCES ? EACCES : 0;
  s->Remember(key, verdict);
  return verdict;
}

void LandlockMarks::Stop() {
  std::vector<Shadow*> shadows;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopped_ = true;
    shadows.swap(shadows_);
    // The session is over: netlogd keeps the Supervisor, not what it held
    // (swapped out, not cleared: clear() keeps a map's buckets).
    for (const Ruleset& r : rulesets_) close(r.fd);
    std::deque<Ruleset>().swap(rulesets_);
    std::unordered_map<uint64_t, std::vector<Layer>>().swap(marked_);
    std::unordered_map<uint64_t, Domain>().swap(known_);
  }
  // Nothing is asked after the end; should it be, it counts as a domain
  // netlog cannot reproduce (the kernel decides), never as no domain.
  everyone_.store(true);
  // Every shadow idles in Loop (only this thread gives them jobs): each
  // leaves at once, and is freed once its thread is gone.
  for (Shadow* s : shadows) {
    s->Join();
    delete s;
  }
}

// Called from HandleConnect with the address read once; true when it has
// answered. In a domain netlog reproduced, the shadow asks the kernel first:
// refused there, the connect is refused (EACCES, as the kernel would) and
// recorded so; allowed, it is emulated as any other. In a domain netlog
// could not reproduce, the connect is recorded, then let go, so the kernel
// connects in the caller's domain (a thread racing on the address then goes
// unchecked: docs/security.md); under --egress block it is refused instead.
// The AppArmor or SELinux label of a task (/proc/TID/attr/current); empty
// where no such LSM is active (the read fails).
static std::string LsmLabel(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// True when the caller runs under another AppArmor/SELinux label than
// netlog-run: a connect performed by netlog would be checked against
// netlog-run's policy, not the program's, so it is treated as a domain netlog
// cannot reproduce (recorded, then let go to the kernel).
static bool OtherLsmLabel(pid_t tid) {
  static const std::string own = LsmLabel("/proc/self/attr/current");
  if (own.empty()) return false;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/attr/current", tid);
  std::string theirs = LsmLabel(path);
  return !theirs.empty() && theirs != own;
}

bool Supervisor::OwnSandboxConnect(const Call& c, int dup, bool tcp, const sockaddr_storage& addr,
                                   socklen_t len) {
  LandlockMarks::Domain dm = landlock_.Any() ? landlock_.Find(c.tid) : LandlockMarks::Domain{};
  if (!dm.sandboxed && OtherLsmLabel(c.tid)) {
    dm.sandboxed = true;
    dm.shadow = nullptr;
  }
  if (!dm.sandboxed) return false;
  Event ev;
  bool v6 = false;
  if (!DecodeSockaddr(addr, len, ev.remote, v6)) return false;  // AF_UNSPEC or malformed: reaches no one
  int error = 0;
  if (dm.shadow) {
    int domain = 0, protocol = 0, type = 0;
    socklen_t tl = sizeof type;
    if (!SockInfo(dup, domain, protocol) || getsockopt(dup, SOL_SOCKET, SO_TYPE, &type, &tl) < 0) return false;
    error = LandlockMarks::Probe(dm.shadow, domain, type, protocol, addr, len);
    if (error == 0) return false;
  } else if (egress_.Blocking()) {
    // Letting it go would let a thread change the address after the check;
    // performing it here would skip the program's own checks: refused.
    if (!warned_landlock_.exchange(true))
      Warn("--egress block: a process sandboxed in a way netlog cannot reproduce (Landlock, or an "
           "AppArmor/SELinux label of its own: see docs/security.md) cannot connect: its connects are "
           "refused (EPERM)");
    Dest d{};
    if (!DestOf(0, addr, len, d)) return false;
    Block(c, dup, tcp, d, "connect");
    return true;
  }
  if (!FillEvent(c, Kind::Connect, ev)) {
    close(dup);
    Fail(c, "/proc");
    return true;
  }
  ev.tcp = tcp;
  ev.ipv6 = v6;
  ev.has_remote = true;
  bool lv6;
  if (!LocalEndpoint(dup, ev.local, lv6)) ev.local.ip = v6 ? "::" : "0.0.0.0";
  close(dup);
  Pending p;
  if (error != 0) {
    ev.result_errno = error;
    p.how = How::Return;
    p.error = error;
  }
  Hold(std::move(ev), c, p);
  return true;
}

void Supervisor::HandleLandlockRestrict(const Call& c) {
  // Without no_new_privs or CAP_SYS_ADMIN (in its own user namespace) the
  // kernel refuses the call (EPERM): nothing is restricted, and a program
  // that goes on unsandboxed must not be checked as if it were.
  if (!MayRestrictSelf(c.tid)) return Respond(c.id, 0, true);
  int err = 0;
  int dup = DupFd(c, static_cast<int>(c.args[0]), err);
  if (dup < 0 && err == EBADF) return Respond(c.id, 0, true);  // the kernel fails it: nothing restricted
  // A ruleset netlog knows to handle no network access (a filesystem-only
  // sandbox) changes nothing for connects.
  bool ok = dup >= 0 && !landlock_.MayRestrictNet(dup);
  if (!ok) ok = landlock_.Mark(c.tid, listener_, c.id, dup);
  if (dup >= 0) close(dup);
  if (!ok) return Fail(c, "the process of a landlock_restrict_self caller");
  Respond(c.id, 0, true);
}

// landlock_create_ruleset(attr, size, flags), performed here with the
// caller's attributes (read once) and the new fd given to the caller, so
// that netlog knows which rulesets handle network access. A ruleset does not
// depend on who created it: only landlock_restrict_self applies it.
void Supervisor::HandleLandlockCreate(const Call& c) {
  uint64_t attr_ptr = c.args[0], size = c.args[1];
  uint32_t flags = static_cast<uint32_t>(c.args[2]);
  // Version and errata queries, and sizes the kernel refuses before reading
  // (EINVAL, E2BIG), create nothing: the kernel answers them.
  if (flags != 0 || attr_ptr == 0 || size < 8 || size > 4096) return Respond(c.id, 0, true);
  std::vector<uint8_t> attr(size);
  if (!ReadMem(c.tid, attr_ptr, attr.data(), size)) return Respond(c.id, EFAULT, false);
  long fd = syscall(SYS_landlock_create_ruleset, attr.data(), size, 0);
  if (fd < 0) return Respond(c.id, errno, false);
  // handled_access_net (bytes 8-15, ABI 4) and any field after scoped
  // (bytes 16-23, ABI 6: IPC scopes only) that this netlog does not know.
  bool net = false;
  for (size_t i = 8; i < size; i++)
    if (attr[i] != 0 && (i < 16 || i >= 24)) net = true;
  if (!notif_valid(listener_, c.id)) {
    close(static_cast<int>(fd));
    return;
  }
  // As the kernel's own ruleset fds: close-on-exec.
  int r = AddFdAndAnswer(c.id, static_cast<int>(fd), O_CLOEXEC);
  int e = errno;
  if (r < 0) {
    close(static_cast<int>(fd));
    if (e != ENOENT) Respond(c.id, e, false);
    return;
  }
  landlock_.KeepRuleset(static_cast<int>(fd), net);
}

}  // namespace netlog
