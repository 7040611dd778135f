// netlogd's side of the netlog-shell registration (protocol in
// native/shell/protocol.h): the socket created safely, root peers only
// (SO_PEERCRED), facts of the login read from /proc/PID of the peer, the
// filter sent, the listener received (SCM_RIGHTS), the ack. Blocking steps run
// on threads of their own; JS gets results through ThreadSafeFunctions.
// See unix(7), cmsg(3), pidfd_open(2), proc(5).
#include "daemon_socket.h"

#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "filter.h"
#include "kernel.h"
#include "procinfo.h"
#include "shell/protocol.h"
#include "supervisor.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

namespace netlog {
namespace {

// A registration must finish in this time: a user can stop their own
// netlog-shell (SIGSTOP) half-way; it is then dropped, not waited for.
const int kHandshakeTimeoutSec = 10;

Napi::Value Throw(Napi::Env env, const std::string& syscall, int err, const std::string& what) {
  Napi::Error e = Napi::Error::New(env, what + ": " + (err ? strerror(err) : "refused"));
  e.Set("code", "EDAEMONSOCKET");
  e.Set("syscall", syscall);
  e.Set("errno", Napi::Number::New(env, err));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

std::string ErrText(const char* what, int err) { return std::string(what) + ": " + strerror(err); }

void BlockSignals() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

// daemonListen(path) -> fd. The directory must be root's and writable by
// root only; an old socket is removed only when it is root's and nobody
// listens on it; anything else at the path is left alone and refused.
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].ToString().Utf8Value();
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  size_t slash = path.rfind('/');
  if (path.empty() || path[0] != '/' || slash == 0 || path.size() >= sizeof sun.sun_path)
    return Throw(env, "bind", ENAMETOOLONG, "socket path " + path + " must be absolute, below a directory, shorter than 108 bytes");
  std::string dir = path.substr(0, slash);
  if (mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return Throw(env, "mkdir", errno, "cannot create " + dir);
  struct stat st;
  if (lstat(dir.c_str(), &st) < 0) return Throw(env, "lstat", errno, dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0)
    return Throw(env, "lstat", 0, dir + " is not a directory owned by root and writable by root only");
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode) || st.st_uid != 0)
      return Throw(env, "lstat", 0, path + " exists and is not a socket of root's; remove it by hand");
    int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (probe < 0) return Throw(env, "socket", errno, "socket");
    memcpy(sun.sun_path, path.c_str(), path.size());
    bool live = connect(probe, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0;
    close(probe);
    if (live) return Throw(env, "connect", EADDRINUSE, "another netlogd listens on " + path);
    if (unlink(path.c_str()) < 0) return Throw(env, "unlink", errno, "cannot remove the stale socket " + path);
  } else if (errno != ENOENT) {
    return Throw(env, "lstat", errno, path);
  }
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) return Throw(env, "socket", errno, "socket");
  memcpy(sun.sun_path, path.c_str(), path.size());
  mode_t old = umask(0177);  // the socket is born 0600: no window with a wider mode
  int r = bind(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun);
  int err = errno;
  umask(old);
  if (r < 0) {
    close(s);
    return Throw(env, "bind", err, "cannot bind " + path);
  }
  if (listen(s, 128) < 0) {
    err = errno;
    close(s);
    return Throw(env, "listen", err, path);
  }
  return Napi::Number::New(env, s);
}

struct Conn {
  int fd = -1;
  pid_t pid = 0;
  uint32_t peer_uid = 0;
  Identity id;
  std::vector<std::string> argv;
  std::string ssh_connection;
  bool has_ssh = false;
  bool seccomp = false;  // the peer is already under a seccomp filter
  int pidfd = -1;        // the peer's, handed to JS (which closes it)
  std::string error;     // non-empty: the registration is refused
};

