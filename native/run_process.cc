// See run_process.h. No exception crosses into JS: failures come back as
// errno names.
#include "run_process.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "own_stdio.h"
#include "signals.h"

namespace netlog {
namespace {

std::string ErrName(int err) {
  if (err == 0) return "ok";
  const char* n = strerrorname_np(err);
  return n ? n : "E" + std::to_string(err);
}

// relaySignals(onReload?: () => void) -> "ok" | errno name
Napi::Value RelaySignals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::function<void()> on_reload;
  if (info.Length() > 0 && info[0].IsFunction()) {
    Napi::ThreadSafeFunction tsfn = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "netlog-sighup", 0, 1);
    // A pending reload must not keep netlog-run alive.
    tsfn.Unref(env);
    on_reload = [tsfn]() mutable { tsfn.NonBlockingCall(); };
  }
  bool ok = StartSignalRelay(std::move(on_reload));
  return Napi::String::New(env, ErrName(ok ? 0 : errno));
}

// relayTo(pid) -> "ok" | errno name
Napi::Value RelayTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool ok = SetRelayTarget(info[0].As<Napi::Number>().Int32Value());
  return Napi::String::New(env, ErrName(ok ? 0 : errno));
}

// openOwnStderr() -> { fd, kind }: fd -1 means "write fd 2 itself"
Napi::Value OpenOwnStderrJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* kind = "other";
  int fd = OpenOwnStderr(&kind);
  Napi::Object o = Napi::Object::New(env);
  o.Set("fd", Napi::Number::New(env, fd));
  o.Set("kind", Napi::String::New(env, kind));
  return o;
}

// writeAll(fd, buffer) -> { written, error }: error "ok" or an errno name
Napi::Value WriteAll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> buf = info[1].As<Napi::Buffer<char>>();
  errno = 0;
  size_t written = WriteAllBlocking(fd, buf.Data(), buf.Length());
  Napi::Object o = Napi::Object::New(env);
  o.Set("written", Napi::Number::New(env, static_cast<double>(written)));
  o.Set("error", Napi::String::New(env, ErrName(written == buf.Length() ? 0 : errno)));
  return o;
}

// exitNow(code): Node's exit would restore the O_NONBLOCK flag and the
// termios of fds 0-2 to what they were when netlog-run started (its atexit
// ResetStdio), undoing what COMMAND set on descriptors it shares; a bare
// COMMAND leaves them as it set them. Everything netlog-run writes is
// written synchronously, so nothing is lost.
Napi::Value ExitNow(const Napi::CallbackInfo& info) {
  _exit(info[0].As<Napi::Number>().Int32Value());
}

// connectDatagram(path) -> "ok" | errno name: whether a unix datagram socket
// (syslog's /dev/log) has a listener, without sending anything: connect(2)
// fails with ECONNREFUSED when nobody is bound, ENOENT when it is missing.
Napi::Value ConnectDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].ToString().Utf8Value();
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) return Napi::String::New(env, "ENAMETOOLONG");
  memcpy(sun.sun_path, path.c_str(), path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Napi::String::New(env, ErrName(errno));
  int r = connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun);
  int err = r < 0 ? errno : 0;
  close(fd);
  return Napi::String::New(env, ErrName(err));
}

// linkCount(fd) -> st_nlink, or -1: the log file's removal check before each
// batch, without building a fs.Stats (a tenth of fs.fstatSync's cost).
Napi::Value LinkCount(const Napi::CallbackInfo& info) {
  struct stat st;
  int fd = info[0].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), fstat(fd, &st) == 0 ? static_cast<double>(st.st_nlink) : -1);
}

}  // namespace

void RegisterRunProcess(Napi::Env env, Napi::Object exports) {
  // As early as the addon loads, before any session exists: a process of the
  // same uid cannot ptrace netlog-run, read its memory or /proc/PID/fd, or
  // copy its seccomp listener with pidfd_getfd(2) (all need the target to be
  // dumpable or CAP_SYS_PTRACE); no core dump carries its memory either.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  exports.Set("relaySignals", Napi::Function::New(env, RelaySignals));
  exports.Set("relayTo", Napi::Function::New(env, RelayTo));
  exports.Set("openOwnStderr", Napi::Function::New(env, OpenOwnStderrJs));
  exports.Set("writeAll", Napi::Function::New(env, WriteAll));
  exports.Set("linkCount", Napi::Function::New(env, LinkCount));
  exports.Set("exitNow", Napi::Function::New(env, ExitNow));
  exports.Set("connectDatagram", Napi::Function::New(env, ConnectDatagram));
}

}  // namespace netlog
