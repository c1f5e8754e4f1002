// store/arena.h — a first-fit allocator with reference counts whose state
// lives entirely inside one memory region, so every process that maps the
// region allocates, shares and frees blocks in it.
//
// Layout: a 4 KiB header (a robust process-shared mutex, the free list,
// counters) followed by blocks. Each block starts with a 64-byte header
// (size, physical neighbour's size for coalescing, a reference count,
// free-list links); its data follows, 64-byte aligned. Allocation and free
// take the mutex; Ref/Unref are atomic and take it only to free. A process
// that dies holding the mutex leaves it to the next locker (robust mutex).
// Thread and process safety: every method, from any thread of any process.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace rankflow::store {

class Arena {
 public:
  static constexpr uint64_t kHeaderBytes = 4096;
  static constexpr uint64_t kBlockHeader = 64;
  static constexpr uint64_t kAlign = 64;

  /// Formats `region` (called once, by the creator).
  static Status Format(uint8_t* region, size_t bytes);
  /// Attaches to a formatted region; fails if it was never formatted.
  static Result<Arena> Attach(uint8_t* region, size_t bytes);

  /// A block with room for `bytes` and one reference. Fails with kTooLarge;
  /// `*full` then says whether it would fit once space is freed (true) or
  /// can never fit (false).
  struct Allocation {
    uint64_t block = 0;  // offset of the block header in the region
    uint8_t* data = nullptr;
  };
  Result<Allocation> Allocate(uint64_t bytes, uint32_t owner, bool* full);
  void Ref(uint64_t block);
  /// Drops one reference; frees the block with the last. Returns true if freed.
  bool Unref(uint64_t block);
  int32_t RefCount(uint64_t block) const;
  /// True when `block` is the offset of a live block (checks a descriptor from a message).
  bool IsLiveBlock(uint64_t block) const;

  uint8_t* DataOf(uint64_t block) const { return region_ + block + kBlockHeader; }
  uint64_t DataCapacity(uint64_t block) const;
  uint64_t capacity() const;  // bytes usable for blocks
  uint64_t used() const;      // bytes in live blocks, headers included
  uint64_t live_blocks() const;
  /// The largest block that could be allocated now.
  uint64_t LargestFree() const;
  uint8_t* region() const { return region_; }
  size_t region_size() const { return size_; }

 private:
  Arena(uint8_t* region, size_t size) : region_(region), size_(size) {}
  struct Header;
  struct Block;
  Header* header() const;
  Block* At(uint64_t off) const;
  void Lock() const;
  void Unlock() const;
  void Free(uint64_t off);
  void PushFree(uint64_t off);
  void RemoveFree(uint64_t off);

  uint8_t* region_;
  size_t size_;
};

}  // namespace rankflow::store
