// The supervisor of one session: the engine thread (native/engine.cc, one for
// every session of the process) receives its notifications; it answers on
// its own what needs no record, and holds the rest until TypeScript has
// written the record and calls Answer() (log before allow).
#pragma once
#include <linux/seccomp.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <ctime>

#include "egress.h"
#include "event.h"
#include "filter.h"
#include "uring.h"
#include "landlock_marks.h"
#include "listener.h"

namespace netlog {

// Probe bits, as the original `probes` parameter, plus tcp_bind (extension).
enum Probe : uint32_t {
  kTcpConnect = 0x1, kTcpAccept = 0x2, kTcpClose = 0x4,
  kUdpConnect = 0x8, kUdpBind = 0x10, kUdpClose = 0x20, kTcpBind = 0x40,
};

struct SupervisorOptions {
  TrapSet traps;
  uint32_t probes = 0x7f;
  bool exec = true;
  size_t argv_max = 39936;
};

class Supervisor {
 public:
  // `post` is called (from any thread) when messages are waiting in the queue.
  Supervisor(int listener, const SupervisorOptions& opts, std::function<void(Supervisor*)> post);
  // Over another listener than the kernel's (the native unit tests' fake).
  Supervisor(std::unique_ptr<SeccompListener> listener, const SupervisorOptions& opts,
             std::function<void(Supervisor*)> post);
  // Starts the monitor thread and hands the listener to the engine; false
  // (errno set) if it cannot.
  bool Start();
  // The engine thread, when the listener is readable or hung up (`revents`
  // of its poll): receives and handles what is ready; false once no task
  // uses the filter any more (the session has ended; 'end' is queued).
  bool OnReadable(short revents);
  int Listener() const { return listener_->fd(); }
  // The io_uring of calls that would block (-1 without one), and taking its
  // completions: the engine thread polls it beside the listener.
  int RingFd() const;
  // A warning for netlog-run's stderr (netlogd's log), queued as a message.
  void Warn(const std::string& text);
  void OnRing();
  // The session is over for netlog (netlogd closes it): its monitor and
  // workers end, no 'end' message is sent (engine thread).
  void Detach();
  // JS thread, before the callback is released: nothing is posted any
  // more, and what is held is dropped (see Drop).
  void Close();
  // Takes every queued message (JS thread).
  std::deque<Message> Drain();
  // Lets the held syscall go on (refuse=false) or fails it with EACCES.
  void Answer(uint32_t token, bool refuse);
  void SetProbes(uint32_t probes) { probes_.store(probes); }
  // While set (a record could not be written), inet connects are refused
  // with EACCES before they are performed.
  // While on, connects are refused before they are performed, but for one a
  // second (from a second after this call), which probes the log again.
  void SetRefuseConnects(bool on) {
    if (on && !refuse_connects_.load()) refuse_probe_s_.store(static_cast<int64_t>(time(nullptr)));
    refuse_connects_.store(on);
  }
  void Push(Message&& m);
  bool Ended() const { return ended_.load(); }
  // --egress block: the table, set before the session starts (native/egress.cc).
  EgressPolicy& Egress() { return egress_; }

 private:
  enum class How : uint8_t { Continue, Return, AddFd };
  struct Pending {
    uint64_t id = 0;
    pid_t tid = 0;
    How how = How::Continue;
    int error = 0;  // Return: 0 or a positive errno
    int fd = -1;    // Connect: the duplicate; Accept: the new connection
    bool tcp = true;
    uint32_t fd_flags = 0;
    uint64_t addr = 0, addrlen = 0;
    int32_t user_len = 0;
    sockaddr_storage peer{};
    socklen_t peer_len = 0;
  };
  struct Call {  // one notification, as the worker threads need it
    uint64_t id;
    pid_t tid;
    int nr;
    uint64_t args[6];
    int64_t realtime_us, boottime_us;
  };
  struct BlockingOp;
  struct RingCall;  // a connect/accept waiting in io_uring (native/blocking.h)

  void Handle(const seccomp_notif& n);
  void EndSession();
  void Drop(const Pending& p);
  void ReleaseKept();
  void HandleExec(const Call& c);
  void HandleConnect(const Call& c);
  void HandleAccept(const Call& c);
  void HandleBind(const Call& c);
  void HandleClose(const Call& c);
  void FinishConnect(const Call& c, int dup, bool tcp, const sockaddr_storage& addr,
                     socklen_t len, BlockingOp* op);
  void FinishAccept(const Call& c, int dup, int flags, uint64_t addr, uint64_t addrlen,
                    int32_t user_len, Event ev, BlockingOp* op);
  // The outcome of an emulated connect (err: 0 or its errno) / accept.
  void ConnectDone(const Call& c, int dup, bool tcp, const sockaddr_storage& addr, socklen_t len,
                   BlockingOp* op, int err);
  void AcceptDone(const Call& c, int dup, int flags, uint64_t addr, uint64_t addrlen, int32_t user_len,
                  Event ev, BlockingOp* op, long r, int err, const sockaddr_storage& peer, socklen_t peer_len);
  // io_uring (native/blocking.cc): false when the call must take the
  // worker path (no ring, a socket timeout, too many in flight).
  bool RingConnect(const Call& c, int dup, const sockaddr_storage& addr, socklen_t len);
  bool RingAccept(const Call& c, int dup, int flags, uint64_t addr, uint64_t addrlen, int32_t user_len,
                  Event& ev);
  bool RingSubmit(RingCall* rc);
  void RingDrain();
  void RingDone(RingCall* rc, int res);
  void RingEnd();
  void AddOp(BlockingOp* op);
  void RemoveOp(BlockingOp* op);
  void Respond(uint64_t id, int error, bool cont);
  int AddFdAndAnswer(uint64_t id, int srcfd, uint32_t newfd_flags);
  int CopyPeerOut(const Call& c, const Pending& p);
  void Hold(Event&& ev, const Call& c, Pending p);
  // extra: more ReadFlags (procinfo.h).
  bool FillEvent(const Call& c, Kind kind, Event& ev, unsigned extra = 0);
  int DupFd(const Call& c, int fd, int& err);
  int DupCallerFd(const Call& c);
  static int AnswerFor(int err, BlockingOp* op, int fd, int timeo_opt);
  static void Disconnect(int fd, int err);
  void Fail(const Call& c, const char* what);
  void RunBlocking(std::function<void(BlockingOp*)> job, const Call& c, int dup);
  void Monitor();
  void WorkerLoop();

