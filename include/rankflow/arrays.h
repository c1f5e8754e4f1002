// rankflow/arrays.h — large arrays without copies: fill an object in place
// in the node's shared store (CreateArray), and read one where it lies
// (GetArray). On the object's node a GetArray of any size copies nothing;
// from another node it pulls the object once into the local store.
//
//   auto field = rankflow::CreateArray<double>(n);   // in the store
//   simulate_into(field.data(), n);                  // written in place
//   rankflow::ObjectRef<std::vector<double>> ref = field.Seal();
//   rankflow::ArrayView<double> v = rankflow::GetArray(ref);  // no copy
//
// An ArrayBuilder or ArrayView keeps its memory alive on its own; neither
// may be shared between threads while Seal() runs. Both work for element
// types that are trivially copyable with alignment up to 8.
#pragma once

#include <cstring>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "rankflow/errors.h"
#include "rankflow/object_ref.h"

namespace rankflow {

template <typename E>
inline constexpr bool kArrayElement = std::is_trivially_copyable_v<E> && !std::is_pointer_v<E> &&
                                      !std::is_same_v<E, bool> && alignof(E) <= 8;

/// A read-only view of an array object; the bytes stay valid while it lives.
template <typename E>
class ArrayView {
  static_assert(kArrayElement<E>, "ArrayView<E> needs a trivially copyable E aligned to <= 8");

 public:
  ArrayView() = default;
  /// Checks that `bytes` hold an encoded std::vector<E> (throws kTypeMismatch).
  explicit ArrayView(Buffer bytes) : bytes_(std::move(bytes)) {
    uint64_t n = 0;
    if (bytes_.size() < sizeof(n)) throw Error(ErrorCode::kTypeMismatch, "array object has no length");
    std::memcpy(&n, bytes_.data(), sizeof(n));
    if (n > (bytes_.size() - sizeof(n)) / sizeof(E) || bytes_.size() - sizeof(n) != n * sizeof(E)) {
      throw Error(ErrorCode::kTypeMismatch, "array object's length does not match its bytes");
    }
    size_ = static_cast<size_t>(n);
  }
  const E* data() const { return reinterpret_cast<const E*>(bytes_.data() + sizeof(uint64_t)); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const E& operator[](size_t i) const { return data()[i]; }
  const E* begin() const { return data(); }
  const E* end() const { return data() + size_; }
  std::span<const E> span() const { return {data(), size_}; }
  /// A copy as a std::vector.
  std::vector<E> ToVector() const { return std::vector<E>(begin(), end()); }

 private:
  Buffer bytes_;
  size_t size_ = 0;
};

/// An array object under construction: write it, then Seal() it.
template <typename E>
class ArrayBuilder {
  static_assert(kArrayElement<E>, "ArrayBuilder<E> needs a trivially copyable E aligned to <= 8");

 public:
  explicit ArrayBuilder(size_t n) : object_(internal::CreateObject(Bytes(n))), size_(n) {
    const uint64_t len = n;
    std::memcpy(object_.data, &len, sizeof(len));
  }
  E* data() { return reinterpret_cast<E*>(object_.data + sizeof(uint64_t)); }
  size_t size() const { return size_; }
  E& operator[](size_t i) { return data()[i]; }
  std::span<E> span() { return {data(), size_}; }
  /// Makes the object immutable and returns its reference; the builder is empty afterwards.
  ObjectRef<std::vector<E>> Seal() {
    if (object_.keep == nullptr) throw Error(ErrorCode::kInvalidArgument, "array was already sealed");
    size_ = 0;
    return ObjectRef<std::vector<E>>(internal::SealObject(std::move(object_)));
  }

 private:
  static uint64_t Bytes(size_t n) {
    if (n > (UINT64_MAX - sizeof(uint64_t)) / sizeof(E)) {
      throw Error(ErrorCode::kTooLarge, "CreateArray: " + std::to_string(n) + " elements overflow");
    }
    return sizeof(uint64_t) + static_cast<uint64_t>(n) * sizeof(E);
  }

  internal::WritableObject object_;
  size_t size_;
};

/// Room for `n` elements of E, filled in place (in the node store when large).
template <typename E>
ArrayBuilder<E> CreateArray(size_t n) {
  return ArrayBuilder<E>(n);
}

/// Waits for an array object and views it without copying where possible.
template <typename E, typename A>
ArrayView<E> GetArray(const ObjectRef<std::vector<E, A>>& ref, int64_t timeout_ms = -1) {
  if (!ref.valid()) throw Error(ErrorCode::kInvalidArgument, "GetArray() on an empty ObjectRef");
  return ArrayView<E>(internal::GetBytes(*ref.handle(), timeout_ms));
}

}  // namespace rankflow
