#include "control/control_service.h"

#include "common/logging.h"
#include "control/bundle_planner.h"

namespace rankflow::control {

void SetError(proto::ActorNameReply& reply, StatusCode code, const std::string& message) {
  reply.set_ok(false);
  reply.set_code(static_cast<int32_t>(code));
  reply.set_error(message);
}

ControlService::ControlService(int self_rank, int world_size, SendFn send)
    : self_rank_(self_rank),
      world_size_(world_size),
      send_(std::move(send)),
      seen_(world_size),
      held_(world_size) {
  view_.set_control_rank(self_rank);
  for (int r = 0; r < world_size; ++r) {
    auto* e = view_.add_ranks();
    e->set_rank(r);
    e->set_alive(false);
  }
}

void ControlService::Handle(int source, const proto::ControlMessage& msg) {
  if (msg.has_register_rank()) {
    OnRegister(source, msg.register_rank());
  } else if (msg.has_actor_name()) {
    OnActorName(source, msg.actor_name());
  } else if (msg.has_actor_place()) {
    OnActorPlace(source, msg.actor_place());
  } else if (msg.has_actor_release()) {
    OnActorRelease(msg.actor_release());
  } else if (msg.has_group_create()) {
    OnGroupCreate(source, msg.group_create());
  } else if (msg.has_group_remove()) {
    OnGroupRemove(source, msg.group_remove());
  } else {
    RF_WARN("control service: unexpected message from rank {}", source);
  }
}

void ControlService::OnRegister(int source, const proto::RegisterRank& reg) {
  if (reg.rank() != source || source < 0 || source >= world_size_) {
    RF_ERROR("control service: rank {} registered as rank {}; ignored", source, reg.rank());
    return;
  }
  std::set<std::string> fns(reg.functions().begin(), reg.functions().end());
  if (registered_ == 0) {
    functions_ = fns;
  } else if (fns != functions_) {
    std::string diff;
    for (const auto& f : fns) if (!functions_.count(f)) diff += " +" + f;
    for (const auto& f : functions_) if (!fns.count(f)) diff += " -" + f;
    RF_ERROR("rank {} registered different functions than the first rank ({}); are all ranks "
             "running the same binary?", source, diff);
  }
  auto* e = view_.mutable_ranks(source);
  e->set_host(reg.host());
  e->set_node(reg.node());
  e->mutable_resources()->clear();
  for (const auto& [k, v] : reg.resources()) (*e->mutable_resources())[k] = v;
  e->set_alive(true);
  if (!seen_[source]) {
    seen_[source] = true;
    ++registered_;
  }
  if (complete()) Broadcast();
}

void ControlService::OnActorName(int source, const proto::ActorName& req) {
  proto::ControlMessage out;
  auto* reply = out.mutable_actor_name_reply();
  reply->set_request_id(req.request_id());
  auto key = std::make_pair(req.ns(), req.name());
  auto it = names_.find(key);
  std::string where = "'" + req.name() + "'" + (req.ns().empty() ? "" : " in namespace '" + req.ns() + "'");
  if (req.add()) {
    if (it != names_.end()) {
      SetError(*reply, StatusCode::kInvalidArgument, "an actor named " + where + " already exists");
    } else {
      names_[key] = req;
      reply->set_ok(true);
    }
  } else if (it == names_.end()) {
    SetError(*reply, StatusCode::kNotFound, "no actor named " + where);
  } else {
    reply->set_ok(true);
    reply->set_owner(it->second.owner());
    reply->set_seq(it->second.seq());
    reply->set_rank(it->second.rank());
    reply->set_type_name(it->second.type_name());
  }
  Status st = send_(source, out);
  if (!st.ok()) RF_WARN("control service: name reply to rank {}: {}", source, st.ToString());
}

void ControlService::Reply(int dest, const proto::ActorNameReply& reply) {
  proto::ControlMessage out;
  *out.mutable_actor_name_reply() = reply;
  Status st = send_(dest, out);
  if (!st.ok()) RF_WARN("control service: reply to rank {}: {}", dest, st.ToString());
}

void ControlService::OnActorPlace(int source, const proto::ActorPlace& req) {
  proto::ActorNameReply reply;
  reply.set_request_id(req.request_id());
  // As in Ray, an actor that names no resources holds none while it runs: it
  // goes round robin over live ranks. Named resources are held until it dies.
  std::map<std::string, double> want(req.resources().begin(), req.resources().end());
  auto key = std::make_pair(req.ns(), req.name());
  if (!req.name().empty() && names_.count(key)) {
    SetError(reply, StatusCode::kInvalidArgument, "an actor named '" + req.name() + "'" +
                    (req.ns().empty() ? "" : " in namespace '" + req.ns() + "'") + " already exists");
    return Reply(source, reply);
  }
  Reservation res{-1, want, req.name().empty() ? std::make_pair(std::string(), std::string()) : key};
  if (req.group_id() != 0) {
    if (!PlaceInGroup(req, reply)) return Reply(source, reply);
    res.rank = static_cast<int>(reply.rank());
    res.group = {req.group_owner(), req.group_id()};
    res.bundle = req.bundle();
  } else {
    res.rank = PickRank(req, want, reply);
    if (res.rank < 0) return Reply(source, reply);
    for (const auto& [k, v] : want) held_[res.rank][k] += v;
  }
  if (!req.name().empty()) {
    proto::ActorName entry;
    entry.set_ns(req.ns());
    entry.set_name(req.name());
    entry.set_type_name(req.type_name());
    entry.set_owner(req.owner());
    entry.set_seq(req.seq());
    entry.set_rank(static_cast<uint32_t>(res.rank));
    names_[key] = entry;
  }
  reservations_[{req.owner(), req.seq()}] = std::move(res);
  reply.set_ok(true);
  Reply(source, reply);
}

int ControlService::PickRank(const proto::ActorPlace& req, const std::map<std::string, double>& want,
                             proto::ActorNameReply& reply) {
  // Fits by total capacity (ever possible) and by what actors leave free (now).
  auto fits = [&](int r, bool free_only) {
    const auto& e = view_.ranks(r);
    if (!e.alive()) return false;
    for (const auto& [k, v] : want) {
      auto it = e.resources().find(k);
      double total = it == e.resources().end() ? 0 : it->second;
      double held = free_only && held_[r].count(k) ? held_[r].at(k) : 0;
      if (total - held + 1e-9 < v) return false;
    }
    return true;
  };
  int chosen = -1;
  bool ever = false;
  for (int i = 0; i < world_size_; ++i) {
    int r = req.rank() >= 0 ? req.rank() : static_cast<int>((place_cursor_ + i) % world_size_);
    if (r >= world_size_) break;
    ever = ever || fits(r, false);
    if (fits(r, true)) {
      chosen = r;
      break;
    }
    if (req.rank() >= 0) break;
  }
  if (chosen < 0) {
    SetError(reply, StatusCode::kInfeasible,
             ever ? "no rank has " + DescribeResources(want) + " free now: actors or placement groups hold it"
                  : "no rank can satisfy " + DescribeResources(want));
    return -1;
  }
  if (req.rank() < 0) place_cursor_ = static_cast<uint32_t>(chosen + 1);
  reply.set_rank(static_cast<uint32_t>(chosen));
  return chosen;
}

void ControlService::OnActorRelease(const proto::ActorRelease& rel) {
  auto it = reservations_.find({rel.owner(), rel.seq()});
  if (it == reservations_.end()) return;
  if (it->second.group.second != 0) {
    auto g = groups_.find(it->second.group);  // a removed group returned its room already
    if (g != groups_.end()) {
      for (const auto& [k, v] : it->second.resources) g->second.used[it->second.bundle][k] -= v;
    }
  } else {
    for (const auto& [k, v] : it->second.resources) held_[it->second.rank][k] -= v;
  }
  if (!it->second.name.second.empty()) names_.erase(it->second.name);
  reservations_.erase(it);
}

void ControlService::OnRankDied(int rank) {
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (it->second.rank == rank) {
      if (!it->second.name.second.empty()) names_.erase(it->second.name);
      it = reservations_.erase(it);
    } else {
      ++it;
    }
  }
  if (rank >= 0 && rank < world_size_) held_[rank].clear();
  if (rank < 0 || rank >= world_size_) return;
  view_.mutable_ranks(rank)->set_alive(false);
  if (complete()) Broadcast();
}

void ControlService::Broadcast() {
  view_.set_version(view_.version() + 1);
  proto::ControlMessage msg;
  *msg.mutable_view() = view_;
  for (int r = 0; r < world_size_; ++r) {
    if (!view_.ranks(r).alive()) continue;
    Status st = send_(r, msg);
    if (!st.ok()) RF_WARN("control service: view to rank {}: {}", r, st.ToString());
  }
}

}  // namespace rankflow::control
