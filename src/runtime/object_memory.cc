// Where object bytes live: the node store for large objects (filled in
// place, or copied once), the heap for small ones; eviction of cached
// copies and spilling of owned objects when the store is full; restoring.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "objects/ref_handle.h"
#include "runtime/object_wire.h"
#include "runtime/runtime.h"

namespace rankflow::runtime {

namespace {
[[noreturn]] void ThrowStatus(const Status& st) {
  throw Error(static_cast<ErrorCode>(st.code()), st.message());
}

Status WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return {StatusCode::kInternal, std::string("write: ") + std::strerror(errno)};
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status ReadAll(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return {StatusCode::kObjectLost, "spill file is truncated"};
    p += r;
    n -= static_cast<size_t>(r);
  }
  return Status::Ok();
}
}  // namespace

std::shared_ptr<internal::RefHandle> Runtime::Put(std::vector<uint8_t>&& bytes) {
  Buffer data;
  if (store_ && bytes.size() >= inline_bytes_) {
    auto w = AllocateInStore(bytes.size());
    if (!w.ok()) ThrowStatus(w.status());
    std::memcpy(w->data, bytes.data(), bytes.size());
    data = store::NodeStore::View(*w);
  } else {
    data = Buffer::FromVector(std::move(bytes));
  }
  auto contained = MakeContained(TakeExports());
  uint64_t seq = objects_->CreateReady(std::move(data), std::move(contained));
  return std::make_shared<internal::RefHandle>(
      internal::ObjectId{static_cast<uint32_t>(rank_), 0, seq}, objects_);
}

internal::WritableObject Runtime::CreateObject(uint64_t bytes) {
  if (bytes > config_.max_message_bytes && (!store_ || bytes > store_->capacity())) {
    ThrowStatus({StatusCode::kTooLarge,
                 "object of " + std::to_string(bytes) + " bytes is larger than the whole store (" +
                     std::to_string(store_ ? store_->capacity() : 0) +
                     " bytes; RANKFLOW_STORE_BYTES) and the message limit (RANKFLOW_MAX_MESSAGE_BYTES)"});
  }
  if (store_ && bytes >= inline_bytes_) {
    auto w = AllocateInStore(bytes);
    if (!w.ok()) ThrowStatus(w.status());
    return internal::WritableObject{w->data, bytes, std::move(w->pin)};
  }
  auto heap = std::make_shared<std::vector<uint8_t>>(bytes);
  return internal::WritableObject{heap->data(), bytes, heap};
}

std::shared_ptr<internal::RefHandle> Runtime::SealObject(internal::WritableObject&& object) {
  if (object.keep == nullptr) {
    ThrowStatus({StatusCode::kInvalidArgument, "sealing an object that was already sealed"});
  }
  Buffer data = Buffer::View(object.data, object.size, std::move(object.keep));
  object = {};
  uint64_t seq = objects_->CreateReady(std::move(data));
  return std::make_shared<internal::RefHandle>(
      internal::ObjectId{static_cast<uint32_t>(rank_), 0, seq}, objects_);
}

Result<store::NodeStore::Writable> Runtime::AllocateInStore(uint64_t bytes) {
  bool full = false;
  auto w = store_->Allocate(bytes, &full);
  if (w.ok() || !full) return w;
  std::lock_guard<std::mutex> lock(spill_mu_);  // one rank frees space at a time
  for (int round = 0; round < 2; ++round) {
    // Cached copies first (they can be fetched again), then owned objects.
    while (EvictCached()) {
      w = store_->Allocate(bytes, &full);
      if (w.ok()) return w;
    }
    while (SpillOwned()) {
      w = store_->Allocate(bytes, &full);
      if (w.ok()) return w;
    }
  }
  return Status(StatusCode::kTooLarge,
                "the object store is full: " + std::to_string(bytes) + " bytes needed, " +
                    std::to_string(store_->used()) + " of " + std::to_string(store_->capacity()) +
                    " bytes held by objects in use on this node (RANKFLOW_STORE_BYTES)");
}

