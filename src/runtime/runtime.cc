#include "runtime/runtime.h"

#include <algorithm>
#include <chrono>

#include "common/logging.h"
#include "runtime/registry.h"
#include "runtime/wire.h"

namespace rankflow::runtime {

namespace {
thread_local Runtime* tls_runtime = nullptr;
std::atomic<Runtime*> g_runtime{nullptr};
}  // namespace

Runtime* Runtime::Current() { return tls_runtime; }
void Runtime::SetCurrent(Runtime* rt) { tls_runtime = rt; }
void Runtime::SetGlobal(Runtime* rt) { g_runtime.store(rt); }

Runtime& Runtime::CurrentOrThrow() {
  Runtime* rt = tls_runtime != nullptr ? tls_runtime : g_runtime.load();
  if (rt == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "rankflow::Init() has not been called");
  }
  return *rt;
}

Runtime::Runtime(RuntimeDeps deps)
    : config_(deps.config),
      rank_(deps.rank),
      size_(deps.size),
      driver_rank_(deps.driver_rank),
      control_rank_(deps.control_rank),
      node_(deps.node),
      host_(deps.host),
      resources_(deps.resources),
      transport_(std::move(deps.transport)),
      objects_(std::make_shared<objects::ObjectTable>()),
      placement_(deps.size),
      num_executors_(deps.num_executors),
      wait_spin_us_(deps.exclusive_cores ? std::max(0, deps.config.wait_spin_us) : 0),
      inline_task_ns_(uint64_t(std::max(0, deps.config.inline_task_us)) * 1000),
      pin_pus_(deps.pin_pus),
      store_(std::move(deps.store)),
      rank_nodes_(std::move(deps.rank_nodes)),
      inline_bytes_(std::max<uint64_t>(deps.config.inline_bytes, 1)),
      early_dispatch_(deps.size > 1 ? deps.config.early_dispatch : RuntimeConfig::EarlyDispatch::kOff),
      inbox_(objects_, deps.rank),
      main_done_(deps.size, false),
      dead_(deps.size, false) {
  fetch_resend_ms_.store(deps.config.fetch_resend_ms);
  if (transport_ && early_dispatch_ == RuntimeConfig::EarlyDispatch::kOn) early_possible_ = true;
  if (transport_ && early_dispatch_ == RuntimeConfig::EarlyDispatch::kOtherNodes) {
    for (int r = 0; r < size_; ++r) early_possible_ = early_possible_ || !SameNode(r);
  }
  InitObjectTransfer();
}

Runtime::~Runtime() {
  RF_DEBUG("tasks executed {} (inline {}), actor calls inline {}, sent early {} (bounced {})",
           counters_.tasks_executed.load(), counters_.tasks_inline.load(),
           counters_.actor_calls_inline.load(), counters_.tasks_early.load(),
           counters_.tasks_bounced.load());
  if (!stopped_) RequestStop(0);
  if (actors_) actors_->StopAll();
  if (executors_) executors_->Stop();
  StopFetchWatchdog();
  if (transport_) transport_->Stop();
}

