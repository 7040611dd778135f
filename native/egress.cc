// `--egress block`: the table (EgressPolicy), the check of a connect before it
// is performed, and the emulation of datagrams sent with a destination
// (sendto(2), sendmsg(2), sendmmsg(2)) on a duplicate of the caller's socket,
// from one read of the caller's memory, so that what is checked is what is sent.
#include "egress.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <cstring>

#include "kernel.h"
#include "procinfo.h"
#include "supervisor.h"
#include "target_mem.h"

namespace netlog {

namespace {

const int64_t kRelookupMs = 1000;
// The largest datagram emulated: an IP packet cannot carry more.
const size_t kMaxDatagram = 65536;
const size_t kMaxIov = 1024;  // UIO_MAXIOV
const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool InCidr(const uint8_t* addr, const Cidr& c) {
  int bits = c[16];
  for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((addr[i] & mask) != (c[i] & mask)) return false;
  }
  return true;
}

void V4To16(const in_addr& a, uint8_t* out) {
  memcpy(out, kV4Mapped, 12);
  memcpy(out + 12, &a, 4);
}

// The addresses of `name` through NSS (/etc/hosts, DNS), as the job's own
// programs would get them.
std::vector<Cidr> Lookup(const std::string& name) {
  std::vector<Cidr> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    Cidr c{};
    if (ai->ai_family == AF_INET) {
      V4To16(reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, c.data());
    } else if (ai->ai_family == AF_INET6) {
      memcpy(c.data(), &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    c[16] = 128;
    out.push_back(c);
  }
  freeaddrinfo(res);
  return out;
}

std::string AddrText(const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  if (memcmp(a, kV4Mapped, 12) == 0) return inet_ntop(AF_INET, a + 12, buf, sizeof buf) ? buf : "";
  return inet_ntop(AF_INET6, a, buf, sizeof buf) ? buf : "";
}

// The reverse name of an address (PTR or /etc/hosts), lower case, no final dot.
std::string ReverseName(const uint8_t* a) {
  sockaddr_storage ss{};
  socklen_t len;
  if (memcmp(a, kV4Mapped, 12) == 0) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    memcpy(&sin->sin_addr, a + 12, 4);
    len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    memcpy(&sin6->sin6_addr, a, 16);
    len = sizeof *sin6;
  }
  char host[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, nullptr, 0, NI_NAMEREQD) != 0) return "";
  std::string out = host;
  for (char& ch : out) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool EndsWithLabel(const std::string& name, const std::string& suffix) {
  return name.size() > suffix.size() + 1 && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         name[name.size() - suffix.size() - 1] == '.';
}

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

}  // namespace

bool DestOf(int domain, const sockaddr_storage& ss, socklen_t len, Dest& out) {
  // udp_sendmsg() reads AF_UNSPEC as AF_INET on an IPv4 socket; connect(2)
  // takes AF_UNSPEC as a disconnect (domain 0 here).
  int family = ss.ss_family == AF_UNSPEC && domain == AF_INET ? AF_INET : ss.ss_family;
  if (family == AF_INET && len >= sizeof(sockaddr_in)) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    V4To16(sin->sin_addr, out.addr);
    out.port = ntohs(sin->sin_port);
    out.v6 = false;
    return true;
  }
  if (family == AF_INET6 && len >= 24 /* SIN6_LEN_RFC2133 */) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    memcpy(out.addr, &sin6->sin6_addr, 16);
    out.port = ntohs(sin6->sin6_port);
    out.v6 = true;
    return true;
  }
  return false;
}

Endpoint EndpointOf(const Dest& d) {
  Endpoint ep;
  char buf[INET6_ADDRSTRLEN];
  if (!d.v6) ep.ip = inet_ntop(AF_INET, d.addr + 12, buf, sizeof buf) ? buf : "";
  else ep.ip = inet_ntop(AF_INET6, d.addr, buf, sizeof buf) ? buf : "";
  ep.port = d.port;
  return ep;
}

