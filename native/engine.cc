// See engine.h. Sessions are added from the JS thread through an eventfd;
// the engine drops a session once its listener hangs up (no task uses the
// filter any more: Supervisor::OnReadable has queued 'end').
#include "engine.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "blocking.h"

namespace netlog {

namespace {

struct Engine {
  std::mutex mu;
  std::vector<std::shared_ptr<Supervisor>> added, detached;
  int wake = -1;
  bool started = false;
};

std::mutex engines_mu;
std::unordered_map<uint64_t, Engine*>* engines = new std::unordered_map<uint64_t, Engine*>;  // never destroyed: their threads outlive exit handlers
std::unordered_map<const Supervisor*, Engine*>* engine_of = new std::unordered_map<const Supervisor*, Engine*>;

Engine& EngineFor(uint64_t key) {
  std::lock_guard<std::mutex> lk(engines_mu);
  Engine*& e = (*engines)[key];
  if (!e) e = new Engine;
  return *e;
}

void Wake(Engine& e) {
  uint64_t one = 1;
  while (write(e.wake, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void Run(Engine& e) {
  // Without a signal of its own to handle, the thread blocks them all so they
  // go to Node's main thread.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::vector<std::shared_ptr<Supervisor>> sessions;
  std::vector<pollfd> fds;
  for (;;) {
    // [wake, then per session: listener, ring (fd -1 is ignored by poll)]
    fds.assign(1, pollfd{e.wake, POLLIN, 0});
    for (auto& s : sessions) {
      fds.push_back(pollfd{s->Listener(), POLLIN, 0});
      fds.push_back(pollfd{s->RingFd(), POLLIN, 0});
    }
    int r = poll(fds.data(), fds.size(), -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      // Cannot happen with valid descriptors; the sessions stay held (fail closed).
      usleep(1000);
      continue;
    }
    // Sessions whose listener is ready or hung up, in order; the others wait
    // for the next round (at most 64 notifications each per round).
    size_t keep = 0;
    for (size_t i = 0; i < sessions.size(); i++) {
      if (fds[2 * i + 2].revents & POLLIN) sessions[i]->OnRing();
      short ready = fds[2 * i + 1].revents;
      bool alive = !ready || sessions[i]->OnReadable(ready);
      if (alive) sessions[keep++] = std::move(sessions[i]);
    }
    sessions.resize(keep);
    if (fds[0].revents & POLLIN) {
      uint64_t n;
      while (read(e.wake, &n, sizeof n) < 0 && errno == EINTR) {
      }
      std::lock_guard<std::mutex> lk(e.mu);
      for (auto& s : e.added) sessions.push_back(std::move(s));
      e.added.clear();
      for (auto& d : e.detached) {
        for (auto it = sessions.begin(); it != sessions.end(); ++it) {
          if (*it == d) {
            sessions.erase(it);
            break;
          }
        }
        d->Detach();
        close(d->Listener());
      }
      e.detached.clear();
    }
  }
}

}  // namespace

bool EngineAdd(std::shared_ptr<Supervisor> sup, uint64_t key) {
  Engine& e = EngineFor(key);
  {
    std::lock_guard<std::mutex> lk(engines_mu);
    (*engine_of)[sup.get()] = &e;
  }
  std::lock_guard<std::mutex> lk(e.mu);
  if (!e.started) {
    if (e.wake < 0) e.wake = eventfd(0, EFD_CLOEXEC);
    if (e.wake < 0 || !StartThread([&e] { Run(e); })) return false;
    e.started = true;
  }
  e.added.push_back(std::move(sup));
  Wake(e);
  return true;
}

void EngineDetach(std::shared_ptr<Supervisor> sup) {
  Engine* found;
  {
    std::lock_guard<std::mutex> lk(engines_mu);
    auto it = engine_of->find(sup.get());
    if (it == engine_of->end()) return;
    found = it->second;
    engine_of->erase(it);
  }
  Engine& e = *found;
  std::lock_guard<std::mutex> lk(e.mu);
  e.detached.push_back(std::move(sup));
  if (e.started) Wake(e);
}

}  // namespace netlog
