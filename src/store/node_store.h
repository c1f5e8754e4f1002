// store/node_store.h — this process's handle on its node's object store: the
// shared arena, plus the pins that keep blocks alive while a Buffer views them.
//
// Every Buffer that views a block holds a Pin, and a Pin holds one of the
// block's (cross-process) references; the block is freed when the last pin on
// any rank of the node goes. A block's location travels between ranks of
// one node as a Descriptor; the receiver adopts a reference that the sender
// took on its behalf, so nothing is copied and nothing freed too early.
// Thread safety: every method, from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/status.h"
#include "rankflow/buffer.h"
#include "store/arena.h"
#include "store/shm_segment.h"

namespace rankflow::store {

/// Where an object's bytes lie in the node's arena.
struct Descriptor {
  uint64_t block = 0;     // block header offset
  uint64_t data_off = 0;  // offset of the first byte from the region's start
  uint64_t size = 0;
};

class NodeStore : public std::enable_shared_from_this<NodeStore> {
 public:
  /// Attaches to `segment` (formats it first when `format`).
  static Result<std::shared_ptr<NodeStore>> Create(std::shared_ptr<ShmSegment> segment,
                                                   bool format, uint32_t rank);

  /// Room for `bytes`, to be filled in place; the returned Buffer-to-be is
  /// made by View(). `*full`: see Arena::Allocate.
  struct Writable {
    uint8_t* data = nullptr;
    uint64_t size = 0;
    std::shared_ptr<const void> pin;  // frees the block when the last view goes
  };
  Result<Writable> Allocate(uint64_t bytes, bool* full);
  static Buffer View(const Writable& w) { return Buffer::View(w.data, w.size, w.pin); }

  /// The location of `b` if it views this store, for a rank of the same node.
  bool Describe(const Buffer& b, Descriptor* out) const;
  /// Takes one more reference on the block, on behalf of another rank.
  void AddRef(const Descriptor& d);
  /// Gives back a reference taken by AddRef that no rank will adopt (a failed send).
  void Release(const Descriptor& d) { arena_.Unref(d.block); }
  /// A view of `d`, adopting a reference taken for this rank by AddRef.
  /// Fails (and takes nothing) if the descriptor is not a live block here.
  Result<Buffer> Adopt(const Descriptor& d);
  /// Number of ranks on the node holding a reference to the block behind `b` (0 if none).
  int32_t SharedRefs(const Buffer& b) const;

  uint64_t capacity() const { return arena_.capacity(); }
  uint64_t used() const { return arena_.used(); }
  uint64_t live_blocks() const { return arena_.live_blocks(); }
  uint64_t LargestFree() const { return arena_.LargestFree(); }
  const ShmSegment& segment() const { return *segment_; }

 private:
  struct Pin;
  NodeStore(std::shared_ptr<ShmSegment> segment, Arena arena, uint32_t rank)
      : segment_(std::move(segment)), arena_(arena), rank_(rank) {}
  std::shared_ptr<const void> MakePin(uint64_t block);
  bool BlockOf(const Buffer& b, uint64_t* block) const;

  std::shared_ptr<ShmSegment> segment_;
  Arena arena_;
  uint32_t rank_;
  mutable std::mutex mu_;
  std::unordered_map<const void*, uint64_t> pins_;  // live pins -> block
};

}  // namespace rankflow::store
