// Native unit tests of the Supervisor's dispatch: notifications come from a
// FakeListener (fake_listener.h) and the answers are checked there. The callers
// are real processes (this program's children), so /proc, pidfd_getfd and
// process_vm_readv are the kernel's; only the seccomp listener is faked.
// Run by test/native/supervisor.test.ts; prints one line per test, exits 1 if
// any failed.
#include <arpa/inet.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "../../native/supervisor.h"
#include "fake_listener.h"

using namespace netlog;

namespace {

int failures = 0;
bool current_ok = true;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);            \
      current_ok = false;                                                           \
    }                                                                               \
  } while (0)

// A supervisor over a fake listener it owns; `fake` stays usable beside it.
struct Rig {
  FakeListener* fake;
  std::unique_ptr<Supervisor> sup;
  Rig() {
    auto f = std::make_unique<FakeListener>();
    fake = f.get();
    sup = std::make_unique<Supervisor>(std::move(f), SupervisorOptions{}, [](Supervisor*) {});
  }
  // One round of the engine: what poll says of the listener, then OnReadable.
  bool Pump() {
    pollfd pfd{sup->Listener(), POLLIN, 0};
    if (poll(&pfd, 1, 0) <= 0) return true;
    return sup->OnReadable(pfd.revents);
  }
  std::deque<Message> Drain() { return sup->Drain(); }
};

seccomp_notif Notif(uint64_t id, pid_t pid, int nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
                    uint64_t a3 = 0) {
  seccomp_notif n{};
  n.id = id;
  n.pid = static_cast<uint32_t>(pid);
  n.data.nr = nr;
  n.data.args[0] = a0;
  n.data.args[1] = a1;
  n.data.args[2] = a2;
  n.data.args[3] = a3;
  return n;
}

size_t Count(const std::deque<Message>& ms, MsgType t) {
  size_t n = 0;
  for (auto& m : ms) n += m.type == t;
  return n;
}

// A child that waits to be killed: a live caller whose memory is this
// program's (fork copies it) and whose fds are the ones open at fork.
pid_t Sleeper() {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  return pid;
}
void Reap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}
// The pid of a process that has exited and been reaped.
pid_t GonePid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

const char kPath[] = "/bin/true";
const char* kArgv[] = {"true", "--version", nullptr};

void UnknownSyscallContinues() {
  Rig r;
  r.fake->Queue(Notif(1, getpid(), __NR_getpid));
  CHECK(r.Pump());
  CHECK(r.fake->answers.size() == 1);
  if (r.fake->answers.size() == 1) {
    CHECK(r.fake->answers[0].id == 1);
    CHECK(r.fake->answers[0].flags == SECCOMP_USER_NOTIF_FLAG_CONTINUE);
    CHECK(r.fake->answers[0].error == 0);
  }
  CHECK(r.Drain().empty());
}

void RecvEnoentAndEintrAreSkipped() {
  Rig r;
  r.fake->QueueRecvError(ENOENT);
  r.fake->QueueRecvError(EINTR);
  r.fake->Queue(Notif(2, getpid(), __NR_getpid));
  CHECK(r.Pump());
  CHECK(r.fake->answers.size() == 1 && r.fake->answers[0].id == 2);
  CHECK(r.Drain().empty());
  CHECK(!r.sup->Ended());
  // Any other failure ends the session, with a warning naming the ioctl.
  r.fake->QueueRecvError(EIO);
  CHECK(!r.Pump());
  auto ms = r.Drain();
  CHECK(ms.size() == 2);
  if (ms.size() == 2) {
    CHECK(ms[0].type == MsgType::Warning && ms[0].text.find("SECCOMP_IOCTL_NOTIF_RECV") == 0);
    CHECK(ms[1].type == MsgType::End);
  }
}

void HangUpEndsTheSessionOnce() {
  Rig r;
  r.fake->Queue(Notif(3, getpid(), __NR_getpid));
  r.fake->HangUp();
  // The waiting notification is still answered before the end.
  CHECK(!r.Pump());
  CHECK(r.fake->answers.size() == 1);
  CHECK(r.sup->Ended());
  auto ms = r.Drain();
  CHECK(ms.size() == 1 && ms[0].type == MsgType::End);
  CHECK(!r.Pump());
  CHECK(r.Drain().empty());
}

