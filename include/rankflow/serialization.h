// rankflow/serialization.h — how values become bytes.
//
// Trivially copyable types go as their raw bytes; contiguous containers of
// them (std::vector<T>, std::string) as a length and raw bytes; everything
// else (maps, nested containers, user structs with a cereal `serialize`
// member) through cereal's binary archive. Decoding checks sizes and reports
// a mismatch as a rankflow::Error of kind kTypeMismatch.
#pragma once

#include <cereal/archives/binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/vector.hpp>

#include <cstring>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "rankflow/buffer.h"
#include "rankflow/errors.h"
#include "rankflow/object_ref.h"

namespace rankflow {
namespace internal {

template <typename T>
struct IsRawVector : std::false_type {};
template <typename T, typename A>
struct IsRawVector<std::vector<T, A>>
    : std::bool_constant<std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> &&
                         !std::is_same_v<T, bool>> {};

template <typename T>
inline constexpr bool kIsRawValue =
    std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> && !std::is_member_pointer_v<T>;

/// An input stream over a byte span that fails (rather than reads past) at the end.
class SpanStreamBuf : public std::streambuf {
 public:
  SpanStreamBuf(const uint8_t* data, size_t size) {
    char* p = const_cast<char*>(reinterpret_cast<const char*>(data));
    setg(p, p, p + size);
  }
};

[[noreturn]] void ThrowDecodeError(const char* type_name, size_t got, const std::string& why);

}  // namespace internal

/// Encodes `value` as bytes appended to `out`.
template <typename T>
void EncodeTo(const T& value, std::vector<uint8_t>& out) {
  static_assert(!std::is_pointer_v<T>, "rankflow cannot send raw pointers; send the value");
  if constexpr (internal::kIsRawValue<T>) {
    size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &value, sizeof(T));
  } else if constexpr (internal::IsRawVector<T>::value || std::is_same_v<T, std::string>) {
    uint64_t n = value.size();
    size_t bytes = n * sizeof(typename T::value_type);
    size_t at = out.size();
    out.resize(at + sizeof(n) + bytes);
    std::memcpy(out.data() + at, &n, sizeof(n));
    if (bytes) std::memcpy(out.data() + at + sizeof(n), value.data(), bytes);
  } else {
    std::ostringstream os(std::ios::binary);
    {
      cereal::BinaryOutputArchive ar(os);
      ar(value);
    }
    const std::string s = os.str();
    out.insert(out.end(), s.begin(), s.end());
  }
}

/// Encodes `value` into a fresh byte vector.
template <typename T>
std::vector<uint8_t> Encode(const T& value) {
  std::vector<uint8_t> out;
  EncodeTo(value, out);
  return out;
}

/// Decodes a T from exactly `size` bytes; throws rankflow::Error(kTypeMismatch) when they do not fit.
template <typename T>
T Decode(const uint8_t* data, size_t size) {
  if constexpr (internal::kIsRawValue<T>) {
    if (size != sizeof(T)) internal::ThrowDecodeError(typeid(T).name(), size, "size differs");
    T value;
    std::memcpy(&value, data, sizeof(T));
    return value;
  } else if constexpr (internal::IsRawVector<T>::value || std::is_same_v<T, std::string>) {
    uint64_t n = 0;
    if (size < sizeof(n)) internal::ThrowDecodeError(typeid(T).name(), size, "no length");
    std::memcpy(&n, data, sizeof(n));
    using E = typename T::value_type;
    if (n > (size - sizeof(n)) / sizeof(E) || (size - sizeof(n)) != n * sizeof(E)) {
      internal::ThrowDecodeError(typeid(T).name(), size, "length does not match bytes");
    }
    T value;
    value.resize(n);
    if (n) std::memcpy(value.data(), data + sizeof(n), n * sizeof(E));
    return value;
  } else {
    internal::SpanStreamBuf buf(data, size);
    std::istream is(&buf);
    T value;
    try {
      cereal::BinaryInputArchive ar(is);
      ar(value);
    } catch (const std::exception& e) {
      internal::ThrowDecodeError(typeid(T).name(), size, e.what());
    }
    if (is.rdbuf()->in_avail() != 0) {
      internal::ThrowDecodeError(typeid(T).name(), size, "trailing bytes");
    }
    return value;
  }
}

template <typename T>
T Decode(const Buffer& b) {
  return Decode<T>(b.data(), b.size());
}

namespace internal {
template <typename T>
T DecodeStored(const Buffer& b) {
  ImportOwnGuard own;
  return Decode<T>(b);
}
}  // namespace internal

/// ObjectRefs inside values (a vector of refs, a struct holding one) travel
/// as borrowed references: the owner counts every copy that left, and the
/// object lives until the last one, on any rank, is gone.
template <class Archive, typename T>
void save(Archive& ar, const ObjectRef<T>& ref) {
  internal::ExportedRef e = internal::ExportRef(ref.handle());
  ar(e.id.owner, e.id.seq, e.token);
}

template <class Archive, typename T>
void load(Archive& ar, ObjectRef<T>& ref) {
  internal::ObjectId id;
  uint64_t token = 0;
  ar(id.owner, id.seq, token);
  ref = ObjectRef<T>(internal::ImportRef(id, token));
}

}  // namespace rankflow
