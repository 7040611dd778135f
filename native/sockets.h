// Small socket helpers shared by the syscall handlers (net_calls.cc, egress.cc).
#pragma once
#include <sys/socket.h>
#include <cstdint>

#include "event.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

namespace netlog {

// SO_DOMAIN and SO_PROTOCOL of fd; false if it is not a socket.
bool SockInfo(int fd, int& domain, int& protocol);
// MPTCP sockets connect and accept like TCP ones, and are recorded as tcp.
inline bool IsTcp(int protocol) { return protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP; }
inline bool IsInetTcpUdp(int domain, int protocol) {
  return (domain == AF_INET || domain == AF_INET6) && (IsTcp(protocol) || protocol == IPPROTO_UDP);
}
bool LocalEndpoint(int fd, Endpoint& ep, bool& v6);
bool PeerEndpoint(int fd, Endpoint& ep, bool& v6);
// A TCP socket that completed its handshake (TCP_INFO).
bool WasEstablished(int fd);
// The socket's inode (st_ino), 0 if unknown.
uint64_t Inode(int fd);

}  // namespace netlog