std::vector<std::string> SplitNul(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find('\0', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The login's facts, from /proc/PID of the peer while it waits for us. The
// pidfd, taken from the socket (or opened now, while the connection proves
// the peer alive), confirms afterwards that PID was still the peer's.
void ReadFacts(Conn& c) {
  int pidfd = -1;
  socklen_t len = sizeof pidfd;
  if (getsockopt(c.fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) pidfd = sys_pidfd_open(c.pid, 0);
  if (pidfd < 0) {
    c.error = ErrText("pidfd of the peer", errno);
    return;
  }
  std::string proc = "/proc/" + std::to_string(c.pid);
  std::string cmdline, environ, status;
  if (!ReadIdentity(c.pid, c.id) || !ReadSmallFile((proc + "/cmdline").c_str(), cmdline) ||
      !ReadSmallFile((proc + "/environ").c_str(), environ) || !ReadSmallFile((proc + "/status").c_str(), status)) {
    c.error = "cannot read /proc of the peer";
  }
  size_t sc = status.find("\nSeccomp:\t");
  c.seccomp = sc == std::string::npos || status.compare(sc + 10, 2, "0\n") != 0;
  c.argv = SplitNul(cmdline);
  for (const std::string& kv : SplitNul(environ)) {
    if (kv.compare(0, 15, "SSH_CONNECTION=") == 0) {
      c.ssh_connection = kv.substr(15);
      c.has_ssh = true;
    }
  }
  if (c.error.empty() && syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) < 0) c.error = "the peer went away";
  if (c.error.empty()) c.pidfd = pidfd;
  else close(pidfd);
}

void AcceptLoop(int lfd, Napi::ThreadSafeFunction tsfn) {
  BlockSignals();
  for (;;) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        usleep(100000);  // out of fds for now; the login waits, then times out
        continue;
      }
      break;  // the socket was shut down
    }
    auto* c = new Conn;
    c->fd = fd;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
      c->error = ErrText("SO_PEERCRED", errno);
    } else {
      c->pid = cred.pid;
      c->peer_uid = cred.uid;
      // Only root may register a session: netlog-shell connects with euid 0.
      if (cred.uid != 0) c->error = "peer is not root (uid " + std::to_string(cred.uid) + ")";
    }
    timeval tv{kHandshakeTimeoutSec, 0};
    if (c->error.empty() && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
                             setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0))
      c->error = ErrText("setsockopt", errno);
    if (c->error.empty()) ReadFacts(*c);
    if (!c->error.empty()) {
      close(c->fd);
      c->fd = -1;
    }
    napi_status st = tsfn.BlockingCall(c, [](Napi::Env env, Napi::Function cb, Conn* c) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("fd", Napi::Number::New(env, c->fd));
      o.Set("pid", Napi::Number::New(env, c->pid));
      o.Set("peerUid", Napi::Number::New(env, c->peer_uid));
      if (!c->error.empty()) {
        o.Set("error", c->error);
      } else {
        o.Set("uid", Napi::Number::New(env, c->id.uid));
        o.Set("gid", Napi::Number::New(env, c->id.gid));
        o.Set("euid", Napi::Number::New(env, c->id.euid));
        std::string tty = TtyName(c->id.tty_nr);
        o.Set("tty", tty.empty() ? env.Null() : Napi::String::New(env, tty));
        o.Set("auid", c->id.auid < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(c->id.auid)));
        o.Set("ses", c->id.ses < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(c->id.ses)));
        o.Set("exe", c->id.exe);
        Napi::Array a = Napi::Array::New(env, c->argv.size());
        for (size_t i = 0; i < c->argv.size(); i++) a.Set(static_cast<uint32_t>(i), c->argv[i]);
        o.Set("argv", a);
        o.Set("sshConnection", c->has_ssh ? Napi::String::New(env, c->ssh_connection) : env.Null());
        o.Set("seccomp", Napi::Boolean::New(env, c->seccomp));
        o.Set("pidfd", Napi::Number::New(env, c->pidfd));
      }
      delete c;
      cb.Call({o});
    });
    if (st != napi_ok) {
      if (c->fd >= 0) close(c->fd);
      if (c->pidfd >= 0) close(c->pidfd);
      delete c;
      break;
    }
  }
  tsfn.Release();
}

// daemonServe(listenFd, onConnection): accepts on a thread of its own until
// the socket is shut down (daemonShutdown).
Napi::Value Serve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int lfd = info[0].As<Napi::Number>().Int32Value();
  auto tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "netlogd-accept", 0, 1);
  if (!StartThread([lfd, tsfn] { AcceptLoop(lfd, tsfn); })) return Throw(env, "pthread_create", errno, "accept thread");
  return env.Undefined();
}

struct Handshake {
  int fd;
  std::string payload;
  int listener = -1;
  std::string error;
};

bool IsSeccompListener(int fd) {
  return ReadLink("/proc/self/fd/" + std::to_string(fd)) == "anon_inode:seccomp notify";
}

