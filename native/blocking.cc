// Blocking connects and accepts are submitted to io_uring, which tries them
// without blocking first: one that completes at once is answered on the
// supervisor thread, one that would block waits in the ring and its
// completion is taken by the supervisor thread later. Without io_uring (or
// for a socket with a send/receive timeout, which io_uring does not honour)
// they run on a bounded pool of worker threads. The monitor watches held
// callers for signals meanwhile and interrupts the call (a cancel, or a
// signal to the worker): EINTR, or ERESTARTSYS so the kernel restarts the
// call as it would have.
#include "blocking.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "kernel.h"
#include "procinfo.h"

namespace netlog {

namespace {
void OnInterrupt(int) {}

// Beyond these, a blocking call is answered EAGAIN (as the kernel answers a
// call short of resources): threads and ring slots are netlog's own.
const size_t kMaxWorkers = 256;
const size_t kMaxRingCalls = 4096;

bool HasTimeout(int fd, int opt) {
  timeval tv{};
  socklen_t len = sizeof tv;
  return getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0 || tv.tv_sec != 0 || tv.tv_usec != 0;
}

// "State:\tS" and "SigBlk:\t..." of a /proc status file.
char StateOf(const std::string& status) {
  size_t i = status.find("\nState:\t");
  return i == std::string::npos || i + 8 >= status.size() ? '?' : status[i + 8];
}
unsigned long long BlockedOf(const std::string& status) {
  size_t i = status.find("\nSigBlk:\t");
  return i == std::string::npos ? 0 : strtoull(status.c_str() + i + 9, nullptr, 16);
}

// What the monitor reads of a thread group, at most once per round however
// many of its threads are held: each thread's blocked signals and state.
struct GroupScan {
  bool leader_read = false;
  char leader_state = '?';
  bool scanned = false;
  std::vector<std::pair<pid_t, std::string>> threads;  // tid, status

  void Scan(int tgid) {
    if (scanned) return;
    scanned = true;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", tgid);
    DIR* dir = opendir(path);
    if (!dir) return;
    while (struct dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      pid_t t = atoi(e->d_name);
      snprintf(path, sizeof path, "/proc/%d/task/%d/status", tgid, t);
      std::string buf;
      if (ReadSmallFile(path, buf)) threads.emplace_back(t, std::move(buf));  // gone meanwhile: skipped
    }
    closedir(dir);
  }
  // Every other thread blocks all of mask: a process-wide signal in it can
  // only be delivered to tid.
  bool OnlyThreadFor(int tgid, pid_t tid, unsigned long long mask) {
    Scan(tgid);
    for (auto& t : threads)
      if (t.first != tid && (BlockedOf(t.second) & mask) != mask) return false;
    return true;
  }
  // A group stop in progress (Ctrl-Z, SIGSTOP) waits for every thread. The
  // leader takes part in it unless it is the held one or gone: its state
  // alone answers then, one read for the whole group.
  bool OtherThreadStopped(int tgid, pid_t tid, const std::unordered_set<pid_t>& held) {
    if (!held.count(tgid)) {
      if (!leader_read) {
        leader_read = true;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d/status", tgid, tgid);
        std::string buf;
        if (ReadSmallFile(path, buf)) leader_state = StateOf(buf);
      }
      if (leader_state == 'T' || leader_state == 't') return true;
      if (leader_state != 'Z' && leader_state != 'X' && leader_state != '?') return false;
    }
    Scan(tgid);
    for (auto& t : threads) {
      char st = StateOf(t.second);
      if (t.first != tid && (st == 'T' || st == 't')) return true;
    }
    return false;
  }
};
}  // namespace

void InstallInterruptHandler() {
  struct sigaction sa{};
  sa.sa_handler = OnInterrupt;  // no SA_RESTART: the blocked call returns EINTR
  sigemptyset(&sa.sa_mask);
  sigaction(kInterruptSignal, &sa, nullptr);
}

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

bool StartThread(std::function<void()> fn, pthread_t* joinable) {
  auto* heap = new std::function<void()>(std::move(fn));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (!joinable) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
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
  if (joinable) *joinable = t;
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
  if (workers_ < kMaxWorkers && StartThread([this] { WorkerLoop(); })) {
    workers_++;
    return;
  }
  // No thread to be had (RLIMIT_NPROC, pids.max shared with the session, the
  // pool's bound): the call fails as the kernel fails a call short of resources.
  int err = workers_ < kMaxWorkers ? errno : EAGAIN;
  jobs_.pop_back();
  lk.unlock();
  close(dup);
  if (!warned_thread_.exchange(true))
    Warn(workers_ >= kMaxWorkers
             ? "more than " + std::to_string(kMaxWorkers) + " connect/accept calls blocked on worker threads at once; more are answered EAGAIN"
             : std::string("cannot start a worker thread (") + strerror(err) + "); blocking connect/accept answered EAGAIN");
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
      if (ended_.load()) {
        workers_--;
        return;
      }
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
    AddOp(&op);
    job.run(&op);
    RemoveOp(&op);
    lk.lock();
  }
}

