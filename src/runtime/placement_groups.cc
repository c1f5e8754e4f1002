// Placement groups on the calling side: a request to the control service,
// which plans and reserves the bundles (control/placement_groups.cc).
#include "rankflow/errors.h"
#include "rankflow/placement_group.h"
#include "runtime/runtime.h"

namespace rankflow {

int PlacementGroup::rank(size_t bundle) const {
  if (bundle >= ranks_.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "bundle " + std::to_string(bundle) + " of a placement group of " +
                    std::to_string(ranks_.size()) + (valid() ? "" : " (an empty PlacementGroup)"));
  }
  return ranks_[bundle];
}

PlacementGroup CreatePlacementGroup(const std::vector<Bundle>& bundles, PlacementStrategy strategy) {
  return runtime::Runtime::CurrentOrThrow().CreatePlacementGroup(bundles, strategy);
}

void RemovePlacementGroup(const PlacementGroup& group) {
  runtime::Runtime::CurrentOrThrow().RemovePlacementGroup(group);
}

namespace runtime {

PlacementGroup Runtime::CreatePlacementGroup(const std::vector<Bundle>& bundles,
                                             PlacementStrategy strategy) {
  const uint64_t id = next_group_id_.fetch_add(1);
  const int64_t request = next_request_.fetch_add(1);
  proto::ControlMessage msg;
  auto* req = msg.mutable_group_create();
  req->set_request_id(request);
  req->set_owner(static_cast<uint32_t>(rank_));
  req->set_id(id);
  req->set_strategy(static_cast<int>(strategy));
  for (const auto& b : bundles) {
    auto* pb = req->add_bundles();
    for (const auto& [k, v] : b) (*pb->mutable_resources())[k] = v;
  }
  proto::ActorNameReply reply = ControlCall(std::move(msg), request);
  if (!reply.ok()) {
    throw Error(static_cast<ErrorCode>(CodeOf(reply, StatusCode::kInfeasible)),
                "CreatePlacementGroup: " + reply.error());
  }
  return PlacementGroup(static_cast<uint32_t>(rank_), id,
                        std::vector<int>(reply.ranks().begin(), reply.ranks().end()));
}

void Runtime::RemovePlacementGroup(const PlacementGroup& group) {
  if (!group.valid()) throw Error(ErrorCode::kInvalidArgument, "RemovePlacementGroup: an empty PlacementGroup");
  const int64_t request = next_request_.fetch_add(1);
  proto::ControlMessage msg;
  auto* req = msg.mutable_group_remove();
  req->set_request_id(request);
  req->set_owner(group.owner());
  req->set_id(group.id());
  proto::ActorNameReply reply = ControlCall(std::move(msg), request);
  if (!reply.ok()) {
    throw Error(static_cast<ErrorCode>(CodeOf(reply, StatusCode::kNotFound)),
                "RemovePlacementGroup: " + reply.error());
  }
}

}  // namespace runtime
}  // namespace rankflow
