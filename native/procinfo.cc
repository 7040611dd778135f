// Identity of a trapped task, from /proc and its pidfd. Everything read here is racy by
// nature (the task may exit and its pid be reused); the supervisor validates
// the notification id after calling these and drops what it read otherwise.
#include "procinfo.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

namespace netlog {

bool ReadSmallFile(const char* path, std::string& out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return false;
    }
    out.append(buf, static_cast<size_t>(n));
    // procfs hands out a small file whole: a short read is its end, which
    // saves the read(2) that would return 0 on this hot path.
    if (static_cast<size_t>(n) < sizeof buf) break;
  }
  close(fd);
  return true;
}

std::string ReadLink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  if (n <= 0) return std::string();
  return std::string(buf, static_cast<size_t>(n));
}

static const char* FindField(const std::string& status, const char* key) {
  size_t klen = strlen(key);
  size_t pos = 0;
  while (pos < status.size()) {
    if (status.compare(pos, klen, key) == 0) return status.c_str() + pos + klen;
    size_t nl = status.find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return nullptr;
}

struct StatExtra {
  int threads = 1;
  uint64_t start = 0;
};

static bool ParseStat(const std::string& stat, Identity& id, StatExtra& extra) {
  // comm is in parentheses and may itself contain ") ": use the last ')'.
  size_t open = stat.find('(');
  size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  id.comm = stat.substr(open + 1, close - open - 1);
  // Fields after comm, from 3 (state) on; sscanf costs more than the read
  // on this hot path, so they are split by hand.
  long long f[21] = {0};  // f[i] is field i+3
  if (close + 3 > stat.size()) return false;
  const char* p = stat.c_str() + close + 3;  // past ") " and the state letter
  for (int i = 1; i < 20; i++) {
    while (*p == ' ') p++;
    if (!*p) return false;
    char* end;
    f[i] = strtoll(p, &end, 10);
    p = end;
  }
  id.ppid = static_cast<int32_t>(f[1]);
  id.pgid = static_cast<int32_t>(f[2]);
  id.sid = static_cast<int32_t>(f[3]);
  id.tty_nr = static_cast<uint32_t>(f[4]);
  extra.threads = static_cast<int>(f[17]);
  extra.start = static_cast<uint64_t>(f[19]);
  return true;
}

// PIDFD_GET_INFO (6.13+), as <linux/pidfd.h> defines it where it is new
// enough; the kernel fills what it knows of the 64-byte first version.
namespace {
struct PidfdInfo {
  uint64_t mask, cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid, spare0[1];
};
const unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);
const uint64_t kPidfdInfoCreds = 1ULL << 1;
const unsigned kPidfdThread = O_EXCL;  // PIDFD_THREAD (6.9+)
const size_t kMaxEntries = 16384;
// Kept stat descriptors count against netlog-run's own fd limit (as the
// supervisor's kept pidfds do): at most a quarter of it.
size_t MaxStatFds() {
  static const size_t n = [] {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur == RLIM_INFINITY) return size_t{512};
    return static_cast<size_t>(lim.rlim_cur / 4 < 512 ? lim.rlim_cur / 4 : 512);
  }();
  return n;
}
const size_t kMaxExecGroups = 4096;

// Thread group and credentials of tid from a pidfd of the thread itself
// (PIDFD_GET_INFO describes the task the pidfd names, so a thread's own
// credentials, which a raw setuid on one thread changes alone).
bool PidfdIdentity(pid_t tid, Identity& id) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, tid, kPidfdThread));
  if (fd < 0) return false;
  PidfdInfo info{};
  info.mask = kPidfdInfoCreds;
  bool ok = ioctl(fd, kPidfdGetInfo, &info) == 0 && (info.mask & kPidfdInfoCreds);
  close(fd);
  if (!ok) return false;
  id.pid = static_cast<int32_t>(info.tgid);
  id.uid = info.ruid;
  id.gid = info.rgid;
  id.euid = info.euid;
  id.egid = info.egid;
  return true;
}

bool ReadStatus(pid_t tid, Identity& id, bool creds) {
  char path[64];
  std::string buf;
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  if (!ReadSmallFile(path, buf)) return false;
  const char* p;
  if ((p = FindField(buf, "FDSize:"))) id.fd_size = atol(p);
  if (!creds) return true;
  if ((p = FindField(buf, "Tgid:"))) id.pid = atoi(p);
  if ((p = FindField(buf, "Uid:"))) sscanf(p, "%u %u", &id.uid, &id.euid);
  if ((p = FindField(buf, "Gid:"))) sscanf(p, "%u %u", &id.gid, &id.egid);
  return true;
}

