// netlogd's registration socket (unix(7) SOCK_SEQPACKET, SCM_RIGHTS,
// SO_PEERCRED): the JS bindings netlogd needs and Node lacks. Registered on
// the addon's exports by addon.cc.
#pragma once
#include <napi.h>

namespace netlog {

void RegisterDaemonSocket(Napi::Env env, Napi::Object exports);

}  // namespace netlog
