// runtime/wire.h — the hot-path messages: task submissions and results.
//
// These are flat, bounds-checked byte layouts rather than Protobuf: one task
// costs one memcpy of its arguments and no allocation beyond the batch
// buffer. Control messages (membership, views, shutdown) use Protobuf.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "objects/object_table.h"
#include "rankflow/internal/core.h"
#include "rankflow/buffer.h"
#include "store/node_store.h"

namespace rankflow::runtime {

/// Transport message kinds used by the runtime.
enum MessageKindId : uint16_t {
  kTaskSubmit = 1,
  kTaskResult = 2,
  kControl = 3,
  kActorCreate = 4,
  kActorCall = 5,
  kActorKill = 6,
  kObjectAddRef = 7,   // a borrower passed a reference on (runtime/object_wire.h)
  kObjectRelease = 8,  // a borrowed reference is gone
  kObjectFetch = 9,    // a non-owner asks for an object
  kObjectData = 10,    // the answer: bytes, a store location, an error or a redirect
  kObjectHave = 11,    // a rank on another node now holds a copy
  kTaskInput = 12,     // early dispatch: an input the owner pushes (runtime/awaiting_tasks.h)
  kTaskBounce = 13,    // early dispatch: a task given back to its owner
  kCollectiveValue = 14,  // SPMD: an input of a collective task, sent to its owner (as kTaskResult)
};

/// Task flags (TaskWire::flags).
/// Sent before its inputs were ready: the executing rank tracks it, and its
/// arguments may include kArgAwait entries.
constexpr uint8_t kTaskEarly = 1;
/// An argument the executing rank waits for (only in kTaskEarly messages):
/// [tag][u32 9][u64 seq of the owner's object][u8 1: the result of a task
/// tracked on that rank, 0: the owner pushes it].
constexpr uint8_t kArgAwait = 5;
constexpr uint32_t kArgAwaitBytes = 9;

/// Appends a value copied into a message as an argument (kResolved): its
/// references are not the message's to adopt. (Inline: three per stencil task.)
inline void AppendResolvedArgument(std::vector<uint8_t>& out, const uint8_t* data, size_t size) {
  size_t at;
  internal::AppendArgHeader(out, internal::ArgTag::kResolved, 0, &at);
  out.insert(out.end(), data, data + size);
  internal::PatchArgLength(out, at);
}
inline void AppendResolvedArgument(std::vector<uint8_t>& out, const Buffer& value) {
  AppendResolvedArgument(out, value.data(), value.size());
}

/// Appends encoded arguments `in` to `out`: value arguments as they are, and
/// each kRef argument as `ref(index)` appends it (index checked against
/// `num_refs`). (Tasks' dependencies, compiled graphs' inputs.)
template <typename RefFn>
Status AppendArgs(std::span<const uint8_t> in, size_t num_refs, std::vector<uint8_t>& out,
                  RefFn&& ref) {
  size_t off = 0;
  while (off < in.size()) {
    const uint8_t tag = in[off];
    uint32_t len;
    std::memcpy(&len, in.data() + off + 1, sizeof(len));
    if (tag == static_cast<uint8_t>(internal::ArgTag::kValue)) {
      out.insert(out.end(), in.begin() + off, in.begin() + off + 5 + len);
      off += 5 + len;
      continue;
    }
    if (len >= num_refs) return {StatusCode::kInternal, "argument refers to a missing dependency"};
    RANKFLOW_RETURN_IF_ERROR(ref(len));
    off += 5;
  }
  return Status::Ok();
}

/// kTaskInput: [u64 seq][u8 kind] and, by kind, the encoded argument, the
/// error, or nothing (the value is not pushed: its waiters bounce).
enum class InputKind : uint8_t { kArgument = 0, kError = 1, kNotPushed = 2 };
void EncodeInput(std::vector<uint8_t>& out, uint64_t seq, const objects::ObjectValue* value);
struct InputWire {
  uint64_t seq = 0;
  InputKind kind = InputKind::kNotPushed;
  std::span<const uint8_t> argument;                // kArgument: tag, length, bytes (a view into the message)
  std::shared_ptr<const objects::ObjectError> error;  // kError
};
Status DecodeInput(const Buffer& msg, InputWire* out);

/// A task as it travels to the rank that runs it.
struct TaskWire {
  uint32_t owner = 0;           // rank that owns the result
  uint64_t seq = 0;             // result object's sequence at the owner
  std::string_view function;    // registered name
  std::string_view name;        // display name ("" = function)
  uint32_t num_args = 0;
  uint8_t flags = 0;            // kTask* (sent in num_args' top byte)
  Buffer args;                  // encoded arguments (values only)
};

void EncodeTask(std::vector<uint8_t>& out, uint32_t owner, uint64_t seq, std::string_view function,
                std::string_view name, uint32_t num_args, const uint8_t* args, size_t args_size,
                uint8_t flags = 0);
/// A task message up to its arguments, which the caller appends (they run
/// to the end of the message); room is reserved for `args_size` of them.
void EncodeTaskHeader(std::vector<uint8_t>& out, uint32_t owner, uint64_t seq,
                      std::string_view function, std::string_view name, uint32_t num_args,
                      size_t args_size, uint8_t flags = 0);
/// Views into `msg`; fails with kMalformed on any inconsistency.
Status DecodeTask(const Buffer& msg, TaskWire* out);

/// A finished task's outcome as it travels back to the owner.
/// `contained`: references serialized inside the value (the owner's object holds them).
void EncodeResult(std::vector<uint8_t>& out, uint64_t seq, int32_t rank,
                  const objects::ObjectValue& value,
                  const std::vector<internal::ExportedRef>* contained = nullptr);
/// A result already in the owner's node store (same node): its location.
void EncodeStoredResult(std::vector<uint8_t>& out, uint64_t seq, int32_t rank,
                        const store::Descriptor& where);
/// `*stored` is set (and out->data left empty) for a stored result.
Status DecodeResult(const Buffer& msg, uint64_t* seq, objects::ObjectValue* out,
                    store::Descriptor* stored = nullptr, bool* is_stored = nullptr,
                    std::vector<internal::ExportedRef>* contained = nullptr);

}  // namespace rankflow::runtime