void EgressPolicy::Set(bool block, std::vector<EgressRule> rules) {
  bool exe = false;
  for (const EgressRule& r : rules) exe = exe || !r.exe.empty();
  std::lock_guard<std::mutex> lk(mu_);
  rules_ = std::move(rules);
  int64_t now = NowMs();
  // The addresses came with the table: looked up just now.
  for (EgressRule& r : rules_) r.last_lookup_ms = now;
  reverse_seen_.clear();
  needs_exe_.store(exe);
  block_.store(block);
}

bool EgressPolicy::Applies(const EgressRule& r, const std::string& exe, const Dest& d) const {
  return (r.exe.empty() || r.exe == exe) && r.port_lo <= d.port && d.port <= r.port_hi;
}

bool EgressPolicy::Matches(const std::string& exe, const Dest& d) const {
  for (const EgressRule& r : rules_) {
    if (!Applies(r, exe, d)) continue;
    for (const Cidr& c : r.cidrs)
      if (InCidr(d.addr, c)) return true;
  }
  return false;
}

EgressPolicy::Verdict EgressPolicy::Check(const std::string& exe, const Dest& d) {
  std::lock_guard<std::mutex> lk(mu_);
  if (Matches(exe, d)) return Verdict::Allow;
  int64_t now = NowMs();
  bool wildcard = false;
  for (const EgressRule& r : rules_) {
    if (!Applies(r, exe, d)) continue;
    if (!r.name.empty() && now - r.last_lookup_ms >= kRelookupMs) return Verdict::Lookup;
    wildcard = wildcard || !r.wildcard.empty();
  }
  if (wildcard) {
    auto it = reverse_seen_.find(AddrText(d.addr));
    if (it == reverse_seen_.end() || now - it->second >= kRelookupMs) return Verdict::Lookup;
  }
  return Verdict::Deny;
}

bool EgressPolicy::CheckAfterLookup(const std::string& exe, const Dest& d) {
  std::vector<std::string> names;
  bool wildcard = false;
  std::string ip = AddrText(d.addr);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (Matches(exe, d)) return true;
    int64_t now = NowMs();
    for (EgressRule& r : rules_) {
      if (!Applies(r, exe, d)) continue;
      if (!r.name.empty() && now - r.last_lookup_ms >= kRelookupMs) {
        r.last_lookup_ms = now;
        names.push_back(r.name);
      }
      wildcard = wildcard || !r.wildcard.empty();
    }
    if (wildcard) {
      auto it = reverse_seen_.find(ip);
      if (it != reverse_seen_.end() && now - it->second < kRelookupMs) wildcard = false;
      else reverse_seen_[ip] = now;
      // Bounded: one entry per address refused while a wildcard is listed.
      if (reverse_seen_.size() > 4096) reverse_seen_.clear();
    }
  }
  // Lookups without the lock: a slow resolver holds back only this caller.
  std::vector<std::pair<std::string, std::vector<Cidr>>> found;
  for (const std::string& n : names) found.emplace_back(n, Lookup(n));
  std::string rname = wildcard ? ReverseName(d.addr) : "";
  std::vector<Cidr> forward = rname.empty() ? std::vector<Cidr>{} : Lookup(rname);
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [name, cidrs] : found) {
    // A failed lookup keeps what was known: a resolver that stops answering
    // must not turn an allowed name into a refused one.
    if (cidrs.empty()) continue;
    for (EgressRule& r : rules_)
      if (r.name == name) r.cidrs = cidrs;
  }
  if (Matches(exe, d)) return true;
  if (rname.empty()) return false;
  // Forward-confirmed: the reverse name is set by whoever owns the address,
  // the forward one by the domain's owner.
  bool confirmed = false;
  for (const Cidr& c : forward) confirmed = confirmed || InCidr(d.addr, c);
  if (!confirmed) return false;
  for (EgressRule& r : rules_) {
    if (r.wildcard.empty() || !Applies(r, exe, d) || !EndsWithLabel(rname, r.wildcard)) continue;
    Cidr c{};
    memcpy(c.data(), d.addr, 16);
    c[16] = 128;
    r.cidrs.push_back(c);
    return true;
  }
  return false;
}

// ---- the supervisor's side ----------------------------------------------

std::string Supervisor::CallerExe(const Call& c) {
  if (!egress_.NeedsExe()) return "";
  char link[48];
  snprintf(link, sizeof link, "/proc/%d/exe", c.tid);
  return ReadLink(link);
}