void Supervisor::AddOp(BlockingOp* op) {
  {
    std::lock_guard<std::mutex> lk(ops_mu_);
    op->seq = ++ops_seq_;
    ops_[op->seq] = op;
  }
  ops_cv_.notify_one();
}

void Supervisor::RemoveOp(BlockingOp* op) {
  if (op->seq == 0) return;
  std::lock_guard<std::mutex> lk(ops_mu_);
  ops_.erase(op->seq);
}

bool Supervisor::RingConnect(const Call& c, int dup, const sockaddr_storage& addr, socklen_t len) {
  if (!ring_.Ready() || HasTimeout(dup, SO_SNDTIMEO)) return false;
  auto* rc = new RingCall;
  rc->c = c;
  rc->dup = dup;
  rc->addr = addr;
  rc->len = len;
  if (RingSubmit(rc)) return true;
  delete rc;
  return false;
}

bool Supervisor::RingAccept(const Call& c, int dup, int flags, uint64_t addr, uint64_t addrlen, int32_t user_len,
                            Event& ev) {
  if (!ring_.Ready() || HasTimeout(dup, SO_RCVTIMEO)) return false;
  auto* rc = new RingCall;
  rc->c = c;
  rc->dup = dup;
  rc->accept = true;
  rc->flags = flags;
  rc->addr_ptr = addr;
  rc->addrlen_ptr = addrlen;
  rc->user_len = user_len;
  rc->ev = ev;
  if (RingSubmit(rc)) return true;
  delete rc;
  return false;
}

// Supervisor thread only (it alone reaps the ring).
bool Supervisor::RingSubmit(RingCall* rc) {
  if (ring_calls_ >= kMaxRingCalls) return false;
  rc->op.id = rc->c.id;
  rc->op.tid = rc->c.tid;
  rc->op.ring = rc;
  auto data = reinterpret_cast<uint64_t>(rc);
  bool ok = rc->accept ? ring_.Accept(rc->dup, reinterpret_cast<sockaddr*>(&rc->peer), &rc->peer_len,
                                      SOCK_CLOEXEC | (rc->flags & SOCK_NONBLOCK), data)
                       : ring_.Connect(rc->dup, reinterpret_cast<const sockaddr*>(&rc->addr), rc->len, data);
  if (!ok) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      Warn(std::string("io_uring submission failed (") + strerror(errno) + "); the call is handed to a worker thread");
    return false;
  }
  ring_calls_++;
  ring_live_.insert(rc);
  // The call that completed at once is answered now, with no other thread
  // involved; only one still waiting is shown to the monitor.
  RingDrain();
  if (ring_live_.count(rc)) AddOp(&rc->op);
  return true;
}

void Supervisor::RingDrain() {
  std::vector<Uring::Completion> done;
  ring_.Reap(done);
  for (const auto& d : done) {
    auto* rc = reinterpret_cast<RingCall*>(d.data);
    if (!ring_live_.erase(rc)) continue;
    ring_calls_--;
    RemoveOp(&rc->op);
    RingDone(rc, d.res);
    delete rc;
  }
}

void Supervisor::RingDone(RingCall* rc, int res) {
  int err = res < 0 ? -res : 0;
  // Cancelled by the monitor (a signal for the caller) or at the session's end.
  if (err == ECANCELED) err = EINTR;
  if (rc->accept) {
    AcceptDone(rc->c, rc->dup, rc->flags, rc->addr_ptr, rc->addrlen_ptr, rc->user_len, std::move(rc->ev), &rc->op,
               res < 0 ? -1 : res, err, rc->peer, rc->peer_len);
    return;
  }
  if (err == EALREADY && !ended_.load()) {
    // A connect restarted after a signal while its handshake goes on: a
    // blocking connect waits for that handshake, the ring's non-blocking
    // try only says EALREADY. (A signal still pending interrupts the worker.)
    // Not once the session is over: the monitor may be gone, and a worker
    // waiting for a handshake nobody answers would hold its duplicate for
    // minutes; the connect is dropped below (dissolved) instead.
    Call c = rc->c;
    int dup = rc->dup;
    sockaddr_storage addr = rc->addr;
    socklen_t len = rc->len;
    RunBlocking([this, c, dup, addr, len](BlockingOp* op) { FinishConnect(c, dup, true, addr, len, op); }, c, dup);
    return;
  }
  ConnectDone(rc->c, rc->dup, true, rc->addr, rc->len, &rc->op, err);
}