  // --egress block (native/egress.cc).
 public:
  struct Datagram;
 private:
  bool EgressGate(const Call& c, int dup, bool tcp, const sockaddr_storage& addr, socklen_t len);
  void HandleSend(const Call& c);
  void FinishSend(const Call& c, int dup, int domain, std::vector<Datagram> msgs, const std::string& exe,
                  const char* via, BlockingOp* op, size_t sent, long first);
  void Block(const Call& c, int dup, bool tcp, const Dest& d, const char* via);
  void Unchecked(const Call& c, int protocol);
  std::string CallerExe(const Call& c);
  void RespondValue(uint64_t id, int64_t val);
  static long OpCall(BlockingOp* op, const std::function<long()>& fn);  // op->Call, for egress.cc
  EgressPolicy egress_;
  std::atomic<bool> warned_unchecked_{false};

  // Programs sandboxed by their own Landlock domain (native/landlock_marks.cc).
  void HandleLandlockRestrict(const Call& c);
  void HandleLandlockCreate(const Call& c);
  bool OwnSandboxConnect(const Call& c, int dup, bool tcp, const sockaddr_storage& addr, socklen_t len);
  LandlockMarks landlock_;
  std::atomic<bool> warned_landlock_{false};

  std::unique_ptr<SeccompListener> listener_owned_;
  SeccompListener* listener_;
  SupervisorOptions opts_;
  std::atomic<uint32_t> probes_;
  std::function<void(Supervisor*)> post_;
  std::atomic<bool> ended_{false};
  std::atomic<bool> closed_{false};
  std::atomic<int64_t> refuse_probe_s_{0};  // second of the last connect let through while refusing
  std::mutex post_mu_;
  std::vector<char> notif_buf_;  // the engine thread's receive buffer
  std::atomic<bool> refuse_connects_{false};

  // Only filled while execs are trapped: an exec it did not see would leave
  // it stale.
  StableCache stable_;
  std::mutex pidfd_mu_;
  std::unordered_map<pid_t, int> pidfds_;  // thread-group leaders only

  std::mutex queue_mu_;
  std::deque<Message> queue_;
  bool posted_ = false;

  std::mutex pending_mu_;
  std::unordered_map<uint32_t, Pending> pending_;
  uint32_t next_token_ = 1;

  // Connections netlog made or accepted for the session, by socket inode:
  // a TCP socket whose connection has already ended (peer closed, TIME_WAIT)
  // no longer answers getpeername, but its close is still recorded with it.
  struct Tracked {
    Endpoint local, remote;
    bool accepted = false;
    int connect_errno = 0;  // what the recorded connect returned
  };
  void Track(int fd, const Event& ev, bool accepted);
  bool Untrack(uint64_t ino, Tracked& out);
  std::mutex tracked_mu_;
  std::unordered_map<uint64_t, Tracked> tracked_;
  std::deque<uint64_t> tracked_order_;

  // Held calls the monitor watches, by BlockingOp::seq.
  std::mutex ops_mu_;
  std::condition_variable ops_cv_;
  std::unordered_map<uint64_t, BlockingOp*> ops_;
  uint64_t ops_seq_ = 0;

  // Connects and accepts that wait in io_uring; the supervisor thread
  // submits and reaps them (the monitor only cancels).
  Uring ring_;
  size_t ring_calls_ = 0;
  std::unordered_set<RingCall*> ring_live_;  // for the end of the session

  struct Job {
    std::function<void(BlockingOp*)> run;
    Call call;
  };
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::deque<Job> jobs_;
  size_t idle_workers_ = 0;
  size_t workers_ = 0;
  std::atomic<bool> warned_fail_{false};
  std::atomic<bool> warned_thread_{false};
};

// Starts a thread, detached unless `joinable` is given (its id is stored
// there); false (errno set) when none can be had.
bool StartThread(std::function<void()> fn, pthread_t* joinable = nullptr);

// Installs the no-op handler of the signal used to interrupt a worker that is
// blocked in an emulated accept/connect (once per process).
void InstallInterruptHandler();

}  // namespace netlog
