// The addon's JavaScript surface (typed in src/native.ts): spawn() starts a
// supervised session and returns a Session; messages reach JS in batches, one
// ThreadSafeFunction call per batch. No exception crosses into JS unhandled.
#include <fcntl.h>
#include <napi.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstring>
#include <memory>

#include "daemon_socket.h"
#include "filter.h"
#include "kernel.h"
#include "engine.h"
#include "js_engine.h"
#include "launch.h"
#include "procinfo.h"
#include "record_json.h"
#include "run_process.h"
#include "supervisor.h"

namespace netlog {
namespace {


std::vector<std::string> StringArray(Napi::Value v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).ToString().Utf8Value());
  return out;
}

bool BoolField(Napi::Object o, const char* key, bool dflt) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt;
}

// {block, rules: [{exe, name, wildcard, text, cidrs: [16 bytes + prefix]..., portLo, portHi}]}
// as src/egress/policy.ts builds it.
void ParseEgress(Napi::Value v, bool& block, std::vector<EgressRule>& rules) {
  block = false;
  if (!v.IsObject()) return;
  Napi::Object o = v.As<Napi::Object>();
  block = BoolField(o, "block", false);
  Napi::Value list = o.Get("rules");
  if (!list.IsArray()) return;
  Napi::Array a = list.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object r = a.Get(i).As<Napi::Object>();
    EgressRule rule;
    rule.exe = r.Get("exe").ToString().Utf8Value();
    rule.name = r.Get("name").ToString().Utf8Value();
    rule.wildcard = r.Get("wildcard").ToString().Utf8Value();
    rule.text = r.Get("text").ToString().Utf8Value();
    rule.port_lo = static_cast<uint16_t>(r.Get("portLo").ToNumber().Uint32Value());
    rule.port_hi = static_cast<uint16_t>(r.Get("portHi").ToNumber().Uint32Value());
    Napi::Value cv = r.Get("cidrs");
    if (cv.IsArray()) {
      Napi::Array c = cv.As<Napi::Array>();
      for (uint32_t j = 0; j + 17 <= c.Length(); j += 17) {
        Cidr cidr{};
        for (uint32_t k = 0; k < 17; k++) cidr[k] = static_cast<uint8_t>(c.Get(j + k).ToNumber().Uint32Value());
        rule.cidrs.push_back(cidr);
      }
    }
    rules.push_back(std::move(rule));
  }
}

