// rankflow/placement_group.h — bundles of resources reserved together.
//
//   auto pg = rankflow::CreatePlacementGroup({{{"CPU", 2}}, {{"CPU", 2}, {"GPU", 1}}},
//                                            rankflow::PlacementStrategy::kStrictSpread);
//   auto sim = rankflow::Actor(MakeSim).SetPlacementGroup(pg, 0).Remote();
//   auto learner = rankflow::Actor(MakeLearner).SetPlacementGroup(pg, 1).Remote();
//   ...
//   rankflow::RemovePlacementGroup(pg);
//
// Creation reserves every bundle on a rank, all or none, and returns once
// the control service has placed them (it throws kInfeasible when the job
// has no room now, naming why; it does not wait for room). Actors created in
// a bundle take their resources out of the bundle; tasks in a bundle run on
// its rank. Removing a group frees its reservations; actors already in it
// keep running.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rankflow {

/// Where the bundles go (as Ray's strategies).
enum class PlacementStrategy : int {
  kPack = 0,          ///< as few ranks and nodes as possible
  kSpread = 1,        ///< as many nodes, then ranks, as possible
  kStrictPack = 2,    ///< all on one node, or fail
  kStrictSpread = 3,  ///< each on a different node, or fail
};

/// Resources of one bundle, e.g. {{"CPU", 2}, {"GPU", 1}}.
using Bundle = std::map<std::string, double>;

class PlacementGroup {
 public:
  PlacementGroup() = default;
  PlacementGroup(uint32_t owner, uint64_t id, std::vector<int> ranks)
      : owner_(owner), id_(id), ranks_(std::move(ranks)) {}

  bool valid() const { return id_ != 0; }
  size_t num_bundles() const { return ranks_.size(); }
  /// The rank holding bundle `bundle` (throws kInvalidArgument out of range).
  int rank(size_t bundle) const;
  const std::vector<int>& ranks() const { return ranks_; }
  uint32_t owner() const { return owner_; }
  uint64_t id() const { return id_; }

 private:
  uint32_t owner_ = 0;
  uint64_t id_ = 0;
  std::vector<int> ranks_;
};

/// Reserves the bundles; see the header comment.
PlacementGroup CreatePlacementGroup(const std::vector<Bundle>& bundles,
                                    PlacementStrategy strategy = PlacementStrategy::kPack);
/// Frees the group's reservations (kNotFound if it was removed already).
void RemovePlacementGroup(const PlacementGroup& group);

}  // namespace rankflow
