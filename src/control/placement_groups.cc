// ControlService: placement groups (create, remove, actors in bundles).
#include "common/logging.h"
#include "control/bundle_planner.h"
#include "control/control_service.h"

namespace rankflow::control {

void ControlService::OnGroupCreate(int source, const proto::PlacementGroupCreate& req) {
  proto::ActorNameReply reply;
  reply.set_request_id(req.request_id());
  const GroupKey key{req.owner(), req.id()};
  std::vector<Resources> bundles;
  for (const auto& b : req.bundles()) bundles.emplace_back(b.resources().begin(), b.resources().end());
  std::vector<RankRoom> free, total;
  for (int r = 0; r < world_size_; ++r) {
    const auto& e = view_.ranks(r);
    if (!e.alive()) continue;
    RankRoom room{r, e.node(), Resources(e.resources().begin(), e.resources().end())};
    total.push_back(room);
    for (const auto& [k, v] : held_[r]) room.free[k] -= v;
    free.push_back(std::move(room));
  }
  auto plan = groups_.count(key) ? Result<std::vector<int>>(Status{StatusCode::kInvalidArgument,
                                                                   "placement group exists"})
                                 : PlanBundles(bundles, req.strategy(), std::move(free));
  if (!plan.ok()) {
    // Would it fit with nothing reserved? Then it is "not now", else "never".
    const bool ever = plan.status().code() == StatusCode::kInfeasible &&
                      PlanBundles(bundles, req.strategy(), std::move(total)).ok();
    SetError(reply, plan.status().code(),
             plan.status().message() + (ever ? " free now (actors or placement groups hold it)" : ""));
    return Reply(source, reply);
  }
  Group g;
  g.ranks = *plan;
  g.bundles = bundles;
  g.used.resize(bundles.size());
  for (size_t b = 0; b < bundles.size(); ++b) {
    for (const auto& [k, v] : bundles[b]) held_[g.ranks[b]][k] += v;
    reply.add_ranks(static_cast<uint32_t>(g.ranks[b]));
  }
  groups_[key] = std::move(g);
  reply.set_ok(true);
  Reply(source, reply);
}

void ControlService::OnGroupRemove(int source, const proto::PlacementGroupRemove& req) {
  proto::ActorNameReply reply;
  reply.set_request_id(req.request_id());
  auto it = groups_.find({req.owner(), req.id()});
  if (it == groups_.end()) {
    SetError(reply, StatusCode::kNotFound,
             "no placement group " + std::to_string(req.owner()) + ":" + std::to_string(req.id()) +
                 " (already removed?)");
    return Reply(source, reply);
  }
  const Group& g = it->second;
  for (size_t b = 0; b < g.bundles.size(); ++b) {
    for (const auto& [k, v] : g.bundles[b]) held_[g.ranks[b]][k] -= v;
  }
  groups_.erase(it);
  reply.set_ok(true);
  Reply(source, reply);
}

bool ControlService::PlaceInGroup(const proto::ActorPlace& req, proto::ActorNameReply& reply) {
  auto it = groups_.find({req.group_owner(), req.group_id()});
  if (it == groups_.end()) {
    SetError(reply, StatusCode::kInfeasible, "its placement group was removed");
    return false;
  }
  Group& g = it->second;
  if (req.bundle() < 0 || req.bundle() >= static_cast<int>(g.bundles.size())) {
    SetError(reply, StatusCode::kInvalidArgument, "bundle " + std::to_string(req.bundle()) + " of a group of " +
                    std::to_string(g.bundles.size()));
    return false;
  }
  const int b = req.bundle();
  if (!view_.ranks(g.ranks[b]).alive()) {
    SetError(reply, StatusCode::kInfeasible,
             "bundle " + std::to_string(b) + "'s rank " + std::to_string(g.ranks[b]) + " died");
    return false;
  }
  for (const auto& [k, v] : req.resources()) {
    auto have = g.bundles[b].find(k);
    const double room = (have == g.bundles[b].end() ? 0.0 : have->second) - g.used[b][k];
    if (room + 1e-9 < v) {
      SetError(reply, StatusCode::kInfeasible, "bundle " + std::to_string(b) + " " + DescribeResources(g.bundles[b]) +
                      " has " + std::to_string(room) + " " + k + " left, the actor asks for " +
                      std::to_string(v));
      return false;
    }
  }
  for (const auto& [k, v] : req.resources()) g.used[b][k] += v;
  reply.set_rank(static_cast<uint32_t>(g.ranks[b]));
  return true;
}

}  // namespace rankflow::control
