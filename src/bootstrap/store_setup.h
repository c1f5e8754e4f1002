// bootstrap/store_setup.h — the node's shared object store, set up while MPI
// still runs: the node's first rank creates and formats the arena, the
// others map it, then the name is removed (the memory lives as long as a
// rank of the node maps it). Every rank also learns every rank's node.
#pragma once

#include <memory>
#include <vector>

#include "bootstrap/mpi_bootstrap.h"
#include "common/config.h"
#include "common/status.h"
#include "store/node_store.h"

namespace rankflow::bootstrap {

struct NodeStoreSetup {
  std::shared_ptr<store::NodeStore> store;
  std::vector<int> rank_nodes;  // node index of every rank
};

/// Collective over all ranks; fails on every rank if it fails on one.
Result<NodeStoreSetup> SetUpNodeStore(const BootstrapInfo& boot, const RuntimeConfig& config);
/// One process alone (embedded mode): a private arena.
Result<std::shared_ptr<store::NodeStore>> CreateLocalStore(const RuntimeConfig& config);
/// The arena size `config` asks for on this node.
uint64_t StoreCapacity(const RuntimeConfig& config);

}  // namespace rankflow::bootstrap
