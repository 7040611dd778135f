// Reads a task's identity: /proc/TID/stat at every call, the rest once per
// task (pidfd PIDFD_GET_INFO or /proc status, loginuid, sessionid, exe; see
// proc(5), pidfd_open(2)). Callers check NOTIF_ID_VALID afterwards.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <string>

namespace netlog {

struct Identity {
  int32_t pid = 0, tid = 0, ppid = 0, sid = 0, pgid = 0;
  uint32_t tty_nr = 0;  // 0: no controlling terminal
  uint32_t uid = 0, gid = 0, euid = 0, egid = 0;
  int64_t auid = -1, ses = -1;  // -1: unset
  int64_t fd_size = -1;         // FDSize: the fd table's current size
  std::string exe, comm;
  uint64_t exe_dev = 0, exe_ino = 0;  // identity of the program (network whitelist); 0:0 if unknown
};

// What only an exec or a credential change of its own can alter for a task:
// its thread group, uid/gid/euid/egid (credentials are per thread), program,
// loginuid and audit session. Kept per task, keyed by its start time (a reused
// tid never hits), with an open /proc/TID/stat for as many tasks as netlog's
// fd limit allows (a descriptor that outlives its task reads ESRCH, never
// another task).
// Dropped by the supervisor at every exec and set*id call it traps. Every
// caller runs on the supervisor's threads; one mutex covers the map and the
// kept descriptors.
class StableCache {
 public:
  struct Entry {
    uint64_t start = 0;
    int32_t pid = 0;
    uint32_t uid = 0, gid = 0, euid = 0, egid = 0;
    std::string exe;
    uint64_t exe_dev = 0, exe_ino = 0;
    int64_t auid = -1, ses = -1;
    int stat_fd = -1;
    int auid_fd = -1;  // /proc/TID/loginuid while it is unset (read again at each record)
  };
  ~StableCache();
  void Forget(pid_t tid);
  // Closes what it keeps and keeps nothing more: the session has ended
  // (netlogd keeps a Supervisor for its life, not its descriptors).
  void Close();

 private:
  friend bool ReadIdentity(pid_t, Identity&, StableCache*, unsigned);
  void ForgetLocked(pid_t tid);
  void ClearLocked();
  void SweepLocked();
  void CloseFdLocked(int& fd);  // a kept descriptor, counted in stat_fds_
  void CloseFdsLocked(Entry& e);
  std::mutex mu_;
  std::unordered_map<pid_t, Entry> map_;
  size_t stat_fds_ = 0;  // kept descriptors: stat and loginuid
  // Thread groups with an exec in flight while other threads ran: until the
  // group is seen single-threaded again, its program may change under a
  // thread the supervisor is not watching, so nothing of it is kept.
  std::unordered_set<pid_t> exec_groups_;
  bool full_ = false;  // exec_groups_ at its bound, or closed: nothing more is kept
  unsigned keeps_without_fd_ = 0;
};

enum ReadFlags : unsigned {
  kReadFdSize = 1,  // fill fd_size (a /proc/TID/status read)
  kReadExec = 2,    // the task is in execve: read everything, keep nothing
  // pid, uid, gid, euid and egid are given in `id` (read from the task's
  // /proc status during this very call, which the task cannot change
  // meanwhile): not read again.
  kHaveIds = 4,
};

// False when the task is gone (the caller then drops the notification).
// With a cache, what it holds for the task is used and what is read is kept.
bool ReadIdentity(pid_t tid, Identity& id, StableCache* cache = nullptr, unsigned flags = kReadFdSize);

// Whether ioctl(PIDFD_GET_INFO) works here (6.13+); NETLOG_IDENTITY_PROC=1
// makes it answer false, so the /proc/TID/status path can be tested.
bool PidfdInfoWorks();

// readlink(2) of a /proc path; empty on failure.
std::string ReadLink(const std::string& path);

// Reads a whole small file (a /proc file) into out; false on failure.
bool ReadSmallFile(const char* path, std::string& out);

// Signals a task has pending and does not block, from /proc/TID/status:
// thread-directed (SigPnd) and process-wide (ShdPnd), and its thread count.
struct SignalState {
  bool thread_pending = false;
  bool shared_pending = false;
  int threads = 1;
  int tgid = 0;
  unsigned long long shared_mask = 0;  // ShdPnd & ~SigBlk
};
// False when the task is gone.
bool ReadSignalState(pid_t tid, SignalState& s);

// Whether every other thread of tgid blocks all the signals in mask, so a
// process-wide signal in it can only be delivered to thread tid.
bool OnlyThreadFor(int tgid, pid_t tid, unsigned long long mask);

// Whether another thread of tgid is stopped (state T or t): a group stop
// (Ctrl-Z, SIGSTOP) in progress, which thread tid must join.
bool OtherThreadStopped(int tgid, pid_t tid);

// Whether the task's process can take one more file descriptor under its
// RLIMIT_NOFILE (as accept(2) must before it dequeues a connection), given
// the FDSize its status showed.
bool HasFreeFd(pid_t tid, int64_t fd_size);

// "pts/3", "tty1", "ttyS0", "console"; empty when unknown.
std::string TtyName(uint32_t tty_nr);

}  // namespace netlog