// loginuid and sessionid: (uint32_t)-1 is unset.
int64_t ParseAuditId(const char* text) {
  unsigned long v = strtoul(text, nullptr, 10);
  return v == 4294967295UL ? -1 : static_cast<int64_t>(v);
}

int64_t ReadAuditId(pid_t tid, const char* file) {
  char path[64];
  std::string buf;
  snprintf(path, sizeof path, "/proc/%d/%s", tid, file);
  if (!ReadSmallFile(path, buf)) return -1;
  return ParseAuditId(buf.c_str());
}

// A kept /proc/TID/loginuid read from its start; -1 when unset or unreadable.
int64_t PreadAuditId(int fd) {
  char buf[32];
  ssize_t n;
  while ((n = pread(fd, buf, sizeof buf - 1, 0)) < 0 && errno == EINTR) {
  }
  if (n <= 0) return -1;
  buf[n] = 0;
  return ParseAuditId(buf);
}

// One read of a stat file from its start (procfs renders it anew each time).
bool PreadStat(int fd, std::string& out) {
  char buf[4096];
  ssize_t n;
  while ((n = pread(fd, buf, sizeof buf - 1, 0)) < 0 && errno == EINTR) {
  }
  if (n <= 0) return false;
  out.assign(buf, static_cast<size_t>(n));
  return true;
}
}  // namespace

bool PidfdInfoWorks() {
  static const bool works = [] {
    const char* force = getenv("NETLOG_IDENTITY_PROC");
    if (force && strcmp(force, "1") == 0) return false;
    Identity id;
    return PidfdIdentity(static_cast<pid_t>(syscall(SYS_gettid)), id);
  }();
  return works;
}

StableCache::~StableCache() { ClearLocked(); }

void StableCache::CloseFdLocked(int& fd) {
  if (fd < 0) return;
  close(fd);
  fd = -1;
  stat_fds_--;
}

void StableCache::CloseFdsLocked(Entry& e) {
  CloseFdLocked(e.stat_fd);
  CloseFdLocked(e.auid_fd);
}

void StableCache::ClearLocked() {
  for (auto& kv : map_) CloseFdsLocked(kv.second);
  map_.clear();
  stat_fds_ = 0;
}

void StableCache::Close() {
  std::lock_guard<std::mutex> lk(mu_);
  full_ = true;
  ClearLocked();
}

// Drops the tasks that are gone (their descriptors read ESRCH), so that the
// kept descriptors go to live ones.
void StableCache::SweepLocked() {
  std::string buf;
  for (auto it = map_.begin(); it != map_.end();) {
    if (it->second.stat_fd >= 0 && !PreadStat(it->second.stat_fd, buf)) {
      CloseFdsLocked(it->second);
      it = map_.erase(it);
    } else {
      ++it;
    }
  }
}

void StableCache::ForgetLocked(pid_t tid) {
  auto it = map_.find(tid);
  if (it == map_.end()) return;
  CloseFdsLocked(it->second);
  map_.erase(it);
}

void StableCache::Forget(pid_t tid) {
  std::lock_guard<std::mutex> lk(mu_);
  ForgetLocked(tid);
}

