// See own_stdio.h.
#include "own_stdio.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace netlog {

int OpenOwnStderr(const char** kind) {
  struct stat before;
  if (fstat(2, &before) < 0) {
    *kind = "closed";
    return -1;
  }
  switch (before.st_mode & S_IFMT) {
    case S_IFREG:
      *kind = "file";
      return -1;
    case S_IFSOCK:
      *kind = "socket";
      return -1;
    case S_IFCHR:
      *kind = isatty(2) ? "tty" : "device";
      break;
    case S_IFIFO:
      *kind = "pipe";
      break;
    default:
      *kind = "other";
      return -1;
  }
  // O_NONBLOCK only for the open itself: a FIFO without a reader fails with
  // ENXIO instead of blocking. O_NOCTTY: a terminal must not become ours.
  int fd = open("/proc/self/fd/2", O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -1;
  struct stat after;
  int flags = fcntl(fd, F_GETFL);
  if (fstat(fd, &after) < 0 || after.st_dev != before.st_dev || after.st_ino != before.st_ino || flags < 0 ||
      fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

namespace {

size_t WriteAllUnmasked(int fd, const char* buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, buf + off, len - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, -1) < 0 && errno != EINTR) return off;
      continue;
    }
    if (n == 0) errno = EIO;
    return off;
  }
  return off;
}

}  // namespace

size_t WriteAllBlocking(int fd, const char* buf, size_t len) {
  // On a terminal with `stty tostop`, a write from a background job raises
  // SIGTTOU; netlog-run catches it (it must not stop on its own), and a
  // caught SIGTTOU makes the kernel restart the write forever. Blocked, the
  // write goes through (tty_check_change()).
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &old);
  size_t off = WriteAllUnmasked(fd, buf, len);
  int err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return off;
}

}  // namespace netlog
