// A scripted SeccompListener for the native unit tests: it hands out the
// notifications it is given and records every answer, without a kernel. What
// it cannot show (the kernel's own semantics of RECV/SEND/ADDFD) the live
// tests in test/live/ show.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <set>
#include <vector>

#include "../../native/listener.h"

namespace netlog {

class FakeListener final : public SeccompListener {
 public:
  struct Added {
    seccomp_notif_addfd addfd;
    bool was_socket;  // srcfd was an open socket when ADDFD was asked
  };

  FakeListener() {
    if (pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) < 0) pipe_[0] = pipe_[1] = -1;
  }
  ~FakeListener() override {
    for (int fd : pipe_)
      if (fd >= 0) close(fd);
  }

  // A notification to receive; a RECV that fails with `err` instead when err != 0.
  void Queue(const seccomp_notif& n) { Script({n, 0}); }
  void QueueRecvError(int err) { Script({seccomp_notif{}, err}); }
  // The kernel's POLLHUP: no task uses the filter any more.
  void HangUp() {
    close(pipe_[1]);
    pipe_[1] = -1;
  }
  // The caller of `id` went away: IdValid fails and answers get ENOENT.
  void Invalidate(uint64_t id) { gone_.insert(id); }
  // The next SEND / ADDFD calls fail with these errnos, in order (0: succeed).
  std::deque<int> send_errors, addfd_errors;

  std::vector<seccomp_notif_resp> answers;  // the SENDs that answered
  std::vector<Added> added;                 // the ADDFDs that succeeded
  int late_sends = 0;                       // SENDs for an id already answered or gone
  int addfd_calls = 0;                      // every ADDFD asked, failed or not
  int next_fd = 7;                          // the caller's fd an ADDFD "installs"

  int fd() const override { return pipe_[0]; }

  int Recv(seccomp_notif* n) override {
    if (script_.empty()) return Fail(EAGAIN);  // the kernel would block: a defect in the caller
    Item it = script_.front();
    script_.pop_front();
    if (script_.empty()) {
      char b;
      while (read(pipe_[0], &b, 1) == 1) {
      }
    }
    if (it.err) return Fail(it.err);
    *n = it.n;
    pending_.insert(it.n.id);
    return 0;
  }

  int Send(const seccomp_notif_resp& resp) override {
    if (int e = Next(send_errors)) return Fail(e);
    if (!pending_.count(resp.id) || gone_.count(resp.id)) {
      late_sends++;
      return Fail(ENOENT);
    }
    pending_.erase(resp.id);
    answers.push_back(resp);
    return 0;
  }

  int AddFd(const seccomp_notif_addfd& a) override {
    addfd_calls++;
    if (int e = Next(addfd_errors)) return Fail(e);
    if (!pending_.count(a.id) || gone_.count(a.id)) return Fail(ENOENT);
    struct stat st{};
    bool sock = fstat(static_cast<int>(a.srcfd), &st) == 0 && S_ISSOCK(st.st_mode);
    added.push_back({a, sock});
    return next_fd++;
  }

  bool IdValid(uint64_t id) override { return pending_.count(id) && !gone_.count(id); }
  int SetFlags(uint64_t) override { return 0; }

 private:
  struct Item {
    seccomp_notif n;
    int err;
  };
  void Script(const Item& it) {
    if (script_.empty() && pipe_[1] >= 0) (void)!write(pipe_[1], "n", 1);
    script_.push_back(it);
  }
  static int Fail(int e) {
    errno = e;
    return -1;
  }
  static int Next(std::deque<int>& q) {
    if (q.empty()) return 0;
    int e = q.front();
    q.pop_front();
    return e;
  }
  int pipe_[2];
  std::deque<Item> script_;
  std::set<uint64_t> pending_, gone_;
};

}  // namespace netlog