void RunHandshake(Handshake& h) {
  ssize_t n;
  while ((n = send(h.fd, h.payload.data(), h.payload.size(), MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(h.payload.size())) {
    h.error = n < 0 ? ErrText("sending the filter", errno) : "sending the filter: short write";
    return;
  }
  netlog_listener_msg m{};
  iovec iov{&m, sizeof m};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  while ((n = recvmsg(h.fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n < 0) {
    h.error = errno == EAGAIN ? "timed out waiting for the listener" : ErrText("receiving the listener", errno);
    return;
  }
  std::vector<int> fds;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      fds.push_back(fd);
    }
  }
  bool ok = n == static_cast<ssize_t>(sizeof m) && memcmp(m.magic, NETLOG_LISTENER_MAGIC, 4) == 0 &&
            !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && fds.size() == 1 && IsSeccompListener(fds[0]);
  if (!ok) {
    for (int fd : fds) close(fd);
    h.error = n == 0 ? "netlog-shell went away" : "bad registration message (not one seccomp listener)";
    return;
  }
  h.listener = fds[0];
}

// daemonHandshake(fd, payload, onDone): sends the filter message, waits for
// the listener; onDone({listener} | {error}).
Napi::Value StartHandshake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* h = new Handshake;
  h->fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> buf = info[1].As<Napi::Buffer<char>>();
  h->payload.assign(buf.Data(), buf.Length());
  auto tsfn = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "netlogd-handshake", 0, 1);
  bool started = StartThread([h, tsfn]() mutable {
    BlockSignals();
    RunHandshake(*h);
    napi_status st = tsfn.BlockingCall(h, [](Napi::Env env, Napi::Function cb, Handshake* h) {
      Napi::Object o = Napi::Object::New(env);
      if (h->listener >= 0) o.Set("listener", Napi::Number::New(env, h->listener));
      else o.Set("error", h->error);
      delete h;
      cb.Call({o});
    });
    if (st != napi_ok) {
      if (h->listener >= 0) close(h->listener);
      delete h;
    }
    tsfn.Release();
  });
  if (!started) {
    int err = errno;
    delete h;
    tsfn.Release();
    return Throw(env, "pthread_create", err, "handshake thread");
  }
  return env.Undefined();
}

// daemonAck(fd) -> "ok" | errno name: lets netlog-shell go on, and closes.
Napi::Value Ack(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  char ack = NETLOG_ACK;
  ssize_t n = send(fd, &ack, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  int err = errno;
  close(fd);
  if (n == 1) return Napi::String::New(info.Env(), "ok");
  const char* name = strerrorname_np(err);
  return Napi::String::New(info.Env(), name ? name : "EIO");
}

// daemonSend(fd, payload) -> "ok" | errno name: one message, never blocking
// (the peer's receive queue is empty: it is waiting for this).
Napi::Value Send(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> buf = info[1].As<Napi::Buffer<char>>();
  ssize_t n = send(fd, buf.Data(), buf.Length(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n == static_cast<ssize_t>(buf.Length())) return Napi::String::New(info.Env(), "ok");
  const char* name = n < 0 ? strerrorname_np(errno) : "EMSGSIZE";
  return Napi::String::New(info.Env(), name ? name : "EIO");
}

// daemonAncestors(pid) -> [ppid, its ppid, ... 1]: from /proc/PID/status.
// Reparenting only ever goes to an ancestor (a subreaper or init), so every
// pid listed was a fork ancestor of pid when it was read.
Napi::Value Ancestors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  Napi::Array out = Napi::Array::New(env);
  for (uint32_t depth = 0; pid > 1 && depth < 4096; depth++) {
    std::string status;
    if (!ReadSmallFile(("/proc/" + std::to_string(pid) + "/status").c_str(), status)) break;
    size_t at = status.find("\nPPid:\t");
    if (at == std::string::npos) break;
    pid = static_cast<pid_t>(strtol(status.c_str() + at + 7, nullptr, 10));
    if (pid > 0) out.Set(depth, Napi::Number::New(env, pid));
  }
  return out;
}

// daemonPidfdAlive(pidfd): the process is still the one the pidfd was opened for.
Napi::Value PidfdAlive(const Napi::CallbackInfo& info) {
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  return Napi::Boolean::New(info.Env(), syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// daemonShutdown(listenFd): wakes the accept thread (close alone would not).
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  shutdown(info[0].As<Napi::Number>().Int32Value(), SHUT_RDWR);
  return info.Env().Undefined();
}

// exportFilter({exec, connect, accept, bind, close}) -> Buffer of struct
// sock_filter: the same program netlog-run installs, for netlog-shell.
Napi::Value ExportFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  auto flag = [&](const char* k) {
    Napi::Value v = o.Get(k);
    return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : true;
  };
  TrapSet traps;
  traps.exec = flag("exec");
  traps.connect = flag("connect");
  traps.accept = flag("accept");
  traps.bind = flag("bind");
  traps.close = flag("close");
  std::vector<sock_filter> prog;
  std::string err = BuildFilter(traps, prog);
  if (!err.empty()) return Throw(env, "seccomp_export_bpf_mem", 0, err);
  return Napi::Buffer<char>::Copy(env, reinterpret_cast<const char*>(prog.data()), prog.size() * sizeof(sock_filter));
}

// The real shell's exit status: netlogd is not its parent (sshd, login or su
// is), so it listens to the kernel's proc connector (PROC_EVENT_EXIT, root
// with CAP_NET_ADMIN; see connector docs in the kernel tree) for the pids of
// its sessions. Events can be dropped under load (ENOBUFS): the status is
// then unknown, never wrong.
std::mutex g_watch_mu;
std::unordered_set<pid_t> g_watched;

struct ExitEvent {
  pid_t pid;
  uint32_t status;  // as waitpid(2) reports it
};

void ExitLoop(int nl, Napi::ThreadSafeFunction tsfn) {
  BlockSignals();
  alignas(nlmsghdr) char buf[8192];
  for (;;) {
    ssize_t n = recv(nl, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR || errno == ENOBUFS) continue;
      break;
    }
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<size_t>(n)); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_event))) continue;
      auto* cn = static_cast<cn_msg*>(NLMSG_DATA(h));
      if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC) continue;
      proc_event ev;
      memcpy(&ev, cn->data, sizeof ev);
      if (ev.what != proc_event::PROC_EVENT_EXIT) continue;
      pid_t pid = ev.event_data.exit.process_tgid;
      if (ev.event_data.exit.process_pid != pid) continue;  // a thread, not the process
      {
        std::lock_guard<std::mutex> lk(g_watch_mu);
        if (g_watched.erase(pid) == 0) continue;
      }
      auto* e = new ExitEvent{pid, ev.event_data.exit.exit_code};
      napi_status st = tsfn.BlockingCall(e, [](Napi::Env env, Napi::Function cb, ExitEvent* e) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("pid", Napi::Number::New(env, e->pid));
        o.Set("status", Napi::Number::New(env, e->status));
        delete e;
        cb.Call({o});
      });
      if (st != napi_ok) {
        delete e;
        tsfn.Release();
        return;
      }
    }
  }
  tsfn.Release();
}

