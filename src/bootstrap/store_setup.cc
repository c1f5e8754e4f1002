#include "bootstrap/store_setup.h"

#include <cstdio>

#include "common/logging.h"

namespace rankflow::bootstrap {

uint64_t StoreCapacity(const RuntimeConfig& config) {
  uint64_t want = config.store_bytes;
  if (want == 0) want = store::NodeMemoryLimitBytes() / 10 * 3;
  uint64_t shm = store::ShmAvailableBytes();
  if (config.store_bytes == 0 && shm > 0 && want > shm / 10 * 9) want = shm / 10 * 9;
  return want;
}

Result<std::shared_ptr<store::NodeStore>> CreateLocalStore(const RuntimeConfig& config) {
  auto seg = store::ShmSegment::CreatePrivate(StoreCapacity(config), config.store_prefault);
  if (!seg.ok()) return seg.status();
  if (config.store_prefault) (*seg)->Prefault();
  return store::NodeStore::Create(*seg, true, 0);
}

namespace {
// Collective: fails on every rank when `mine` failed on any (each rank
// reports its own error, the others name the failing rank).
Status AllSucceeded(const Status& mine, int size, const char* what) {
  auto flags = MpiBootstrap::AllGatherInt(mine.ok() ? 1 : 0);
  if (!flags.ok()) return flags.status();
  for (int r = 0; r < size; ++r) {
    if ((*flags)[r] == 0) {
      return mine.ok() ? Status(StatusCode::kInternal,
                                "rank " + std::to_string(r) + " could not " + what)
                       : mine;
    }
  }
  return Status::Ok();
}
}  // namespace

Result<NodeStoreSetup> SetUpNodeStore(const BootstrapInfo& boot, const RuntimeConfig& config) {
  char name[96];
  std::snprintf(name, sizeof(name), "/rankflow-%02x%02x%02x%02x%02x%02x%02x%02x-n%d",
                boot.token[0], boot.token[1], boot.token[2], boot.token[3], boot.token[4],
                boot.token[5], boot.token[6], boot.token[7], boot.node);
  const bool leader = boot.local_rank == 0;
  Status mine;
  std::shared_ptr<store::ShmSegment> seg;
  if (leader) {
    auto s = store::ShmSegment::Create(name, StoreCapacity(config), config.store_prefault);
    if (s.ok()) {
      seg = *s;
      mine = store::Arena::Format(seg->base(), seg->size());
    } else {
      mine = s.status();
    }
  }
  // Everyone learns every rank's node and whether every leader succeeded.
  auto nodes = MpiBootstrap::AllGatherInt(boot.node);
  if (!nodes.ok()) return nodes.status();
  Status st = AllSucceeded(mine, boot.size, "create its node's object store");
  if (!st.ok()) return st;
  if (!leader) {
    auto s = store::ShmSegment::Open(name);
    if (s.ok()) {
      seg = *s;
    } else {
      mine = s.status();
    }
  }
  st = AllSucceeded(mine, boot.size, "map its node's object store");
  if (leader && seg) seg->Unlink();  // every rank has mapped it (or failed)
  if (!st.ok()) return st;
  if (config.store_prefault) seg->Prefault();
  auto store = store::NodeStore::Create(seg, false, static_cast<uint32_t>(boot.rank));
  if (!store.ok()) return store.status();
  RF_DEBUG("object store {}: {} bytes", name, seg->size());
  return NodeStoreSetup{*store, std::move(*nodes)};
}

}  // namespace rankflow::bootstrap
