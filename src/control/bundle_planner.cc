#include "control/bundle_planner.h"

#include <algorithm>
#include <set>

namespace rankflow::control {
namespace {

bool Fits(const Resources& free, const Resources& want) {
  for (const auto& [k, v] : want) {
    auto it = free.find(k);
    if ((it == free.end() ? 0.0 : it->second) + 1e-9 < v) return false;
  }
  return true;
}

void Take(Resources& free, const Resources& want) {
  for (const auto& [k, v] : want) free[k] -= v;
}

// Places bundles one by one; `rank_order(i, used_ranks, used_nodes)` lists
// candidate indexes into `ranks` for bundle i, best first.
template <typename Order>
Result<std::vector<int>> Greedy(const std::vector<Resources>& bundles, std::vector<RankRoom>& ranks,
                                Order rank_order) {
  std::vector<int> plan;
  std::vector<int> used_ranks;  // indexes into ranks, most recent last
  std::set<int> used_nodes;
  for (size_t b = 0; b < bundles.size(); ++b) {
    int chosen = -1;
    for (int i : rank_order(used_ranks, used_nodes)) {
      if (Fits(ranks[i].free, bundles[b])) {
        chosen = i;
        break;
      }
    }
    if (chosen < 0) {
      return Status{StatusCode::kInfeasible,
                    "bundle " + std::to_string(b) + " " + DescribeResources(bundles[b]) +
                        " finds no rank with room"};
    }
    Take(ranks[chosen].free, bundles[b]);
    plan.push_back(ranks[chosen].rank);
    used_ranks.push_back(chosen);
    used_nodes.insert(ranks[chosen].node);
  }
  return plan;
}

}  // namespace

std::string DescribeResources(const Resources& r) {
  std::string d = "{";
  for (const auto& [k, v] : r) {
    std::string num = std::to_string(v);
    num.erase(num.find_last_not_of('0') + 1);
    if (!num.empty() && num.back() == '.') num.pop_back();
    d += (d.size() > 1 ? ", " : "") + k + ": " + num;
  }
  return d + "}";
}

Result<std::vector<int>> PlanBundles(const std::vector<Resources>& bundles, int strategy,
                                     std::vector<RankRoom> ranks) {
  if (bundles.empty()) return Status{StatusCode::kInvalidArgument, "a placement group needs a bundle"};
  for (size_t b = 0; b < bundles.size(); ++b) {
    for (const auto& [k, v] : bundles[b]) {
      if (!(v >= 0)) {
        return Status{StatusCode::kInvalidArgument,
                      "bundle " + std::to_string(b) + " asks for " + std::to_string(v) + " " + k};
      }
    }
  }
  const int n = static_cast<int>(ranks.size());
  auto all = [n] {
    std::vector<int> v(n);
    for (int i = 0; i < n; ++i) v[i] = i;
    return v;
  };
  switch (static_cast<BundleStrategy>(strategy)) {
    case BundleStrategy::kPack:
      return Greedy(bundles, ranks, [&](const std::vector<int>& used, const std::set<int>& nodes) {
        std::vector<int> order(used.rbegin(), used.rend());
        for (int i : all()) if (nodes.count(ranks[i].node)) order.push_back(i);
        for (int i : all()) order.push_back(i);
        return order;
      });
    case BundleStrategy::kSpread:
      return Greedy(bundles, ranks, [&](const std::vector<int>& used, const std::set<int>& nodes) {
        std::vector<int> order;
        std::set<int> used_set(used.begin(), used.end());
        for (int i : all()) if (!nodes.count(ranks[i].node)) order.push_back(i);
        for (int i : all()) if (!used_set.count(i)) order.push_back(i);
        for (int i : all()) order.push_back(i);
        return order;
      });
    case BundleStrategy::kStrictSpread:
      return Greedy(bundles, ranks, [&](const std::vector<int>&, const std::set<int>& nodes) {
        std::vector<int> order;
        for (int i : all()) if (!nodes.count(ranks[i].node)) order.push_back(i);
        return order;
      });
    case BundleStrategy::kStrictPack: {
      std::set<int> nodes;
      for (const auto& r : ranks) nodes.insert(r.node);
      for (int node : nodes) {
        std::vector<RankRoom> room = ranks;
        auto plan = Greedy(bundles, room, [&](const std::vector<int>& used, const std::set<int>&) {
          std::vector<int> order(used.rbegin(), used.rend());
          for (int i : all()) if (room[i].node == node) order.push_back(i);
          return order;
        });
        if (plan.ok()) return plan;
      }
      return Status{StatusCode::kInfeasible, "no node has room for all " +
                                                 std::to_string(bundles.size()) + " bundles"};
    }
  }
  return Status{StatusCode::kInvalidArgument, "unknown placement strategy " + std::to_string(strategy)};
}

}  // namespace rankflow::control