void SendRetriesEintrAndDropsEnoent() {
  Rig r;
  r.fake->send_errors = {EINTR, EINTR};
  r.fake->Queue(Notif(4, getpid(), __NR_getpid));
  CHECK(r.Pump());
  CHECK(r.fake->answers.size() == 1 && r.fake->answers[0].id == 4);
  // A caller that went away: the answer fails with ENOENT and nothing else
  // happens (no warning, no retry); the next call is answered as usual.
  r.fake->Queue(Notif(5, getpid(), __NR_getpid));
  r.fake->Invalidate(5);
  r.fake->Queue(Notif(6, getpid(), __NR_getpid));
  CHECK(r.Pump());
  CHECK(r.fake->late_sends == 1);
  CHECK(r.fake->answers.size() == 2 && r.fake->answers.back().id == 6);
  CHECK(r.Drain().empty());
}

void ExecIsHeldUntilAnswered() {
  Rig r;
  pid_t child = Sleeper();
  auto path = reinterpret_cast<uint64_t>(kPath);
  auto argv = reinterpret_cast<uint64_t>(kArgv);
  r.fake->Queue(Notif(10, child, __NR_execve, path, argv));
  r.fake->Queue(Notif(11, child, __NR_execve, path, argv));
  CHECK(r.Pump());
  // Log before allow: nothing is answered until the record is written.
  CHECK(r.fake->answers.empty());
  auto ms = r.Drain();
  CHECK(ms.size() == 2 && Count(ms, MsgType::Event) == 2);
  if (ms.size() == 2) {
    const Event& ev = ms[0].event;
    CHECK(ev.kind == Kind::Exec);
    CHECK(ev.path == kPath);
    CHECK(ev.proc.pid == child);
    CHECK(ev.argv.size() == 2 && ev.argv[1] == "--version");
    r.sup->Answer(ms[0].event.token, false);
    r.sup->Answer(ms[1].event.token, true);
    r.sup->Answer(ms[1].event.token, false);  // a token is answered once
    CHECK(r.fake->answers.size() == 2);
    if (r.fake->answers.size() == 2) {
      CHECK(r.fake->answers[0].id == 10 && r.fake->answers[0].flags == SECCOMP_USER_NOTIF_FLAG_CONTINUE);
      CHECK(r.fake->answers[1].id == 11 && r.fake->answers[1].flags == 0 &&
            r.fake->answers[1].error == -EACCES);
    }
  }
  CHECK(r.fake->late_sends == 0);
  Reap(child);
}

void CallerGoneWhileReadIsDropped() {
  Rig r;
  pid_t child = Sleeper();
  // Everything about the caller reads fine, but the notification is no
  // longer pending when it is to be held: no record, no answer.
  r.fake->Queue(Notif(12, child, __NR_execve, reinterpret_cast<uint64_t>(kPath), reinterpret_cast<uint64_t>(kArgv)));
  r.fake->Invalidate(12);
  CHECK(r.Pump());
  CHECK(Count(r.Drain(), MsgType::Event) == 0);
  CHECK(r.fake->answers.empty() && r.fake->late_sends == 0);
  Reap(child);
  // A caller whose pid is gone altogether: its fd cannot be taken, and the
  // answer (EBADF, as the code gives) goes nowhere.
  pid_t gone = GonePid();
  r.fake->Queue(Notif(13, gone, __NR_accept4, 3, 0, 0, SOCK_CLOEXEC));
  r.fake->Invalidate(13);
  CHECK(r.Pump());
  auto ms = r.Drain();
  CHECK(ms.empty());
  CHECK(r.fake->answers.empty() && r.fake->late_sends == 1);
}

