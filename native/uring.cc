// See uring.h. Ring layout and calls as io_uring_setup(2), io_uring_enter(2).
#include "uring.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace netlog {

namespace {
template <typename T>
T* At(void* base, unsigned off) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + off);
}
int Enter(int fd, unsigned submit, unsigned min_complete, unsigned flags) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, submit, min_complete, flags, nullptr, 0));
}
}  // namespace

Uring::~Uring() { Release(); }

void Uring::Close() {
  std::lock_guard<std::mutex> lk(sq_mu_);
  Release();
}

void Uring::Release() {
  if (sqes_) munmap(sqes_, sqes_len_);
  if (cq_map_ && cq_map_ != sq_map_) munmap(cq_map_, cq_map_len_);
  if (sq_map_) munmap(sq_map_, sq_map_len_);
  if (fd_ >= 0) close(fd_);
  sqes_ = nullptr;
  sq_map_ = cq_map_ = nullptr;
  fd_ = -1;
}

bool Uring::Init(unsigned entries, unsigned cq_entries) {
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
  p.cq_entries = cq_entries;
  int fd = static_cast<int>(syscall(__NR_io_uring_setup, entries, &p));
  if (fd < 0) return false;
  sq_map_len_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  cq_map_len_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  bool single = p.features & IORING_FEAT_SINGLE_MMAP;
  if (single) sq_map_len_ = cq_map_len_ = std::max(sq_map_len_, cq_map_len_);
  sq_map_ = mmap(nullptr, sq_map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  fd_ = fd;
  auto fail = [this] {
    int e = errno;
    Release();
    errno = e;
    return false;
  };
  if (sq_map_ == MAP_FAILED) {
    sq_map_ = nullptr;
    return fail();
  }
  cq_map_ = single ? sq_map_
                   : mmap(nullptr, cq_map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  if (cq_map_ == MAP_FAILED) {
    cq_map_ = nullptr;
    return fail();
  }
  sqes_len_ = p.sq_entries * sizeof(io_uring_sqe);
  void* sqes = mmap(nullptr, sqes_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) return fail();
  sqes_ = static_cast<io_uring_sqe*>(sqes);
  sq_head_ = At<unsigned>(sq_map_, p.sq_off.head);
  sq_tail_ = At<unsigned>(sq_map_, p.sq_off.tail);
  sq_flags_ = At<unsigned>(sq_map_, p.sq_off.flags);
  sq_mask_ = *At<unsigned>(sq_map_, p.sq_off.ring_mask);
  sq_array_ = At<unsigned>(sq_map_, p.sq_off.array);
  cq_head_ = At<unsigned>(cq_map_, p.cq_off.head);
  cq_tail_ = At<unsigned>(cq_map_, p.cq_off.tail);
  cq_mask_ = *At<unsigned>(cq_map_, p.cq_off.ring_mask);
  cqes_ = At<io_uring_cqe>(cq_map_, p.cq_off.cqes);
  return true;
}

bool Uring::Submit(uint8_t op, int fd, uint64_t addr, uint32_t len, uint64_t off, uint32_t op_flags, uint64_t data) {
  std::lock_guard<std::mutex> lk(sq_mu_);
  if (fd_ < 0) {
    errno = EBADF;
    return false;
  }
  unsigned tail = *sq_tail_;
  if (tail - __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE) > sq_mask_) {
    errno = EBUSY;
    return false;
  }
  unsigned idx = tail & sq_mask_;
  io_uring_sqe* sqe = &sqes_[idx];
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = op;
  sqe->fd = fd;
  sqe->addr = addr;
  sqe->len = len;
  sqe->off = off;
  sqe->rw_flags = static_cast<int>(op_flags);
  sqe->user_data = data;
  sq_array_[idx] = idx;
  __atomic_store_n(sq_tail_, tail + 1, __ATOMIC_RELEASE);
  // Submitted inline: the non-blocking attempt has been made when this
  // returns, and a call that completed at once has its completion queued.
  for (;;) {
    int r = Enter(fd_, 1, 0, 0);
    if (r >= 1) return true;
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) errno = EAGAIN;
    // Take the entry back: a request the caller thinks failed must not run.
    __atomic_store_n(sq_tail_, tail, __ATOMIC_RELEASE);
    return false;
  }
}

bool Uring::Connect(int fd, const sockaddr* sa, socklen_t len, uint64_t data) {
  // io_uring_enter(2): addr is the sockaddr, off its length.
  return Submit(IORING_OP_CONNECT, fd, reinterpret_cast<uint64_t>(sa), 0, len, 0, data);
}

bool Uring::Accept(int fd, sockaddr* sa, socklen_t* len, int flags, uint64_t data) {
  // addr the sockaddr, addr2 (off) the pointer to its length, accept_flags.
  return Submit(IORING_OP_ACCEPT, fd, reinterpret_cast<uint64_t>(sa), 0, reinterpret_cast<uint64_t>(len),
                static_cast<uint32_t>(flags), data);
}

bool Uring::Cancel(uint64_t data) { return Submit(IORING_OP_ASYNC_CANCEL, -1, data, 0, 0, 0, 0); }

void Uring::Wait(int timeout_ms) {
  // The ring's fd is readable while completions wait (an overflow included:
  // Reap flushes it).
  pollfd pfd{fd_, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR) usleep(1000);
}

void Uring::Reap(std::vector<Completion>& out) {
  // Completions past the ring's size wait in the kernel until an enter with
  // GETEVENTS flushes them.
  if (__atomic_load_n(sq_flags_, __ATOMIC_ACQUIRE) & IORING_SQ_CQ_OVERFLOW) Enter(fd_, 0, 0, IORING_ENTER_GETEVENTS);
  unsigned head = *cq_head_;
  unsigned tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
  for (; head != tail; head++) {
    const io_uring_cqe& cqe = cqes_[head & cq_mask_];
    if (cqe.user_data != 0) out.push_back(Completion{cqe.user_data, cqe.res});
  }
  __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
}

}  // namespace netlog
