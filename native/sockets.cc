// Small socket helpers shared by the syscall handlers.
#include "sockets.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/stat.h>

namespace netlog {

bool SockInfo(int fd, int& domain, int& protocol) {
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) return false;
  len = sizeof protocol;
  return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0;
}

bool LocalEndpoint(int fd, Endpoint& ep, bool& v6) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return false;
  return DecodeSockaddr(ss, len, ep, v6);
}

bool PeerEndpoint(int fd, Endpoint& ep, bool& v6) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return false;
  return DecodeSockaddr(ss, len, ep, v6);
}

// A TCP socket that completed its handshake has sent at least the SYN and
// the ACK of the peer's SYN-ACK (retransmitted SYNs aside).
bool WasEstablished(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) return false;
  return ti.tcpi_segs_out >= ti.tcpi_total_retrans + 2;
}

uint64_t Inode(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}


bool DecodeSockaddr(const sockaddr_storage& ss, socklen_t len, Endpoint& ep, bool& ipv6) {
  char buf[INET6_ADDRSTRLEN];
  if (ss.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    ep.ip = buf;
    ep.port = ntohs(sin->sin_port);
    ipv6 = false;
    return true;
  }
  if (ss.ss_family == AF_INET6 && len >= 24 /* SIN6_LEN_RFC2133 */) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
    ep.ip = buf;
    ep.port = ntohs(sin6->sin6_port);
    ipv6 = true;
    return true;
  }
  return false;
}

}  // namespace netlog
