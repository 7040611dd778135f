// Builds the session's seccomp BPF program with libseccomp (in the parent,
// before fork, so the child only has to install it).
#pragma once
#include <linux/filter.h>
#include <string>
#include <vector>

namespace netlog {

struct TrapSet {
  bool exec = true, connect = true, accept = true, bind = true, close = true;
  // --egress block: datagrams with a destination (sendto, sendmsg, sendmmsg).
  bool send = false;
};

// Returns an empty string and fills `out` on success, else "stage: reason".
std::string BuildFilter(const TrapSet& traps, std::vector<sock_filter>& out);

}  // namespace netlog