// Reaps the session's direct child (and, netlog-run being a subreaper, any
// orphan of the session) and reports the child's exit, stops and continues.
void Waiter(std::shared_ptr<Supervisor> sup, pid_t child, int err_fd) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  ChildError ce{0, 0};
  ssize_t n;
  while ((n = read(err_fd, &ce, sizeof ce)) < 0 && errno == EINTR) {
  }
  close(err_fd);
  std::string launch_error;
  if (n == static_cast<ssize_t>(sizeof ce))
    launch_error = std::string(StageName(ce.stage)) + "\t" + strerror(ce.err) + "\t" + std::to_string(ce.err);
  for (;;) {
    siginfo_t si{};
    if (waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WCONTINUED) < 0) {
      if (errno == EINTR) continue;
      if (sup->Ended()) return;
      usleep(10000);  // no child now; orphans may still be reparented to us
      continue;
    }
    if (si.si_pid != child) continue;
    Message m;
    switch (si.si_code) {
      case CLD_EXITED:
      case CLD_KILLED:
      case CLD_DUMPED:
        m.type = MsgType::Exit;
        m.signaled = si.si_code != CLD_EXITED;
        m.status = si.si_status;
        m.text = launch_error;
        break;
      case CLD_STOPPED:
      case CLD_TRAPPED:
        m.type = MsgType::Stopped;
        m.status = si.si_status;
        break;
      case CLD_CONTINUED:
        m.type = MsgType::Continued;
        break;
      default:
        continue;
    }
    sup->Push(std::move(m));
  }
}

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Session",
                       {InstanceMethod("answer", &Session::AnswerJs),
                        InstanceMethod("setProbes", &Session::SetProbesJs),
                        InstanceMethod("setRefuseConnects", &Session::SetRefuseConnectsJs),
                        InstanceMethod("kill", &Session::KillJs),
                        InstanceMethod("setEgress", &Session::SetEgressJs),
                        InstanceMethod("close", &Session::CloseJs),
                        InstanceAccessor("pid", &Session::PidJs, nullptr)});
  }
  Session(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Session>(info) {}

  std::shared_ptr<Supervisor> sup;
  Napi::ThreadSafeFunction tsfn;  // attach(): batches from an engine thread
#ifdef NETLOG_JS_ENGINE
  JsEngine* js_engine = nullptr;   // spawn(): batches on this thread
#endif
  pid_t pid = -1;
  bool released = false;
  int attached_listener = -1;  // attach(): closed with the session

  void ReleaseEngine() {
#ifdef NETLOG_JS_ENGINE
    if (js_engine) return js_engine->Close();
#endif
    tsfn.Release();
  }

 private:
  Napi::Value AnswerJs(const Napi::CallbackInfo& info) {
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) {
      Napi::TypeError::New(info.Env(), "answer(tokens: Uint32Array, refuse: Uint8Array)").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    Napi::Uint32Array tokens = info[0].As<Napi::Uint32Array>();
    Napi::Uint8Array refuse = info[1].As<Napi::Uint8Array>();
    for (size_t i = 0; i < tokens.ElementLength(); i++)
      sup->Answer(tokens[i], i < refuse.ElementLength() && refuse[i] != 0);
    return info.Env().Undefined();
  }
  Napi::Value SetProbesJs(const Napi::CallbackInfo& info) {
    sup->SetProbes(info[0].As<Napi::Number>().Uint32Value());
    return info.Env().Undefined();
  }
  Napi::Value SetRefuseConnectsJs(const Napi::CallbackInfo& info) {
    sup->SetRefuseConnects(info[0].ToBoolean().Value());
    return info.Env().Undefined();
  }
  // A new allow list (SIGHUP); the mode stays what the filter was built for.
  Napi::Value SetEgressJs(const Napi::CallbackInfo& info) {
    bool block = false;
    std::vector<EgressRule> rules;
    ParseEgress(info[0], block, rules);
    sup->Egress().Set(sup->Egress().Blocking(), std::move(rules));
    return info.Env().Undefined();
  }
  Napi::Value KillJs(const Napi::CallbackInfo& info) {
    int sig = info[0].As<Napi::Number>().Int32Value();
    if (pid <= 0) return Napi::Boolean::New(info.Env(), false);  // attached: no process of ours
    return Napi::Boolean::New(info.Env(), kill(pid, sig) == 0);
  }
  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    if (!released) {
      released = true;
      sup->Close();
      ReleaseEngine();
      if (attached_listener >= 0) EngineDetach(sup);  // which closes the listener
      attached_listener = -1;
    }
    return info.Env().Undefined();
  }
  Napi::Value PidJs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(pid)); }
};

Napi::FunctionReference* g_session_ctor = nullptr;

