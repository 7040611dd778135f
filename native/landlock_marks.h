// Processes of the session that sandbox themselves with Landlock
// (landlock_restrict_self(2)), whose connects an emulation in netlog's own
// domain would let through (docs/security.md, "The program's own sandbox").
//
// A domain is inherited by every process forked after it and kept across
// execve. For each marked process netlog keeps a "shadow": a thread of its
// own that entered the same domain (created from the shadow of the process's
// previous domain, then restricted with a duplicate of the same ruleset).
// Before an emulated connect of a sandboxed process, the shadow asks the
// kernel whether that domain allows a connect to the same port (Landlock
// decides TCP connects by port alone), on a socket of its own aimed at a
// multicast address, which fails before anything is sent.
#pragma once
#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace netlog {

class SeccompListener;

class LandlockMarks {
 public:
  class Shadow;
  struct Domain {
    bool sandboxed = false;
    Shadow* shadow = nullptr;  // null: a domain netlog cannot reproduce
  };

  // The caller of landlock_restrict_self, with netlog's duplicate of its
  // ruleset fd (-1 if none). The whole thread group is marked (a thread
  // restricts only itself and the threads it creates afterwards: the others
  // are checked more strictly than the kernel would, never less). False when
  // the process could not be identified (the caller is then refused).
  bool Mark(pid_t tid, SeccompListener* listener, uint64_t notif_id, int ruleset);
  // The domain of tid's process as far as netlog saw it; when inherited from
  // an ancestor, the process is marked itself, so that it stays known when
  // the ancestor is gone.
  Domain Find(pid_t tid);
  bool Any() const { return any_.load(std::memory_order_acquire); }
  // 0, or EACCES when the shadow's domain refuses a connect of a socket of
  // this kind to this address's port.
  static int Probe(Shadow* s, int domain, int type, int protocol, const sockaddr_storage& addr, socklen_t len);
  // The session is over: the shadow threads end (joined), and the shadows,
  // rulesets, marks and answers kept for it are freed; netlogd keeps its
  // Supervisor objects, not what a session made them hold. Anything asked
  // afterwards counts as a domain netlog cannot reproduce.
  void Stop();

  // Rulesets netlog created for the session (landlock_create_ruleset is
  // performed by netlog, so that it knows what each one handles): `fd` is
  // netlog's own reference, kept (a bounded number of them).
  void KeepRuleset(int fd, bool handles_net);
  // Whether the ruleset `fd` (a duplicate of the caller's) may restrict inet
  // connects: false only for a ruleset netlog created without network access.
  bool MayRestrictNet(int fd);

 private:
  struct Layer {
    uint64_t after;  // processes created after this (pidfs inode order) inherit it
    Shadow* shadow;
  };
  void Add(uint64_t ino, Layer m);
  // Find's walk up the ppid chain; keep is set false for an answer that
  // must not be kept (the process could not be read).
  Domain Walk(pid_t tid, bool& keep);
  Shadow* Spawn(Shadow* parent, int ruleset, uint64_t& after);
  std::mutex mu_;
  // By the pidfs inode number of the thread group: never reused, and
  // allocated in increasing order, so "created after" is a comparison.
  std::unordered_map<uint64_t, std::vector<Layer>> marked_;
  std::atomic<uint64_t> lowest_{UINT64_MAX};  // the lowest `after`
  std::atomic<bool> any_{false};
  std::atomic<bool> everyone_{false};
  std::vector<Shadow*> shadows_;  // mu_
  bool stopped_ = false;          // mu_
  // Find's answers by the pidfs inode of the calling thread (never reused),
  // so that a connect does not walk its ppid chain each time: a process's
  // domain changes only by its own landlock_restrict_self, which netlog
  // traps (Mark forgets them all), and is kept across exec and reparenting.
  // Bounded; forgotten all at once when full.
  std::unordered_map<uint64_t, Domain> known_;  // mu_
  struct Ruleset {
    int fd;
    bool net;
  };
  std::deque<Ruleset> rulesets_;  // mu_
};

}  // namespace netlog
