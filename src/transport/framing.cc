#include "transport/framing.h"

#include <cstring>
#include <string>

namespace rankflow::transport {

void AppendFrame(std::vector<uint8_t>& batch, MessageKind kind, const uint8_t* data, size_t size) {
  size_t at = batch.size();
  batch.resize(at + kFrameHeaderBytes + size);
  uint32_t len = static_cast<uint32_t>(size);
  std::memcpy(batch.data() + at, &len, sizeof(len));
  std::memcpy(batch.data() + at + sizeof(len), &kind, sizeof(kind));
  if (size) std::memcpy(batch.data() + at + kFrameHeaderBytes, data, size);
}

Status CheckHeader(const void* header, size_t header_size, const JobToken& token, int world_size,
                   int* source) {
  if (header_size != sizeof(WireHeader)) {
    return {StatusCode::kMalformed, "header of " + std::to_string(header_size) + " bytes"};
  }
  WireHeader h;
  std::memcpy(&h, header, sizeof(h));
  if (h.magic != WireHeader::kMagic || h.version != WireHeader::kVersion) {
    return {StatusCode::kMalformed, "bad magic or version"};
  }
  uint8_t diff = 0;
  for (size_t i = 0; i < token.size(); ++i) diff |= static_cast<uint8_t>(h.token[i] ^ token[i]);
  if (diff != 0) return {StatusCode::kUnauthenticated, "message without this job's token"};
  if (h.source < 0 || h.source >= world_size) {
    return {StatusCode::kMalformed, "source rank " + std::to_string(h.source) + " out of range"};
  }
  *source = h.source;
  return Status::Ok();
}

Status ForEachFrame(const Buffer& batch, uint64_t max_frame,
                    const std::function<void(MessageKind, Buffer)>& fn) {
  size_t off = 0;
  const size_t n = batch.size();
  while (off < n) {
    if (n - off < kFrameHeaderBytes) return {StatusCode::kMalformed, "truncated frame header"};
    uint32_t len;
    MessageKind kind;
    std::memcpy(&len, batch.data() + off, sizeof(len));
    std::memcpy(&kind, batch.data() + off + sizeof(len), sizeof(kind));
    off += kFrameHeaderBytes;
    if (len > n - off) return {StatusCode::kMalformed, "frame longer than its message"};
    if (len > max_frame) {
      return {StatusCode::kTooLarge, "frame of " + std::to_string(len) + " bytes above limit"};
    }
    fn(kind, batch.Slice(off, len));
    off += len;
  }
  return Status::Ok();
}

}  // namespace rankflow::transport