Status Runtime::Start(int64_t timeout_ms) {
  FreezeRegistry();
  scheduler::PollHooks hooks;
  if (transport_) {
    hooks.begin = [this] { transport_->BeginPolling(); };
    hooks.poll = [this] { return transport_->PollOnce(); };
    hooks.end = [this] { transport_->EndPolling(); };
  }
  executors_ = std::make_unique<scheduler::ExecutorPool>(
      num_executors_, pin_pus_, wait_spin_us_,
      [this](scheduler::Work& w) {
        if (tls_runtime != this) tls_runtime = this;
        if (w.source == kGraphWorkSource) {
          graphs_->RunQueued(w.message);  // a compiled graph's node (graph_owner.cc)
        } else {
          RunTask(w);
        }
        RunTakenInline();  // a local task its result made ready
      },
      std::move(hooks));
  InitGraphs();
  actors_ = std::make_unique<actors::ActorHost>(
      rank_,
      [this](uint32_t owner, uint64_t seq, objects::ObjectValue&& v) {
        DeliverResult(owner, seq, std::move(v), /*placed=*/false);
      },
      [this] { tls_runtime = this; },
      [this](const actors::ActorKey& key) {
        proto::ControlMessage rel;
        rel.mutable_actor_release()->set_owner(key.owner);
        rel.mutable_actor_release()->set_seq(key.seq);
        Status st = ToControlService(rel);
        if (!st.ok()) RF_WARN("actor release: {}", st.ToString());
      });
  actors_->SetKeep([this](const FunctionEntry& method, std::function<void()>& run) {
    return KeepActorCall(method, run);
  });
  if (!transport_) {
    // One rank: the view is this rank alone; the control service (named
    // actors) runs in-process, called directly.
    control_ = std::make_unique<control::ControlService>(
        rank_, size_, [this](int dest, const proto::ControlMessage& m) {
          return SendControl(dest, m);
        });
    proto::ControlMessage reg;
    auto* r = reg.mutable_register_rank();
    r->set_rank(rank_);
    r->set_host(host_);
    r->set_node(node_);
    for (const auto& [k, v] : resources_) (*r->mutable_resources())[k] = v;
    control_->Handle(rank_, reg);
    scheduler::RankCapacity self{rank_, node_, true, resources_};
    placement_.Update({self});
    view_version_ = 1;
    return Status::Ok();
  }
  if (rank_ == control_rank_) {
    control_ = std::make_unique<control::ControlService>(
        rank_, size_, [this](int dest, const proto::ControlMessage& m) {
          return SendControl(dest, m);
        });
  }
  transport::Callbacks cb;
  cb.on_message = [this](transport::Incoming&& in) { OnMessage(std::move(in)); };
  cb.on_peer_failure = [this](int r, const Status& why) { OnPeerFailure(r, why); };
  cb.on_rejected = [this](int r, const Status& why) { OnRejected(r, why); };
  cb.after_delivery = [this] { RunTakenInline(); };
  if (store_) {
    // Large messages (objects, big results) land in the node store, so they
    // are shared with this node's ranks without another copy.
    cb.allocate_large = [this](size_t bytes) {
      transport::RecvSpace space;
      if (bytes < inline_bytes_) return space;
      bool full = false;
      auto w = store_->Allocate(bytes, &full);
      if (w.ok()) space = transport::RecvSpace{w->data, std::move(w->pin)};
      return space;
    };
  }
  RANKFLOW_RETURN_IF_ERROR(transport_->Start(std::move(cb)));
  StartFetchWatchdog();

  proto::ControlMessage reg;
  auto* r = reg.mutable_register_rank();
  r->set_rank(rank_);
  r->set_host(host_);
  r->set_node(node_);
  r->set_num_executors(num_executors_);
  for (const auto& [k, v] : resources_) (*r->mutable_resources())[k] = v;
  for (const auto& name : RegisteredFunctionNames()) r->add_functions(name);
  RANKFLOW_RETURN_IF_ERROR(SendControl(control_rank_, reg));

  std::unique_lock<std::mutex> lock(state_mu_);
  bool ok = state_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return view_version_ > 0 || stop_requested_ || !startup_error_.ok();
  });
  if (!startup_error_.ok()) return startup_error_;
  if (!ok) {
    return {StatusCode::kTimeout, "no cluster view from the control service (rank " +
                                      std::to_string(control_rank_) + ") within " +
                                      std::to_string(timeout_ms) + " ms"};
  }
  return Status::Ok();
}

Status Runtime::ToControlService(const proto::ControlMessage& msg) {
  if (transport_) return SendControl(control_rank_, msg);
  // One rank: the service lives here and is called directly, one caller at a time.
  std::lock_guard<std::mutex> lock(control_mu_);
  control_->Handle(rank_, msg);
  return Status::Ok();
}

Status Runtime::SendControl(int dest, const proto::ControlMessage& msg) {
  if (!transport_) {
    // One rank: only name replies travel, straight to their waiter.
    if (msg.has_actor_name_reply()) OnNameReply(msg.actor_name_reply());
    return Status::Ok();
  }
  std::vector<uint8_t> bytes(msg.ByteSizeLong());
  msg.SerializeToArray(bytes.data(), static_cast<int>(bytes.size()));
  // Messages to this rank also go through the transport, so the control
  // service only ever runs on the progress thread.
  return transport_->Send(dest, kControl, std::move(bytes));
}

void Runtime::OnMessage(transport::Incoming&& in) {
  // Called only while delivering: the thread runs RunTakenInline afterwards.
  struct Delivering {
    bool outer = delivering_;
    Delivering() { delivering_ = true; }
    ~Delivering() { delivering_ = outer; }
  } delivering;
  switch (in.kind) {
    case kTaskSubmit: {
      Buffer task = in.data.Persist();
      TaskWire wire;
      const bool decoded = DecodeTask(task, &wire).ok();  // (if not, RunTask reports it)
      if (decoded && (wire.flags & kTaskEarly) != 0) {
        OnEarlyTask(in.source, task, wire);
      } else if (!decoded || !TakeInline(in.source, task, wire)) {
        executors_->Push(scheduler::Work{in.source, std::move(task)});
      }
      break;
    }
    case kTaskInput:
      OnTaskInput(in.source, in.data);
      break;
    case kTaskBounce:
      OnBounce(in.source, in.data);
      break;
    case kCollectiveValue:
      OnCollectiveValue(in.source, in.data);
      break;
    case kTaskResult:
      OnResult(in.source, in.data);
      break;
    case kControl:
      OnControl(in.source, in.data);
      break;
    case kActorCreate:
    case kActorCall:
    case kActorKill:
      OnActorMessage(in.source, in.kind, in.data);
      break;
    case kObjectAddRef:
    case kObjectRelease:
    case kObjectFetch:
    case kObjectData:
    case kObjectHave:
      OnObjectMessage(in.source, in.kind, in.data);
      break;
    case graphs::kGraphInstall:
    case graphs::kGraphInstalled:
    case graphs::kGraphRun:
    case graphs::kGraphValue:
    case graphs::kGraphDone:
    case graphs::kGraphRemove:
      OnGraphMessage(in.source, in.kind, in.data);
      break;
    default:
      counters_.messages_malformed.fetch_add(1);
      RF_WARN("dropped a message of unknown kind {} from rank {}", in.kind, in.source);
  }
}

