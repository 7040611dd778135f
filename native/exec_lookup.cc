// The exec lookup (see exec_lookup.h): a component walk that repeats the
// kernel's path_resolution(7) from the caller's root and cwd, with the
// caller's fsuid/fsgid/groups/capabilities (setfsuid(2), capabilities(7)).
#include "exec_lookup.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#include "procinfo.h"

namespace netlog {
namespace {

const int kMaxLinks = 40;               // MAXSYMLINKS: the 41st link is ELOOP
const long kProcSuperMagic = 0x9fa0;    // PROC_SUPER_MAGIC
const ino_t kProcRootIno = 1;           // PROC_ROOT_INO
const int kAtEaccess = 0x200;           // AT_EACCESS

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Errors that say something about netlog itself, not about the caller's file.
bool IsInternal(int err) {
  return err == EMFILE || err == ENFILE || err == ENOMEM || err == EINTR || err == EAGAIN ||
         err == ENOSYS || err == EBADF || err == EFAULT;
}

// File-system credentials of one thread: what path lookup and access checks use.
struct Creds {
  uid_t fsuid = 0;
  gid_t fsgid = 0;
  std::vector<gid_t> groups;  // sorted
  uint64_t cap_eff = 0;
  bool operator==(const Creds& o) const {
    return fsuid == o.fsuid && fsgid == o.fsgid && groups == o.groups && cap_eff == o.cap_eff;
  }
};

bool CapGet(uint64_t& eff, uint64_t& perm, uint64_t& inh) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) < 0) return false;
  eff = data[0].effective | static_cast<uint64_t>(data[1].effective) << 32;
  perm = data[0].permitted | static_cast<uint64_t>(data[1].permitted) << 32;
  inh = data[0].inheritable | static_cast<uint64_t>(data[1].inheritable) << 32;
  return true;
}

// Per thread, as the raw syscall is (libcap's cap_set_proc is too; glibc's
// setuid family is not, which is why none of it is used here).
bool CapSetEffective(uint64_t eff) {
  uint64_t cur, perm, inh;
  if (!CapGet(cur, perm, inh)) return false;
  eff &= perm;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].effective = static_cast<uint32_t>(eff);
  data[1].effective = static_cast<uint32_t>(eff >> 32);
  data[0].permitted = static_cast<uint32_t>(perm);
  data[1].permitted = static_cast<uint32_t>(perm >> 32);
  data[0].inheritable = static_cast<uint32_t>(inh);
  data[1].inheritable = static_cast<uint32_t>(inh >> 32);
  return syscall(SYS_capset, &hdr, data) == 0;
}

// Makes the calling thread look up files as `c` would. setfsuid/setfsgid and
// SYS_setgroups act on this thread only. Where netlog may not take the
// caller's ids (an unprivileged netlog-run and a caller in a user namespace
// with several ids mapped), it keeps its own: documented in docs/security.md.
void ApplyCreds(const Creds& c, std::vector<gid_t>& current_groups) {
  CapSetEffective(~0ULL);  // within the permitted set: needed for the switch itself
  if (c.groups != current_groups &&
      syscall(SYS_setgroups, c.groups.size(), c.groups.empty() ? nullptr : c.groups.data()) == 0)
    current_groups = c.groups;
  syscall(SYS_setfsgid, c.fsgid);
  syscall(SYS_setfsuid, c.fsuid);
  // Leaving fsuid 0 drops CAP_DAC_OVERRIDE and the other file caps from the
  // effective set; the caller's own effective set (which already reflects
  // that) replaces whatever is left, so root's CAP_SYS_PTRACE is not used
  // for a caller that has not got it.
  CapSetEffective(c.cap_eff);
}

struct Caller {
  pid_t tid = 0;
  Creds creds;
  int32_t tgid = 0;
  uint32_t uid = 0, gid = 0, euid = 0, egid = 0;  // real and effective
  std::vector<long> nstgid, nspid;  // innermost pid namespace last
};

std::vector<long> Numbers(const std::string& line) {
  std::vector<long> out;
  const char* p = line.c_str();
  char* end;
  for (;;) {
    long v = strtol(p, &end, 10);
    if (end == p) break;
    out.push_back(v);
    p = end;
  }
  return out;
}