bool Runtime::CopyIntoStore(const Buffer& data, Buffer* out) {
  if (!store_ || data.size() < inline_bytes_) return false;
  store::Descriptor d;
  if (store_->Describe(data, &d)) {
    *out = data;
    return true;
  }
  auto w = AllocateInStore(data.size());
  if (!w.ok()) return false;
  std::memcpy(w->data, data.data(), data.size());
  *out = store::NodeStore::View(*w);
  return true;
}

Status Runtime::Materialize(uint64_t seq, objects::ObjectValue* value) {
  if (!value->spilled) return Status::Ok();
  std::shared_ptr<const objects::SpillFile> file = value->spilled;
  int fd = open(file->path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return {StatusCode::kObjectLost, "object " + std::to_string(rank_) + ":" + std::to_string(seq) +
                                         " was spilled to " + file->path +
                                         ", which cannot be read: " + std::strerror(errno)};
  }
  // Back into the store if it fits, else into the heap: a read must not fail for space.
  store::NodeStore::Writable w;
  if (store_ && file->size >= inline_bytes_) {
    auto a = AllocateInStore(file->size);
    if (a.ok()) w = std::move(*a);
  }
  if (w.data == nullptr) {
    auto heap = std::make_shared<std::vector<uint8_t>>(file->size);
    w = store::NodeStore::Writable{heap->data(), file->size, heap};
  }
  Status st = ReadAll(fd, w.data, file->size);
  close(fd);
  if (st.ok() && Checksum64(w.data, file->size) != file->checksum) {
    st = Status(StatusCode::kObjectLost, "spill file " + file->path + " is corrupt (checksum)");
  }
  if (!st.ok()) return st;
  objects::ObjectValue restored = objects::ValueOf(store::NodeStore::View(w));
  objects_->ReplaceValue(seq, nullptr, file.get(), restored);
  counters_.objects_restored.fetch_add(1);
  *value = std::move(restored);
  return Status::Ok();
}

bool Runtime::SpillOwned() {
  if (!store_) return false;
  for (auto& [seq, value] : objects_->ReadyByAge()) {
    if (value.spilled || value.data.size() < inline_bytes_) continue;
    // Only objects nobody reads right now: the table's Buffer and this copy
    // are the only local holders, and no other rank of the node maps it.
    if (store_->SharedRefs(value.data) != 1 || value.data.owner().use_count() != 2) continue;
    auto file = std::make_shared<objects::SpillFile>();
    file->path = config_.spill_dir + "/rankflow-" + std::to_string(getpid()) + "-" +
                 std::to_string(seq) + "-" + std::to_string(spill_files_.fetch_add(1)) + ".obj";
    file->size = value.data.size();
    file->checksum = Checksum64(value.data.data(), value.data.size());
    int fd = open(file->path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      RF_WARN("cannot spill to {}: {} (RANKFLOW_SPILL_DIR)", file->path, std::strerror(errno));
      file->path.clear();
      return false;
    }
    Status st = WriteAll(fd, value.data.data(), value.data.size());
    close(fd);
    if (!st.ok()) {
      RF_WARN("spilling object {} to {}: {}", seq, file->path, st.ToString());
      return false;  // ~SpillFile removes the partial file
    }
    const uint8_t* was = value.data.data();
    objects::ObjectValue spilled;
    spilled.spilled = file;
    if (!objects_->ReplaceValue(seq, was, nullptr, spilled)) continue;
    counters_.objects_spilled.fetch_add(1);
    RF_DEBUG("spilled object {} ({} bytes) to {}", seq, file->size, file->path);
    value = objects::ObjectValue{};  // the last pin: the block is free now
    return true;                     // the caller retries its allocation after each one
  }
  return false;
}

Buffer Runtime::StoredArgument(uint64_t data_off, uint64_t size) {
  if (!store_ || data_off > store_->segment().size() ||
      size > store_->segment().size() - data_off) {
    throw Error(ErrorCode::kMalformed, "argument names bytes outside this node's object store");
  }
  return Buffer::View(store_->segment().base() + data_off, size, nullptr);
}

}  // namespace rankflow::runtime
