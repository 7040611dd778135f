// See js_engine.h. libuv's loop, one iteration: timers, idle, prepare (here:
// Wait), poll of its epoll descriptor, check, closing handles. Wait blocks
// for as long as libuv itself would have (uv_backend_timeout), and an idle
// handle, active whenever Wait returns, makes libuv's own poll that follows
// take no time: the thread sleeps in one place only, Wait's poll(2).
#include "js_engine.h"
#ifdef NETLOG_JS_ENGINE

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "record_json.h"

namespace netlog {

JsEngine::JsEngine(Napi::Env env, Napi::Function on_batch)
    : env_(env), on_batch_(Napi::Persistent(on_batch)) {
  context_ = std::make_unique<Napi::AsyncContext>(env, "netlog-supervisor");
}

std::function<void(Supervisor*)> JsEngine::Poster() {
  return [this](Supervisor*) {
    // Inside Wait the batch is flushed once the listener has been read.
    // (waiting_ is the JS thread's own: only that thread reads it.)
    if (pthread_equal(pthread_self(), js_thread_) && waiting_) return;
    Wake();
  };
}

void JsEngine::Wake() {
  uint64_t one = 1;
  while (write(wake_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

bool JsEngine::Start(std::shared_ptr<Supervisor> sup) {
  sup_ = std::move(sup);
  js_thread_ = pthread_self();
  wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_ < 0) return false;
  // Made now, while descriptors can be had: see EpollWait.
  spare_ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (spare_ep_ < 0) {
    close(wake_);
    wake_ = -1;
    return false;
  }
  if (napi_get_uv_event_loop(env_, &loop_) != napi_ok || !loop_) {
    errno = EINVAL;
    return false;
  }
  uv_prepare_init(loop_, &prepare_);
  uv_idle_init(loop_, &idle_);
  handles_open_ = 2;
  prepare_.data = idle_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&idle_));  // the prepare handle alone keeps the loop alive
  uv_prepare_start(&prepare_, OnPrepare);
  uv_idle_start(&idle_, [](uv_idle_t*) {});  // the first round: libuv runs what start-up queued
  return true;
}

void JsEngine::OnPrepare(uv_prepare_t* h) { static_cast<JsEngine*>(h->data)->Wait(); }

void JsEngine::Wait() {
  uv_idle_stop(&idle_);
  waiting_ = true;
  for (;;) {
    // libuv applies the epoll changes of what JS started (a new socket, a
    // stream read) in its own poll only: until it has, a wait here could
    // miss their readiness, so it takes no time.
    int timeout = 0;
    if (loop_->watcher_queue.next == &loop_->watcher_queue) {
      uv_update_time(loop_);
      timeout = uv_backend_timeout(loop_);
    }
    pollfd fds[4] = {
        {uv_backend_fd(loop_), POLLIN, 0},
        {wake_, POLLIN, 0},
        {listener_done_ ? -1 : sup_->Listener(), POLLIN, 0},
        {sup_->RingFd(), POLLIN, 0},
    };
    int r = poll(fds, 4, timeout);
    // poll(2) fails with EINVAL when nfds exceeds RLIMIT_NOFILE, which the
    // same user can lower on an unprivileged netlog-run (prlimit --pid):
    // the wait goes on through epoll, which has no such check.
    if (r < 0 && errno == EINVAL) r = EpollWait(fds, 4, timeout);
    if (r < 0) break;  // EINTR: libuv's signal handling takes its turn
    if (fds[3].revents & POLLIN) sup_->OnRing();
    if (fds[2].revents && !sup_->OnReadable(fds[2].revents)) listener_done_ = true;
    if (fds[1].revents & POLLIN) {
      uint64_t n;
      while (read(wake_, &n, sizeof n) < 0 && errno == EINTR) {
      }
    }
    bool called = Flush();
    if (closed_) return;  // JS closed the session in that batch
    // After a call into JS, libuv runs what it queued (timers, writes,
    // new watchers) before the next wait.
    if (called || r == 0 || (fds[0].revents & POLLIN)) break;
  }
  waiting_ = false;
  uv_idle_start(&idle_, [](uv_idle_t*) {});
}

int JsEngine::EpollWait(pollfd* fds, int n, int timeout) {
  if (!warned_limit_) {
    warned_limit_ = true;
    sup_->Warn("poll(2) refuses to wait (RLIMIT_NOFILE lowered below 4?): waiting through epoll instead; "
         "calls that need a new descriptor to be inspected are refused (EACCES)");
  }
  for (int i = 0; i < n; i++) {
    if (fds[i].fd == spare_fds_[i]) continue;
    if (spare_fds_[i] >= 0) epoll_ctl(spare_ep_, EPOLL_CTL_DEL, spare_fds_[i], nullptr);
    spare_fds_[i] = -1;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    if (fds[i].fd >= 0 && epoll_ctl(spare_ep_, EPOLL_CTL_ADD, fds[i].fd, &ev) == 0) spare_fds_[i] = fds[i].fd;
  }
  epoll_event evs[4];
  int r = epoll_wait(spare_ep_, evs, n < 4 ? n : 4, timeout);
  if (r < 0) return r;
  for (int i = 0; i < r; i++) {
    uint32_t e = evs[i].events;
    fds[evs[i].data.u32].revents = static_cast<short>((e & EPOLLIN ? POLLIN : 0) | (e & EPOLLHUP ? POLLHUP : 0) | (e & EPOLLERR ? POLLERR : 0));
  }
  return r;
}

bool JsEngine::Flush() {
  std::deque<Message> batch = sup_->Drain();
  if (batch.empty()) return false;
  Napi::HandleScope scope(env_);
  napi_value arg = Napi::String::New(env_, BatchToJson(batch));
  napi_value result;
  // As a ThreadSafeFunction call would: microtasks run after it, and an
  // exception goes to process 'uncaughtException'.
  if (napi_make_callback(env_, *context_, env_.Global(), on_batch_.Value(), 1, &arg, &result) == napi_pending_exception) {
    napi_value e;
    napi_get_and_clear_last_exception(env_, &e);
    napi_fatal_exception(env_, e);
  }
  return true;
}

void JsEngine::Close() {
  if (closed_) return;
  closed_ = true;
  on_batch_.Reset();
  context_.reset();
  if (handles_open_ == 0) {  // never started
    if (wake_ >= 0) close(wake_);
    if (spare_ep_ >= 0) close(spare_ep_);
    delete this;
    return;
  }
  uv_prepare_stop(&prepare_);
  uv_idle_stop(&idle_);
  auto done = [](uv_handle_t* h) {
    auto* self = static_cast<JsEngine*>(h->data);
    if (--self->handles_open_ == 0) {
      close(self->wake_);
      close(self->spare_ep_);
      delete self;
    }
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), done);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), done);
}

}  // namespace netlog

#endif  // NETLOG_JS_ENGINE
