// transport/framing.h — how a batch of messages is laid out on the wire.
//
// Network message = header (magic, version, source rank, job token) + frames.
// Frame = [u32 length][u16 kind][length bytes]. The header travels as the UCX
// active-message header; frames as its data. Parsing never trusts a length.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/status.h"
#include "transport/transport.h"

namespace rankflow::transport {

using JobToken = std::array<uint8_t, 16>;

struct WireHeader {
  uint32_t magic = kMagic;
  uint16_t version = kVersion;
  uint16_t flags = 0;
  int32_t source = -1;
  uint32_t reserved = 0;
  JobToken token{};

  static constexpr uint32_t kMagic = 0x52464c57;  // "RFLW"
  static constexpr uint16_t kVersion = 1;
};

constexpr size_t kFrameHeaderBytes = sizeof(uint32_t) + sizeof(uint16_t);

/// Appends one frame to `batch`.
void AppendFrame(std::vector<uint8_t>& batch, MessageKind kind, const uint8_t* data, size_t size);

/// Checks a header: magic, version, source range and token (constant time).
Status CheckHeader(const void* header, size_t header_size, const JobToken& token, int world_size,
                   int* source);

/// Splits `batch` into frames, calling `fn` for each; stops at the first
/// malformed or oversize frame and returns why.
Status ForEachFrame(const Buffer& batch, uint64_t max_frame,
                    const std::function<void(MessageKind, Buffer)>& fn);

}  // namespace rankflow::transport
