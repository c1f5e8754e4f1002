// Encoded argument lists on the submitting side: kRef arguments become the
// referenced values, or — for a target on this node — the value's location
// in the node store, which the executor views without a copy.
#include <cstring>
#include <utility>

#include "common/bytes.h"
#include "objects/ref_handle.h"
#include "runtime/pending_task.h"
#include "runtime/runtime.h"
#include "runtime/wire.h"

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

// Returns read(values) run under one lock of the object table, `values[i]`
// being the value of `seqs[i]`, or null while it is not ready. (`seqs`: a
// thread-local list each caller fills, so that no call allocates.)
template <typename F>
bool ReadDependencies(objects::ObjectTable& table, const std::vector<uint64_t>& seqs, F&& read) {
  thread_local std::vector<const objects::ObjectValue*> found;
  found.resize(seqs.size());
  return table.ReadLocked(seqs.data(), seqs.size(), found.data(), std::forward<F>(read));
}

// A ready value small enough to copy into a message under the table's lock.
bool CopiesUnderLock(const objects::ObjectValue& v) {
  return !v.error && !v.spilled && v.data.size() <= kCopyUnderLockBytes;
}
}  // namespace

std::string DependencyFailure(const internal::ObjectId& id, const objects::ObjectError& error) {
  return "dependency " + id.ToString() + " failed: " +
         (error.task_name.empty() ? "" : "task '" + error.task_name + "': ") + error.message;
}

bool Runtime::EncodeEarlyArgs(const PendingTask& task, const bool* local, std::vector<uint8_t>& out,
                              bool* awaited) {
  const auto refs = task.refs();
  thread_local std::vector<uint64_t> seqs;
  seqs.clear();
  for (const auto& ref : refs) seqs.push_back(ref->id().seq);
  return ReadDependencies(*objects_, seqs, [&](const objects::ObjectValue* const* values) {
    return AppendArgs(task.args(), refs.size(), out, [&](uint32_t i) -> Status {
             const objects::ObjectValue* v = values[i];
             if (v == nullptr) {  // awaited: [seq][local]
               size_t at;
               internal::AppendArgHeader(out, static_cast<internal::ArgTag>(kArgAwait), 0, &at);
               ByteWriter w(out);
               w.Put<uint64_t>(seqs[i]);
               w.Put<uint8_t>(local[i] ? 1 : 0);
               internal::PatchArgLength(out, at);
               awaited[i] = true;
               return Status::Ok();
             }
             if (!CopiesUnderLock(*v)) {
               return {StatusCode::kInternal, "not a small value"};  // the ordinary path handles it
             }
             AppendResolvedArgument(out, v->data);
             return Status::Ok();
           }).ok();
  });
}

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
  const size_t start = out.size();
  const bool done = ReadDependencies(*objects_, seqs, [&](const objects::ObjectValue* const* values) {
    for (size_t i = 0; i < refs.size(); ++i) {
      const objects::ObjectValue* v = values[i];
      if (v == nullptr || !CopiesUnderLock(*v) ||
          (by_location && store_ && v->data.size() >= inline_bytes_)) {
        return false;
      }
    }
    return AppendArgs(in, refs.size(), out, [&](uint32_t i) {
             AppendResolvedArgument(out, values[i]->data);
             return Status::Ok();
           }).ok();
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
  return AppendArgs(in, refs.size(), out, [&](uint32_t i) -> Status {
    const auto& ref = refs[i];
    objects::ObjectValue& v = values[i];
    if (!v.error && v.spilled) {
      Status st = Materialize(ref->id().seq, &v);
      if (!st.ok()) return {st.code(), "dependency " + ref->id().ToString() + ": " + st.message()};
    }
    if (v.error) return {v.error->code, DependencyFailure(ref->id(), *v.error)};
    store::Descriptor where;
    if (by_location && store_ && v.data.size() >= inline_bytes_ &&
        store_->Describe(v.data, &where)) {
      size_t at;
      internal::AppendArgHeader(out, internal::ArgTag::kStored, 0, &at);
      ByteWriter w(out);
      w.Put<uint64_t>(where.data_off);
      w.Put<uint64_t>(where.size);
      internal::PatchArgLength(out, at);
      keep->push_back(v.data);  // the owner holds the block until the task ends
    } else {
      AppendResolvedArgument(out, v.data);
    }
    return Status::Ok();
  });
}

}  // namespace rankflow::runtime
