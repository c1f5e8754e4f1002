// RuntimeConfig: runtime options read from RANKFLOW_* environment variables.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/env_lookup.h"
#include "common/status.h"

namespace rankflow {

struct RuntimeConfig {
  // RANKFLOW_NUM_EXECUTORS; 0 = one per core of this rank's CPU share.
  int num_executors = 0;
  // RANKFLOW_DRIVER_RANK: the rank that runs the driver program.
  int driver_rank = 0;
  // RANKFLOW_LOG_LEVEL: trace debug info warn error critical off (any case;
  // "warning" and "err" are accepted as aliases).
  std::string log_level = "info";
  // RANKFLOW_RESOURCES="GPU:2,nvme:1": extra or overriding resources per rank.
  std::map<std::string, double> resources;
  // RANKFLOW_MAX_MESSAGE_BYTES, with optional suffix K, M or G ("64M").
  uint64_t max_message_bytes = 1ull << 30;
  // RANKFLOW_RNDV_THRESHOLD, same format; payloads above it use rendezvous.
  uint64_t rndv_threshold = 64 * 1024;
  // RANKFLOW_PIN_THREADS=0/1/true/false (also yes/no/on/off).
  bool pin_threads = true;
  // RANKFLOW_RANKS_PER_NODE: >0 splits the ranks of one host into virtual
  // nodes of this many ranks, to exercise the inter-node path on one host.
  int ranks_per_virtual_node = 0;
  // RANKFLOW_KEEP_MPI: do not MPI_Finalize after bootstrap.
  bool keep_mpi = false;
  // RANKFLOW_SPIN_US: busy-poll time before blocking on the wakeup fd.
  int spin_us = 250;
  // RANKFLOW_WAIT_SPIN_US: how long a thread waiting in Get, or an idle
  // executor, polls the network itself before sleeping (only when the rank
  // has cores of its own). Default 0: block at once. Spinning saves a few
  // microseconds per round trip on dedicated cores and costs a great deal
  // when threads outnumber cores.
  int wait_spin_us = 0;

  // The node's shared object store (docs/object-store.md).
  // RANKFLOW_STORE_BYTES: arena size per node; 0 = 30% of the node's memory
  // (or of the cgroup/Slurm limit), never more than /dev/shm has free.
  uint64_t store_bytes = 0;
  // RANKFLOW_INLINE_BYTES: objects below this size stay in the owner's heap
  // and travel inside messages; larger ones live in the store.
  uint64_t inline_bytes = 100 * 1024;
  // RANKFLOW_STORE_PREFAULT: allocate and map every page of the arena at
  // start-up (no page faults on put; costs the memory up front).
  bool store_prefault = false;
  // RANKFLOW_SPILL_DIR: where objects go when the store is full; default
  // $TMPDIR, else /tmp.
  std::string spill_dir;
  // RANKFLOW_CHECKSUM: objects sent between nodes carry a checksum that the
  // receiver verifies (a mismatch is retried, then reported).
  bool checksum = false;
  // RANKFLOW_FETCH_RESEND_MS: a Get of another rank's object whose answer
  // has not come for this long asks the owner again (doubling each time);
  // 0 never asks again.
  int fetch_resend_ms = 10'000;
  // RANKFLOW_SHM_LINKS: ranks of one host talk over UCX shared memory, and
  // watch each other's processes to notice a death (docs/architecture.md,
  // "Links"); 0: UCX's peer error handling on every link (with UCX 1.13 that
  // means TCP between ranks of one host).
  bool shm_links = true;
  // RANKFLOW_INLINE_TASK_US: a task whose function's recent runs took less
  // than this runs on the thread that received it, without a hand-off to an
  // executor (one per batch received); 0: never.
  int inline_task_us = 50;
  // RANKFLOW_EARLY_DISPATCH: a task whose inputs are mostly being computed on
  // one other rank is sent there before they exist; that rank keeps its own
  // results for it and the owner pushes the rest (docs/architecture.md).
  // "auto" (default): only to ranks on other nodes; 1: to any rank; 0: never.
  enum class EarlyDispatch { kOff, kOn, kOtherNodes };
  EarlyDispatch early_dispatch = EarlyDispatch::kOtherNodes;
};

// Reads every RANKFLOW_* option through `env`; unset or empty variables keep
// their defaults. Returns kInvalidArgument naming the variable and the bad
// value when one does not parse or is out of range.
Result<RuntimeConfig> ParseRuntimeConfig(const EnvLookup& env);

// Parses a byte count with an optional binary suffix K, M or G (either case,
// optionally followed by "B" or "iB"): "65536", "64K", "64MiB", "1G".
// Returns kInvalidArgument on malformed input or overflow.
Result<uint64_t> ParseByteSize(std::string_view text);

// Parses a resource list such as "GPU:2,nvme:1" into name -> amount.
// Amounts are finite, non-negative and may be fractional; names are unique.
Result<std::map<std::string, double>> ParseResourceList(std::string_view text);

}  // namespace rankflow
