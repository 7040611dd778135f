// The engine: one thread that polls the seccomp listeners of every session of
// the process (netlog-run has one; netlogd one per login) and has each
// session's supervisor handle what is ready. poll(2) on the listeners keeps
// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP effective: a trapped caller wakes this
// thread on its own CPU, and the answer wakes the caller the same way.
#pragma once
#include <memory>

#include "supervisor.h"

namespace netlog {

// Adds sup's listener to the engine named `key` (starting its thread on
// first use); false (errno set) if the thread cannot be started. netlogd
// keys its logins by uid: a call that blocks the engine thread (a path or a
// pointer into a FUSE file system that never answers) then stalls that
// user's sessions only, never another user's.
bool EngineAdd(std::shared_ptr<Supervisor> sup, uint64_t key = 0);

// Drops sup from the engine and then closes its listener, on the engine
// thread (never while it is being polled or read): netlogd ends a session
// whose shell has exited while processes it left still use the filter.
void EngineDetach(std::shared_ptr<Supervisor> sup);

}  // namespace netlog
