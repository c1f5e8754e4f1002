// control/bundle_planner.h — where the bundles of a placement group go.
//
// Given each rank's free resources and a strategy, picks one rank per bundle
// so that every bundle fits, all or none (nothing is reserved here; the
// control service reserves the plan). Greedy, bundle by bundle, in order:
//   pack         ranks the group already uses first, then ranks of its nodes, then any
//   spread       ranks of nodes the group does not use yet first, then unused ranks, then any
//   strict pack  every bundle on the ranks of one node (the first node where all fit)
//   strict spread every bundle on a different node
// Pure: no I/O, no locks; unit-tested on its own.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace rankflow::control {

using Resources = std::map<std::string, double>;

enum class BundleStrategy : int { kPack = 0, kSpread = 1, kStrictPack = 2, kStrictSpread = 3 };

struct RankRoom {
  int rank = 0;
  int node = 0;
  Resources free;  // what is not reserved
};

/// One rank per bundle, or kInfeasible naming the bundle that found no room.
/// kInvalidArgument for an empty group, a negative amount or an unknown strategy.
Result<std::vector<int>> PlanBundles(const std::vector<Resources>& bundles, int strategy,
                                     std::vector<RankRoom> ranks);

/// "{CPU: 2, GPU: 1}".
std::string DescribeResources(const Resources& r);

}  // namespace rankflow::control