void Supervisor::Unchecked(const Call& c, int protocol) {
  if (!warned_unchecked_.exchange(true))
    Warn("--egress block: a connect or datagram on an IP socket of protocol " + std::to_string(protocol) +
         " (neither TCP nor UDP) was refused (EPERM): only TCP and UDP destinations can be checked");
  Respond(c.id, EPERM, false);
}

void Supervisor::Block(const Call& c, int dup, bool tcp, const Dest& d, const char* via) {
  Event ev;
  ev.remote = EndpointOf(d);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  bool lv6 = false;
  if (getsockname(dup, reinterpret_cast<sockaddr*>(&ss), &len) < 0 || !DecodeSockaddr(ss, len, ev.local, lv6))
    ev.local.ip = d.v6 ? "::" : "0.0.0.0";
  close(dup);
  if (!FillEvent(c, Kind::Connect, ev)) return Fail(c, "/proc");
  ev.tcp = tcp;
  ev.ipv6 = d.v6;
  ev.has_remote = true;
  ev.result_errno = EPERM;
  ev.blocked = true;
  ev.via = via;
  Pending p;
  p.how = How::Return;
  p.error = EPERM;
  Hold(std::move(ev), c, p);
}

bool Supervisor::EgressGate(const Call& c, int dup, bool tcp, const sockaddr_storage& addr, socklen_t len) {
  Dest d{};
  // AF_UNSPEC (a disconnect) and malformed addresses reach no one: the kernel answers them.
  if (!DestOf(0, addr, len, d)) return false;
  std::string exe = CallerExe(c);
  switch (egress_.Check(exe, d)) {
    case EgressPolicy::Verdict::Allow:
      return false;
    case EgressPolicy::Verdict::Deny:
      Block(c, dup, tcp, d, "connect");
      return true;
    case EgressPolicy::Verdict::Lookup:
      // The lookup may take a while: on a worker, so the supervisor goes on.
      RunBlocking(
          [this, c, dup, tcp, addr, len, d, exe](BlockingOp* op) {
            if (egress_.CheckAfterLookup(exe, d)) FinishConnect(c, dup, tcp, addr, len, op);
            else Block(c, dup, tcp, d, "connect");
          },
          c, dup);
      return true;
  }
  return false;
}

struct Supervisor::Datagram {
  bool named = false;  // an address was given (sendto's dest_addr, msg_name)
  bool control = false;
  sockaddr_storage addr{};
  socklen_t addrlen = 0;
  std::vector<char> data;
  // The caller's bytes could not be read: the kernel finds that only once
  // it copies them, after its address checks, so the send is made from a
  // buffer that faults the same way (nothing leaves).
  bool data_fault = false;
  uint64_t len_at = 0;  // sendmmsg: where msg_len goes in the caller
};

namespace {

// One struct user_msghdr of the caller, read once (the kernel's
// __copy_msghdr rules: a name counts only with a length, which is clamped).
int ReadMsg(pid_t tid, uint64_t at, Supervisor::Datagram& dg) {
  msghdr m{};
  if (!ReadMem(tid, at, &m, sizeof m)) return EFAULT;
  int namelen = static_cast<int>(m.msg_namelen);
  if (m.msg_name && namelen < 0) return EINVAL;
  if (m.msg_name && namelen > 0) {
    dg.named = true;
    dg.addrlen = static_cast<socklen_t>(std::min<size_t>(namelen, sizeof dg.addr));
    if (!ReadMem(tid, reinterpret_cast<uint64_t>(m.msg_name), &dg.addr, dg.addrlen)) return EFAULT;
  }
  dg.control = m.msg_control != nullptr && m.msg_controllen > 0;
  if (m.msg_iovlen > kMaxIov) return EMSGSIZE;
  std::vector<iovec> iov(m.msg_iovlen);
  if (!iov.empty() && !ReadMem(tid, reinterpret_cast<uint64_t>(m.msg_iov), iov.data(), iov.size() * sizeof(iovec)))
    return EFAULT;
  size_t total = 0;
  for (const iovec& v : iov) {
    if (v.iov_len > kMaxDatagram || (total += v.iov_len) > kMaxDatagram) return EMSGSIZE;
  }
  dg.data.resize(total);
  size_t off = 0;
  for (const iovec& v : iov) {
    if (v.iov_len > 0 && !ReadMem(tid, reinterpret_cast<uint64_t>(v.iov_base), dg.data.data() + off, v.iov_len))
      dg.data_fault = true;
    off += v.iov_len;
  }
  return 0;
}

}  // namespace

