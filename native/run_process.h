// The addon functions that guard netlog-run's own process: undumpable from
// load, the signal relay, stderr of its own, an exit that leaves the shared
// descriptors and the terminal as COMMAND left them. See prctl(2), _exit(2).
#pragma once
#include <napi.h>

namespace netlog {

// Called once from the addon's Init: makes the process undumpable at once and
// adds relaySignals, relayTo, openOwnStderr, writeAll, exitNow and
// connectDatagram to exports.
void RegisterRunProcess(Napi::Env env, Napi::Object exports);

}  // namespace netlog
