/* The registration protocol between netlog-shell and netlogd, over a unix
 * SOCK_SEQPACKET socket (one message each, boundaries kept); see unix(7).
 * Shared by native/shell/netlog_shell.c (C) and native/daemon_socket.cc. */
#ifndef NETLOG_SHELL_PROTOCOL_H
#define NETLOG_SHELL_PROTOCOL_H
#include <stdint.h>

#ifndef NETLOG_SOCKET_PATH
#define NETLOG_SOCKET_PATH "/run/netlog/netlogd.sock"
#endif

/* netlogd -> shell: header, then `insns` struct sock_filter, then the real
 * shell's path (`shell_len` bytes, no NUL). */
#define NETLOG_FILTER_MAGIC "NLF1"
struct netlog_filter_hdr {
  char magic[4];
  uint32_t insns;
  uint32_t shell_len;
};
#define NETLOG_MAX_INSNS 4096 /* BPF_MAXINSNS */
/* netlogd -> an already supervised shell whose filter netlogd serves (a
 * `su -` inside a session): the same header with insns 0, then the path. */
#define NETLOG_NESTED_MAGIC "NLN1"
#define NETLOG_MAX_SHELL 4095

/* shell -> netlogd: this, with the seccomp listener as SCM_RIGHTS. */
#define NETLOG_LISTENER_MAGIC "NLL1"
struct netlog_listener_msg {
  char magic[4];
};

/* netlogd -> shell: one byte once the listener is being served. */
#define NETLOG_ACK 'A'

#endif
