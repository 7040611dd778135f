// netlog-run's own way to stderr: fds 0, 1 and 2 are shared with COMMAND, so
// their open file descriptions (and O_NONBLOCK on them) must never change.
// See open(2) ("open file description"), fcntl(2) F_SETFL, poll(2), proc(5).
#pragma once
#include <cstddef>
#include <sys/types.h>

namespace netlog {

// A descriptor of netlog-run's own for what fd 2 is, opened anew through
// /proc/self/fd/2 (blocking, close-on-exec), or -1 when fd 2 must be written
// as it is: a regular file (a second description would have its own offset
// and overwrite COMMAND's output), a socket (cannot be reopened), or a
// reopen that failed. `kind` says which ("tty", "pipe", "file", ...).
int OpenOwnStderr(const char** kind);

// Writes all of buf like a blocking write(2) would, also when someone else
// made fd non-blocking: EAGAIN waits in poll(2), never spins or gives up.
// Returns the bytes written; on error, errno is set and fewer are returned.
size_t WriteAllBlocking(int fd, const char* buf, size_t len);

}  // namespace netlog
