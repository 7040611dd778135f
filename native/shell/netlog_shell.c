/* netlog-shell: the login shell of supervised users (setuid root). It gets the
 * seccomp filter from netlogd, installs it while privileged (no no_new_privs,
 * so sudo works inside), hands the listener to netlogd, drops to the caller's
 * real uid/gid and execs the real shell. Fails closed: any error ends the
 * login with one "netlog-shell: ..." line and exit status 1.
 * See seccomp(2), seccomp_unotify(2), unix(7), credentials(7), execve(2).
 * Trust: only the kernel, this file's constants and a root peer on the
 * compiled-in socket. Nothing is read from the environment while privileged. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* Generous: /proc/self/environ larger than this keeps glibc's (sanitized) copy. */
#define MAX_ENVIRON (4u << 20)

static void say(const char *what, int err) {
  char line[512];
  int n = err ? snprintf(line, sizeof line, "netlog-shell: %s: %s\n", what, strerror(err))
              : snprintf(line, sizeof line, "netlog-shell: %s\n", what);
  if (n > 0) {
    ssize_t ignored = write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    (void)ignored;
  }
}

static void __attribute__((noreturn)) die(const char *what, int err) {
  say(what, err);
  _exit(1);
}

/* A setuid program started with fd 0, 1 or 2 closed would hand that number to
 * its socket, and its messages to whatever the fd becomes. */
static void open_std_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    if (errno != EBADF) die("fcntl", errno);
    int n = open("/dev/null", O_RDWR);
    if (n != fd) _exit(1); /* cannot even report it */
  }
}

/* Reads fd to the end into buf (NUL-terminated) and closes it; the length or -1. */
static ssize_t read_fd(int fd, char *buf, size_t size) {
  size_t len = 0;
  while (len + 1 < size) {
    ssize_t n = read(fd, buf + len, size - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      (void)close(fd);
      errno = e;
      return -1;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  (void)close(fd); /* read-only: nothing to lose */
  return (ssize_t)len;
}

static ssize_t read_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  return fd < 0 ? -1 : read_fd(fd, buf, size);
}

/* The text after "\nKEY:\t" in /proc/self/status; dies when it is missing. */
static const char *status_field(const char *status, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "\n%s:\t", key);
  const char *p = strstr(status, pat);
  if (!p) die("/proc/self/status: a field is missing", 0);
  return p + strlen(pat);
}

static void read_status(char *buf, size_t size) {
  /* Leading newline: every field, the first included, is found as "\nKEY:\t". */
  buf[0] = '\n';
  if (read_file("/proc/self/status", buf + 1, size - 1) < 0) die("/proc/self/status", errno);
}

/* Returns whether the process already has a seccomp filter. */
static int check_privileged(void) {
  if (geteuid() != 0) die("not running as setuid root (install it with 'netlog install'); login refused", 0);
  char status[8192];
  read_status(status, sizeof status);
  if (strncmp(status_field(status, "NoNewPrivs"), "0\n", 2) != 0)
    die("no_new_privs is set; login refused", 0);
  /* A filter already here is netlogd's (a `su -` inside a session: netlogd
   * checks that the session is an ancestor) or someone else's (refused:
   * the kernel allows one listener per chain, and another supervisor must not
   * be trusted with this login). */
  return strncmp(status_field(status, "Seccomp"), "0\n", 2) != 0;
}

static int connect_netlogd(void) {
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket", errno);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  _Static_assert(sizeof NETLOG_SOCKET_PATH <= sizeof sun.sun_path, "socket path too long");
  memcpy(sun.sun_path, NETLOG_SOCKET_PATH, sizeof NETLOG_SOCKET_PATH);
  if (connect(s, (struct sockaddr *)&sun, sizeof sun) < 0)
    die("cannot reach netlogd at " NETLOG_SOCKET_PATH "; login refused", errno);
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) die("SO_PEERCRED", errno);
  if (len != sizeof cred || cred.uid != 0) die("the process on " NETLOG_SOCKET_PATH " is not root; login refused", 0);
  /* netlogd answers at once; a stalled one must not hang the login forever. */
  struct timeval tv = {.tv_sec = 30};
  if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) die("SO_RCVTIMEO", errno);
  if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) die("SO_SNDTIMEO", errno);
  return s;
}

static _Alignas(8) unsigned char msg[sizeof(struct netlog_filter_hdr) + NETLOG_MAX_INSNS * sizeof(struct sock_filter) +
                         NETLOG_MAX_SHELL + 1];

/* Receives the filter (none when nested) and the real shell's path
 * (absolute, NUL-free). */
static void receive_filter(int s, int nested, struct sock_fprog *prog, char *shell) {
  struct iovec iov = {msg, sizeof msg};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t n;
  while ((n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n < 0) die("receiving the filter from netlogd", errno);
  if (n == 0 && nested) die("already under a seccomp filter that is not one of netlogd's sessions; login refused", 0);
  if (n == 0) die("netlogd closed the connection; login refused", 0);
  if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) die("oversized message from netlogd", 0);
  struct netlog_filter_hdr h;
  if ((size_t)n < sizeof h) die("short message from netlogd", 0);
  memcpy(&h, msg, sizeof h);
  if (memcmp(h.magic, nested ? NETLOG_NESTED_MAGIC : NETLOG_FILTER_MAGIC, 4) != 0)
    die("bad message from netlogd (version mismatch?)", 0);
  if ((h.insns == 0) != nested || h.insns > NETLOG_MAX_INSNS || h.shell_len < 2 || h.shell_len > NETLOG_MAX_SHELL)
    die("bad message from netlogd (sizes out of range)", 0);
  size_t filter_bytes = (size_t)h.insns * sizeof(struct sock_filter);
  if ((size_t)n != sizeof h + filter_bytes + h.shell_len) die("bad message from netlogd (length)", 0);
  const unsigned char *path = msg + sizeof h + filter_bytes;
  if (memchr(path, '\0', h.shell_len) || path[0] != '/') die("bad shell path from netlogd", 0);
  memcpy(shell, path, h.shell_len);
  shell[h.shell_len] = '\0';
  prog->len = (unsigned short)h.insns;
  prog->filter = (struct sock_filter *)(msg + sizeof h); /* msg is static, suitably aligned */
}