// daemonWatchExits(onExit) -> "" or why exit statuses cannot be known.
Napi::Value WatchExits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (nl < 0) return Napi::String::New(env, ErrText("socket(NETLINK_CONNECTOR)", errno));
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = CN_IDX_PROC;
  sa.nl_pid = 0;
  int rcvbuf = 4 << 20;
  setsockopt(nl, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);  // best effort: fewer ENOBUFS
  if (bind(nl, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    int err = errno;
    close(nl);
    return Napi::String::New(env, ErrText("bind(CN_IDX_PROC)", err));
  }
  alignas(nlmsghdr) char req[NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_cn_mcast_op))] = {};
  auto* h = reinterpret_cast<nlmsghdr*>(req);
  h->nlmsg_len = sizeof req;
  h->nlmsg_type = NLMSG_DONE;
  auto* cn = static_cast<cn_msg*>(NLMSG_DATA(h));
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = sizeof(proc_cn_mcast_op);
  proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
  memcpy(cn->data, &op, sizeof op);
  if (send(nl, req, sizeof req, 0) != static_cast<ssize_t>(sizeof req)) {
    int err = errno;
    close(nl);
    return Napi::String::New(env, ErrText("PROC_CN_MCAST_LISTEN", err));
  }
  auto tsfn = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "netlogd-exits", 0, 1);
  tsfn.Unref(env);  // does not keep netlogd alive by itself
  if (!StartThread([nl, tsfn] { ExitLoop(nl, tsfn); })) {
    int err = errno;
    close(nl);
    tsfn.Release();
    return Napi::String::New(env, ErrText("pthread_create", err));
  }
  return Napi::String::New(env, "");
}

// daemonWatchPid(pid, on): report (or stop reporting) the exit of pid.
Napi::Value WatchPid(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  bool on = info[1].As<Napi::Boolean>().Value();
  std::lock_guard<std::mutex> lk(g_watch_mu);
  if (on) g_watched.insert(pid);
  else g_watched.erase(pid);
  return info.Env().Undefined();
}

}  // namespace

void RegisterDaemonSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("daemonListen", Napi::Function::New(env, Listen));
  exports.Set("daemonServe", Napi::Function::New(env, Serve));
  exports.Set("daemonHandshake", Napi::Function::New(env, StartHandshake));
  exports.Set("daemonAck", Napi::Function::New(env, Ack));
  exports.Set("daemonClose", Napi::Function::New(env, CloseFd));
  exports.Set("daemonSend", Napi::Function::New(env, Send));
  exports.Set("daemonAncestors", Napi::Function::New(env, Ancestors));
  exports.Set("daemonPidfdAlive", Napi::Function::New(env, PidfdAlive));
  exports.Set("daemonShutdown", Napi::Function::New(env, Shutdown));
  exports.Set("daemonWatchExits", Napi::Function::New(env, WatchExits));
  exports.Set("daemonWatchPid", Napi::Function::New(env, WatchPid));
  exports.Set("exportFilter", Napi::Function::New(env, ExportFilter));
}

}  // namespace netlog
