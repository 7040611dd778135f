// A minimal io_uring (raw io_uring_setup/io_uring_enter and mmap) for the
// emulated connect and accept: the kernel tries them without blocking first,
// whatever the caller's O_NONBLOCK says (it lives on the open file
// description the caller shares, so netlog must not touch it), and a call
// that would block waits in the ring instead of on a thread.
#pragma once
#include <linux/io_uring.h>
#include <sys/socket.h>

#include <cstdint>
#include <mutex>
#include <vector>

namespace netlog {

class Uring {
 public:
  struct Completion {
    uint64_t data;
    int res;  // as the syscall: >= 0, or -errno
  };
  ~Uring();
  // False (errno set: ENOSYS, EPERM, ...) when io_uring cannot be had.
  // cq_entries: room for every request in flight and the cancels of them
  // all, so the completion queue does not overflow.
  bool Init(unsigned entries, unsigned cq_entries);
  bool Ready() const { return fd_ >= 0; }
  // Pollable: readable when completions wait.
  int Fd() const { return fd_; }
  // Submits one request; false (errno set) when it could not be. Any thread.
  bool Connect(int fd, const sockaddr* sa, socklen_t len, uint64_t data);
  bool Accept(int fd, sockaddr* sa, socklen_t* len, int flags, uint64_t data);
  // Cancels the request with `data` (its completion reports -ECANCELED); the
  // cancel's own completion has data 0.
  bool Cancel(uint64_t data);
  // Takes the completions waiting (one thread only). Those with data 0 are
  // left out.
  void Reap(std::vector<Completion>& out);
  // Waits for a completion, a signal or timeout_ms.
  void Wait(int timeout_ms);
  // Closes the ring (a long-lived process runs many sessions); requests
  // still in it are cancelled by the kernel.
  void Close();

 private:
  void Release();
  bool Submit(uint8_t op, int fd, uint64_t addr, uint32_t len, uint64_t off, uint32_t op_flags, uint64_t data);
  int fd_ = -1;
  std::mutex sq_mu_;
  void* sq_map_ = nullptr;
  void* cq_map_ = nullptr;
  size_t sq_map_len_ = 0, cq_map_len_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqes_len_ = 0;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_head_ = nullptr;
  unsigned* sq_flags_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned* sq_array_ = nullptr;
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned cq_mask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
};

}  // namespace netlog