Napi::Value ThrowLaunchError(Napi::Env env, const std::string& stage, int err) {
  Napi::Error e = Napi::Error::New(env, stage + ": " + strerror(err));
  e.Set("code", "ELAUNCH");
  e.Set("stage", stage);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("errnoName", ErrnoName(err));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// spawn(options, onMessages) → Session
// Hands each batch to JS as one JSON text, through the session's ThreadSafeFunction.
std::function<void(Supervisor*)> BatchPoster(Napi::ThreadSafeFunction tsfn) {
  return [tsfn](Supervisor* raw) mutable {
    tsfn.NonBlockingCall([raw](Napi::Env env, Napi::Function cb) {
      cb.Call({Napi::String::New(env, BatchToJson(raw->Drain()))});
    });
  };
}

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "spawn(options, onMessages)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  LaunchSpec spec;
  spec.candidates = StringArray(o.Get("candidates"));
  spec.argv = StringArray(o.Get("argv"));
  spec.env = StringArray(o.Get("env"));
  spec.test_fail_seccomp = BoolField(o, "testFailSeccomp", false);
  Napi::Value user = o.Get("user");
  if (user.IsObject()) {
    Napi::Object u = user.As<Napi::Object>();
    spec.drop = true;
    spec.uid = u.Get("uid").As<Napi::Number>().Uint32Value();
    spec.gid = u.Get("gid").As<Napi::Number>().Uint32Value();
    Napi::Value groups = u.Get("groups");
    if (groups.IsArray()) {
      Napi::Array g = groups.As<Napi::Array>();
      for (uint32_t i = 0; i < g.Length(); i++) spec.groups.push_back(g.Get(i).As<Napi::Number>().Uint32Value());
    }
  }
  SupervisorOptions sopts;
  Napi::Object traps = o.Get("traps").As<Napi::Object>();
  sopts.traps.exec = BoolField(traps, "exec", true);
  sopts.traps.connect = BoolField(traps, "connect", true);
  sopts.traps.accept = BoolField(traps, "accept", true);
  sopts.traps.bind = BoolField(traps, "bind", true);
  sopts.traps.close = BoolField(traps, "close", true);
  sopts.exec = sopts.traps.exec;
  sopts.probes = o.Get("probes").As<Napi::Number>().Uint32Value();
  sopts.argv_max = o.Get("argvMax").As<Napi::Number>().Uint32Value();
  bool egress_block = false;
  std::vector<EgressRule> egress_rules;
  ParseEgress(o.Get("egress"), egress_block, egress_rules);
  sopts.traps.send = egress_block;
  spec.listener_by_number = egress_block;
  if (egress_block) sopts.traps.connect = true;

  std::string ferr = BuildFilter(sopts.traps, spec.filter);
  if (!ferr.empty()) {
    Napi::Error e = Napi::Error::New(env, ferr);
    e.Set("code", "ELAUNCH");
    e.Set("stage", "filter");
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  InstallInterruptHandler();
  // Orphans of the session are reparented to netlog-run, which reaps them:
  // the session ends when the last supervised process is gone.
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  Launched l;
  ChildError ce{0, 0};
  if (!Launch(spec, l, ce)) return ThrowLaunchError(env, StageName(ce.stage), ce.err);

  Napi::Object obj = g_session_ctor->New({});
  Session* s = Session::Unwrap(obj);
  s->pid = l.pid;
#ifdef NETLOG_JS_ENGINE
  // netlog-run's one session is received, decided and answered on this
  // thread (native/js_engine.h).
  auto* engine = new JsEngine(env, info[1].As<Napi::Function>());
  s->js_engine = engine;
  auto sup = std::make_shared<Supervisor>(l.listener, sopts, engine->Poster());
  auto start_engine = [&] { return engine->Start(sup); };
#else
  s->tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "netlog-supervisor", 0, 1);
  auto sup = std::make_shared<Supervisor>(l.listener, sopts, BatchPoster(s->tsfn));
  auto start_engine = [&] { return EngineAdd(sup); };
#endif
  s->sup = sup;
  sup->Egress().Set(egress_block, std::move(egress_rules));
  // Halves the cost of each trapped call where the kernel has it (6.6+).
  KernelListener(l.listener).SetFlags(SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
  if (!sup->Start() || !start_engine()) {
    // No ack: the child sees the socket close and exits without exec'ing.
    int err = errno;
    s->released = true;
    sup->Close();
    s->ReleaseEngine();
    close(l.ack_fd);
    close(l.err_fd);
    close(l.listener);
    kill(l.pid, SIGKILL);
    waitpid(l.pid, nullptr, 0);
    return ThrowLaunchError(env, "supervisor thread", err);
  }
  char ack = 'A';
  ssize_t n;
  while ((n = write(l.ack_fd, &ack, 1)) < 0 && errno == EINTR) {
  }
  close(l.ack_fd);
  int err_fd = l.err_fd;
  pid_t pid = l.pid;
  if (!StartThread([sup, pid, err_fd] { Waiter(sup, pid, err_fd); })) {
    int err = errno;
    kill(l.pid, SIGKILL);
    return ThrowLaunchError(env, "waiter thread", err);
  }
  return obj;
}

// attach(listenerFd, options, onMessages) → Session: supervises the listener
// of a session started elsewhere (netlog-shell, via netlogd) with the same
// batch/answer path as spawn(); no process of ours, so no exit message: the
// session ends ('end') when no process uses the filter any more.
// Every session's notifications are received by the one engine thread
// (native/engine.cc); the Supervisor object is kept for the life of the
// process (a few hundred bytes a session): its monitor thread ends with the
// session but holds `this` until it has.
Napi::Value Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsObject() || !info[2].IsFunction()) {
    Napi::TypeError::New(env, "attach(listenerFd, options, onMessages)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int listener = info[0].As<Napi::Number>().Int32Value();
  Napi::Object o = info[1].As<Napi::Object>();
  SupervisorOptions sopts;
  Napi::Object traps = o.Get("traps").As<Napi::Object>();
  sopts.traps.exec = BoolField(traps, "exec", true);
  sopts.traps.connect = BoolField(traps, "connect", true);
  sopts.traps.accept = BoolField(traps, "accept", true);
  sopts.traps.bind = BoolField(traps, "bind", true);
  sopts.traps.close = BoolField(traps, "close", true);
  sopts.exec = sopts.traps.exec;
  sopts.probes = o.Get("probes").As<Napi::Number>().Uint32Value();
  sopts.argv_max = o.Get("argvMax").As<Napi::Number>().Uint32Value();
  InstallInterruptHandler();
  Napi::Object obj = g_session_ctor->New({});
  Session* s = Session::Unwrap(obj);
  s->tsfn = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "netlog-supervisor", 0, 1);
  Napi::ThreadSafeFunction tsfn = s->tsfn;
  auto sup = std::make_shared<Supervisor>(listener, sopts, BatchPoster(tsfn));
  s->sup = sup;
  KernelListener(listener).SetFlags(SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
  static std::vector<std::shared_ptr<Supervisor>>* kept = new std::vector<std::shared_ptr<Supervisor>>;
  kept->push_back(sup);  // before Start: a thread that did start keeps `this`
  Napi::Value key = o.Get("engine");
  uint64_t engine = key.IsNumber() ? static_cast<uint64_t>(key.As<Napi::Number>().Int64Value()) : 0;
  if (!sup->Start() || !EngineAdd(sup, engine)) {
    s->released = true;
    tsfn.Release();
    return ThrowLaunchError(env, "supervisor thread", errno);
  }
  s->attached_listener = listener;
  return obj;
}

// lookupUser(name) -> {name, uid, gid, groups, home, shell} or null, through
// NSS (getpwnam_r, getgrouplist), so LDAP/SSSD users resolve too.
Napi::Value LookupUser(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].ToString().Utf8Value();
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
    // A numeric uid names a user too.
    char* end;
    unsigned long uid = strtoul(name.c_str(), &end, 10);
    if (name.empty() || *end || getpwuid_r(static_cast<uid_t>(uid), &pw, buf.data(), buf.size(), &found) != 0 || !found)
      return env.Null();
  }
  int n = 64;
  std::vector<gid_t> groups(n);
  while (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) groups.resize(n);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", pw.pw_name);
  o.Set("uid", Napi::Number::New(env, pw.pw_uid));
  o.Set("gid", Napi::Number::New(env, pw.pw_gid));
  Napi::Array g = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) g.Set(static_cast<uint32_t>(i), Napi::Number::New(env, groups[i]));
  o.Set("groups", g);
  o.Set("home", pw.pw_dir);
  o.Set("shell", pw.pw_shell);
  return o;
}