bool ReadIdentity(pid_t tid, Identity& id, StableCache* cache, unsigned flags) {
  char path[64];
  std::string buf;
  StatExtra extra;
  id.tid = tid;
  bool exec = flags & kReadExec;
  if (cache && !exec) {
    std::unique_lock<std::mutex> lk(cache->mu_);
    auto it = cache->map_.find(tid);
    if (it != cache->map_.end()) {
      StableCache::Entry e = it->second;
      bool read = false;
      if (e.stat_fd >= 0) {
        read = PreadStat(e.stat_fd, buf);
        if (!read) cache->ForgetLocked(tid);  // its task is gone
      } else {
        lk.unlock();
        snprintf(path, sizeof path, "/proc/%d/stat", tid);
        read = ReadSmallFile(path, buf);
        if (!read) return false;
      }
      if (read) {
        if (!ParseStat(buf, id, extra)) return false;
        if (extra.start == e.start) {
          id.pid = e.pid;
          id.uid = e.uid;
          id.gid = e.gid;
          id.euid = e.euid;
          id.egid = e.egid;
          id.exe = std::move(e.exe);
          id.exe_dev = e.exe_dev;
          id.exe_ino = e.exe_ino;
          id.auid = e.auid;
          id.ses = e.ses;
          // An unset loginuid can still be set by the task itself (a write
          // to /proc/self/loginuid: pam_loginuid), which nothing traps; it
          // and the session id (set by the same write) are read again until
          // it is (one pread of a kept descriptor when there is one). Once
          // set it is kept: the kernel makes it immutable or lets only
          // CAP_AUDIT_CONTROL change it.
          bool auid_read = false;
          if (id.auid < 0 && e.auid_fd >= 0 && lk.owns_lock()) {
            id.auid = PreadAuditId(e.auid_fd);
            auid_read = true;
          }
          if (lk.owns_lock()) lk.unlock();
          if (id.auid < 0 && !auid_read) id.auid = ReadAuditId(tid, "loginuid");
          if (e.auid < 0) {
            if (id.auid >= 0) {
              id.ses = ReadAuditId(tid, "sessionid");
              std::lock_guard<std::mutex> relock(cache->mu_);
              auto again = cache->map_.find(tid);
              if (again != cache->map_.end() && again->second.start == e.start) {
                again->second.auid = id.auid;
                again->second.ses = id.ses;
                cache->CloseFdLocked(again->second.auid_fd);
              }
            }
          }
          if ((flags & kReadFdSize) && !ReadStatus(tid, id, false)) return false;
          return true;
        }
        if (!lk.owns_lock()) lk.lock();
        cache->ForgetLocked(tid);  // a new task under a reused tid
      }
    }
  }

  // A miss: a stat descriptor that may be kept, then everything else once.
  snprintf(path, sizeof path, "/proc/%d/stat", tid);
  int stat_fd = open(path, O_RDONLY | O_CLOEXEC);
  if (stat_fd < 0) return false;
  if (!PreadStat(stat_fd, buf) || !ParseStat(buf, id, extra)) {
    close(stat_fd);
    return false;
  }
  bool have_ids = (flags & kHaveIds) || (PidfdInfoWorks() && PidfdIdentity(tid, id));
  if ((!have_ids || (flags & kReadFdSize)) && !ReadStatus(tid, id, !have_ids)) {
    close(stat_fd);
    return false;
  }
  id.auid = ReadAuditId(tid, "loginuid");
  id.ses = ReadAuditId(tid, "sessionid");
  snprintf(path, sizeof path, "/proc/%d/exe", tid);
  id.exe = ReadLink(path);
  // stat follows the magic link to the very file the task runs, whatever
  // its path says in the task's mount namespace.
  struct stat exe_st;
  if (stat(path, &exe_st) == 0) {
    id.exe_dev = exe_st.st_dev;
    id.exe_ino = exe_st.st_ino;
  }

  if (cache) {
    std::lock_guard<std::mutex> lk(cache->mu_);
    bool keep = !cache->full_;
    if (exec) {
      // The exec's caller cannot run before the exec ends; another thread
      // can, and would see (and keep) the old program until it does.
      cache->ForgetLocked(tid);
      cache->ForgetLocked(id.pid);
      if (extra.threads > 1) {
        if (cache->exec_groups_.size() >= kMaxExecGroups) cache->full_ = true;
        else cache->exec_groups_.insert(id.pid);
      }
      keep = false;
    } else if (cache->exec_groups_.count(id.pid)) {
      // The caller waits here: alone in its group, no exec of the group is
      // left in flight.
      if (extra.threads == 1) cache->exec_groups_.erase(id.pid);
      else keep = false;
    }
    if (keep) {
      if (cache->map_.size() >= kMaxEntries) cache->ClearLocked();  // bounded
      cache->ForgetLocked(tid);
      // All descriptors taken: now and then (a sweep reads each once), make
      // room by dropping the tasks that have ended.
      if (cache->stat_fds_ >= MaxStatFds() && ++cache->keeps_without_fd_ >= 256) {
        cache->keeps_without_fd_ = 0;
        cache->SweepLocked();
      }
      StableCache::Entry e;
      e.start = extra.start;
      e.pid = id.pid;
      e.uid = id.uid;
      e.gid = id.gid;
      e.euid = id.euid;
      e.egid = id.egid;
      e.exe = id.exe;
      e.exe_dev = id.exe_dev;
      e.exe_ino = id.exe_ino;
      e.auid = id.auid;
      e.ses = id.ses;
      if (cache->stat_fds_ < MaxStatFds()) {
        e.stat_fd = stat_fd;
        stat_fd = -1;
        cache->stat_fds_++;
        // An unset loginuid is read at every record: one pread instead of
        // open, read and close.
        if (e.auid < 0 && cache->stat_fds_ < MaxStatFds()) {
          snprintf(path, sizeof path, "/proc/%d/loginuid", tid);
          e.auid_fd = open(path, O_RDONLY | O_CLOEXEC);
          if (e.auid_fd >= 0) cache->stat_fds_++;
        }
      }
      cache->map_[tid] = std::move(e);
    }
  }
  if (stat_fd >= 0) close(stat_fd);
  return true;
}

