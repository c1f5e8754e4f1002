// objects/ref_handle.h — what an ObjectRef holds: the object's id and a
// weak link to where its release goes: the owner's table for a reference
// made here, or the runtime's borrow sink (a message to the owner) for one
// that arrived from another rank. The last copy's destruction releases it;
// after Shutdown the link is gone and destruction does nothing.
#pragma once

#include <memory>

#include "objects/object_table.h"
#include "rankflow/internal/core.h"

namespace rankflow::internal {

class RefHandle {
 public:
  RefHandle(ObjectId id, std::weak_ptr<objects::RefSink> sink, uint64_t token = 0)
      : id_(id), token_(token), sink_(std::move(sink)) {}
  ~RefHandle() {
    if (auto s = sink_.lock()) s->ReleaseRef(id_, token_);
  }
  RefHandle(const RefHandle&) = delete;
  RefHandle& operator=(const RefHandle&) = delete;

  const ObjectId& id() const { return id_; }

 private:
  ObjectId id_;
  uint64_t token_;  // the borrow this handle adopted from a message (0: none)
  std::weak_ptr<objects::RefSink> sink_;
};

}  // namespace rankflow::internal
