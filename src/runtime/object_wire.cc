#include "runtime/object_wire.h"

#include <cstring>

#include "common/bytes.h"

namespace rankflow::runtime {

void EncodeObjectSeq(std::vector<uint8_t>& out, uint64_t seq) { ByteWriter(out).Put<uint64_t>(seq); }

Status DecodeObjectSeq(const Buffer& msg, uint64_t* seq) {
  ByteReader r(msg.data(), msg.size());
  *seq = r.Get<uint64_t>();
  if (!r.ok() || r.remaining() != 0) return {StatusCode::kMalformed, "object message does not parse"};
  return Status::Ok();
}

void EncodeBorrow(std::vector<uint8_t>& out, uint64_t seq, uint64_t token) {
  ByteWriter w(out);
  w.Put<uint64_t>(seq);
  w.Put<uint64_t>(token);
}

Status DecodeBorrow(const Buffer& msg, uint64_t* seq, uint64_t* token) {
  ByteReader r(msg.data(), msg.size());
  *seq = r.Get<uint64_t>();
  *token = r.Get<uint64_t>();
  if (!r.ok() || r.remaining() != 0) return {StatusCode::kMalformed, "borrow message does not parse"};
  return Status::Ok();
}

void EncodeFetch(std::vector<uint8_t>& out, const FetchWire& f) {
  ByteWriter w(out);
  w.Put<uint32_t>(f.owner);
  w.Put<uint64_t>(f.seq);
  w.Put<uint8_t>(f.direct ? 1 : 0);
}

Status DecodeFetch(const Buffer& msg, FetchWire* out) {
  ByteReader r(msg.data(), msg.size());
  out->owner = r.Get<uint32_t>();
  out->seq = r.Get<uint64_t>();
  uint8_t direct = r.Get<uint8_t>();
  if (!r.ok() || r.remaining() != 0 || direct > 1) {
    return {StatusCode::kMalformed, "fetch message does not parse"};
  }
  out->direct = direct == 1;
  return Status::Ok();
}

void EncodeDataHeader(std::vector<uint8_t>& out, const DataWire& d) {
  ByteWriter w(out);
  w.Put<uint32_t>(d.owner);
  w.Put<uint64_t>(d.seq);
  w.Put<uint8_t>(static_cast<uint8_t>(d.form));
  switch (d.form) {
    case DataForm::kBytes:
      w.Put<uint8_t>(d.has_checksum ? 1 : 0);
      w.Put<uint64_t>(d.checksum);
      w.Put<uint64_t>(d.size);
      w.Put<uint32_t>(0);  // header of 34 bytes: the object starts 8-byte aligned behind a frame header
      break;
    case DataForm::kStored:
      w.Put<uint64_t>(d.stored.block);
      w.Put<uint64_t>(d.stored.data_off);
      w.Put<uint64_t>(d.stored.size);
      break;
    case DataForm::kError:
      w.Put<int32_t>(d.code);
      w.PutString(d.message);
      break;
    case DataForm::kRedirect:
      w.Put<int32_t>(d.holder);
      break;
    case DataForm::kMiss:
      break;
  }
}

Status DecodeData(const Buffer& msg, DataWire* out) {
  ByteReader r(msg.data(), msg.size());
  out->owner = r.Get<uint32_t>();
  out->seq = r.Get<uint64_t>();
  uint8_t form = r.Get<uint8_t>();
  if (!r.ok() || form < 1 || form > 5) return {StatusCode::kMalformed, "object data header does not parse"};
  out->form = static_cast<DataForm>(form);
  switch (out->form) {
    case DataForm::kBytes: {
      uint8_t has = r.Get<uint8_t>();
      out->checksum = r.Get<uint64_t>();
      out->size = r.Get<uint64_t>();
      r.Get<uint32_t>();
      if (!r.ok() || has > 1) return {StatusCode::kMalformed, "object data header does not parse"};
      out->has_checksum = has == 1;
      if (r.remaining() != out->size) {
        return {StatusCode::kMalformed, "object data truncated: " + std::to_string(r.remaining()) +
                                            " of " + std::to_string(out->size) + " bytes"};
      }
      out->bytes = msg.Slice(static_cast<size_t>(r.pos() - msg.data()), r.remaining());
      return Status::Ok();
    }
    case DataForm::kStored:
      out->stored.block = r.Get<uint64_t>();
      out->stored.data_off = r.Get<uint64_t>();
      out->stored.size = r.Get<uint64_t>();
      break;
    case DataForm::kError:
      out->code = r.Get<int32_t>();
      out->message = std::string(r.GetString());
      if (r.ok() && (out->code <= 0 || out->code > static_cast<int32_t>(StatusCode::kObjectLost))) {
        return {StatusCode::kMalformed, "object error code out of range"};
      }
      break;
    case DataForm::kRedirect:
      out->holder = r.Get<int32_t>();
      break;
    case DataForm::kMiss:
      break;
  }
  if (!r.ok() || r.remaining() != 0) return {StatusCode::kMalformed, "object data message does not parse"};
  return Status::Ok();
}

uint64_t Checksum64(const uint8_t* data, size_t size) {
  // Four independent multiply-xor lanes over 8-byte words: memory-bound on
  // large objects, unlike a byte-at-a-time CRC.
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  uint64_t h[4] = {size, kMul, ~size, kMul ^ size};
  size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    for (int k = 0; k < 4; ++k) {
      uint64_t v;
      std::memcpy(&v, data + i + 8 * k, 8);
      h[k] = (h[k] ^ v) * kMul;
      h[k] ^= h[k] >> 29;
    }
  }
  uint64_t tail = 0;
  for (; i < size; ++i) tail = (tail ^ data[i]) * kMul;
  uint64_t out = h[0] ^ (h[1] * 3) ^ (h[2] * 5) ^ (h[3] * 7) ^ (tail * kMul);
  out ^= out >> 31;
  return out * kMul;
}

}  // namespace rankflow::runtime
