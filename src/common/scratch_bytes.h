// common/scratch_bytes.h — a thread's reusable byte vectors.
//
// Messages and results are encoded into a vector that is copied right away
// (into a transport batch, or into one exact-size block): a vector kept by
// the thread for the next message saves an allocation and a free per
// message. A ScratchBytes takes one of the thread's vectors for its scope,
// empty; scopes may nest (a completion that dispatches another task), and
// past the thread's few vectors a scope gets a vector of its own.
// OwnedBytes and CopyBytes then make the Buffer that outlives the scope.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "common/recycled_allocator.h"
#include "rankflow/buffer.h"

namespace rankflow {

class ScratchBytes {
 public:
  ScratchBytes() {
    Slots& s = slots();
    for (int i = 0; i < kSlots; ++i) {
      if (!(s.taken & (1u << i))) {
        s.taken |= 1u << i;
        slot_ = i;
        bytes_ = &s.bytes[i];
        return;
      }
    }
    bytes_ = &own_;
  }
  ~ScratchBytes() {
    if (slot_ < 0) return;
    bytes_->clear();
    if (bytes_->capacity() > kKeepBytes) std::vector<uint8_t>().swap(*bytes_);  // no large leftovers
    slots().taken &= ~(1u << slot_);
  }
  ScratchBytes(const ScratchBytes&) = delete;
  ScratchBytes& operator=(const ScratchBytes&) = delete;

  std::vector<uint8_t>& get() { return *bytes_; }

 private:
  static constexpr int kSlots = 4;
  static constexpr size_t kKeepBytes = 64 * 1024;
  struct Slots {
    unsigned taken = 0;
    std::vector<uint8_t> bytes[kSlots];
  };
  static Slots& slots() {
    static thread_local Slots s;
    return s;
  }
  int slot_ = -1;
  std::vector<uint8_t>* bytes_;
  std::vector<uint8_t> own_;
};

namespace detail {
template <size_t N>
struct alignas(std::max_align_t) SmallBlock {
  uint8_t bytes[N];
};
template <size_t N>
Buffer CopyToSmallBlock(const void* data, size_t size) {
  auto block = std::allocate_shared_for_overwrite<SmallBlock<N>>(RecycledAllocator<SmallBlock<N>>());
  std::memcpy(block->bytes, data, size);
  const uint8_t* bytes = block->bytes;
  return Buffer::View(bytes, size, std::move(block));
}
}  // namespace detail

/// An owned copy of `size` bytes, aligned as malloc's. Up to 256 bytes (a
/// task's result, a small task message) in a recycled block of 64 or 256:
/// made and freed at the task rate, often on different threads.
inline Buffer CopyBytes(const void* data, size_t size) {
  if (size == 0) return Buffer();
  if (size <= 64) return detail::CopyToSmallBlock<64>(data, size);
  if (size <= 256) return detail::CopyToSmallBlock<256>(data, size);
  return Buffer::Copy(data, size);
}

/// A Buffer of `bytes`: small ones copied (CopyBytes; the vector, a scratch
/// one, stays with its owner), large ones taken over.
inline Buffer OwnedBytes(std::vector<uint8_t>&& bytes) {
  constexpr size_t kCopyBelow = 4096;
  if (bytes.size() < kCopyBelow) return CopyBytes(bytes.data(), bytes.size());
  return Buffer::FromVector(std::move(bytes));
}

}  // namespace rankflow
