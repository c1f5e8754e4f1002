#include "runtime/args.h"

#include <cstring>

#include "objects/ref_handle.h"

namespace rankflow::runtime {

// Replaces kRef arguments with the referenced values; fails on a failed dependency.
Status ResolveArgs(objects::ObjectTable& table, const std::vector<uint8_t>& in,
                   const std::vector<std::shared_ptr<internal::RefHandle>>& refs,
                   std::vector<uint8_t>& out) {
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
    objects::ObjectValue v;
    const auto& ref = refs.at(len);
    if (!table.TryGet(ref->id().seq, &v)) {
      return {StatusCode::kInternal, "dependency " + ref->id().ToString() + " not ready"};
    }
    if (v.error) {
      return {v.error->code, "dependency " + ref->id().ToString() + " failed: " +
                                 (v.error->task_name.empty() ? "" : "task '" + v.error->task_name + "': ") +
                                 v.error->message};
    }
    size_t at;
    internal::AppendArgHeader(out, internal::ArgTag::kValue, 0, &at);
    out.insert(out.end(), v.data.data(), v.data.data() + v.data.size());
    internal::PatchArgLength(out, at);
    off += 5;
  }
  return Status::Ok();
}

}  // namespace rankflow::runtime