bool StartTime(const std::string& stat, unsigned long long& out) {
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return false;
  const char* p = stat.c_str() + close + 1;
  // Fields after comm: state is field 3, starttime field 22.
  for (int field = 3; field < 22; field++) {
    p = strchr(p + 1, ' ');
    if (!p) return false;
  }
  out = strtoull(p + 1, nullptr, 10);
  return true;
}

// The rest of the line after "\nKEY:" in a /proc status text; empty if absent.
std::string Field(const std::string& text, const char* key) {
  std::string k = std::string("\n") + key + ":";
  size_t at = text.find(k);
  if (at == std::string::npos) return std::string();
  at += k.size();
  size_t nl = text.find('\n', at);
  return text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
}

bool SameUserNs(pid_t tid) {
  static const struct stat mine = [] {
    struct stat st {};
    stat("/proc/self/ns/user", &st);
    return st;
  }();
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", tid);
  struct stat theirs;
  return mine.st_ino != 0 && stat(path, &theirs) == 0 && mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

bool ReadCaller(pid_t tid, Caller& c) {
  char path[64];
  std::string text;
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  if (!ReadSmallFile(path, text)) return false;
  std::vector<long> uid = Numbers(Field(text, "Uid")), gid = Numbers(Field(text, "Gid"));
  if (uid.size() != 4 || gid.size() != 4) return false;
  c.creds.fsuid = static_cast<uid_t>(uid[3]);
  c.creds.fsgid = static_cast<gid_t>(gid[3]);
  c.uid = static_cast<uint32_t>(uid[0]);
  c.euid = static_cast<uint32_t>(uid[1]);
  c.gid = static_cast<uint32_t>(gid[0]);
  c.egid = static_cast<uint32_t>(gid[1]);
  std::vector<long> tgid = Numbers(Field(text, "Tgid"));
  if (tgid.size() != 1) return false;
  c.tgid = static_cast<int32_t>(tgid[0]);
  for (long g : Numbers(Field(text, "Groups"))) c.creds.groups.push_back(static_cast<gid_t>(g));
  std::sort(c.creds.groups.begin(), c.creds.groups.end());
  c.creds.cap_eff = strtoull(Field(text, "CapEff").c_str(), nullptr, 16);
  c.nstgid = Numbers(Field(text, "NStgid"));
  c.nspid = Numbers(Field(text, "NSpid"));
  // Capabilities held in a user namespace of its own count only for files
  // whose owners are mapped there; they are not given to the walk at all.
  if (c.creds.cap_eff != 0 && !SameUserNs(tid)) c.creds.cap_eff = 0;
  c.tid = tid;
  return true;
}

// The caller's start time, to recognise it in a procfs of another pid
// namespace (read only when a walk meets "self").
bool CallerStart(const Caller& c, unsigned long long& out) {
  char path[64];
  std::string text;
  snprintf(path, sizeof path, "/proc/%d/stat", c.tid);
  return ReadSmallFile(path, text) && StartTime(text, out);
}

// One lookup, prepared on the calling thread with netlog's own credentials
// (the caller's root, cwd and fds are its own: reaching them is no lookup).
struct Job {
  const Caller* caller = nullptr;
  int root = -1;   // the caller's root directory
  int start = -1;  // where the walk starts; the file itself for AT_EMPTY_PATH
  bool walk = true;
  std::string path;
  bool nofollow = false;
  std::string root_path;  // the caller's root in netlog's view
  ExecTarget* out = nullptr;
};

bool IsProcRoot(int dir) {
  struct statfs sfs;
  struct stat st;
  return fstatfs(dir, &sfs) == 0 && sfs.f_type == kProcSuperMagic && fstat(dir, &st) == 0 &&
         st.st_ino == kProcRootIno;
}

bool InProc(int dir) {
  struct statfs sfs;
  return fstatfs(dir, &sfs) == 0 && sfs.f_type == kProcSuperMagic;
}

bool SameDir(int a, int b) {
  struct statx x, y;
  if (statx(a, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &x) != 0 ||
      statx(b, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &y) != 0)
    return false;
  return x.stx_ino == y.stx_ino && x.stx_dev_major == y.stx_dev_major && x.stx_dev_minor == y.stx_dev_minor &&
         x.stx_mnt_id == y.stx_mnt_id;
}

// "self" / "thread-self" in the caller's procfs, as the caller's pid numbers
// in that procfs's pid namespace: the level whose task has the caller's
// start time.
bool ProcSelf(int proc_root, const Caller& c, bool thread, std::string& target) {
  unsigned long long want = 0;
  if (!CallerStart(c, want)) return false;
  size_t n = std::min(c.nstgid.size(), c.nspid.size());
  for (size_t i = n; i-- > 0;) {
    char rel[64];
    snprintf(rel, sizeof rel, "%ld/task/%ld/stat", c.nstgid[i], c.nspid[i]);
    Fd f(openat(proc_root, rel, O_RDONLY | O_CLOEXEC));
    if (!f.ok()) continue;
    char buf[1024];
    ssize_t r = read(f.get(), buf, sizeof buf - 1);
    if (r <= 0) continue;
    unsigned long long start = 0;
    if (!StartTime(std::string(buf, static_cast<size_t>(r)), start) || start != want) continue;
    target = std::to_string(c.nstgid[i]);
    if (thread) target += "/task/" + std::to_string(c.nspid[i]);
    return true;
  }
  return false;
}

void PushFront(std::deque<std::string>& todo, const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string::npos) slash = path.size();
    if (slash > i) parts.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  for (size_t k = parts.size(); k-- > 0;) todo.push_front(std::move(parts[k]));
}

