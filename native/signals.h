// Relays the signals another process sends to netlog-run on to COMMAND, as
// sudo does, deciding from si_code and si_pid (which Node's process.on cannot
// see). See sigaction(2), signal(7) ("si_code"), pidfd_send_signal(2).
#pragma once
#include <sys/types.h>

#include <functional>

namespace netlog {

// Installs the handlers (SA_SIGINFO) for SIGINT, SIGQUIT, SIGTERM, SIGHUP,
// SIGUSR1, SIGUSR2 and SIGALRM and starts the relay thread. With on_reload,
// a SIGHUP sent by a process calls it (from the relay thread) instead of
// being relayed. Returns false with errno set when the thread or pipe cannot
// be made. Calling it again does nothing.
bool StartSignalRelay(std::function<void()> on_reload);

// COMMAND has started: signals are relayed to it from now on, those that
// arrived before it existed first. Returns false with errno (ESRCH: COMMAND
// is gone already).
bool SetRelayTarget(pid_t pid);

}  // namespace netlog
