#include "runtime/wire.h"

#include <memory>

#include "common/bytes.h"
#include "common/scratch_bytes.h"

namespace rankflow::runtime {

namespace {
constexpr uint8_t kResultOk = 1;
constexpr uint8_t kResultError = 2;
constexpr uint8_t kResultStored = 3;
constexpr uint8_t kResultOkWithRefs = 4;
constexpr uint32_t kMaxContained = 1u << 20;
constexpr size_t kContainedBytes = 20;  // owner, seq, borrow token
constexpr uint32_t kNumArgsMask = 0xffffff;  // the top byte carries the task's flags

// A value read out of a message, kept past it: shared when the message owns
// its bytes, else copied (a received message is often a view valid only
// while it is delivered).
Buffer Kept(const Buffer& slice) { return slice.owned() ? slice : CopyBytes(slice.data(), slice.size()); }

// An error as results and inputs carry it: code, rank, message, task name.
void PutError(ByteWriter& w, const objects::ObjectError& e) {
  w.Put<int32_t>(static_cast<int32_t>(e.code));
  w.Put<int32_t>(e.rank);
  w.PutString(e.message);
  w.PutString(e.task_name);
}

std::shared_ptr<objects::ObjectError> GetError(ByteReader& r) {
  auto err = std::make_shared<objects::ObjectError>();
  const int32_t code = r.Get<int32_t>();
  err->rank = r.Get<int32_t>();
  err->message = std::string(r.GetString());
  err->task_name = std::string(r.GetString());
  if (!r.ok() || code <= 0 || code > static_cast<int32_t>(StatusCode::kObjectLost)) return nullptr;
  err->code = static_cast<StatusCode>(code);
  return err;
}
}  // namespace

void EncodeTaskHeader(std::vector<uint8_t>& out, uint32_t owner, uint64_t seq,
                      std::string_view function, std::string_view name, uint32_t num_args,
                      size_t args_size, uint8_t flags) {
  out.reserve(out.size() + 32 + function.size() + name.size() + args_size);
  ByteWriter w(out);
  w.Put<uint32_t>(owner);
  w.Put<uint64_t>(seq);
  w.PutString(function);
  w.PutString(name);
  w.Put<uint32_t>((num_args & kNumArgsMask) | (static_cast<uint32_t>(flags) << 24));
}

void EncodeTask(std::vector<uint8_t>& out, uint32_t owner, uint64_t seq, std::string_view function,
                std::string_view name, uint32_t num_args, const uint8_t* args, size_t args_size,
                uint8_t flags) {
  EncodeTaskHeader(out, owner, seq, function, name, num_args, args_size, flags);
  ByteWriter(out).PutBytes(args, args_size);
}

Status DecodeTask(const Buffer& msg, TaskWire* out) {
  ByteReader r(msg.data(), msg.size());
  out->owner = r.Get<uint32_t>();
  out->seq = r.Get<uint64_t>();
  out->function = r.GetString(4096);
  out->name = r.GetString(4096);
  const uint32_t num_args = r.Get<uint32_t>();
  out->num_args = num_args & kNumArgsMask;
  out->flags = static_cast<uint8_t>(num_args >> 24);
  if (!r.ok() || out->function.empty()) return {StatusCode::kMalformed, "task message does not parse"};
  out->args = msg.Slice(static_cast<size_t>(r.pos() - msg.data()), r.remaining());
  return Status::Ok();
}

void EncodeResult(std::vector<uint8_t>& out, uint64_t seq, int32_t rank,
                  const objects::ObjectValue& value,
                  const std::vector<internal::ExportedRef>* contained) {
  // One allocation: the fixed fields, padding and the value or error text.
  out.reserve(out.size() + 64 + value.data.size() +
              (contained != nullptr ? kContainedBytes * contained->size() : 0) +
              (value.error ? value.error->message.size() + value.error->task_name.size() : 0));
  if (value.error == nullptr && contained != nullptr && !contained->empty()) {
    ByteWriter w(out);
    w.Put<uint64_t>(seq);
    w.Put<int32_t>(rank);
    w.Put<uint8_t>(kResultOkWithRefs);
    w.Put<uint32_t>(static_cast<uint32_t>(contained->size()));
    for (const auto& e : *contained) {
      w.Put<uint32_t>(e.id.owner);
      w.Put<uint64_t>(e.id.seq);
      w.Put<uint64_t>(e.token);
    }
    const size_t header = 17 + kContainedBytes * contained->size();
    for (size_t pad = (8 - (6 + header) % 8) % 8; pad > 0; --pad) w.Put<uint8_t>(0);
    w.PutBytes(value.data.data(), value.data.size());
    return;
  }
  ByteWriter w(out);
  w.Put<uint64_t>(seq);
  w.Put<int32_t>(rank);
  if (value.error == nullptr) {
    w.Put<uint8_t>(kResultOk);
    // Pads the header to 18 bytes: behind the 6-byte frame header the value
    // starts 8-byte aligned when the message lands at the start of a store block.
    w.Put<uint32_t>(0);
    w.Put<uint8_t>(0);
    w.PutBytes(value.data.data(), value.data.size());
  } else {
    w.Put<uint8_t>(kResultError);
    PutError(w, *value.error);
  }
}

void EncodeStoredResult(std::vector<uint8_t>& out, uint64_t seq, int32_t rank,
                        const store::Descriptor& where) {
  ByteWriter w(out);
  w.Put<uint64_t>(seq);
  w.Put<int32_t>(rank);
  w.Put<uint8_t>(kResultStored);
  w.Put<uint64_t>(where.block);
  w.Put<uint64_t>(where.data_off);
  w.Put<uint64_t>(where.size);
}

Status DecodeResult(const Buffer& msg, uint64_t* seq, objects::ObjectValue* out,
                    store::Descriptor* stored, bool* is_stored,
                    std::vector<internal::ExportedRef>* contained) {
  if (is_stored != nullptr) *is_stored = false;
  ByteReader r(msg.data(), msg.size());
  *seq = r.Get<uint64_t>();
  r.Get<int32_t>();
  uint8_t kind = r.Get<uint8_t>();
  if (!r.ok()) return {StatusCode::kMalformed, "result message does not parse"};
  if (kind == kResultOk) {
    r.Get<uint32_t>();
    r.Get<uint8_t>();
    if (!r.ok()) return {StatusCode::kMalformed, "result message does not parse"};
    out->data = Kept(msg.Slice(static_cast<size_t>(r.pos() - msg.data()), r.remaining()));
    out->error = nullptr;
    return Status::Ok();
  }
  if (kind == kResultOkWithRefs) {
    uint32_t n = r.Get<uint32_t>();
    if (!r.ok() || n == 0 || n > kMaxContained || r.remaining() < kContainedBytes * n) {
      return {StatusCode::kMalformed, "result references do not parse"};
    }
    std::vector<internal::ExportedRef> ids(n);
    for (auto& e : ids) {
      e.id.owner = r.Get<uint32_t>();
      e.id.seq = r.Get<uint64_t>();
      e.token = r.Get<uint64_t>();
    }
    r.Skip((8 - (6 + 17 + kContainedBytes * static_cast<size_t>(n)) % 8) % 8);
    if (!r.ok()) return {StatusCode::kMalformed, "result references do not parse"};
    if (contained != nullptr) *contained = std::move(ids);
    out->data = Kept(msg.Slice(static_cast<size_t>(r.pos() - msg.data()), r.remaining()));
    out->error = nullptr;
    return Status::Ok();
  }
  if (kind == kResultStored && stored != nullptr && is_stored != nullptr) {
    stored->block = r.Get<uint64_t>();
    stored->data_off = r.Get<uint64_t>();
    stored->size = r.Get<uint64_t>();
    if (!r.ok() || r.remaining() != 0) return {StatusCode::kMalformed, "stored result does not parse"};
    *is_stored = true;
    return Status::Ok();
  }
  if (kind != kResultError) return {StatusCode::kMalformed, "unknown result kind"};
  out->error = GetError(r);
  if (out->error == nullptr) return {StatusCode::kMalformed, "result error does not parse"};
  return Status::Ok();
}

void EncodeInput(std::vector<uint8_t>& out, uint64_t seq, const objects::ObjectValue* value) {
  ByteWriter w(out);
  w.Put<uint64_t>(seq);
  if (value == nullptr) {
    w.Put<uint8_t>(static_cast<uint8_t>(InputKind::kNotPushed));
  } else if (value->error) {
    w.Put<uint8_t>(static_cast<uint8_t>(InputKind::kError));
    PutError(w, *value->error);
  } else {
    w.Put<uint8_t>(static_cast<uint8_t>(InputKind::kArgument));
    AppendResolvedArgument(out, value->data);
  }
}

Status DecodeInput(const Buffer& msg, InputWire* out) {
  ByteReader r(msg.data(), msg.size());
  out->seq = r.Get<uint64_t>();
  const uint8_t kind = r.Get<uint8_t>();
  if (!r.ok() || kind > static_cast<uint8_t>(InputKind::kNotPushed)) {
    return {StatusCode::kMalformed, "input message does not parse"};
  }
  out->kind = static_cast<InputKind>(kind);
  if (out->kind == InputKind::kArgument) {
    const uint8_t* at = r.pos();
    const uint8_t tag = r.Get<uint8_t>();
    const uint32_t len = r.Get<uint32_t>();
    if (!r.ok() || tag != static_cast<uint8_t>(internal::ArgTag::kResolved) || r.remaining() != len) {
      return {StatusCode::kMalformed, "input argument does not parse"};
    }
    out->argument = {at, 5 + static_cast<size_t>(len)};
  } else if (out->kind == InputKind::kError) {
    out->error = GetError(r);
    if (out->error == nullptr) return {StatusCode::kMalformed, "input error does not parse"};
  }
  return Status::Ok();
}

}  // namespace rankflow::runtime