// Runs lookups on the calling thread (the engine's): it takes the caller's
// credentials for the walk and is put back to its own before returning, so
// nothing else it does (pidfd_getfd, /proc reads) runs with them. When the
// caller's credentials are netlog's own (the usual case) nothing is switched.
class Looker {
 public:
  static Looker& ForThisThread() {
    thread_local Looker* l = new Looker();  // never destroyed: the engine thread lives as long as the process
    return *l;
  }

  void Run(Job& job) {
    Serve(job);
    Become(base_);
  }

 private:
  Looker() {
    // This thread's own credentials, to come back to after each lookup and
    // for the caller's own magic links (below).
    base_.fsuid = static_cast<uid_t>(syscall(SYS_setfsuid, -1));
    base_.fsgid = static_cast<gid_t>(syscall(SYS_setfsgid, -1));
    int n = getgroups(0, nullptr);
    if (n > 0) {
      base_.groups.resize(static_cast<size_t>(n));
      if (getgroups(n, base_.groups.data()) != n) base_.groups.clear();
      std::sort(base_.groups.begin(), base_.groups.end());
    }
    uint64_t perm, inh;
    CapGet(base_.cap_eff, perm, inh);
    groups_ = base_.groups;
    applied_ = base_;
    applied_valid_ = true;
  }

  void Serve(Job& job) {
    Become(job.caller->creds);
    ExecTarget& out = *job.out;
    Fd file;
    struct stat st;
    bool st_valid = false;
    int err = job.walk ? Walk(job, file, st, st_valid) : 0;
    if (!job.walk) file.Reset(dup(job.start));
    if (err == 0 && !file.ok()) err = errno;
    if (err == 0) err = Check(file.get(), out, st_valid ? &st : nullptr);
    if (err != 0) {
      out.error = err;
      out.internal = IsInternal(err);
      if (out.internal) out.what = "the file of an exec";
      return;
    }
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", file.get());
    out.file = ReadLink(link);
    if (out.file.empty()) {
      out.file = job.path;  // longer than PATH_MAX: the argument is the best there is
    } else if (job.root_path != "/" && out.file.compare(0, job.root_path.size(), job.root_path) == 0 &&
               (out.file.size() == job.root_path.size() || out.file[job.root_path.size()] == '/')) {
      out.file.erase(0, job.root_path.size());
      if (out.file.empty()) out.file = "/";
    }
  }