// Sends one datagram to a unix socket (syslog's /dev/log): Node has no
// AF_UNIX SOCK_DGRAM. Returns 0 or an errno name.
Napi::Value SendDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].ToString().Utf8Value();
  Napi::Buffer<char> buf = info[1].As<Napi::Buffer<char>>();
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) return Napi::String::New(env, "ENAMETOOLONG");
  memcpy(sun.sun_path, path.c_str(), path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Napi::String::New(env, ErrnoName(errno));
  ssize_t r = sendto(fd, buf.Data(), buf.Length(), 0, reinterpret_cast<sockaddr*>(&sun), sizeof sun);
  int err = r < 0 ? errno : 0;
  close(fd);
  return Napi::String::New(env, ErrnoName(err));
}

// Clears O_NONBLOCK on fd (fcntl(2)), which Node cannot do: the output FIFO is
// opened non-blocking to find out whether it has a reader (ENXIO), then written
// blocking like a file. It is our own open file description, shared with no one.
// Returns "ok" or an errno name.
Napi::Value SetBlocking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) return Napi::String::New(env, ErrnoName(errno));
  return Napi::String::New(env, ErrnoName(0));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  g_session_ctor = new Napi::FunctionReference(Napi::Persistent(Session::Init(env)));
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("sendDatagram", Napi::Function::New(env, SendDatagram));
  exports.Set("lookupUser", Napi::Function::New(env, LookupUser));
  exports.Set("setBlocking", Napi::Function::New(env, SetBlocking));
  exports.Set("attach", Napi::Function::New(env, Attach));
  RegisterDaemonSocket(env, exports);
  RegisterRunProcess(env, exports);
  return exports;
}

}  // namespace
}  // namespace netlog

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return netlog::Init(env, exports); }
NODE_API_MODULE(netlog_native, InitAddon)
