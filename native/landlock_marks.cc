// See landlock_marks.h. The ancestry is read from /proc/PID/stat (ppid) and
// each process is named by the inode of a pidfd of it (pidfs, 6.9+), which
// no later process shares.
#include "landlock_marks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernel.h"
#include "procinfo.h"
#include "sockets.h"
#include "supervisor.h"

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

// 0 when the process is gone.
uint64_t InoOf(pid_t pid) {
  int fd = sys_pidfd_open(pid, 0);
  if (fd < 0) return 0;
  struct stat st;
  uint64_t ino = fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
  close(fd);
  return ino;
}

}  // namespace

void LandlockMarks::Add(uint64_t ino) {
  std::lock_guard<std::mutex> lk(mu_);
  marked_.insert(ino);
  if (ino < lowest_.load()) lowest_.store(ino);
  any_.store(true, std::memory_order_release);
}

bool LandlockMarks::IsMarked(uint64_t ino) {
  std::lock_guard<std::mutex> lk(mu_);
  return marked_.count(ino) != 0;
}

bool LandlockMarks::Mark(pid_t tid, int listener, uint64_t notif_id) {
  pid_t pid = TgidOf(tid);
  uint64_t ino = pid > 0 ? InoOf(pid) : 0;
  // The pid may have been reused since the notification: only a caller still
  // waiting proves the number is its process's.
  if (ino == 0 || !notif_valid(listener, notif_id)) return false;
  Add(ino);
  return true;
}

bool LandlockMarks::Sandboxed(pid_t tid) {
  if (!Any()) return false;
  // Whatever cannot be read counts as sandboxed: that only costs the
  // emulation, never the program's own checks.
  pid_t pid = TgidOf(tid);
  uint64_t self = pid > 0 ? InoOf(pid) : 0;
  if (self == 0) return true;
  pid_t cur = pid;
  uint64_t cur_ino = self;
  const pid_t reaper = getpid();  // netlog-run is the session's subreaper
  for (int depth = 0; depth < 256; depth++) {
    // Created before every mark: neither it nor its (older) ancestors can
    // have been marked, nor inherited a marked domain.
    if (cur_ino < lowest_.load()) return false;
    if (IsMarked(cur_ino)) {
      if (cur != pid) Add(self);  // so that the mark outlives the ancestor
      return true;
    }
    pid_t ppid = PpidOf(cur);
    if (ppid <= 1 || ppid == reaper) {
      // cur is the session's first process (older than every mark, seen
      // above) or an orphan whose parents are gone: made after a mark, it may
      // have inherited that domain, and nothing says it did not.
      Add(self);
      return true;
    }
    uint64_t pino = InoOf(ppid);
    // A parent that died meanwhile (its pid then maybe reused) shows as
    // another ppid of cur.
    if (pino == 0 || PpidOf(cur) != ppid) {
      Add(self);
      return true;
    }
    cur = ppid;
    cur_ino = pino;
  }
  Add(self);
  return true;
}

// Called from HandleConnect for a sandboxed caller, with the address read
// once: recorded, then let go, so the kernel connects in the caller's own
// Landlock domain and LSM context. The result is not known when the record
// is written (no "result" field); the close record names the real peer.
void Supervisor::OwnSandboxConnect(const Call& c, int dup, bool tcp, const sockaddr_storage& addr,
                                   socklen_t len) {
  Event ev;
  bool v6 = false;
  if (!DecodeSockaddr(addr, len, ev.remote, v6)) {
    close(dup);
    return Respond(c.id, 0, true);  // AF_UNSPEC or malformed: reaches no one
  }
  if (egress_.Blocking()) {
    // Letting it go would let a thread change the address after the check;
    // performing it here would skip the program's own checks: neither is
    // safe, so it is refused (docs/security.md).
    if (!warned_landlock_.exchange(true))
      Warn("--egress block: a program that restricts itself with Landlock (landlock_restrict_self) "
           "cannot connect: its connects are refused (EPERM), since netlog can neither check them "
           "race-free nor perform them in its sandbox");
    Dest d{};
    if (!DestOf(0, addr, len, d)) {
      close(dup);
      return Respond(c.id, EPERM, false);
    }
    return Block(c, dup, tcp, d, "connect");
  }
  if (!FillEvent(c, Kind::Connect, ev)) {
    close(dup);
    return Fail(c, "/proc");
  }
  ev.tcp = tcp;
  ev.ipv6 = v6;
  ev.has_remote = true;
  bool lv6;
  if (!LocalEndpoint(dup, ev.local, lv6)) ev.local.ip = v6 ? "::" : "0.0.0.0";
  close(dup);
  Hold(std::move(ev), c, Pending{});
}

void Supervisor::HandleLandlockRestrict(const Call& c) {
  if (!landlock_.Mark(c.tid, listener_, c.id)) return Fail(c, "the process of a landlock_restrict_self caller");
  Respond(c.id, 0, true);
}

}  // namespace netlog