static void send_listener(int s, int listener) {
  struct netlog_listener_msg m;
  memcpy(m.magic, NETLOG_LISTENER_MAGIC, 4);
  struct iovec iov = {&m, sizeof m};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &listener, sizeof listener);
  ssize_t n;
  while ((n = sendmsg(s, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n != (ssize_t)sizeof m) die("sending the listener to netlogd", n < 0 ? errno : EIO);
}

static void wait_ack(int s) {
  char ack = 0;
  ssize_t n;
  while ((n = recv(s, &ack, 1, 0)) < 0 && errno == EINTR) {
  }
  if (n < 0) die("waiting for netlogd", errno);
  if (n != 1 || ack != NETLOG_ACK) die("netlogd did not accept the session; login refused", 0);
}

/* Real, effective and saved ids all become the caller's real ones; the
 * supplementary groups stay as login/sshd/su set them (initgroups). */
static void drop_privileges(void) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (setresgid(gid, gid, gid) < 0) die("setresgid", errno);
  if (setresuid(uid, uid, uid) < 0) die("setresuid", errno);
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0) die("getresuid", errno);
  if (r != uid || e != uid || s != uid || rg != gid || eg != gid || sg != gid) die("privileges were not dropped", 0);
  if (uid == 0) return; /* a root login stays root, as without netlog */
  if (setresuid(0, 0, 0) == 0) die("privileges could be regained", 0);
  char status[8192];
  read_status(status, sizeof status);
  if (strncmp(status_field(status, "CapPrm"), "0000000000000000\n", 17) != 0 ||
      strncmp(status_field(status, "CapEff"), "0000000000000000\n", 17) != 0)
    die("capabilities were not dropped", 0);
}

/* The environment exactly as the caller passed it (glibc dropped LD_*,
 * TMPDIR... from environ for the setuid start), with SHELL set. envfd is
 * /proc/self/environ, opened while privileged (once the ids change, the
 * non-dumpable process's /proc files are root's) but read only now that the
 * privileges are gone: it is the user's own. */
static char **user_environment(int envfd, const char *shell) {
  char *shell_var;
  if (asprintf(&shell_var, "SHELL=%s", shell) < 0) die("out of memory", 0);
  char *buf = malloc(MAX_ENVIRON + 1);
  if (!buf) die("out of memory", 0);
  ssize_t len = read_fd(envfd, buf, MAX_ENVIRON + 1);
  if (len < 0) die("/proc/self/environ", errno);
  if ((size_t)len >= MAX_ENVIRON) die("environment too large", 0);
  size_t count = 0;
  for (ssize_t i = 0; i < len; i++) count += buf[i] == '\0';
  char **env = calloc(count + 3, sizeof *env);
  if (!env) die("out of memory", 0);
  size_t k = 0;
  env[k++] = shell_var;
  for (char *p = buf; p < buf + len; p += strlen(p) + 1)
    if (strncmp(p, "SHELL=", 6) != 0 && *p) env[k++] = p;
  env[k] = NULL;
  return env;
}

int main(int argc, char **argv) {
  open_std_fds();
  int nested = check_privileged();
  int s = connect_netlogd();
  struct sock_fprog prog;
  static char shell[NETLOG_MAX_SHELL + 1];
  receive_filter(s, nested, &prog, shell);
  if (!nested) {
    unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (listener < 0) die("seccomp", errno);
    /* From here execve(2) and close(2) wait for netlogd's answer, and none
     * is made before the ack. The listener and the socket leave with the
     * exec (close-on-exec): the listener must never reach the user's shell,
     * which could answer its own calls with it. */
    if (fcntl(listener, F_SETFD, FD_CLOEXEC) < 0) die("fcntl", errno);
    send_listener(s, listener);
    wait_ack(s);
  }
  /* The listener stays open until the exec, but the process is not dumpable
   * (setuid start): the user cannot ptrace it or take the fd with pidfd_getfd. */
  int envfd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
  if (envfd < 0) die("/proc/self/environ", errno);
  drop_privileges();
  char **env = user_environment(envfd, shell);
  const char *base = strrchr(shell, '/') + 1;
  char *arg0;
  /* A login shell (argv[0] "-...") stays one: "-bash". */
  if (asprintf(&arg0, "%s%s", argc > 0 && argv[0][0] == '-' ? "-" : "", base) < 0) die("out of memory", 0);
  char **args = calloc((size_t)(argc > 0 ? argc : 1) + 1, sizeof *args);
  if (!args) die("out of memory", 0);
  args[0] = arg0;
  for (int i = 1; i < argc; i++) args[i] = argv[i];
  execve(shell, args, env);
  int err = errno;
  char what[NETLOG_MAX_SHELL + 32];
  snprintf(what, sizeof what, "cannot run %s", shell);
  die(what, err);
}