  // As do_open_execat(): a regular file, on a mount that allows exec, that
  // the caller may execute (faccessat2 with AT_EACCESS checks this thread's
  // fsuid/fsgid/groups and effective capabilities, as exec will).
  // `known`: the file's stat, taken by the walk on this very descriptor.
  static int Check(int fd, ExecTarget& out, const struct stat* known) {
    struct stat st;
    if (known) st = *known;
    else if (fstat(fd, &st) != 0) return errno;
    if (!S_ISREG(st.st_mode)) return EACCES;
    struct statvfs vfs;
    if (fstatvfs(fd, &vfs) != 0) return errno;
    if (vfs.f_flag & ST_NOEXEC) return EACCES;
    if (syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH | kAtEaccess) != 0) return errno;
    out.dev = st.st_dev;
    out.ino = st.st_ino;
    return 0;
  }

  // A symlink of procfs below its root (/proc/PID/fd/N, cwd, root, exe,
  // map_files/...) is a magic link: the kernel jumps to the file the task
  // holds, whatever its readlink says. Following it here makes the same
  // jump, with the caller's credentials; in the caller's own /proc/self,
  // where the kernel asks nothing, with netlog's.
  int FollowMagic(int dir, const std::string& name, bool own, Job& job, Fd& out) {
    out.Reset(openat(dir, name.c_str(), O_PATH | O_CLOEXEC));
    if (out.ok()) return 0;
    int err = errno;
    if (!own || (err != EACCES && err != EPERM)) return err;
    Become(base_);
    out.Reset(openat(dir, name.c_str(), O_PATH | O_CLOEXEC));
    err = errno;
    Become(job.caller->creds);
    return out.ok() ? 0 : err;
  }

  // `st` gets the file's stat when the walk took one of it (st_valid), so
  // that Check need not take it again.
  int Walk(Job& job, Fd& result, struct stat& st, bool& st_valid) {
    const std::string& path = job.path;
    st_valid = false;
    if (path.empty()) return ENOENT;
    // The directory the walk is in: the caller's root or start directory
    // (borrowed, never closed here), or one the walk opened (held in owned).
    Fd owned;
    int cur = path[0] == '/' ? job.root : job.start;
    std::deque<std::string> todo;
    PushFront(todo, path);
    bool must_dir = path.back() == '/';
    bool own = false, next_own = false;
    int links = 0;
    char buf[PATH_MAX];
    while (!todo.empty()) {
      std::string name = std::move(todo.front());
      todo.pop_front();
      bool last = todo.empty();
      bool follow = !last || must_dir || !job.nofollow;
      if (name == "..") {
        own = false;
        if (SameDir(cur, job.root)) name = ".";  // ".." stops at the caller's root
      }
      if ((name == "self" || name == "thread-self") && IsProcRoot(cur)) {
        if (!follow) return ELOOP;
        if (links++ >= kMaxLinks) return ELOOP;
        std::string target;
        if (!ProcSelf(cur, *job.caller, name == "thread-self", target)) return ENOENT;
        PushFront(todo, target);
        next_own = true;
        continue;
      }
      int flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
      Fd fd(openat(cur, name.c_str(), flags | (last && !must_dir ? 0 : O_DIRECTORY)));
      bool is_link = false;
      bool in_proc = false;
      ssize_t link_len = -1;  // >= 0: the link's text is in buf already
      if (!fd.ok() && errno == ENOTDIR && (!last || must_dir)) {
        // Not a directory, or a symbolic link to be followed. Outside procfs
        // the link is read by name (EINVAL: it is none), the same lookup
        // that opening it would make; procfs links may be magic, opened below.
        in_proc = InProc(cur);
        if (!in_proc) {
          link_len = readlinkat(cur, name.c_str(), buf, sizeof buf);
          if (link_len < 0) return errno == EINVAL ? ENOTDIR : errno;
        } else {
          fd.Reset(openat(cur, name.c_str(), flags));
          struct stat lst;
          if (!fd.ok()) return errno;
          if (fstat(fd.get(), &lst) != 0) return errno;
          if (!S_ISLNK(lst.st_mode)) return ENOTDIR;
        }
        is_link = true;
      } else if (!fd.ok()) {
        return errno;
      } else if (last && !must_dir) {
        if (fstat(fd.get(), &st) != 0) return errno;
        is_link = S_ISLNK(st.st_mode);
        in_proc = is_link && InProc(cur);
      }
      if (is_link) {
        if (!follow) return ELOOP;  // AT_SYMLINK_NOFOLLOW on a final symlink
        if (links++ >= kMaxLinks) return ELOOP;
        if (in_proc && !IsProcRoot(cur)) {
          Fd target;
          int err = FollowMagic(cur, name, own, job, target);
          if (err != 0) return err;
          own = next_own = false;
          if (last) {
            result = std::move(target);
            return 0;
          }
          struct stat dst;
          if (fstat(target.get(), &dst) != 0) return errno;
          if (!S_ISDIR(dst.st_mode)) return ENOTDIR;
          owned = std::move(target);
          cur = owned.get();
          continue;
        }
        ssize_t n = link_len >= 0 ? link_len : readlinkat(fd.get(), "", buf, sizeof buf);
        if (n < 0) return errno;
        if (n == 0) return ENOENT;
        std::string target(buf, static_cast<size_t>(n));
        if (target[0] == '/') {
          owned.Reset();
          cur = job.root;
          own = false;
        }
        if (last && target.back() == '/') must_dir = true;
        PushFront(todo, target);
        next_own = false;
        continue;
      }
      if (last) {
        st_valid = !must_dir;
        result = std::move(fd);
        return 0;
      }
      owned = std::move(fd);
      cur = owned.get();
      if (next_own) own = true;
      next_own = false;
    }
    // The path ended in a directory reached by "/", "..", or a symlink to one.
    if (owned.ok()) result = std::move(owned);
    else result.Reset(dup(cur));
    return result.ok() ? 0 : errno;
  }

  // Consecutive execs mostly come with the same credentials: switched only on a change.
  void Become(const Creds& c) {
    if (applied_valid_ && applied_ == c) return;
    ApplyCreds(c, groups_);
    applied_ = c;
    applied_valid_ = true;
  }

  Creds base_;
  Creds applied_;  // what this thread's credentials were last set to
  bool applied_valid_ = false;
  std::vector<gid_t> groups_;  // this thread's supplementary groups now
};

