// rankflow/buffer.h — an immutable byte range with shared ownership.
//
// Object values travel and rest as Buffers. A Buffer may view memory owned by
// something else (a received transport buffer, a store arena), which keeps
// large values zero-copy. Thread safety: a Buffer is immutable; copies may be
// used from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace rankflow {

class Buffer {
 public:
  Buffer() = default;

  /// Takes ownership of `bytes` (no copy).
  static Buffer FromVector(std::vector<uint8_t>&& bytes) {
    auto owner = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
    return Buffer(owner->data(), owner->size(), owner);
  }
  /// Copies `size` bytes from `data` (one allocation, aligned as malloc's).
  static Buffer Copy(const void* data, size_t size) {
    if (size == 0) return FromVector({});
    const size_t units = (size + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t);
    std::shared_ptr<std::max_align_t[]> block = std::make_shared_for_overwrite<std::max_align_t[]>(units);
    std::memcpy(block.get(), data, size);
    const auto* bytes = reinterpret_cast<const uint8_t*>(block.get());
    return Buffer(bytes, size, std::move(block));
  }
  /// Views `size` bytes at `data`, kept alive by `owner`.
  static Buffer View(const void* data, size_t size, std::shared_ptr<const void> owner) {
    return Buffer(static_cast<const uint8_t*>(data), size, std::move(owner));
  }

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  /// True when the bytes are kept alive by this Buffer (not a transient view).
  bool owned() const { return owner_ != nullptr || size_ == 0; }
  /// This buffer if it owns its bytes, else an owned copy.
  Buffer Persist() const { return owned() ? *this : Copy(data_, size_); }
  /// What keeps the bytes alive (null for a transient view).
  const std::shared_ptr<const void>& owner() const { return owner_; }
  /// A sub-range sharing this buffer's owner.
  Buffer Slice(size_t offset, size_t size) const { return Buffer(data_ + offset, size, owner_); }

 private:
  Buffer(const uint8_t* data, size_t size, std::shared_ptr<const void> owner)
      : data_(data), size_(size), owner_(std::move(owner)) {}

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const void> owner_;
};

}  // namespace rankflow
