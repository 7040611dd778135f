// Processes of the session that sandbox themselves with Landlock
// (landlock_restrict_self(2)): their connects are not emulated, so that the
// kernel checks them in their own domain (docs/security.md, "The program's
// own sandbox"). A domain is inherited by every child forked after it and kept
// across execve, so a process counts as sandboxed when it or an ancestor was
// marked.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_set>

namespace netlog {

class LandlockMarks {
 public:
  // The caller of landlock_restrict_self: its whole thread group is marked
  // (a thread restricts only itself and the threads it creates afterwards;
  // marking more only costs the others the emulated connect). False when
  // the process could not be identified (the caller is then refused).
  bool Mark(pid_t tid, int listener, uint64_t notif_id);
  // Whether tid's process is sandboxed by its own (or an ancestor's) Landlock
  // domain, as far as netlog saw it; when an ancestor is, the process is
  // marked itself, so that the mark survives the ancestor's death.
  bool Sandboxed(pid_t tid);
  bool Any() const { return any_.load(std::memory_order_acquire); }

 private:
  bool IsMarked(uint64_t ino);
  void Add(uint64_t ino);
  std::mutex mu_;
  // pidfs inode numbers of the marked thread groups: never reused, and
  // allocated in increasing order, so a process whose number is lower than
  // every mark was created before any of them and inherited none.
  std::unordered_set<uint64_t> marked_;
  std::atomic<uint64_t> lowest_{UINT64_MAX};
  std::atomic<bool> any_{false};
};

}  // namespace netlog
