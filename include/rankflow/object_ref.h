// rankflow/object_ref.h — ObjectRef<T>: a future for a value that a task will
// produce or that Put() stored.
//
// ObjectRefs are values: copy them freely; the object is freed when no copy
// remains. Thread safety: copies may be used from any thread.
#pragma once

#include <memory>
#include <string>

#include "rankflow/internal/core.h"

namespace rankflow {

template <typename T>
class ObjectRef {
 public:
  using ValueType = T;
  ObjectRef() = default;
  explicit ObjectRef(std::shared_ptr<internal::RefHandle> handle) : handle_(std::move(handle)) {}

  /// True when this ref points at an object.
  bool valid() const { return handle_ != nullptr; }
  /// The object's id, e.g. "0:17" (owner rank : sequence).
  std::string ID() const { return valid() ? internal::IdOf(*handle_).ToString() : "null"; }
  const std::shared_ptr<internal::RefHandle>& handle() const { return handle_; }
  bool operator==(const ObjectRef& o) const { return handle_ == o.handle_; }

 private:
  std::shared_ptr<internal::RefHandle> handle_;
};

template <typename T>
struct IsObjectRef : std::false_type {};
template <typename T>
struct IsObjectRef<ObjectRef<T>> : std::true_type {};

}  // namespace rankflow
