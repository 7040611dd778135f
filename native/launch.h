// Starts COMMAND under the session's seccomp filter: fork, install the filter
// in the child, pass the listener to the parent (SCM_RIGHTS), wait for the
// parent's ack, exec. See seccomp(2), seccomp_unotify(2), unix(7).
#pragma once
#include <linux/filter.h>
#include <sys/types.h>
#include <string>
#include <vector>

namespace netlog {

struct LaunchSpec {
  std::vector<std::string> candidates;  // paths to try, in PATH order
  std::vector<std::string> argv, env;
  std::vector<sock_filter> filter;
  bool test_fail_seccomp = false;  // makes the filter installation fail
  // --egress block traps sendmsg, so the child cannot send its listener
  // (SCM_RIGHTS) past its own filter: it writes the fd number and the
  // parent takes the fd with pidfd_getfd(2).
  bool listener_by_number = false;
  // --user: credentials COMMAND gets once the filter is installed (as root).
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// What the child reports through its close-on-exec pipe.
struct ChildError {
  int stage;  // ChildStage
  int err;
};
enum ChildStage : int { kStageSigmask = 1, kStageNoNewPrivs, kStageSeccomp, kStageSendListener, kStageAck, kStageExec, kStageUser };
const char* StageName(int stage);

struct Launched {
  pid_t pid = -1;
  int listener = -1;
  int ack_fd = -1;   // write one byte once the supervisor is answering
  int err_fd = -1;   // read: EOF once exec succeeded, or a ChildError
};

// Returns false and fills `error` when the child failed before handing over
// its listener (the child has been reaped).
bool Launch(const LaunchSpec& spec, Launched& out, ChildError& error);

}  // namespace netlog
