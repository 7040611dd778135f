// The worker side of blocking emulations (native/blocking.cc).
#pragma once
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <mutex>

#include "supervisor.h"

namespace netlog {

// Sent to a worker blocked in an emulated accept/connect to interrupt it.
const int kInterruptSignal = SIGRTMAX - 3;
// The kernel's internal "restart if the handler has SA_RESTART" errno; it is
// turned into EINTR or a restart on the way back to user space.
const int ERESTARTSYS = 512;

// A worker blocked in accept/connect on behalf of a target task. The monitor
// interrupts it when the task has a deliverable signal or is gone.
struct Supervisor::BlockingOp {
  uint64_t id;
  pid_t tid;
  uint64_t seq = 0;  // key in ops_
  pthread_t worker{};
  // Set for a call that waits in io_uring: interrupted by a cancel, not a signal.
  RingCall* ring = nullptr;
  bool cancelled = false;
  std::mutex mu;
  bool in_call = false;
  bool interrupted = false;
  // What the caller is answered when interrupted: ERESTARTSYS lets the
  // kernel restart the call for an SA_RESTART handler, as it would have.
  int interrupt_error = EINTR;

  // Runs fn() until it completes or the op is interrupted (then EINTR).
  template <typename F>
  long Call(F fn) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lk(mu);
        if (interrupted) {
          errno = EINTR;
          return -1;
        }
        in_call = true;
      }
      long r = fn();
      int e = errno;
      {
        std::lock_guard<std::mutex> lk(mu);
        in_call = false;
      }
      if (r >= 0 || e != EINTR) {
        errno = e;
        return r;
      }
    }
  }
};

// A connect or accept submitted to io_uring, from submission to completion;
// its buffers must live until then.
struct Supervisor::RingCall {
  BlockingOp op;
  Call c;
  int dup = -1;
  bool accept = false;
  // connect
  sockaddr_storage addr{};
  socklen_t len = 0;
  // accept
  int flags = 0;
  uint64_t addr_ptr = 0, addrlen_ptr = 0;
  int32_t user_len = 0;
  Event ev;
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof peer;
};

}  // namespace netlog
