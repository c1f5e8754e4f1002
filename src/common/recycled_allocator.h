// common/recycled_allocator.h — blocks of one type shared by all threads.
//
// A task's records are made on the submitting thread and freed on the one
// that completes it. malloc serves such a pattern from its slow path on both
// sides (the freed block lands in the other thread's cache). A
// RecycledAllocator<T> keeps freed blocks of T's size in one process-wide
// list (up to kKeep) that any thread takes from, under a lock that is
// uncontended in practice. The lists live for the whole process: objects
// may be freed after the runtime that made them has gone.
#pragma once

#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

namespace rankflow {

class BlockList {
 public:
  static constexpr size_t kKeep = 4096;

  explicit BlockList(size_t size) : size_(size) { free_.reserve(kKeep); }
  void* Get() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        void* p = free_.back();
        free_.pop_back();
        return p;
      }
    }
    return ::operator new(size_);
  }
  void Put(void* p) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (free_.size() < kKeep) {
        free_.push_back(p);
        return;
      }
    }
    ::operator delete(p);
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
    return static_cast<T*>(List().Get());
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n != 1) {
      ::operator delete(p);
      return;
    }
    List().Put(p);
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
};

}  // namespace rankflow