// The session ended (no task uses the filter, or netlogd closed it): what
// waits in the ring is cancelled and taken back, so that no duplicate
// outlives the session. Each comes back through RingDone, which answers a
// caller still waiting and closes (or dissolves) the duplicate.
void Supervisor::RingEnd() {
  if (!ring_.Ready()) return;
  for (RingCall* rc : ring_live_) ring_.Cancel(reinterpret_cast<uint64_t>(rc));
  // Bounded: the engine thread serves the other sessions too. A cancel of a
  // socket call in the ring completes at once; this waits for a ring whose
  // cancel could not be submitted.
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    RingDrain();
    if (ring_calls_ == 0) break;
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (ms >= 2000) break;
    ring_.Wait(50);
  }
  // netlogd keeps its supervisors: the ring's fd and memory go now. Closing
  // it cancels what is left; the kernel may still write into their buffers
  // meanwhile, so those RingCalls are not freed (a few hundred bytes, for a
  // case that should not happen), but their duplicates are closed (the
  // kernel holds its own reference while a request lives) and they leave
  // the monitor's watch, so that its thread ends.
  ring_.Close();
  if (ring_live_.empty()) return;
  size_t lost = ring_live_.size();
  for (RingCall* rc : ring_live_) {
    RemoveOp(&rc->op);
    close(rc->dup);
  }
  ring_live_.clear();
  ring_calls_ = 0;
  Warn(std::to_string(lost) + " connect/accept calls did not come back from io_uring at the end of the session; dropped");
}

// With WAIT_KILLABLE_RECV the held caller only wakes for fatal signals, so
// netlog looks for the others itself: a deliverable signal (or the caller's
// death) interrupts the call, which answers EINTR. Each held call costs one
// /proc read of its own thread per round, plus at most one read (or, rarely,
// one scan) of its thread group shared by all its held calls; /proc is read
// without the ops lock, so calls come and go meanwhile.
void Supervisor::Monitor() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  struct Held {
    uint64_t seq, id;
    pid_t tid;
  };
  std::vector<Held> held;
  std::vector<std::pair<uint64_t, int>> hits;  // seq, the error to answer
  std::unordered_map<uint64_t, int> shared_rounds, next_rounds;  // rounds a process-wide signal stayed pending
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
      shared_rounds.clear();
      continue;
    }
    bool busy = ops_.size() != seen_ops;
    seen_ops = ops_.size();
    held.clear();
    for (auto& kv : ops_) held.push_back(Held{kv.first, kv.second->id, kv.second->tid});
    lk.unlock();

    std::unordered_set<pid_t> held_tids;
    for (const Held& h : held) held_tids.insert(h.tid);
    std::unordered_map<int, GroupScan> groups;
    hits.clear();
    next_rounds.clear();
    for (const Held& h : held) {
      SignalState sig;
      bool alive = ReadSignalState(h.tid, sig) && notif_valid(listener_, h.id);
      int error = EINTR;
      if (alive) {
        GroupScan& g = groups[sig.tgid];
        if (sig.thread_pending ||
            (sig.shared_pending && (sig.threads == 1 || g.OnlyThreadFor(sig.tgid, h.tid, sig.shared_mask)))) {
          // The signal is this thread's: the kernel will run its handler on
          // the way out, and restart the call if the handler asks for it.
          error = ERESTARTSYS;
        } else if (sig.shared_pending) {
          // Another thread may take a process-wide signal; only one that
          // stays pending interrupts, and with EINTR: -ERESTARTSYS must
          // never reach a thread with no signal to handle.
          busy = true;
          auto it = shared_rounds.find(h.seq);
          int rounds = (it == shared_rounds.end() ? 0 : it->second) + 1;
          if (rounds < 2) {
            next_rounds[h.seq] = rounds;
            continue;
          }
        } else if (sig.threads > 1 && g.OtherThreadStopped(sig.tgid, h.tid, held_tids)) {
          // A group stop waits for every thread; the held one joins it on
          // its way out and restarts the call on SIGCONT.
          error = ERESTARTSYS;
        } else {
          continue;
        }
      }
      busy = true;
      hits.emplace_back(h.seq, error);
    }
    shared_rounds.swap(next_rounds);

    lk.lock();
    for (const auto& hit : hits) {
      auto it = ops_.find(hit.first);
      if (it == ops_.end()) continue;  // completed meanwhile
      BlockingOp* op = it->second;
      std::lock_guard<std::mutex> olk(op->mu);
      op->interrupted = true;
      op->interrupt_error = hit.second;
      if (op->ring) {
        // Its completion (-ECANCELED, or the result if it came first) is
        // taken by the supervisor thread. A cancel that could not be
        // submitted is tried again next round.
        if (!op->cancelled) op->cancelled = ring_.Cancel(reinterpret_cast<uint64_t>(op->ring));
      } else if (op->in_call) {
        pthread_kill(op->worker, kInterruptSignal);
      }
    }
    interval_ms = busy ? 2 : std::min(interval_ms * 2, 32);
    ops_cv_.wait_for(lk, std::chrono::milliseconds(interval_ms));
  }
}


}  // namespace netlog
