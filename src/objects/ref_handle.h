// objects/ref_handle.h — what an ObjectRef holds: the object's id and a
// weak link to its owner's table. The last copy's destruction releases the
// object; after Shutdown the link is gone and destruction does nothing.
#pragma once

#include <memory>

#include "objects/object_table.h"
#include "rankflow/internal/core.h"

namespace rankflow::internal {

class RefHandle {
 public:
  RefHandle(ObjectId id, std::weak_ptr<objects::ObjectTable> table)
      : id_(id), table_(std::move(table)) {}
  ~RefHandle() {
    if (auto t = table_.lock()) t->Release(id_.seq);
  }
  RefHandle(const RefHandle&) = delete;
  RefHandle& operator=(const RefHandle&) = delete;

  const ObjectId& id() const { return id_; }

 private:
  ObjectId id_;
  std::weak_ptr<objects::ObjectTable> table_;
};

}  // namespace rankflow::internal
