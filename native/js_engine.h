// The engine of netlog-run: the JavaScript thread itself receives, decides
// and answers, so a recorded call crosses no thread (docs/design.md "The
// engine"). A uv_prepare handle runs each time libuv is about to wait; it
// waits instead, in poll(2), on the session's listener and io_uring, on a
// wake-up eventfd for messages from other threads (the waiter, the workers,
// the monitor) and on libuv's own epoll descriptor, and calls TypeScript
// with each batch synchronously. poll(2) on the listener keeps
// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP effective (an epoll wait would not:
// measured in docs/performance.md).
//
// netlogd keeps engine threads (native/engine.cc): a call that blocks the
// engine (a FUSE path that never answers) must stall one user's sessions,
// never the daemon.
#pragma once
#ifdef NETLOG_JS_ENGINE  // libuv's header was found (CMakeLists.txt)
#include <napi.h>
#include <poll.h>
#include <uv.h>

#include <memory>

#include "supervisor.h"

namespace netlog {

class JsEngine {
 public:
  // JS thread. The engine lives until Close(); its handles keep the event
  // loop alive as the ThreadSafeFunction of a threaded session does.
  JsEngine(Napi::Env env, Napi::Function on_batch);
  // What the Supervisor calls when messages wait (any thread).
  std::function<void(Supervisor*)> Poster();
  // Starts receiving for sup; false (errno set) if the wake-up eventfd or
  // the loop handles cannot be had.
  bool Start(std::shared_ptr<Supervisor> sup);
  // JS thread: nothing is called any more; the engine frees itself once
  // libuv has closed its handles.
  void Close();

 private:
  static void OnPrepare(uv_prepare_t* h);
  void Wait();
  bool Flush();
  void Wake();
  // poll(2) with n descriptors, through spare_ep_ (when poll fails: EINVAL).
  int EpollWait(pollfd* fds, int n, int timeout);

  Napi::Env env_;
  Napi::FunctionReference on_batch_;
  std::unique_ptr<Napi::AsyncContext> context_;
  uv_loop_t* loop_ = nullptr;
  uv_prepare_t prepare_{};
  uv_idle_t idle_{};
  int wake_ = -1;
  int spare_ep_ = -1;                   // an epoll set, for when poll(2) cannot wait
  int spare_fds_[4] = {-1, -1, -1, -1};  // what it holds, by slot of Wait's poll
  bool warned_limit_ = false;
  pthread_t js_thread_{};
  bool waiting_ = false;  // inside Wait(): a post from this thread needs no wake-up
  bool closed_ = false;
  bool listener_done_ = false;  // the listener hung up: the session's tasks are gone
  int handles_open_ = 0;
  std::shared_ptr<Supervisor> sup_;
};

}  // namespace netlog

#endif  // NETLOG_JS_ENGINE
