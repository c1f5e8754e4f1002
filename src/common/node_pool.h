// common/node_pool.h — an allocator that recycles the nodes of a node-based
// container (std::unordered_map, std::map).
//
// A table that inserts and erases at the task rate (one entry per object)
// would otherwise call malloc and free for every node. Freed nodes go to a
// list of up to `kKeep` and are handed out again. Not thread-safe: the
// container it serves must be guarded by one lock (its users' lock) and the
// NodePool must outlive the container.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace rankflow {

class NodePool {
 public:
  static constexpr size_t kKeep = 4096;

  NodePool() = default;
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;
  ~NodePool() {
    for (void* p : free_) ::operator delete(p);
  }

  // Single objects of the first size asked for are recycled; anything else
  // (bucket arrays, other node types) goes to operator new.
  void* Allocate(size_t size) {
    if (size == size_ && !free_.empty()) {
      void* p = free_.back();
      free_.pop_back();
      return p;
    }
    if (size_ == 0) size_ = size;
    return ::operator new(size);
  }
  void Free(void* p, size_t size) {
    if (size == size_ && free_.size() < kKeep) {
      free_.push_back(p);
      return;
    }
    ::operator delete(p);
  }

 private:
  size_t size_ = 0;
  std::vector<void*> free_;
};

template <typename T>
class PoolAllocator {
 public:
  using value_type = T;

  explicit PoolAllocator(NodePool* pool) noexcept : pool_(pool) {}
  template <typename U>
  PoolAllocator(const PoolAllocator<U>& other) noexcept : pool_(other.pool()) {}

  T* allocate(size_t n) {
    if (n == 1) return static_cast<T*>(pool_->Allocate(sizeof(T)));
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n == 1) {
      pool_->Free(p, sizeof(T));
      return;
    }
    ::operator delete(p);
  }
  NodePool* pool() const noexcept { return pool_; }

  template <typename U>
  bool operator==(const PoolAllocator<U>& other) const noexcept { return pool_ == other.pool(); }
  template <typename U>
  bool operator!=(const PoolAllocator<U>& other) const noexcept { return pool_ != other.pool(); }

 private:
  NodePool* pool_;
};

}  // namespace rankflow
