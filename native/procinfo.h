// Reads a task's identity from /proc (proc(5): stat, status, loginuid,
// sessionid, exe, fd/, cwd, root). Callers check NOTIF_ID_VALID afterwards.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <string>

namespace netlog {

struct Identity {
  int32_t pid = 0, tid = 0, ppid = 0, sid = 0, pgid = 0;
  uint32_t tty_nr = 0;  // 0: no controlling terminal
  uint32_t uid = 0, gid = 0, euid = 0, egid = 0;
  int64_t auid = -1, ses = -1;  // -1: unset
  int64_t fd_size = -1;         // FDSize: the fd table's current size
  std::string exe, comm;
};

// What stays the same for a process between two execs: its program, its
// loginuid and audit session. Kept per task (keyed by its start time, so a
// reused pid never hits), for single-threaded processes only: with one
// thread, nothing can exec behind the supervisor's back between the
// invalidation at exec and the exec itself.
class StableCache {
 public:
  struct Entry {
    uint64_t start = 0;
    std::string exe;
    int64_t auid = -1, ses = -1;
  };
  bool Get(pid_t tid, uint64_t start, Entry& out);
  void Put(pid_t tid, const Entry& e);
  void Forget(pid_t tid);

 private:
  std::mutex mu_;
  std::unordered_map<pid_t, Entry> map_;
};

// False when the task is gone (the caller then drops the notification).
// With a cache, exe/auid/ses come from it when they can.
bool ReadIdentity(pid_t tid, Identity& id, StableCache* cache = nullptr);

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
