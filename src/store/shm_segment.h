// store/shm_segment.h — one shared-memory mapping: a POSIX shm object that
// every rank of a node maps, or a private memfd for a single process.
//
// The node's first rank creates the object, the others open it, and the
// creator unlinks the name once all have mapped it: the memory then
// disappears with the last process, even after a crash. A segment is sparse
// (pages are taken as objects fill it) unless `prefault` asks for every page
// to be allocated and mapped up front: then a full /dev/shm is an error at
// creation, and no put pays first-touch page faults.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace rankflow::store {

class ShmSegment {
 public:
  /// Creates and maps `bytes` of shared memory under `name` ("/rankflow-...").
  static Result<std::shared_ptr<ShmSegment>> Create(const std::string& name, size_t bytes,
                                                    bool prefault);
  /// Maps an existing segment created by Create().
  static Result<std::shared_ptr<ShmSegment>> Open(const std::string& name);
  /// A private segment (memfd) for a process that shares it with nobody.
  static Result<std::shared_ptr<ShmSegment>> CreatePrivate(size_t bytes, bool prefault);
  /// Maps every page now (each rank calls it for its own mapping).
  void Prefault();
  ~ShmSegment();
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;

  /// Removes the name (the mapping stays); safe to call more than once.
  void Unlink();
  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  const std::string& name() const { return name_; }

 private:
  ShmSegment(std::string name, uint8_t* base, size_t size)
      : name_(std::move(name)), base_(base), size_(size) {}
  std::string name_;
  uint8_t* base_;
  size_t size_;
  bool linked_ = true;
};

/// Bytes a new segment may take here: free space of /dev/shm.
uint64_t ShmAvailableBytes();
/// Physical memory of this node, or the cgroup/Slurm memory limit if lower.
uint64_t NodeMemoryLimitBytes();

}  // namespace rankflow::store
