// Finds the file an execve/execveat will run as the kernel will find it: from
// the caller's root, cwd or dirfd, with the caller's credentials and its own
// /proc/self (path_resolution(7), execve(2), execveat(2), proc(5), setfsuid(2)).
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <string>

namespace netlog {

struct ExecTarget {
  // 0: the kernel should find an executable regular file; otherwise the errno
  // the kernel would answer (ENOENT, EACCES, ENOTDIR, ELOOP, ENAMETOOLONG,
  // EBADF, EINVAL...), which netlog answers itself.
  int error = 0;
  // netlog could not look at all (its own fd limit, memory, a caller it may
  // not inspect): `error` says why, and the exec must be refused, not let go.
  bool internal = false;
  const char* what = "";  // the syscall that failed, for internal errors
  // The real path of the file, as d_path() gives it in the caller's root
  // (every symbolic link followed), and the file's identity.
  std::string file;
  uint64_t dev = 0, ino = 0;
  // The caller's thread group and real/effective ids, from the /proc status
  // the lookup read for its credentials (set when error is 0): the exec
  // record's identity takes them from here instead of reading them again.
  bool have_ids = false;
  int32_t tgid = 0;
  uint32_t uid = 0, gid = 0, euid = 0, egid = 0;
};

// `dirfd` and `flags` are execveat's (AT_FDCWD and 0 for execve); `path` is the
// path argument as read from the caller. Blocks until the lookup is done; safe
// to call from several threads (lookups run one at a time on a thread of
// their own, whose file-system credentials are switched to the caller's).
ExecTarget LookupExec(pid_t tid, int dirfd, const std::string& path, int flags);

}  // namespace netlog
