// Reads a task's identity from /proc (proc(5): stat, status, loginuid,
// sessionid, exe, fd/, cwd, root). Callers check NOTIF_ID_VALID afterwards.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <string>
#include <vector>

namespace netlog {

struct Identity {
  int32_t pid = 0, tid = 0, ppid = 0, sid = 0, pgid = 0;
  uint32_t tty_nr = 0;  // 0: no controlling terminal
  uint32_t uid = 0, gid = 0, euid = 0, egid = 0, fsuid = 0, fsgid = 0;
  int64_t auid = -1, ses = -1;  // -1: unset
  std::string exe, comm;
  std::vector<uint32_t> groups;
};

// False when the task is gone (the caller then drops the notification).
bool ReadIdentity(pid_t tid, Identity& id);

// readlink(2) of a /proc path; empty on failure.
std::string ReadLink(const std::string& path);

// Reads a whole small file (a /proc file) into out; false on failure.
bool ReadSmallFile(const char* path, std::string& out);

// Pending, unblocked signals of a task (SigPnd|ShdPnd & ~SigBlk) from
// /proc/TID/status; returns false when the task is gone.
bool HasDeliverableSignal(pid_t tid, bool& pending);

// "pts/3", "tty1", "ttyS0", "console"; empty when unknown.
std::string TtyName(uint32_t tty_nr);

}  // namespace netlog