// Block mode: sendto with an address, sendmsg and sendmmsg on an inet
// socket. TCP ignores the address (TCP Fast Open, which would not, is
// refused by the filter); UDP datagrams are checked, then sent from the
// duplicate, their bytes read from the caller once.
void Supervisor::HandleSend(const Call& c) {
  int dup = DupCallerFd(c);
  if (dup < 0) return;
  int err = 0;
  int domain = 0, protocol = 0;
  socklen_t olen = sizeof domain;
  bool sock = getsockopt(dup, SOL_SOCKET, SO_DOMAIN, &domain, &olen) == 0;
  olen = sizeof protocol;
  sock = sock && getsockopt(dup, SOL_SOCKET, SO_PROTOCOL, &protocol, &olen) == 0;
  if (!sock || (domain != AF_INET && domain != AF_INET6) || protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP) {
    close(dup);
    return Respond(c.id, 0, true);  // not an inet datagram: the kernel answers (ENOTSOCK...)
  }
  if (protocol != IPPROTO_UDP) {
    close(dup);
    return Unchecked(c, protocol);
  }
  std::vector<Datagram> msgs;
  const char* via = "sendto";
  if (c.nr == __NR_sendto) {
    Datagram dg;
    size_t len = c.args[2];
    int32_t alen = static_cast<int32_t>(c.args[5]);
    err = 0;
    // move_addr_to_kernel() comes before udp_sendmsg()'s size check.
    if (c.args[4] != 0 && (alen < 0 || static_cast<size_t>(alen) > sizeof dg.addr)) err = EINVAL;
    else if (len > kMaxDatagram) err = EMSGSIZE;
    if (!err) {
      // __sys_sendto() takes the length only with an address.
      dg.named = c.args[4] != 0;
      if (!dg.named) alen = 0;
      dg.addrlen = static_cast<socklen_t>(alen);
      dg.data.resize(len);
      if (alen > 0 && !ReadMem(c.tid, c.args[4], &dg.addr, dg.addrlen)) err = EFAULT;
      else if (len > 0 && !ReadMem(c.tid, c.args[1], dg.data.data(), len)) dg.data_fault = true;
    }
    msgs.push_back(std::move(dg));
  } else if (c.nr == __NR_sendmsg) {
    via = "sendmsg";
    Datagram dg;
    err = ReadMsg(c.tid, c.args[1], dg);
    msgs.push_back(std::move(dg));
  } else {
    via = "sendmmsg";
    size_t vlen = std::min<uint64_t>(c.args[2], kMaxIov);
    for (size_t i = 0; i < vlen && !err; i++) {
      Datagram dg;
      uint64_t at = c.args[1] + i * sizeof(mmsghdr);
      err = ReadMsg(c.tid, at, dg);
      dg.len_at = at + offsetof(mmsghdr, msg_len);
      // A later message the kernel could not read ends the batch there.
      if (err && i > 0) {
        err = 0;
        break;
      }
      msgs.push_back(std::move(dg));
    }
    if (vlen == 0) {
      close(dup);
      return Respond(c.id, 0, false);
    }
  }
  if (err) {
    close(dup);
    return Respond(c.id, err, false);
  }
  std::string exe = CallerExe(c);
  if (!notif_valid(listener_, c.id)) {
    close(dup);
    return;
  }
  FinishSend(c, dup, domain, std::move(msgs), exe, via, nullptr, 0, 0);
}

