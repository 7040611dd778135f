// Reads and writes a trapped task's memory (process_vm_readv(2) and
// process_vm_writev(2), falling back to /proc/TID/mem).
#pragma once
#include <sys/types.h>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace netlog {

// Copies exactly len bytes; false on fault.
bool ReadMem(pid_t tid, uint64_t addr, void* buf, size_t len);
bool WriteMem(pid_t tid, uint64_t addr, const void* buf, size_t len);

// Reads a NUL-terminated string of at most max bytes; false on fault or when
// no NUL is found within max bytes (*fault, when given, tells which).
bool ReadString(pid_t tid, uint64_t addr, size_t max, std::string& out, bool* fault = nullptr);

// Reads a NULL-terminated argv array. Strings are kept until their joined
// length (with one space between them) reaches max_joined; the rest is cut
// and truncated is set. False on fault.
bool ReadArgv(pid_t tid, uint64_t addr, size_t max_joined, std::vector<std::string>& argv,
              bool& truncated);

}  // namespace netlog