ExecTarget Internal(int err, const char* what) {
  ExecTarget t;
  t.error = err;
  t.internal = true;
  t.what = what;
  return t;
}

}  // namespace

ExecTarget LookupExec(pid_t tid, int dirfd, const std::string& path, int flags) {
  ExecTarget out;
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
    out.error = EINVAL;
    return out;
  }
  bool empty = path.empty();
  if (empty && !(flags & AT_EMPTY_PATH)) {
    out.error = ENOENT;
    return out;
  }
  Caller caller;
  if (!ReadCaller(tid, caller)) return Internal(errno ? errno : ESRCH, "/proc status");
  char link[64];
  snprintf(link, sizeof link, "/proc/%d/root", tid);
  Fd root(open(link, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.ok()) return Internal(errno, "/proc root");
  Job job;
  job.caller = &caller;
  job.root = root.get();
  job.root_path = ReadLink(link);
  job.path = path;
  job.nofollow = (flags & AT_SYMLINK_NOFOLLOW) != 0;
  job.out = &out;
  Fd start;
  if (empty || path[0] != '/') {
    if (dirfd == AT_FDCWD) {
      snprintf(link, sizeof link, "/proc/%d/cwd", tid);
    } else {
      if (dirfd < 0) {
        out.error = EBADF;
        return out;
      }
      snprintf(link, sizeof link, "/proc/%d/fd/%d", tid, dirfd);
    }
    start.Reset(open(link, O_PATH | O_CLOEXEC));
    if (!start.ok()) {
      if (errno == ENOENT && dirfd != AT_FDCWD) {
        out.error = EBADF;  // no such descriptor in the caller
        return out;
      }
      return Internal(errno, dirfd == AT_FDCWD ? "/proc cwd" : "/proc fd");
    }
    if (!empty) {
      struct stat st;
      if (fstat(start.get(), &st) != 0) return Internal(errno, "fstat");
      if (!S_ISDIR(st.st_mode)) {
        out.error = ENOTDIR;
        return out;
      }
    }
  }
  job.start = start.get();
  job.walk = !empty;
  Looker::ForThisThread().Run(job);
  if (out.error == 0) {
    // The caller waits in execve: none of these can change before it returns.
    out.have_ids = true;
    out.tgid = caller.tgid;
    out.uid = caller.uid;
    out.gid = caller.gid;
    out.euid = caller.euid;
    out.egid = caller.egid;
  }
  return out;
}

}  // namespace netlog
