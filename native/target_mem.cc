// Target memory access. Reads are split at page boundaries so that a string
// ending just before an unmapped page is still read whole.
#include "target_mem.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace netlog {

static constexpr size_t kPage = 4096;

static bool ProcMem(pid_t tid, uint64_t addr, void* buf, size_t len, bool write) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", tid);
  int fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = write ? pwrite(fd, buf, len, static_cast<off_t>(addr))
                    : pread(fd, buf, len, static_cast<off_t>(addr));
  close(fd);
  return n == static_cast<ssize_t>(len);
}

bool ReadMem(pid_t tid, uint64_t addr, void* buf, size_t len) {
  if (len == 0) return true;
  struct iovec local = {buf, len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(len)) return true;
  // A short transfer is a fault, as the kernel's own copy would be; the
  // /proc/TID/mem fallback (which ignores page protections) is only for
  // kernels built without process_vm_readv.
  if (n >= 0 || errno != ENOSYS) return false;
  return ProcMem(tid, addr, buf, len, false);
}

bool WriteMem(pid_t tid, uint64_t addr, const void* buf, size_t len) {
  if (len == 0) return true;
  struct iovec local = {const_cast<void*>(buf), len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  ssize_t n = process_vm_writev(tid, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(len)) return true;
  if (n >= 0 || errno != ENOSYS) return false;
  return ProcMem(tid, addr, const_cast<void*>(buf), len, true);
}

bool ReadString(pid_t tid, uint64_t addr, size_t max, std::string& out, bool* fault) {
  out.clear();
  if (fault) *fault = false;
  char chunk[kPage];
  while (out.size() < max) {
    size_t want = kPage - (addr % kPage);
    if (want > max - out.size()) want = max - out.size();
    if (!ReadMem(tid, addr, chunk, want)) {
      if (fault) *fault = true;
      return false;
    }
    void* nul = memchr(chunk, 0, want);
    if (nul) {
      out.append(chunk, static_cast<size_t>(static_cast<char*>(nul) - chunk));
      return true;
    }
    out.append(chunk, want);
    addr += want;
  }
  return false;
}

bool ReadArgv(pid_t tid, uint64_t addr, size_t max_joined, std::vector<std::string>& argv,
              bool& truncated) {
  argv.clear();
  truncated = false;
  size_t joined = 0;
  if (addr == 0) return true;  // Linux accepts a NULL argv
  // Pointers are read a page-bounded block at a time. The kernel caps argv
  // at MAX_ARG_STRINGS; the walk is bounded the same way.
  uint64_t block[kPage / sizeof(uint64_t)];
  size_t have = 0, next = 0;
  for (size_t i = 0; i < 0x7FFFFFFF; i++) {
    if (next == have) {
      uint64_t at = addr + i * sizeof(uint64_t);
      // Whole pointers only: an array that is not 8-byte aligned has a
      // pointer straddling the page end, read with the next page.
      size_t bytes = kPage - (at % kPage);
      bytes = bytes < sizeof(uint64_t) ? sizeof(uint64_t) : bytes - bytes % sizeof(uint64_t);
      if (!ReadMem(tid, at, block, bytes)) return false;
      have = bytes / sizeof(uint64_t);
      next = 0;
    }
    uint64_t ptr = block[next++];
    if (ptr == 0) return true;
    size_t sep = argv.empty() ? 0 : 1;
    if (joined + sep >= max_joined) {
      truncated = true;
      return true;
    }
    std::string arg;
    size_t room = max_joined - joined - sep;
    // Read one byte more than fits to learn whether the string is cut.
    if (!ReadString(tid, ptr, room + 1, arg)) {
      std::string part;
      // No NUL within room+1 bytes: the string is longer than what fits.
      char buf[kPage];
      size_t got = 0;
      while (got < room) {
        size_t want = room - got < sizeof buf ? room - got : sizeof buf;
        if (!ReadMem(tid, ptr + got, buf, want)) return false;
        part.append(buf, want);
        got += want;
      }
      argv.push_back(std::move(part));
      truncated = true;
      return true;
    }
    joined += sep + arg.size();
    argv.push_back(std::move(arg));
  }
  return true;
}

}  // namespace netlog
