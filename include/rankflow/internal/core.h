// rankflow/internal/core.h — the narrow, non-template boundary between the
// public template layer and the runtime. Not for direct use.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rankflow/buffer.h"
#include "rankflow/errors.h"

namespace rankflow {
namespace internal {

/// Identifies an object: the rank that owns it and a sequence number there.
struct ObjectId {
  uint32_t owner = 0;
  uint32_t reserved = 0;
  uint64_t seq = 0;
  bool operator==(const ObjectId&) const = default;
  std::string ToString() const;
};

/// Keeps an object alive while any ObjectRef copy refers to it. Defined in src/.
class RefHandle;
ObjectId IdOf(const RefHandle& handle);

/// Options a user sets through builder calls on Task(...).
struct TaskOptions {
  std::string name;                         // shown in errors and logs; default: function name
  std::map<std::string, double> resources;  // empty: {"CPU": 1}
  int rank = -1;                            // >= 0: run on exactly this rank
  bool collective = false;                  // SPMD: a collective task, owned and run by `owner`
  int owner = -1;
};

/// Argument encoding: each argument is [u8 tag][u32 length][bytes].
enum class ArgTag : uint8_t { kValue = 1, kRef = 2, kStored = 3, kResolved = 4 };

/// A task as the template layer hands it to the runtime.
struct SubmitRequest {
  const std::string* function = nullptr;    // registry-owned name
  const TaskOptions* options = nullptr;
  uint32_t num_args = 0;
  std::vector<uint8_t> args;                // encoded arguments
  std::vector<std::shared_ptr<RefHandle>> refs;  // ObjectRef arguments, by kRef index
};

/// Submits the task in `request` and empties it (its buffers keep their
/// capacity for the next request).
std::shared_ptr<RefHandle> Submit(SubmitRequest& request);
std::shared_ptr<RefHandle> Submit(SubmitRequest&& request);

/// This thread's request, taken for the lifetime of the lease: its buffers
/// are reused from one submission to the next, so building a request
/// allocates nothing. A lease taken while another is held on the thread (an
/// argument whose encoding submits a task) gets a request of its own.
SubmitRequest* TakeThreadRequest();
void GiveBackThreadRequest(SubmitRequest* request);
class RequestLease {
 public:
  RequestLease() : taken_(TakeThreadRequest()) {}
  ~RequestLease() {
    if (taken_ != nullptr) GiveBackThreadRequest(taken_);
  }
  RequestLease(const RequestLease&) = delete;
  RequestLease& operator=(const RequestLease&) = delete;
  SubmitRequest& request() { return taken_ != nullptr ? *taken_ : own_; }

 private:
  SubmitRequest* taken_;
  SubmitRequest own_;
};
std::shared_ptr<RefHandle> PutBytes(std::vector<uint8_t>&& bytes);

/// Memory for an object filled in place (CreateArray), then sealed.
struct WritableObject {
  uint8_t* data = nullptr;
  uint64_t size = 0;
  std::shared_ptr<const void> keep;  // the store block (or heap bytes) behind `data`
};
WritableObject CreateObject(uint64_t bytes);
std::shared_ptr<RefHandle> SealObject(WritableObject&& object);
/// Objects of at least this many bytes live in the node's shared store.
uint64_t InlineLimit();
/// Serialization of ObjectRefs nested in values (borrowed references).
/// Every export counts one reference at the owner; it belongs to what the
/// bytes become: a message decoded once (its import adopts the count), or a
/// stored object (Put, a task's result), which holds the counts until it is
/// freed while every decode of it takes counts of its own.
/// A borrow sent from a rank that does not own the object carries a token:
/// the owner matches the borrow's announcement (from the sender) with its
/// release (from wherever it ended), in whichever order they arrive.
struct ExportedRef {
  ObjectId id;
  uint64_t token = 0;  // 0: counted in order (sent by the owner, or kept on this rank)
};
ExportedRef ExportRef(const std::shared_ptr<RefHandle>& handle);
std::shared_ptr<RefHandle> ImportRef(const ObjectId& id, uint64_t token);
/// Starts collecting this thread's exports for the object about to be stored.
void BeginExportCapture();
/// While alive, imports on this thread take their own counts (decoding a stored object).
class ImportOwnGuard {
 public:
  ImportOwnGuard();
  ~ImportOwnGuard();
  ImportOwnGuard(const ImportOwnGuard&) = delete;
  ImportOwnGuard& operator=(const ImportOwnGuard&) = delete;

 private:
  bool previous_;
};
/// Decodes a stored object's bytes (its nested references take their own counts).
template <typename T>
T DecodeStored(const Buffer& b);
/// Blocks until ready; timeout_ms < 0 waits forever. Throws rankflow::Error.
/// An object that holds no value (void task) returns an empty Buffer.
Buffer GetBytes(const RefHandle& handle, int64_t timeout_ms);
/// Marks ready[i]; returns once `num_ready` are ready or the timeout passes.
std::vector<bool> WaitHandles(const std::vector<const RefHandle*>& handles, int num_ready,
                              int64_t timeout_ms);

/// Reads encoded arguments in order; throws rankflow::Error on malformed input.
class ArgReader {
 public:
  ArgReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  /// Returns the next argument's bytes.
  Buffer NextBytes(const Buffer& owner);
  /// The next argument's bytes in place, if it is a value in the message
  /// (kValue, kResolved); else false, and nothing is consumed (NextBytes
  /// then reads it or reports what is wrong). For arguments that hold no
  /// references and are decoded before the message goes.
  bool NextInPlace(const uint8_t** data, size_t* size) {
    if (end_ - p_ < 5) return false;
    uint32_t len;
    std::memcpy(&len, p_ + 1, sizeof(len));
    if ((p_[0] != static_cast<uint8_t>(ArgTag::kValue) &&
         p_[0] != static_cast<uint8_t>(ArgTag::kResolved)) ||
        len > static_cast<size_t>(end_ - p_ - 5)) {
      return false;
    }
    *data = p_ + 5;
    *size = len;
    p_ += 5 + len;
    return true;
  }
  bool AtEnd() const { return p_ == end_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

/// Appends an argument's header: its tag and a length (host order), whose
/// place is returned for PatchArgLength. (Inline, with push_back rather than
/// resize: one per argument of every submitted task.)
inline void AppendArgHeader(std::vector<uint8_t>& out, ArgTag tag, uint32_t length,
                            size_t* length_at) {
  uint8_t bytes[sizeof(length)];
  std::memcpy(bytes, &length, sizeof(length));
  *length_at = out.size() + 1;
  out.push_back(static_cast<uint8_t>(tag));
  for (uint8_t b : bytes) out.push_back(b);
}
/// Sets the length at `length_at` to the bytes appended after it.
inline void PatchArgLength(std::vector<uint8_t>& out, size_t length_at) {
  const uint32_t len = static_cast<uint32_t>(out.size() - length_at - sizeof(uint32_t));
  std::memcpy(out.data() + length_at, &len, sizeof(len));
}

}  // namespace internal
}  // namespace rankflow
