// Encoded argument lists on the submitting side: kRef arguments become the
// referenced values, or — for a target on this node — the value's location
// in the node store, which the executor views without a copy.
#include <cstring>

#include "common/bytes.h"
#include "objects/ref_handle.h"
#include "runtime/runtime.h"

namespace rankflow::runtime {

int Runtime::NodeOf(int rank) const {
  if (rank_nodes_.empty() || rank < 0 || rank >= static_cast<int>(rank_nodes_.size())) return node_;
  return rank_nodes_[rank];
}

bool Runtime::SameNode(int rank) const {
  if (rank_nodes_.empty()) return true;
  return rank >= 0 && rank < static_cast<int>(rank_nodes_.size()) && rank_nodes_[rank] == node_;
}

namespace {
// Dependencies at most this large are copied under the object table's lock.
constexpr size_t kCopyUnderLockBytes = 4096;

// Appends `in` with each kRef argument replaced by its value (kResolved);
// false if an argument names a missing dependency.
bool AppendResolved(std::span<const uint8_t> in, size_t num_refs,
                    const objects::ObjectValue* const* values, std::vector<uint8_t>& out) {
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
    if (len >= num_refs) return false;
    const Buffer& data = values[len]->data;
    size_t at;
    internal::AppendArgHeader(out, internal::ArgTag::kResolved, 0, &at);
    out.insert(out.end(), data.data(), data.data() + data.size());
    internal::PatchArgLength(out, at);
    off += 5;
  }
  return true;
}
}  // namespace

Status Runtime::ResolveArgs(std::span<const uint8_t> in,
                            std::span<const std::shared_ptr<internal::RefHandle>> refs,
                            bool by_location, std::vector<uint8_t>& out,
                            std::vector<Buffer>* keep) {
  out.reserve(out.size() + in.size() + 16 * refs.size());  // small values: one allocation
  thread_local std::vector<uint64_t> seqs;
  seqs.clear();
  for (const auto& ref : refs) seqs.push_back(ref->id().seq);
  // The common case: every dependency a small value in memory, copied into
  // the message under one lock of the object table, with no copy of the
  // values' handles.
  thread_local std::vector<const objects::ObjectValue*> found;
  found.resize(refs.size());
  const size_t start = out.size();
  const bool done = objects_->ReadLocked(seqs.data(), seqs.size(), found.data(),
                                         [&](const objects::ObjectValue* const* values) {
    for (size_t i = 0; i < refs.size(); ++i) {
      const objects::ObjectValue* v = values[i];
      if (v == nullptr || v->error || v->spilled || v->data.size() > kCopyUnderLockBytes ||
          (by_location && store_ && v->data.size() >= inline_bytes_)) {
        return false;
      }
    }
    return AppendResolved(in, refs.size(), values, out);
  });
  if (done) return Status::Ok();
  out.resize(start);
  // Every dependency's value, under one lock of the object table.
  thread_local std::vector<objects::ObjectValue> scratch;
  scratch.resize(refs.size());
  struct Clear {  // the values are not held past this call
    ~Clear() { scratch.clear(); }
  } clear;
  objects::ObjectValue* values = scratch.data();
  const size_t got = objects_->TryGetAll(seqs.data(), seqs.size(), values);
  if (got < refs.size()) {
    return {StatusCode::kInternal, "dependency " + refs[got]->id().ToString() + " not ready"};
  }
  size_t off = 0;
  while (off < in.size()) {
    uint8_t tag = in[off];
    uint32_t len;
    std::memcpy(&len, in.data() + off + 1, sizeof(len));
    if (tag == static_cast<uint8_t>(internal::ArgTag::kValue)) {
      out.insert(out.end(), in.begin() + off, in.begin() + off + 5 + len);
      off += 5 + len;
      continue;
    }
    if (len >= refs.size()) return {StatusCode::kInternal, "argument refers to a missing dependency"};
    const auto& ref = refs[len];
    const uint64_t seq = ref->id().seq;
    objects::ObjectValue& v = values[len];
    if (!v.error && v.spilled) {
      Status st = Materialize(seq, &v);
      if (!st.ok()) return {st.code(), "dependency " + ref->id().ToString() + ": " + st.message()};
    }
    if (v.error) {
      return {v.error->code, "dependency " + ref->id().ToString() + " failed: " +
                                 (v.error->task_name.empty() ? "" : "task '" + v.error->task_name + "': ") +
                                 v.error->message};
    }
    store::Descriptor where;
    size_t at;
    if (by_location && store_ && v.data.size() >= inline_bytes_ &&
        store_->Describe(v.data, &where)) {
      internal::AppendArgHeader(out, internal::ArgTag::kStored, 0, &at);
      ByteWriter w(out);
      w.Put<uint64_t>(where.data_off);
      w.Put<uint64_t>(where.size);
      internal::PatchArgLength(out, at);
      keep->push_back(v.data);  // the owner holds the block until the task ends
    } else {
      // Copied from a stored object: its references are not the message's to adopt.
      internal::AppendArgHeader(out, internal::ArgTag::kResolved, 0, &at);
      out.insert(out.end(), v.data.data(), v.data.data() + v.data.size());
      internal::PatchArgLength(out, at);
    }
    off += 5;
  }
  return Status::Ok();
}

}  // namespace rankflow::runtime