void Supervisor::FinishSend(const Call& c, int dup, int domain, std::vector<Datagram> msgs, const std::string& exe,
                            const char* via, BlockingOp* op, size_t sent, long first) {
  int flags = static_cast<int>(c.nr == __NR_sendmsg ? c.args[2] : c.args[3]);
  int fl = fcntl(dup, F_GETFL);
  bool may_block = !(flags & MSG_DONTWAIT) && fl >= 0 && !(fl & O_NONBLOCK);
  int first_err = 0;
  for (size_t i = 0; i < msgs.size(); i++) {
    Datagram& dg = msgs[i];
    // The rest of the batch goes to a worker: a lookup or a full send
    // buffer may keep it waiting, and the supervisor must go on.
    auto defer = [&]() {
      std::vector<Datagram> rest(std::make_move_iterator(msgs.begin() + static_cast<long>(i)),
                                 std::make_move_iterator(msgs.end()));
      RunBlocking(
          [this, c, dup, domain, exe, via, sent, first, rest = std::move(rest)](BlockingOp* wop) mutable {
            FinishSend(c, dup, domain, std::move(rest), exe, via, wop, sent, first);
          },
          c, dup);
    };
    Dest d{};
    bool has_dest = false;
    // udpv6_sendmsg() reads AF_UNSPEC as "no address": the connected peer.
    bool to_peer = !dg.named || (dg.addr.ss_family == AF_UNSPEC && domain == AF_INET6);
    if (to_peer) {
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      if (getpeername(dup, reinterpret_cast<sockaddr*>(&peer), &plen) == 0) has_dest = DestOf(0, peer, plen, d);
    } else {
      // An address that names no inet destination is sent as it is: the
      // kernel refuses it (EINVAL, EAFNOSUPPORT) and nothing leaves.
      has_dest = DestOf(domain, dg.addr, dg.addrlen, d);
      // udp_sendmsg() sends an IPv4 socket's datagram to AF_INET (or
      // AF_UNSPEC) only, and to no port 0 (EAFNOSUPPORT, EINVAL).
      if (has_dest && ((domain == AF_INET && d.v6) || d.port == 0)) has_dest = false;
    }
    bool allowed = true;
    if (has_dest) {
      EgressPolicy::Verdict v = egress_.Check(exe, d);
      if (v == EgressPolicy::Verdict::Lookup && !op) return defer();
      allowed = v == EgressPolicy::Verdict::Allow || (v == EgressPolicy::Verdict::Lookup && egress_.CheckAfterLookup(exe, d));
    }
    // Control data can carry IP options and IPv6 routing headers, which
    // send a datagram on to other hosts: it is not checked, so refused.
    if (!allowed || dg.control) {
      if (sent > 0) break;  // the messages so far went: their count is the answer
      if (has_dest) return Block(c, dup, false, d, via);
      close(dup);
      if (!warned_unchecked_.exchange(true))
        Warn(std::string("--egress block: a ") + via + " with control data was refused (EPERM): it cannot be checked");
      return Respond(c.id, EPERM, false);
    }
    msghdr m{};
    iovec iov{dg.data.data(), dg.data.size()};
    if (dg.data_fault) iov.iov_base = reinterpret_cast<void*>(1);  // below any mapping: EFAULT
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (dg.named) {
      m.msg_name = &dg.addr;
      // sendto() with an address of length 0 names it all the same (EINVAL
      // from udp_sendmsg); msghdr would drop a name of length 0, and 1 is
      // as short.
      m.msg_namelen = dg.addrlen ? dg.addrlen : 1;
    }
    long r;
    if (op) {
      r = OpCall(op, [&] { return static_cast<long>(sendmsg(dup, &m, flags)); });
    } else {
      r = sendmsg(dup, &m, flags | MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && may_block) return defer();
    }
    if (r < 0) {
      if (sent == 0) first_err = op ? AnswerFor(errno, op, dup, SO_SNDTIMEO) : errno;
      break;
    }
    if (sent == 0) first = r;
    if (c.nr == __NR_sendmmsg) {
      uint32_t n = static_cast<uint32_t>(r);
      if (!WriteMem(c.tid, dg.len_at, &n, sizeof n)) {
        if (sent == 0) first_err = EFAULT;
        break;
      }
    }
    sent++;
  }
  close(dup);
  if (sent == 0) return Respond(c.id, first_err, false);
  RespondValue(c.id, c.nr == __NR_sendmmsg ? static_cast<int64_t>(sent) : first);
}

void Supervisor::RespondValue(uint64_t id, int64_t val) {
  listener_->Value(id, val);
}

}  // namespace netlog
