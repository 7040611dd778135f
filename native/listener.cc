// The kernel side of SeccompListener: the seccomp_unotify(2) ioctls on the
// listener fd.
#include "listener.h"

#include <cerrno>

#include "kernel.h"

namespace netlog {

void SeccompListener::Continue(uint64_t id) {
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  while (Send(resp) < 0 && errno == EINTR) {
  }
}

void SeccompListener::Error(uint64_t id, int error) {
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.error = -error;
  resp.val = 0;
  while (Send(resp) < 0 && errno == EINTR) {
  }
}

void SeccompListener::Value(uint64_t id, int64_t val) {
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.val = val;
  while (Send(resp) < 0 && errno == EINTR) {
  }
}

int KernelListener::Recv(seccomp_notif* n) { return ioctl(fd_, SECCOMP_IOCTL_NOTIF_RECV, n); }

int KernelListener::Send(const seccomp_notif_resp& resp) {
  seccomp_notif_resp r = resp;
  return ioctl(fd_, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

int KernelListener::AddFd(const seccomp_notif_addfd& addfd) {
  seccomp_notif_addfd a = addfd;
  return ioctl(fd_, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
}

bool KernelListener::IdValid(uint64_t id) { return notif_valid(fd_, id); }

// The flags are the ioctl's argument itself, not a pointer to them.
int KernelListener::SetFlags(uint64_t flags) {
  return ioctl(fd_, SECCOMP_IOCTL_NOTIF_SET_FLAGS, static_cast<unsigned long>(flags));
}

}  // namespace netlog
