// scheduler/placement.h — choosing the rank that runs a task.
//
// The owner places its own tasks (direct task transport) from its cached
// copy of the cluster view: among live ranks whose capacity covers the
// request, the one with the fewest of this owner's tasks outstanding per CPU,
// scanning from a rotating start so a fan-out spreads over all ranks. A
// request no rank can ever satisfy is reported as kInfeasible at once.
// Thread safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/status.h"

namespace rankflow::scheduler {

using ResourceMap = std::map<std::string, double>;

struct RankCapacity {
  int rank = 0;
  int node = 0;
  bool alive = true;
  ResourceMap resources;  // totals, e.g. {"CPU": 4, "GPU": 1}
};

class Placement {
 public:
  explicit Placement(int world_size);

  /// Replaces the view (on each broadcast from the control service).
  void Update(std::vector<RankCapacity> ranks);
  void MarkDead(int rank);

  /// Picks a rank for `demand` (empty: {"CPU": 1}); `affinity` >= 0 demands that rank.
  Result<int> Pick(const ResourceMap& demand, int affinity);
  void OnDispatched(int rank) { outstanding_[rank].fetch_add(1, std::memory_order_relaxed); }
  void OnFinished(int rank) { outstanding_[rank].fetch_sub(1, std::memory_order_relaxed); }
  int Outstanding(int rank) const { return outstanding_[rank].load(std::memory_order_relaxed); }

 private:
  static bool Fits(const RankCapacity& r, const ResourceMap& demand);
  static std::string Describe(const ResourceMap& demand);

  const int world_size_;
  mutable std::shared_mutex mu_;
  std::vector<RankCapacity> ranks_;
  std::vector<int> default_feasible_;  // ranks fitting {"CPU": 1}
  std::vector<double> cpus_;           // per rank: its CPUs (at least 1), for loads
  std::unique_ptr<std::atomic<int>[]> outstanding_;
  std::atomic<uint32_t> cursor_{0};
};

}  // namespace rankflow::scheduler