void Runtime::OnControl(int source, const Buffer& bytes) {
  proto::ControlMessage msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped a control message from rank {} that does not parse", source);
    return;
  }
  switch (msg.body_case()) {
    case proto::ControlMessage::kRegisterRank:
      if (control_) {
        control_->Handle(source, msg);
      } else {
        RF_WARN("rank {} registered here, but the control rank is {}", source, control_rank_);
      }
      break;
    case proto::ControlMessage::kActorName:
    case proto::ControlMessage::kActorPlace:
    case proto::ControlMessage::kActorRelease:
    case proto::ControlMessage::kGroupCreate:
    case proto::ControlMessage::kGroupRemove:
      if (control_) {
        control_->Handle(source, msg);
      } else {
        RF_WARN("rank {} sent this rank an actor or placement-group request, but the control rank is {}", source,
                control_rank_);
      }
      break;
    case proto::ControlMessage::kActorNameReply:
      OnNameReply(msg.actor_name_reply());
      break;
    case proto::ControlMessage::kView:
      ApplyView(msg.view());
      break;
    case proto::ControlMessage::kShutdown:
      if (source != driver_rank_) {
        RF_WARN("ignored a shutdown from rank {} (the driver is rank {})", source, driver_rank_);
        break;
      }
      if (msg.shutdown().final()) {
        std::lock_guard<std::mutex> lock(state_mu_);
        final_received_ = true;
        state_cv_.notify_all();
        break;
      }
      RequestStop(msg.shutdown().exit_code());
      break;
    case proto::ControlMessage::kShutdownAck: {
      std::lock_guard<std::mutex> lock(state_mu_);
      if (msg.shutdown_ack().main_done()) {
        main_done_[source] = true;
      } else {
        ++acks_;
      }
      state_cv_.notify_all();
      break;
    }
    default:
      counters_.messages_malformed.fetch_add(1);
      RF_WARN("dropped an empty control message from rank {}", source);
  }
}

void Runtime::ApplyView(const proto::ClusterView& view) {
  std::vector<scheduler::RankCapacity> ranks;
  for (const auto& e : view.ranks()) {
    scheduler::RankCapacity c;
    c.rank = e.rank();
    c.node = e.node();
    c.alive = e.alive();
    for (const auto& [k, v] : e.resources()) c.resources[k] = v;
    ranks.push_back(std::move(c));
  }
  // Ranks the service saw die that this one has not: a rank learns of a
  // death it has no traffic to notice (an input it waits for from there).
  std::vector<int> gone;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (view.version() <= view_version_) return;
    for (size_t r = 0; r < ranks.size() && r < dead_.size(); ++r) {
      if (dead_[r]) ranks[r].alive = false;
      if (!ranks[r].alive && !dead_[r] && static_cast<int>(r) != rank_) gone.push_back(static_cast<int>(r));
    }
    placement_.Update(std::move(ranks));
    view_version_ = view.version();
  }
  state_cv_.notify_all();
  // The service's view is the job's word on deaths (as a cluster head's
  // health checks are): a rank dead there is dead here.
  for (int r : gone) {
    OnPeerFailure(r, Status(StatusCode::kRankDied, "the control service reports it gone"));
  }
}

void Runtime::OnPeerFailure(int rank, const Status& why) {
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (dead_[rank]) return;
    dead_[rank] = true;
    // (While this rank's SPMD main runs, a failure still fails what waits on it.)
    stopping = stop_requested_ && !spmd_main_running_;
    if (view_version_ == 0 && rank == control_rank_) {
      // Without the control service the job cannot start: fail Init now.
      startup_error_ = Status(StatusCode::kRankDied,
                              "the control service's rank " + std::to_string(rank) +
                                  " is unreachable (" + why.message() +
                                  "); check UCX_TLS / UCX_NET_DEVICES");
    }
  }
  state_cv_.notify_all();
  if (stopping) return;
  RF_ERROR("rank {} is unreachable: {}", rank, why.ToString());
  placement_.MarkDead(rank);
  awaiting_.DropOwner(rank);
  inbox_.OwnerDied(static_cast<uint32_t>(rank),
                   objects::ErrorValue(StatusCode::kRankDied,
                                       "rank " + std::to_string(rank) + " died before it sent this input",
                                       "", rank));
  FailTasksOn(rank);
  FailFetchesFrom(rank);
  GraphRankDied(rank);
  if (control_) control_->OnRankDied(rank);
  if (rank == driver_rank_ && rank_ != driver_rank_) {
    RF_ERROR("the driver (rank {}) is gone; this rank stops", rank);
    RequestStop(1);
  }
}

