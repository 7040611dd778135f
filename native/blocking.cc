// Calls that really block (a connect or an accept with nothing queued) run on
// worker threads so the supervisor keeps answering; the monitor watches their
// callers for signals meanwhile and interrupts the worker (EINTR, or
// ERESTARTSYS so the kernel restarts the call as it would have).
#include "blocking.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cstring>

#include "kernel.h"
#include "procinfo.h"

namespace netlog {

namespace {
void OnInterrupt(int) {}
}  // namespace

void InstallInterruptHandler() {
  struct sigaction sa{};
  sa.sa_handler = OnInterrupt;  // no SA_RESTART: the blocked call returns EINTR
  sigemptyset(&sa.sa_mask);
  sigaction(kInterruptSignal, &sa, nullptr);
}

// A worker blocked in accept/connect on behalf of a target task. The monitor

long Supervisor::OpCall(BlockingOp* op, const std::function<long()>& fn) { return op->Call(fn); }

// A connect that succeeded, or goes on in the background (EINPROGRESS,
// interrupted), is dissolved: connect(2) with AF_UNSPEC.
void Supervisor::Disconnect(int fd, int err) {
  if (err != 0 && err != EINPROGRESS && err != EALREADY && err != EINTR && err != ERESTARTSYS) return;
  sockaddr sa{};
  sa.sa_family = AF_UNSPEC;
  connect(fd, &sa, sizeof sa);
}

int Supervisor::AnswerFor(int err, BlockingOp* op, int fd, int timeo_opt) {
  if (err != EINTR || !op) return err;
  int interrupt_error;
  {
    std::lock_guard<std::mutex> lk(op->mu);
    if (!op->interrupted) return err;
    interrupt_error = op->interrupt_error;
  }
  if (interrupt_error != ERESTARTSYS) return interrupt_error;
  timeval tv{};
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, timeo_opt, &tv, &len) == 0 && (tv.tv_sec != 0 || tv.tv_usec != 0)) return EINTR;
  return ERESTARTSYS;
}

bool StartThread(std::function<void()> fn) {
  auto* heap = new std::function<void()>(std::move(fn));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int r = pthread_create(
      &t, &attr,
      [](void* p) -> void* {
        auto* f = static_cast<std::function<void()>*>(p);
        (*f)();
        delete f;
        return nullptr;
      },
      heap);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    delete heap;
    errno = r;
    return false;
  }
  return true;
}



// Blocking emulations run on worker threads so the supervisor keeps
// answering; the monitor watches the callers for signals meanwhile. Workers
// are kept for reuse: a thread per connect would cost more than the connect.
void Supervisor::RunBlocking(std::function<void(BlockingOp*)> job, const Call& c, int dup) {
  std::unique_lock<std::mutex> lk(pool_mu_);
  jobs_.push_back(Job{std::move(job), c});
  // Every queued job needs a worker of its own: one blocked in accept may
  // never come back for it.
  if (jobs_.size() <= idle_workers_) {
    pool_cv_.notify_one();
    return;
  }
  if (StartThread([this] { WorkerLoop(); })) return;
  // No thread to be had (RLIMIT_NPROC, pids.max shared with the session):
  // the call fails as the kernel fails a call short of resources.
  int err = errno;
  jobs_.pop_back();
  lk.unlock();
  close(dup);
  if (!warned_thread_.exchange(true))
    Warn(std::string("cannot start a worker thread (") + strerror(err) + "); blocking connect/accept answered EAGAIN");
  Respond(c.id, EAGAIN, false);
}

void Supervisor::WorkerLoop() {
  sigset_t set;
  sigfillset(&set);
  sigdelset(&set, kInterruptSignal);
  pthread_sigmask(SIG_SETMASK, &set, nullptr);
  std::unique_lock<std::mutex> lk(pool_mu_);
  for (;;) {
    while (jobs_.empty()) {
      if (ended_.load()) return;
      idle_workers_++;
      pool_cv_.wait(lk);
      idle_workers_--;
    }
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lk.unlock();
    BlockingOp op;
    op.id = job.call.id;
    op.tid = job.call.tid;
    op.worker = pthread_self();
    {
      std::lock_guard<std::mutex> olk(ops_mu_);
      ops_.push_back(&op);
    }
    ops_cv_.notify_one();
    job.run(&op);
    {
      std::lock_guard<std::mutex> olk(ops_mu_);
      for (auto it = ops_.begin(); it != ops_.end(); ++it) {
        if (*it == &op) {
          ops_.erase(it);
          break;
        }
      }
    }
    lk.lock();
  }
}

// With WAIT_KILLABLE_RECV the held caller only wakes for fatal signals, so
// netlog looks for the others itself: a deliverable signal (or the caller's
// death) interrupts the worker, which answers EINTR.
void Supervisor::Monitor() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_lock<std::mutex> lk(ops_mu_);
  // Every op is looked at every `interval`: 2 ms after anything happened,
  // doubling to 32 ms while nothing does (a prefork server idle in accept
  // must not keep a CPU busy reading /proc).
  int interval_ms = 2;
  size_t seen_ops = 0;
  for (;;) {
    if (ops_.empty()) {
      if (ended_.load()) return;
      ops_cv_.wait(lk);
      interval_ms = 2;
      continue;
    }
    bool busy = ops_.size() != seen_ops;
    seen_ops = ops_.size();
    for (BlockingOp* op : ops_) {
      SignalState sig;
      bool alive = ReadSignalState(op->tid, sig) && notif_valid(listener_, op->id);
      int error = EINTR;
      if (alive) {
        if (sig.thread_pending ||
            (sig.shared_pending && (sig.threads == 1 || OnlyThreadFor(sig.tgid, op->tid, sig.shared_mask)))) {
          // The signal is this thread's: the kernel will run its handler on
          // the way out, and restart the call if the handler asks for it.
          error = ERESTARTSYS;
        } else if (sig.shared_pending) {
          // Another thread may take a process-wide signal; only one that
          // stays pending interrupts, and with EINTR: -ERESTARTSYS must
          // never reach a thread with no signal to handle.
          busy = true;
          if (++op->shared_rounds < 2) continue;
        } else if (sig.threads > 1 && OtherThreadStopped(sig.tgid, op->tid)) {
          // A group stop waits for every thread; the held one joins it on
          // its way out and restarts the call on SIGCONT.
          error = ERESTARTSYS;
        } else {
          op->shared_rounds = 0;
          continue;
        }
      }
      busy = true;
      std::lock_guard<std::mutex> olk(op->mu);
      op->interrupted = true;
      op->interrupt_error = error;
      if (op->in_call) pthread_kill(op->worker, kInterruptSignal);
    }
    interval_ms = busy ? 2 : std::min(interval_ms * 2, 32);
    ops_cv_.wait_for(lk, std::chrono::milliseconds(interval_ms));
  }
}


}  // namespace netlog
