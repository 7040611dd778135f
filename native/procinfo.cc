// Identity of a trapped task, from /proc. Everything read here is racy by
// nature (the task may exit and its pid be reused); the supervisor validates
// the notification id after calling these and drops what it read otherwise.
#include "procinfo.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <unistd.h>
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

bool StableCache::Get(pid_t tid, uint64_t start, Entry& out) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = map_.find(tid);
  if (it == map_.end() || it->second.start != start) return false;
  out = it->second;
  return true;
}

void StableCache::Put(pid_t tid, const Entry& e) {
  std::lock_guard<std::mutex> lk(mu_);
  if (map_.size() >= 16384) map_.clear();  // bounded; entries of dead tasks go too
  map_[tid] = e;
}

void StableCache::Forget(pid_t tid) {
  std::lock_guard<std::mutex> lk(mu_);
  map_.erase(tid);
}

bool ReadIdentity(pid_t tid, Identity& id, StableCache* cache) {
  char path[64];
  std::string buf;
  StatExtra extra;
  snprintf(path, sizeof path, "/proc/%d/stat", tid);
  if (!ReadSmallFile(path, buf) || !ParseStat(buf, id, extra)) return false;
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  if (!ReadSmallFile(path, buf)) return false;
  const char* p;
  if ((p = FindField(buf, "Tgid:"))) id.pid = atoi(p);
  if ((p = FindField(buf, "FDSize:"))) id.fd_size = atol(p);
  if ((p = FindField(buf, "Uid:"))) sscanf(p, "%u %u", &id.uid, &id.euid);
  if ((p = FindField(buf, "Gid:"))) sscanf(p, "%u %u", &id.gid, &id.egid);
  id.tid = tid;
  StableCache::Entry cached;
  bool cacheable = cache && extra.threads == 1;
  if (cacheable && cache->Get(tid, extra.start, cached)) {
    id.exe = cached.exe;
    id.auid = cached.auid;
    id.ses = cached.ses;
    return true;
  }
  snprintf(path, sizeof path, "/proc/%d/loginuid", tid);
  id.auid = -1;
  if (ReadSmallFile(path, buf)) {
    unsigned long v = strtoul(buf.c_str(), nullptr, 10);
    if (v != 4294967295UL) id.auid = static_cast<int64_t>(v);
  }
  snprintf(path, sizeof path, "/proc/%d/sessionid", tid);
  id.ses = -1;
  if (ReadSmallFile(path, buf)) {
    unsigned long v = strtoul(buf.c_str(), nullptr, 10);
    if (v != 4294967295UL) id.ses = static_cast<int64_t>(v);
  }
  snprintf(path, sizeof path, "/proc/%d/exe", tid);
  id.exe = ReadLink(path);
  if (cacheable) cache->Put(tid, StableCache::Entry{extra.start, id.exe, id.auid, id.ses});
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