void Runtime::OnRejected(int rank, const Status& why) {
  uint64_t n = counters_.messages_rejected.fetch_add(1) + 1;
  if (n <= 10 || (n & (n - 1)) == 0) {
    RF_WARN("rejected a message from rank {}: {} ({} so far)", rank, why.ToString(), n);
  }
}

void Runtime::RequestStop(int exit_code) {
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (stop_requested_) return;
    stop_requested_ = true;
    exit_code_ = exit_code;
  }
  state_cv_.notify_all();
}

int Runtime::ServeUntilShutdown() {
  {
    std::unique_lock<std::mutex> lock(state_mu_);
    state_cv_.wait(lock, [&] { return stop_requested_; });
  }
  actors_->StopAll();
  executors_->Stop();
  bool driver_alive;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    driver_alive = !dead_[driver_rank_];
  }
  if (transport_ && driver_alive) {
    proto::ControlMessage ack;
    ack.mutable_shutdown_ack()->set_rank(rank_);
    Status st = SendControl(driver_rank_, ack);
    if (!st.ok()) RF_WARN("shutdown ack: {}", st.ToString());
    std::unique_lock<std::mutex> lock(state_mu_);
    if (!state_cv_.wait_for(lock, std::chrono::seconds(30),
                            [&] { return final_received_ || dead_[driver_rank_]; })) {
      RF_WARN("shutdown: no final word from the driver within 30 s; leaving");
    }
  }
  StopFetchWatchdog();
  if (transport_) transport_->Stop();
  stopped_ = true;
  RF_DEBUG("rank {} stopped (exit code {})", rank_, exit_code_);
  return exit_code_;
}

void Runtime::Shutdown() {
  if (stopped_) return;
  if (spmd_) {
    std::lock_guard<std::mutex> lock(state_mu_);
    spmd_main_running_ = false;
  }
  if (spmd_ && transport_ && rank_ != driver_rank_) {
    // This rank's main is done; the driver stops the job once every rank's is.
    proto::ControlMessage done;
    done.mutable_shutdown_ack()->set_rank(rank_);
    done.mutable_shutdown_ack()->set_main_done(true);
    Status st = SendControl(driver_rank_, done);
    if (!st.ok()) RF_WARN("shutdown: telling the driver: {}", st.ToString());
    (void)ServeUntilShutdown();
    inbox_.Clear();
    return;
  }
  if (spmd_ && transport_) {
    std::unique_lock<std::mutex> lock(state_mu_);
    state_cv_.wait(lock, [&] {
      for (int r = 0; r < size_; ++r) {
        if (r != rank_ && !main_done_[r] && !dead_[r]) return false;
      }
      return true;
    });
  }
  int expected = 0;
  if (transport_) {
    proto::ControlMessage msg;
    msg.mutable_shutdown()->set_exit_code(0);
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) continue;
      bool dead;
      {
        std::lock_guard<std::mutex> lock(state_mu_);
        dead = dead_[r];
      }
      if (!dead && SendControl(r, msg).ok()) ++expected;
    }
  }
  {
    std::unique_lock<std::mutex> lock(state_mu_);
    stop_requested_ = true;
    bool ok = state_cv_.wait_for(lock, std::chrono::seconds(30), [&] {
      int dead = 0;
      for (int r = 0; r < size_; ++r) dead += (r != rank_ && dead_[r]) ? 1 : 0;
      return acks_ + dead >= expected;
    });
    if (!ok) RF_WARN("shutdown: {} of {} ranks acknowledged", acks_, expected);
  }
  actors_->StopAll();
  if (transport_) {
    proto::ControlMessage fin;
    fin.mutable_shutdown()->set_final(true);
    for (int r = 0; r < size_; ++r) {
      bool dead;
      {
        std::lock_guard<std::mutex> lock(state_mu_);
        dead = dead_[r];
      }
      if (r != rank_ && !dead) (void)SendControl(r, fin);
    }
  }
  executors_->Stop();
  StopFetchWatchdog();
  if (transport_) transport_->Stop();
  inbox_.Clear();
  stopped_ = true;
}

}  // namespace rankflow::runtime
