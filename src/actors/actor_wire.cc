#include "actors/actor_wire.h"

#include "common/bytes.h"

namespace rankflow::actors {

void EncodeCreate(std::vector<uint8_t>& out, const ActorKey& key, std::string_view factory,
                  std::string_view name, int32_t max_concurrency, bool inline_calls,
                  uint32_t num_args, const std::vector<uint8_t>& args) {
  ByteWriter w(out);
  w.Put<uint32_t>(key.owner);
  w.Put<uint64_t>(key.seq);
  w.PutString(factory);
  w.PutString(name);
  w.Put<int32_t>(max_concurrency);
  w.Put<uint8_t>(inline_calls ? 1 : 0);
  w.Put<uint32_t>(num_args);
  w.PutBytes(args.data(), args.size());
}

Status DecodeCreate(const Buffer& msg, CreateWire* out) {
  ByteReader r(msg.data(), msg.size());
  out->key.owner = r.Get<uint32_t>();
  out->key.seq = r.Get<uint64_t>();
  out->factory = r.GetString(4096);
  out->name = r.GetString(4096);
  out->max_concurrency = r.Get<int32_t>();
  const uint8_t inline_calls = r.Get<uint8_t>();
  out->inline_calls = inline_calls == 1;
  out->num_args = r.Get<uint32_t>();
  if (!r.ok() || out->factory.empty() || out->max_concurrency < 1 || out->max_concurrency > 4096 ||
      inline_calls > 1) {
    return {StatusCode::kMalformed, "actor creation message does not parse"};
  }
  out->args = msg.Slice(static_cast<size_t>(r.pos() - msg.data()), r.remaining());
  return Status::Ok();
}

void EncodeCall(std::vector<uint8_t>& out, uint32_t caller, uint64_t result_seq,
                const ActorKey& actor, uint64_t call_seq, bool skip, std::string_view method,
                std::string_view display, uint32_t num_args, const std::vector<uint8_t>& args) {
  out.reserve(out.size() + 48 + method.size() + display.size() + args.size());
  ByteWriter w(out);
  w.Put<uint32_t>(caller);
  w.Put<uint64_t>(result_seq);
  w.Put<uint32_t>(actor.owner);
  w.Put<uint64_t>(actor.seq);
  w.Put<uint64_t>(call_seq);
  w.Put<uint8_t>(skip ? 1 : 0);
  w.PutString(method);
  w.PutString(display);
  w.Put<uint32_t>(num_args);
  w.PutBytes(args.data(), args.size());
}

Status DecodeCall(const Buffer& msg, CallWire* out) {
  ByteReader r(msg.data(), msg.size());
  out->caller = r.Get<uint32_t>();
  out->result_seq = r.Get<uint64_t>();
  out->actor.owner = r.Get<uint32_t>();
  out->actor.seq = r.Get<uint64_t>();
  out->call_seq = r.Get<uint64_t>();
  uint8_t skip = r.Get<uint8_t>();
  out->method = r.GetString(4096);
  out->display = r.GetString(4096);
  out->num_args = r.Get<uint32_t>();
  if (!r.ok() || skip > 1 || (!skip && out->method.empty())) {
    return {StatusCode::kMalformed, "actor call message does not parse"};
  }
  out->skip = skip == 1;
  out->args = msg.Slice(static_cast<size_t>(r.pos() - msg.data()), r.remaining());
  return Status::Ok();
}

void EncodeKill(std::vector<uint8_t>& out, const ActorKey& actor) {
  ByteWriter w(out);
  w.Put<uint32_t>(actor.owner);
  w.Put<uint64_t>(actor.seq);
}

Status DecodeKill(const Buffer& msg, ActorKey* out) {
  ByteReader r(msg.data(), msg.size());
  out->owner = r.Get<uint32_t>();
  out->seq = r.Get<uint64_t>();
  if (!r.ok() || r.remaining() != 0) return {StatusCode::kMalformed, "actor kill does not parse"};
  return Status::Ok();
}

}  // namespace rankflow::actors
