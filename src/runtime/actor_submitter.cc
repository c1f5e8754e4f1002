// The caller's side of actors: creation (placed like a task), method calls in
// per-caller order, kill, and named lookup through the control service.
#include <chrono>

#include "actors/actor_wire.h"
#include "common/logging.h"
#include "objects/ref_handle.h"
#include "runtime/registry.h"
#include "runtime/runtime.h"
#include "runtime/wire.h"

namespace rankflow::runtime {

struct Runtime::PendingCall {
  internal::ActorId actor;
  uint64_t result_seq = 0;
  uint64_t call_seq = 0;
  const std::string* method = nullptr;
  std::string display;
  uint32_t num_args = 0;
  std::vector<uint8_t> args;
  std::vector<std::shared_ptr<internal::RefHandle>> refs;
  std::atomic<int> unresolved{0};
};

namespace {
[[noreturn]] void Throw(StatusCode code, const std::string& message) {
  throw Error(static_cast<ErrorCode>(code), message);
}
}  // namespace

Status Runtime::SendOrHandleLocally(int target, uint16_t kind, std::vector<uint8_t>&& msg) {
  if (target == rank_) {
    OnActorMessage(rank_, kind, Buffer::FromVector(std::move(msg)));
    return Status::Ok();
  }
  if (!transport_) return {StatusCode::kNotFound, "no rank " + std::to_string(target)};
  return transport_->Send(target, kind, std::move(msg));
}

void Runtime::OnActorMessage(int source, uint16_t kind, const Buffer& msg) {
  Status st;
  switch (kind) {
    case kActorCreate: st = actors_->OnCreate(msg); break;
    case kActorCall: st = actors_->OnCall(msg); break;
    case kActorKill: st = actors_->OnKill(msg); break;
    default: st = {StatusCode::kMalformed, "unknown actor message"};
  }
  if (!st.ok()) {
    if (st.code() == StatusCode::kMalformed) counters_.messages_malformed.fetch_add(1);
    RF_WARN("actor message from rank {}: {}", source, st.ToString());
  }
}

internal::ActorId Runtime::CreateActor(const std::string* factory,
                                       const internal::ActorOptions& options, uint32_t num_args,
                                       std::vector<uint8_t>&& args,
                                       std::vector<std::shared_ptr<internal::RefHandle>>&& refs) {
  if (options.max_concurrency < 1) Throw(StatusCode::kInvalidArgument, "SetMaxConcurrency needs n >= 1");
  if (!args.empty()) TakeExports();  // adopted by the factory's one decode
  std::vector<uint8_t> resolved;
  if (!refs.empty()) {
    // Creation is rare: wait for ObjectRef arguments here.
    for (auto& r : refs) {
      if (r == nullptr) Throw(StatusCode::kInvalidArgument, "an ObjectRef argument is empty");
      r = LocalizeRef(r);
      auto v = Get(r->id(), -1);
      if (!v.ok()) Throw(v.status().code(), "actor argument: " + v.status().message());
    }
    Status st = ResolveArgs(args, refs, false, resolved, nullptr);
    if (!st.ok()) Throw(st.code(), "actor argument: " + st.message());
    args.swap(resolved);
  }
  // The control service places actors: it reserves the actor's resources on
  // the chosen rank (and its name) until the actor dies.
  const uint64_t seq = next_actor_seq_.fetch_add(1);
  proto::ControlMessage place_msg;
  auto* place = place_msg.mutable_actor_place();
  for (const auto& [k, v] : options.resources) (*place->mutable_resources())[k] = v;
  place->set_rank(options.rank);
  place->set_ns(options.ns);
  place->set_name(options.name);
  const runtime::FunctionEntry* f = runtime::FindFunction(*factory);
  place->set_type_name(f ? f->type_name : "");
  place->set_owner(static_cast<uint32_t>(rank_));
  place->set_seq(seq);
  place->set_group_owner(options.group_owner);
  place->set_group_id(options.group_id);
  place->set_bundle(options.bundle);
  const int64_t request = next_request_.fetch_add(1);
  place->set_request_id(request);
  proto::ActorNameReply placed = ControlCall(std::move(place_msg), request);
  if (!placed.ok()) {
    Throw(CodeOf(placed, StatusCode::kInfeasible),
          "actor '" + (options.name.empty() ? *factory : options.name) + "': " + placed.error());
  }
  internal::ActorId id{static_cast<uint32_t>(rank_), placed.rank(), seq};
  const int target = static_cast<int>(placed.rank());
  std::vector<uint8_t> msg;
  // Short calls may run on the thread that receives them if the caller
  // asked, never for an actor that holds a GPU (a CUDA device is per thread).
  auto gpu = options.resources.find("GPU");
  const bool inline_calls =
      options.inline_calls && (gpu == options.resources.end() || gpu->second <= 0);
  actors::EncodeCreate(msg, actors::ActorKey{id.owner, id.seq}, *factory, options.name,
                       options.max_concurrency, inline_calls, num_args, args);
  Status st = SendOrHandleLocally(target, kActorCreate, std::move(msg));
  if (!st.ok()) Throw(st.code(), "creating actor '" + *factory + "': " + st.message());
  return id;
}

std::shared_ptr<internal::RefHandle> Runtime::CallActor(
    const internal::ActorId& actor, const std::string* method, const std::string& display,
    uint32_t num_args, std::vector<uint8_t>&& args,
    std::vector<std::shared_ptr<internal::RefHandle>>&& refs) {
  if (!args.empty()) TakeExports();  // adopted by the call's one decode
  uint64_t seq = objects_->CreatePending();
  auto handle = std::make_shared<internal::RefHandle>(
      internal::ObjectId{static_cast<uint32_t>(rank_), 0, seq}, objects_);
  auto call = std::make_shared<PendingCall>();
  call->actor = actor;
  call->result_seq = seq;
  call->method = method;
  call->display = display.empty() ? *method : display;
  call->num_args = num_args;
  call->args = std::move(args);
  call->refs = std::move(refs);
  {
    std::lock_guard<std::mutex> lock(actor_mu_);
    call->call_seq = call_seq_[{actor.owner, actor.seq}]++;
  }
  for (auto& ref : call->refs) {
    if (ref == nullptr) {
      call->refs.clear();
      call->args.clear();
      call->method = nullptr;  // send a skip so later calls are not held back
      FailObject(seq, StatusCode::kInvalidArgument, "an ObjectRef argument is empty",
                 call->display);
      SendCall(call);
      return handle;
    }
    ref = LocalizeRef(ref);
  }
  if (call->refs.empty()) {
    SendCall(call);
    return handle;
  }
  call->unresolved.store(static_cast<int>(call->refs.size()) + 1);
  for (const auto& ref : call->refs) {
    objects_->OnReady(ref->id().seq, [this, call](const objects::ObjectValue&) {
      if (call->unresolved.fetch_sub(1) == 1) SendCall(call);
    });
  }
  if (call->unresolved.fetch_sub(1) == 1) SendCall(call);
  return handle;
}

void Runtime::SendCall(const std::shared_ptr<PendingCall>& call) {
  const actors::ActorKey key{call->actor.owner, call->actor.seq};
  const int target = static_cast<int>(call->actor.rank);
  bool skip = call->method == nullptr;
  std::vector<uint8_t> resolved;
  const std::vector<uint8_t>* args = &call->args;
  std::vector<Buffer> keep;
  if (!skip && !call->refs.empty()) {
    // To another rank of this node: large arguments as store locations,
    // held until the result comes back.
    const bool by_location = target != rank_ && SameNode(target);
    Status st = ResolveArgs(call->args, call->refs, by_location, resolved, &keep);
    if (!st.ok()) {
      FailObject(call->result_seq, st.code(), st.message(), call->display);
      skip = true;
    }
    args = &resolved;
  }
  std::vector<uint8_t> msg;
  static const std::vector<uint8_t> kNone;
  actors::EncodeCall(msg, static_cast<uint32_t>(rank_), call->result_seq, key, call->call_seq, skip,
                     skip ? "" : *call->method, call->display, call->num_args, skip ? kNone : *args);
  if (!skip && msg.size() > config_.max_message_bytes) {
    FailObject(call->result_seq, StatusCode::kTooLarge,
               "actor call of " + std::to_string(msg.size()) + " bytes is above the limit of " +
                   std::to_string(config_.max_message_bytes) + " (RANKFLOW_MAX_MESSAGE_BYTES)",
               call->display);
    msg.clear();
    actors::EncodeCall(msg, static_cast<uint32_t>(rank_), call->result_seq, key, call->call_seq,
                       true, "", call->display, 0, kNone);
    skip = true;
  }
  if (!skip && target != rank_) {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    inflight_[call->result_seq] = InFlight{
        target, false,
        keep.empty() ? nullptr : std::make_shared<const std::vector<Buffer>>(std::move(keep))};
  }
  Status st = SendOrHandleLocally(target, kActorCall, std::move(msg));
  if (!st.ok() && !skip) {
    {
      std::lock_guard<std::mutex> lock(inflight_mu_);
      inflight_.erase(call->result_seq);
    }
    FailObject(call->result_seq, st.code() == StatusCode::kRankDied ? StatusCode::kActorDied : st.code(),
               "actor on rank " + std::to_string(target) + " unreachable: " + st.message(),
               call->display);
  }
}

void Runtime::KillActor(const internal::ActorId& actor) {
  std::vector<uint8_t> msg;
  actors::EncodeKill(msg, actors::ActorKey{actor.owner, actor.seq});
  Status st = SendOrHandleLocally(static_cast<int>(actor.rank), kActorKill, std::move(msg));
  if (!st.ok() && st.code() != StatusCode::kRankDied) Throw(st.code(), "Kill(): " + st.message());
}

proto::ActorNameReply Runtime::NameRequest(proto::ActorName req) {
  const int64_t id = next_request_.fetch_add(1);
  req.set_request_id(id);
  proto::ControlMessage msg;
  *msg.mutable_actor_name() = std::move(req);
  return ControlCall(std::move(msg), id);
}

proto::ActorNameReply Runtime::ControlCall(proto::ControlMessage msg, int64_t id) {
  auto promise = std::make_shared<std::promise<proto::ActorNameReply>>();
  auto future = promise->get_future();
  {
    std::lock_guard<std::mutex> lock(actor_mu_);
    name_requests_[id] = promise;
  }
  Status st = ToControlService(msg);
  NoteWait();
  if (st.ok() && RunningInline()) {
    PollUntil([&] { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; },
              objects::NowMicros() + 30'000'000);
  }
  if (st.ok() && future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    st = {StatusCode::kTimeout, "no answer from the control service (rank " +
                                    std::to_string(control_rank_) + ") within 30 s"};
  }
  if (!st.ok()) {
    std::lock_guard<std::mutex> lock(actor_mu_);
    name_requests_.erase(id);
    Throw(st.code(), "control service: " + st.message());
  }
  return future.get();
}

void Runtime::OnNameReply(const proto::ActorNameReply& reply) {
  std::shared_ptr<std::promise<proto::ActorNameReply>> p;
  {
    std::lock_guard<std::mutex> lock(actor_mu_);
    auto it = name_requests_.find(reply.request_id());
    if (it == name_requests_.end()) return;
    p = it->second;
    name_requests_.erase(it);
  }
  p->set_value(reply);
}

internal::ActorId Runtime::LookupActor(const std::string& name, const std::string& ns,
                                       const char* type_name) {
  proto::ActorName req;
  req.set_add(false);
  req.set_ns(ns);
  req.set_name(name);
  proto::ActorNameReply reply = NameRequest(std::move(req));
  if (!reply.ok()) Throw(CodeOf(reply, StatusCode::kNotFound), reply.error());
  if (!reply.type_name().empty() && reply.type_name() != type_name) {
    Throw(StatusCode::kTypeMismatch, "actor '" + name + "' is not of the requested type");
  }
  return internal::ActorId{reply.owner(), reply.rank(), reply.seq()};
}

}  // namespace rankflow::runtime
