#include "control/control_service.h"

#include "common/logging.h"

namespace rankflow::control {

ControlService::ControlService(int self_rank, int world_size, SendFn send)
    : self_rank_(self_rank), world_size_(world_size), send_(std::move(send)), seen_(world_size) {
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
      reply->set_ok(false);
      reply->set_error("an actor named " + where + " already exists");
    } else {
      names_[key] = req;
      reply->set_ok(true);
    }
  } else if (it == names_.end()) {
    reply->set_ok(false);
    reply->set_error("no actor named " + where);
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

void ControlService::OnRankDied(int rank) {
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