bool ReadSignalState(pid_t tid, SignalState& st) {
  char path[64];
  std::string buf;
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  if (!ReadSmallFile(path, buf)) return false;
  const char* p;
  unsigned long long sigpnd = 0, shdpnd = 0, sigblk = 0;
  if ((p = FindField(buf, "SigPnd:"))) sigpnd = strtoull(p, nullptr, 16);
  if ((p = FindField(buf, "ShdPnd:"))) shdpnd = strtoull(p, nullptr, 16);
  if ((p = FindField(buf, "SigBlk:"))) sigblk = strtoull(p, nullptr, 16);
  if ((p = FindField(buf, "Threads:"))) st.threads = atoi(p);
  if ((p = FindField(buf, "Tgid:"))) st.tgid = atoi(p);
  st.thread_pending = (sigpnd & ~sigblk) != 0;
  st.shared_mask = shdpnd & ~sigblk;
  st.shared_pending = st.shared_mask != 0;
  return true;
}

// Whether pred holds for /proc/TGID/task/OTHER/file of some thread other
// than tid (threads that exit meanwhile are skipped).
static bool AnyOtherThread(int tgid, pid_t tid, const char* file, const std::function<bool(const std::string&)>& pred) {
  char path[320];
  snprintf(path, sizeof path, "/proc/%d/task", tgid);
  DIR* dir = opendir(path);
  if (!dir) return false;
  bool any = false;
  std::string buf;
  while (struct dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == tid) continue;
    snprintf(path, sizeof path, "/proc/%d/task/%s/%s", tgid, e->d_name, file);
    if (ReadSmallFile(path, buf) && pred(buf)) {
      any = true;
      break;
    }
  }
  closedir(dir);
  return any;
}

bool OnlyThreadFor(int tgid, pid_t tid, unsigned long long mask) {
  return !AnyOtherThread(tgid, tid, "status", [mask](const std::string& status) {
    const char* p = FindField(status, "SigBlk:");
    unsigned long long blocked = p ? strtoull(p, nullptr, 16) : 0;
    return (mask & ~blocked) != 0;
  });
}

bool OtherThreadStopped(int tgid, pid_t tid) {
  return AnyOtherThread(tgid, tid, "stat", [](const std::string& stat) {
    size_t close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && (stat[close + 2] == 'T' || stat[close + 2] == 't');
  });
}

namespace {

// prlimit() of another user's process needs CAP_SYS_RESOURCE, which a root
// supervisor may lack (a container's bounding set); /proc/TID/limits is
// readable by all.
bool NofileLimit(pid_t tid, rlim_t& soft) {
  struct rlimit lim;
  if (prlimit(tid, RLIMIT_NOFILE, nullptr, &lim) == 0) {
    soft = lim.rlim_cur;
    return true;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/limits", tid);
  FILE* f = fopen(path, "re");
  if (!f) return false;
  char line[256];
  bool found = false;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "Max open files", 14) != 0) continue;
    const char* v = line + 14;
    while (*v == ' ') v++;
    if (strncmp(v, "unlimited", 9) == 0) soft = RLIM_INFINITY;
    else soft = strtoull(v, nullptr, 10);
    found = true;
    break;
  }
  fclose(f);
  return found;
}

}  // namespace

bool HasFreeFd(pid_t tid, int64_t fd_size) {
  struct rlimit lim;
  if (!NofileLimit(tid, lim.rlim_cur) || lim.rlim_cur == RLIM_INFINITY) return true;
  // The fd table can still grow below the limit: there is room. Only a table
  // as large as the limit needs counting.
  if (fd_size >= 0 && static_cast<rlim_t>(fd_size) < lim.rlim_cur) return true;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", tid);
  DIR* dir = opendir(path);
  if (!dir) return true;
  // Descriptors at or above the limit (opened before it was lowered) do not
  // take the slots a new one could have.
  rlim_t below_limit = 0;
  while (struct dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.' && strtoull(e->d_name, nullptr, 10) < lim.rlim_cur) below_limit++;
  }
  closedir(dir);
  return below_limit < lim.rlim_cur;
}

std::string TtyName(uint32_t tty_nr) {
  if (tty_nr == 0) return std::string();
  unsigned maj = major(tty_nr), min = minor(tty_nr);
  char buf[32];
  if (maj >= 136 && maj <= 143) {
    snprintf(buf, sizeof buf, "pts/%u", (maj - 136) * 256 + min);
  } else if (maj == 4 && min < 64) {
    snprintf(buf, sizeof buf, "tty%u", min);
  } else if (maj == 4) {
    snprintf(buf, sizeof buf, "ttyS%u", min - 64);
  } else if (maj == 5 && min == 1) {
    snprintf(buf, sizeof buf, "console");
  } else {
    snprintf(buf, sizeof buf, "tty(%u:%u)", maj, min);
  }
  return buf;
}

}  // namespace netlog
