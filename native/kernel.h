// Thin wrappers over the kernel interfaces netlog depends on: seccomp user
// notification (seccomp_unotify(2)), pidfds (pidfd_open(2), pidfd_getfd(2)).
// Definitions missing from older uapi headers are provided here.
#pragma once

#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <cerrno>
#include <cstdint>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

namespace netlog {

inline int sys_seccomp(unsigned op, unsigned flags, void* args) {
  return static_cast<int>(syscall(SYS_seccomp, op, flags, args));
}
inline int sys_pidfd_open(pid_t pid, unsigned flags) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, flags));
}
inline int sys_pidfd_getfd(int pidfd, int fd) {
  return static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
}
// True while the notification is still pending, i.e. the caller is still the
// same live task: every read of target state must be followed by this check.
inline bool notif_valid(int listener, uint64_t id) {
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

}  // namespace netlog
