#include "store/node_store.h"

namespace rankflow::store {

struct NodeStore::Pin {
  std::shared_ptr<NodeStore> store;
  uint64_t block;
  ~Pin() {
    {
      std::lock_guard<std::mutex> lock(store->mu_);
      store->pins_.erase(this);
    }
    store->arena_.Unref(block);
  }
};

Result<std::shared_ptr<NodeStore>> NodeStore::Create(std::shared_ptr<ShmSegment> segment,
                                                     bool format, uint32_t rank) {
  if (format) {
    Status st = Arena::Format(segment->base(), segment->size());
    if (!st.ok()) return st;
  }
  auto arena = Arena::Attach(segment->base(), segment->size());
  if (!arena.ok()) return arena.status();
  return std::shared_ptr<NodeStore>(new NodeStore(std::move(segment), *arena, rank));
}

std::shared_ptr<const void> NodeStore::MakePin(uint64_t block) {
  auto pin = std::make_shared<Pin>();
  pin->store = shared_from_this();
  pin->block = block;
  std::lock_guard<std::mutex> lock(mu_);
  pins_[pin.get()] = block;
  return pin;
}

Result<NodeStore::Writable> NodeStore::Allocate(uint64_t bytes, bool* full) {
  auto a = arena_.Allocate(bytes, rank_, full);
  if (!a.ok()) return a.status();
  return Writable{a->data, bytes, MakePin(a->block)};
}

bool NodeStore::BlockOf(const Buffer& b, uint64_t* block) const {
  const void* owner = b.owner().get();
  if (owner == nullptr) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pins_.find(owner);
  if (it == pins_.end()) return false;
  *block = it->second;
  return true;
}

bool NodeStore::Describe(const Buffer& b, Descriptor* out) const {
  uint64_t block;
  if (!BlockOf(b, &block)) return false;
  out->block = block;
  out->data_off = static_cast<uint64_t>(b.data() - segment_->base());
  out->size = b.size();
  return true;
}

void NodeStore::AddRef(const Descriptor& d) { arena_.Ref(d.block); }

Result<Buffer> NodeStore::Adopt(const Descriptor& d) {
  // Written so that no sum can wrap: the values come from another process.
  const bool live = arena_.IsLiveBlock(d.block);
  const uint64_t first = live ? d.block + Arena::kBlockHeader : 0;
  const uint64_t cap = live ? arena_.DataCapacity(d.block) : 0;
  if (!live || d.data_off < first || d.size > cap || d.data_off - first > cap - d.size) {
    return Status(StatusCode::kMalformed,
                  "object descriptor (block " + std::to_string(d.block) + ", " +
                      std::to_string(d.size) + " bytes) does not name a live block of this node's store");
  }
  return Buffer::View(segment_->base() + d.data_off, d.size, MakePin(d.block));
}

int32_t NodeStore::SharedRefs(const Buffer& b) const {
  uint64_t block;
  if (!BlockOf(b, &block)) return 0;
  return arena_.RefCount(block);
}

}  // namespace rankflow::store
