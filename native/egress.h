// The egress table of `--egress block` (docs/ci.md): which program may reach
// which address and port, consulted before a connect or a datagram is
// performed. Names are looked up again (getaddrinfo(3), at most once a second
// each) before a refusal; `*.` wildcards match by forward-confirmed reverse name.
#pragma once
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace netlog {

// 16 address bytes (IPv4 as ::ffff:a.b.c.d) and the prefix length in them.
using Cidr = std::array<uint8_t, 17>;

struct EgressRule {
  std::string exe;       // empty: any program
  std::string name;      // a DNS name whose addresses are looked up again before a refusal
  std::string wildcard;  // `*.SUFFIX`: the suffix
  std::string text;      // the entry as the user wrote it (normalised)
  std::vector<Cidr> cidrs;
  uint16_t port_lo = 1, port_hi = 65535;
  int64_t last_lookup_ms = 0;
};

// A destination in the table's terms; from a sockaddr as the kernel reads it.
struct Dest {
  uint8_t addr[16];
  uint16_t port;
  bool v6;  // named as IPv6 (a v4-mapped address stays IPv6 in the record)
};

// How the kernel will read `ss` for a socket of `domain` (AF_UNSPEC is IPv4 on
// an IPv4 UDP socket); false when it names no inet destination.
bool DestOf(int domain, const sockaddr_storage& ss, socklen_t len, Dest& out);

class EgressPolicy {
 public:
  enum class Verdict { Allow, Deny, Lookup };
  void Set(bool block, std::vector<EgressRule> rules);
  bool Blocking() const { return block_.load(std::memory_order_relaxed); }
  bool NeedsExe() const { return needs_exe_.load(std::memory_order_relaxed); }
  // The table as it is: Lookup when a lookup that is due might still allow it.
  Verdict Check(const std::string& exe, const Dest& d);
  // Does the lookups that are due (they block: call off the supervisor
  // thread), then decides.
  bool CheckAfterLookup(const std::string& exe, const Dest& d);

 private:
  bool Applies(const EgressRule& r, const std::string& exe, const Dest& d) const;
  bool Matches(const std::string& exe, const Dest& d) const;  // mu_ held
  std::atomic<bool> block_{false};
  std::atomic<bool> needs_exe_{false};
  std::mutex mu_;
  std::vector<EgressRule> rules_;
  std::unordered_map<std::string, int64_t> reverse_seen_;  // address text → last reverse lookup
};

}  // namespace netlog