void AcceptAddFdPaths() {
  Rig r;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  CHECK(bind(lfd, reinterpret_cast<sockaddr*>(&sa), len) == 0 && listen(lfd, 16) == 0 &&
        getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  pid_t child = Sleeper();  // holds lfd as its own
  // One queued connection per case, accepted by netlog on the caller's socket.
  const int kCases = 5;
  int clients[kCases];
  uint16_t ports[kCases];
  for (int i = 0; i < kCases; i++) {
    clients[i] = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(clients[i], reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    sockaddr_in me{};
    socklen_t ml = sizeof me;
    getsockname(clients[i], reinterpret_cast<sockaddr*>(&me), &ml);
    ports[i] = ntohs(me.sin_port);
  }
  uint32_t tokens[kCases] = {};
  for (int i = 0; i < kCases; i++)
    r.fake->Queue(Notif(20 + i, child, __NR_accept4, static_cast<uint64_t>(lfd), 0, 0, SOCK_CLOEXEC));
  CHECK(r.Pump());
  CHECK(r.fake->answers.empty());
  auto ms = r.Drain();
  CHECK(ms.size() == kCases);
  for (size_t i = 0; i < ms.size() && i < kCases; i++) {
    CHECK(ms[i].type == MsgType::Event && ms[i].event.kind == Kind::Accept);
    CHECK(ms[i].event.remote.port == ports[i] && ms[i].event.remote.ip == "127.0.0.1");
    tokens[i] = ms[i].event.token;
  }
  auto& f = *r.fake;
  // Installed: the caller's fd is the answer's value.
  r.sup->Answer(tokens[0], false);
  CHECK(f.added.size() == 1 && f.added[0].was_socket && f.added[0].addfd.newfd_flags == O_CLOEXEC);
  CHECK(f.answers.size() == 1 && f.answers[0].id == 20 && f.answers[0].val == 7 && f.answers[0].error == 0 &&
        f.answers[0].flags == 0);
  // An interrupted ADDFD is asked again (it was taken back whole).
  f.addfd_errors = {EINTR};
  r.sup->Answer(tokens[1], false);
  CHECK(f.added.size() == 2 && f.answers.size() == 2 && f.answers[1].id == 21 && f.answers[1].val == 8);
  // A caller at its fd limit gets the errno ADDFD gave.
  f.addfd_errors = {EMFILE};
  r.sup->Answer(tokens[2], false);
  CHECK(f.added.size() == 2 && f.answers.size() == 3 && f.answers[2].id == 22 && f.answers[2].error == -EMFILE);
  // ENOENT: the caller went away meanwhile; nothing is answered.
  f.addfd_errors = {ENOENT};
  r.sup->Answer(tokens[3], false);
  CHECK(f.added.size() == 2 && f.answers.size() == 3 && f.late_sends == 0);
  // Gone before the record was written: no ADDFD is even asked (the pid
  // may be another process's by now).
  CHECK(f.addfd_calls == 5);
  f.Invalidate(24);
  r.sup->Answer(tokens[4], false);
  CHECK(f.addfd_calls == 5 && f.answers.size() == 3 && f.late_sends == 0);
  for (int c : clients) close(c);
  Reap(child);
  close(lfd);
}

struct Test {
  const char* name;
  void (*fn)();
};

}  // namespace

int main() {
  signal(SIGPIPE, SIG_IGN);
  const Test tests[] = {
      {"an unknown syscall is answered CONTINUE", UnknownSyscallContinues},
      {"RECV's ENOENT and EINTR are skipped, another errno ends the session", RecvEnoentAndEintrAreSkipped},
      {"POLLHUP ends the session once, after what waits", HangUpEndsTheSessionOnce},
      {"SEND is retried on EINTR; ENOENT drops the answer", SendRetriesEintrAndDropsEnoent},
      {"an exec is held until Answer, then CONTINUE or EACCES", ExecIsHeldUntilAnswered},
      {"a caller gone while read, or gone altogether, gets no record", CallerGoneWhileReadIsDropped},
      {"accept: ADDFD installed, EINTR retried, EMFILE returned, ENOENT and gone dropped", AcceptAddFdPaths},
  };
  for (const Test& t : tests) {
    current_ok = true;
    t.fn();
    printf("%s %s\n", current_ok ? "ok" : "FAIL", t.name);
    fflush(stdout);
    if (!current_ok) failures++;
  }
  printf("%d of %zu failed\n", failures, sizeof tests / sizeof tests[0]);
  return failures ? 1 : 0;
}
