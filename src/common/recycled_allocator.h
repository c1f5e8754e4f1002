// common/recycled_allocator.h — blocks of one type shared by all threads.
//
// A task's records are made on the submitting thread and freed on the one
// that completes it. malloc serves such a pattern from its slow path on both
// sides (the freed block lands in the other thread's cache). A
// RecycledAllocator<T> keeps freed blocks of T's size in one process-wide
// list (up to kKeep) that any thread takes from. Each thread keeps a few
// blocks of its own in front of it and trades them with the list kBatch at
// a time, so the list's lock is taken once per kBatch blocks rather than for
// each one (a lock pair, two atomic instructions, per block otherwise). The
// lists live for the whole process: objects may be freed after the runtime
// that made them has gone; a thread's blocks go back to the list when it
// ends.
#pragma once

#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

namespace rankflow {

class BlockList {
 public:
  static constexpr size_t kKeep = 4096;  // blocks kept in the list
  static constexpr size_t kBatch = 32;   // blocks moved between a thread and the list at once

  // A thread's blocks in front of one list (up to 2 * kBatch). Plain data,
  // so that it outlives every destructor of the thread's other thread-locals
  // (which may free blocks): when the thread ends its blocks go back to the
  // list and it is closed, blocks then going to and from the list directly.
  struct Cache {
    size_t n;
    bool started;  // the thread's closer exists
    bool closed;
    void* blocks[2 * kBatch];
  };

  void* Get(Cache& c) {
    if (c.n == 0) c.n = TakeMany(c.blocks, c.closed ? 1 : kBatch);
    if (c.n == 0) return ::operator new(size_);
    return c.blocks[--c.n];
  }
  void Put(Cache& c, void* p) {
    if (c.closed) {
      PutMany(&p, 1);
      return;
    }
    if (c.n == 2 * kBatch) {  // hand the older half to the list
      PutMany(c.blocks, kBatch);
      for (size_t i = 0; i < kBatch; ++i) c.blocks[i] = c.blocks[kBatch + i];
      c.n = kBatch;
    }
    c.blocks[c.n++] = p;
  }
  void Close(Cache& c) {
    PutMany(c.blocks, c.n);
    c.n = 0;
    c.closed = true;
  }

  explicit BlockList(size_t size) : size_(size) { free_.reserve(kKeep); }

  /// Moves up to `n` blocks into `out`; returns how many.
  size_t TakeMany(void** out, size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t k = n < free_.size() ? n : free_.size();
    for (size_t i = 0; i < k; ++i) {
      out[i] = free_.back();
      free_.pop_back();
    }
    return k;
  }
  /// Takes `n` blocks; those beyond kKeep are freed.
  void PutMany(void* const* blocks, size_t n) {
    size_t kept = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (; kept < n && free_.size() < kKeep; ++kept) free_.push_back(blocks[kept]);
    }
    for (size_t i = kept; i < n; ++i) ::operator delete(blocks[i]);
  }

 private:
  const size_t size_;
  std::mutex mu_;
  std::vector<void*> free_;
};

template <typename T>
class RecycledAllocator {
 public:
  using value_type = T;

  RecycledAllocator() noexcept = default;
  template <typename U>
  RecycledAllocator(const RecycledAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    if (n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(List().Get(Local()));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n != 1) {
      ::operator delete(p);
      return;
    }
    List().Put(Local(), p);
  }

  template <typename U>
  bool operator==(const RecycledAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const RecycledAllocator<U>&) const noexcept { return false; }

 private:
  static BlockList& List() {
    static BlockList* list = new BlockList(sizeof(T));  // never destroyed (see above)
    return *list;
  }
  static BlockList::Cache& Local() {
    thread_local BlockList::Cache cache{};  // (constant-initialized, no destructor)
    if (!cache.started) {
      cache.started = true;
      struct Closer {
        ~Closer() { List().Close(Local()); }
      };
      thread_local Closer closer;  // gives the thread's blocks back when it ends
      (void)closer;
    }
    return cache;
  }
};

}  // namespace rankflow
