#include "store/arena.h"

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>

namespace rankflow::store {

namespace {
constexpr uint64_t kMagic = 0x72666172656e6131ull;  // "rfarena1"
constexpr uint64_t kMinSplit = 2 * Arena::kBlockHeader;
uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
}  // namespace

struct Arena::Header {
  uint64_t magic;
  uint64_t end;        // offset one past the last block
  uint64_t free_head;  // 0: none
  uint64_t used;
  uint64_t live;
  pthread_mutex_t mu;
};

struct Arena::Block {
  uint64_t size;       // whole block, header included
  uint64_t prev_size;  // physically previous block's size; 0 for the first
  uint64_t next_free;  // free list links (offsets), when free
  uint64_t prev_free;
  std::atomic<int32_t> refs;
  uint32_t is_free;
  uint32_t owner;
  uint32_t magic;
  uint64_t reserved[2];
};

namespace {
constexpr uint32_t kBlockMagic = 0xb10cb10c;
}

Arena::Header* Arena::header() const { return reinterpret_cast<Header*>(region_); }
Arena::Block* Arena::At(uint64_t off) const {
  static_assert(sizeof(Block) <= kBlockHeader); return reinterpret_cast<Block*>(region_ + off); }

Status Arena::Format(uint8_t* region, size_t bytes) {
  if (bytes < kHeaderBytes + 2 * kBlockHeader) {
    return {StatusCode::kInvalidArgument, "store of " + std::to_string(bytes) + " bytes is too small"};
  }
  auto* h = new (region) Header{};
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&h->mu, &attr);
  pthread_mutexattr_destroy(&attr);
  h->end = (bytes - kHeaderBytes) / kAlign * kAlign + kHeaderBytes;
  auto* b = new (region + kHeaderBytes) Block{};
  b->size = h->end - kHeaderBytes;
  b->is_free = 1;
  b->magic = kBlockMagic;
  h->free_head = kHeaderBytes;
  std::atomic_thread_fence(std::memory_order_release);
  h->magic = kMagic;
  return Status::Ok();
}

Result<Arena> Arena::Attach(uint8_t* region, size_t bytes) {
  if (bytes < kHeaderBytes || reinterpret_cast<Header*>(region)->magic != kMagic) {
    return Status(StatusCode::kInternal, "the shared object store was not formatted");
  }
  return Arena(region, bytes);
}

void Arena::Lock() const {
  int rc = pthread_mutex_lock(&header()->mu);
  // The previous holder died: its change may be half done, but blocks are
  // only linked and unlinked, so carry on rather than lose the whole store.
  if (rc == EOWNERDEAD) pthread_mutex_consistent(&header()->mu);
}
void Arena::Unlock() const { pthread_mutex_unlock(&header()->mu); }

void Arena::PushFree(uint64_t off) {
  Header* h = header();
  Block* b = At(off);
  b->is_free = 1;
  b->prev_free = 0;
  b->next_free = h->free_head;
  if (h->free_head != 0) At(h->free_head)->prev_free = off;
  h->free_head = off;
}

void Arena::RemoveFree(uint64_t off) {
  Header* h = header();
  Block* b = At(off);
  if (b->prev_free != 0) {
    At(b->prev_free)->next_free = b->next_free;
  } else {
    h->free_head = b->next_free;
  }
  if (b->next_free != 0) At(b->next_free)->prev_free = b->prev_free;
  b->is_free = 0;
  b->next_free = b->prev_free = 0;
}

Result<Arena::Allocation> Arena::Allocate(uint64_t bytes, uint32_t owner, bool* full) {
  const uint64_t need = AlignUp(bytes, kAlign) + kBlockHeader;
  Header* h = header();
  *full = false;
  if (bytes > h->end - kHeaderBytes || need > h->end - kHeaderBytes) {
    return Status(StatusCode::kTooLarge,
                  "object of " + std::to_string(bytes) + " bytes is larger than the whole store (" +
                      std::to_string(h->end - kHeaderBytes - kBlockHeader) +
                      " bytes; RANKFLOW_STORE_BYTES)");
  }
  Lock();
  uint64_t off = h->free_head;
  while (off != 0 && At(off)->size < need) off = At(off)->next_free;
  if (off == 0) {
    Unlock();
    *full = true;
    return Status(StatusCode::kTooLarge, "the object store has no free block of " +
                                             std::to_string(bytes) + " bytes");
  }
  RemoveFree(off);
  Block* b = At(off);
  if (b->size - need >= kMinSplit) {
    uint64_t rest = off + need;
    auto* r = new (region_ + rest) Block{};
    r->size = b->size - need;
    r->prev_size = need;
    r->magic = kBlockMagic;
    if (rest + r->size < h->end) At(rest + r->size)->prev_size = r->size;
    b->size = need;
    PushFree(rest);
  }
  b->owner = owner;
  b->refs.store(1, std::memory_order_relaxed);
  h->used += b->size;
  h->live += 1;
  Unlock();
  return Allocation{off, DataOf(off)};
}

void Arena::Ref(uint64_t block) { At(block)->refs.fetch_add(1, std::memory_order_relaxed); }

bool Arena::Unref(uint64_t block) {
  if (At(block)->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return false;
  Lock();
  Free(block);
  Unlock();
  return true;
}

int32_t Arena::RefCount(uint64_t block) const {
  return At(block)->refs.load(std::memory_order_acquire);
}

void Arena::Free(uint64_t off) {
  Header* h = header();
  Block* b = At(off);
  h->used -= b->size;
  h->live -= 1;
  // Merge with the next block, then into the previous one, if free.
  uint64_t next = off + b->size;
  if (next < h->end && At(next)->is_free) {
    RemoveFree(next);
    b->size += At(next)->size;
    At(next)->magic = 0;
  }
  if (b->prev_size != 0) {
    uint64_t prev = off - b->prev_size;
    if (At(prev)->is_free) {
      RemoveFree(prev);
      At(prev)->size += b->size;
      b->magic = 0;
      off = prev;
      b = At(off);
    }
  }
  if (off + b->size < h->end) At(off + b->size)->prev_size = b->size;
  PushFree(off);
}

bool Arena::IsLiveBlock(uint64_t block) const {
  const uint64_t end = header()->end;
  if (block < kHeaderBytes || block % kAlign != 0 || block > end - kBlockHeader) {
    return false;
  }
  const Block* b = At(block);
  return b->magic == kBlockMagic && !b->is_free && b->size >= kBlockHeader &&
         b->size <= end - block;
}

uint64_t Arena::DataCapacity(uint64_t block) const { return At(block)->size - kBlockHeader; }
uint64_t Arena::capacity() const { return header()->end - kHeaderBytes; }
uint64_t Arena::used() const { return header()->used; }
uint64_t Arena::live_blocks() const { return header()->live; }

uint64_t Arena::LargestFree() const {
  Lock();
  uint64_t best = 0;
  for (uint64_t off = header()->free_head; off != 0; off = At(off)->next_free) {
    if (At(off)->size > best) best = At(off)->size;
  }
  Unlock();
  return best > kBlockHeader ? best - kBlockHeader : 0;
}

}  // namespace rankflow::store
