// runtime/object_wire.h — messages of the distributed object store: borrowed
// references (add/release), fetches by non-owners, the data or location that
// answers them, and a holder telling the owner it has a copy. Flat,
// bounds-checked layouts like runtime/wire.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "rankflow/buffer.h"
#include "store/node_store.h"

namespace rankflow::runtime {

/// What a kObjectData message carries.
enum class DataForm : uint8_t {
  kBytes = 1,       // the object's bytes follow (optionally with a checksum)
  kStored = 2,      // a descriptor into the receiver's node store (a reference taken for it)
  kError = 3,       // the object failed or is gone
  kRedirect = 4,    // ask `holder` instead
  kMiss = 5,        // this holder no longer has a copy: ask the owner
};

/// kObjectHave: one object of the receiver.
void EncodeObjectSeq(std::vector<uint8_t>& out, uint64_t seq);
Status DecodeObjectSeq(const Buffer& msg, uint64_t* seq);
/// kObjectAddRef / kObjectRelease: one object of the receiver and the borrow
/// token (0: a reference counted in order).
void EncodeBorrow(std::vector<uint8_t>& out, uint64_t seq, uint64_t token);
Status DecodeBorrow(const Buffer& msg, uint64_t* seq, uint64_t* token);

/// kObjectFetch: please send object owner:seq; `direct` forbids a redirect.
struct FetchWire {
  uint32_t owner = 0;
  uint64_t seq = 0;
  bool direct = false;
};
void EncodeFetch(std::vector<uint8_t>& out, const FetchWire& f);
Status DecodeFetch(const Buffer& msg, FetchWire* out);

/// kObjectData: the answer to a fetch. For kBytes the bytes are the rest of
/// the message after the header that EncodeDataHeader writes.
struct DataWire {
  uint32_t owner = 0;
  uint64_t seq = 0;
  DataForm form = DataForm::kError;
  bool has_checksum = false;
  uint64_t checksum = 0;
  uint64_t size = 0;             // kBytes: declared size (checked against the bytes)
  store::Descriptor stored;      // kStored
  int32_t code = 0;              // kError
  std::string message;           // kError
  int32_t holder = -1;           // kRedirect
  Buffer bytes;                  // kBytes, decoded
};
void EncodeDataHeader(std::vector<uint8_t>& out, const DataWire& d);
Status DecodeData(const Buffer& msg, DataWire* out);

/// A fast 64-bit checksum of a byte range (for RANKFLOW_CHECKSUM).
uint64_t Checksum64(const uint8_t* data, size_t size);

}  // namespace rankflow::runtime
