// The seccomp listener as the Supervisor uses it (seccomp_unotify(2)): the
// few kernel calls behind one small interface, so that the dispatch logic can
// be driven by a scripted fake in the native unit tests (test/native/).
#pragma once

#include <linux/seccomp.h>
#include <cstdint>

namespace netlog {

// Each call returns as the ioctl does: 0 (AddFd: the caller's new fd), or -1
// with errno. EINTR is the caller's to retry, and ENOENT means the caller went
// away (or the id was already answered): neither is an error to report.
class SeccompListener {
 public:
  virtual ~SeccompListener() = default;
  // What the engine polls: POLLIN while a notification waits, POLLHUP once no
  // task uses the filter any more.
  virtual int fd() const = 0;
  virtual int Recv(seccomp_notif* n) = 0;
  virtual int Send(const seccomp_notif_resp& resp) = 0;
  virtual int AddFd(const seccomp_notif_addfd& addfd) = 0;
  // True while the notification is still pending (the caller is the same
  // live task).
  virtual bool IdValid(uint64_t id) = 0;
  virtual int SetFlags(uint64_t flags) = 0;

  // The answers the Supervisor gives, over Send; EINTR retried, the result
  // (ENOENT: nothing to answer) left to the caller to ignore.
  void Continue(uint64_t id);
  void Error(uint64_t id, int error);  // error: a positive errno
  void Value(uint64_t id, int64_t val);
};

// The kernel's listener fd (not owned: netlog's session closes it).
class KernelListener final : public SeccompListener {
 public:
  explicit KernelListener(int fd) : fd_(fd) {}
  int fd() const override { return fd_; }
  int Recv(seccomp_notif* n) override;
  int Send(const seccomp_notif_resp& resp) override;
  int AddFd(const seccomp_notif_addfd& addfd) override;
  bool IdValid(uint64_t id) override;
  int SetFlags(uint64_t flags) override;

 private:
  int fd_;
};

// notif_valid() (kernel.h) for the Supervisor's listener.
inline bool notif_valid(SeccompListener* l, uint64_t id) { return l->IdValid(id); }

}  // namespace netlog
