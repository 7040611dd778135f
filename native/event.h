// What the native side hands to TypeScript: one Event per syscall that may
// need a record, plus the run's lifecycle messages, in the order they happened.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <cstdint>
#include <string>
#include <vector>

#include "procinfo.h"

namespace netlog {

enum class Kind : uint8_t { Exec, Connect, Accept, Bind, Close };

struct Endpoint {
  std::string ip;
  uint16_t port = 0;
};

struct Event {
  uint32_t token = 0;  // names the held notification in Answer()
  Kind kind = Kind::Exec;
  int64_t realtime_us = 0;  // CLOCK_REALTIME
  int64_t boottime_us = 0;  // CLOCK_BOOTTIME, for the seed format
  Identity proc;
  // exec
  std::string file, cwd;
  std::vector<std::string> argv;
  bool argv_truncated = false;
  std::string path;                 // the path argument as passed
  uint64_t file_dev = 0, file_ino = 0;  // identity of `file` (exec whitelist)
  // network
  bool tcp = true, ipv6 = false, has_remote = false, accepted = false;
  Endpoint local, remote;
  int result_errno = -1;  // -1: unknown; 0: ok
  // close of a socket whose connect was recorded: "established", or why it
  // never was (an errno name; "EINPROGRESS" still pending). Empty otherwise.
  std::string outcome;
  bool blocked = false;   // refused by --egress block
  std::string via;        // the call that was blocked: connect, sendto, sendmsg, sendmmsg
};

enum class MsgType : uint8_t { Event, Exit, Stopped, Continued, End, Warning };

struct Message {
  MsgType type = MsgType::Event;
  Event event;
  int status = 0;  // Exit: exit code or signal; Stopped: signal
  bool signaled = false;
  std::string text;  // Warning
};

// sockaddr → ip string (RFC 5952 via inet_ntop) and port; false if not inet.
bool DecodeSockaddr(const sockaddr_storage& ss, socklen_t len, Endpoint& ep, bool& ipv6);

}  // namespace netlog
