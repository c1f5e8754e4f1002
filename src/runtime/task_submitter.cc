// The owner's side of a task: dependency resolution, placement, dispatch,
// and completion of the result object when the result (or a failure) comes.
#include <atomic>
#include <cstring>
#include <span>

#include "common/logging.h"
#include "common/recycled_allocator.h"
#include "common/scratch_bytes.h"
#include "objects/ref_handle.h"
#include "runtime/pending_task.h"
#include "runtime/runtime.h"
#include "runtime/wire.h"

namespace rankflow::runtime {


void Runtime::DependencyReady(objects::ReadyHook* hook) {
  auto* task = static_cast<PendingTask*>(hook->owner);
  if (task->early_target >= 0) {
    const size_t i = static_cast<size_t>(hook - task->hooks());
    if (i < PendingTask::kInlineDeps && task->push[i]) task->runtime->PushInput(*task, i);
  }
  Resolved(task);
}

void Runtime::Resolved(PendingTask* task) {
  if (task->unresolved.fetch_sub(1) != 1) return;
  std::shared_ptr<PendingTask> self = std::move(task->self);
  if (task->early_target < 0) {
    task->runtime->Dispatch(std::move(self));
    return;
  }
  // An early task is dispatched again only if it came back (OnBounce
  // dispatches it if that came first); the flag makes it once.
  if (task->bounced.load() && !task->dispatched.exchange(true)) task->runtime->Dispatch(std::move(self));
}

std::shared_ptr<internal::RefHandle> Runtime::Submit(internal::SubmitRequest& req) {
  if (req.options->collective) return SubmitCollective(req);
  return SubmitNumbered(req, 0);
}

std::shared_ptr<internal::RefHandle> Runtime::SubmitNumbered(internal::SubmitRequest& req,
                                                             uint64_t named) {
  // `named` != 0: a collective task's number, known to every rank; it runs here.
  const int affinity = named != 0 ? rank_ : req.options->rank;
  auto number = [&] { return named != 0 ? objects_->CreatePendingWatching(nullptr, 0, named)
                                        : objects_->CreatePending(); };
  // References inside the arguments travel with the message; its one decode adopts them.
  if (!req.args.empty()) TakeExports();
  // (The handle and the pending task are usually freed on another thread:
  // recycled blocks.)
  auto handle_of = [this](uint64_t seq) {
    return std::allocate_shared<internal::RefHandle>(
        RecycledAllocator<internal::RefHandle>(),
        internal::ObjectId{static_cast<uint32_t>(rank_), 0, seq}, objects_);
  };
  if (req.refs.empty()) {
    // The common case: nothing to wait for, so nothing to keep; place and send now.
    const uint64_t seq = number();
    auto handle = handle_of(seq);
    Place(TaskView{seq, req.function, req.options->name, req.options->resources,
                   affinity, req.num_args, req.args});
    return handle;
  }
  for (auto& ref : req.refs) {
    if (ref == nullptr) {
      const uint64_t seq = number();
      auto handle = handle_of(seq);
      FailObject(seq, StatusCode::kInvalidArgument, "an ObjectRef argument is empty",
                 *req.function);
      return handle;
    }
    if (static_cast<int>(ref->id().owner) != rank_) {
      if (IsCollective(ref->id())) {
        const uint64_t seq = number();
        auto handle = handle_of(seq);
        FailObject(seq, StatusCode::kInvalidArgument, NotHere(ref->id()), *req.function);
        return handle;
      }
      ref = LocalizeRef(ref);  // (no copy when local)
    }
  }
  auto task = std::allocate_shared<PendingTask>(RecycledAllocator<PendingTask>());
  task->function = req.function;
  task->name = req.options->name;
  task->demand = req.options->resources;
  task->affinity = affinity;
  task->num_args = req.num_args;
  task->Take(req);
  // Resolve dependencies without holding a thread: the last one to complete
  // dispatches the task (on whichever thread completed it). The extra count
  // is this call's, dropped at the end: no dependency dispatches it before.
  const auto refs = task->refs();
  task->unresolved.store(static_cast<int>(refs.size()) + 1);
  task->self = task;
  task->runtime = this;
  objects::ReadyHook* hooks = task->hooks();
  for (size_t i = 0; i < refs.size(); ++i) {
    hooks[i].seq = refs[i]->id().seq;
    hooks[i].ready = &DependencyReady;
    hooks[i].owner = task.get();
  }
  if (early_possible_) {
    task->seq = number();
    bool local[PendingTask::kInlineDeps];
    const int early = EarlyTarget(*task, local);
    if (early >= 0) SendEarly(task, early, local);
    objects_->OnReadyAll(hooks, refs.size());
  } else {
    // Numbered and registered on its dependencies under one lock.
    task->seq = objects_->CreatePendingWatching(hooks, refs.size(), named);
  }
  auto handle = handle_of(task->seq);
  Resolved(task.get());
  return handle;
}

void Runtime::Dispatch(std::shared_ptr<PendingTask> task) {
  Result<int> target = placement_.Pick(task->demand, task->affinity);
  if (!target.ok()) {
    FailObject(task->seq, target.status().code(), target.status().message(),
               task->name.empty() ? *task->function : task->name);
    return;
  }
  if (*target == rank_ && delivering_) {
    deferred_.push_back(std::move(task));  // RunDeferred, after the delivery's sends
    return;
  }
  DispatchTo(*task, *target);
  if (delivering_) retired_.push_back(std::move(task));
}

void Runtime::DispatchTo(const PendingTask& task, int target) {
  const std::string& display = task.name.empty() ? *task.function : task.name;
  // The arguments are resolved straight into the message. On this node
  // large ones travel as store locations, held by the owner until the task
  // ends.
  ScratchBytes scratch;  // copied into a batch or a block: reused
  std::vector<uint8_t>& msg = scratch.get();
  EncodeTaskHeader(msg, static_cast<uint32_t>(rank_), task.seq, *task.function, task.name,
                   task.num_args, task.args_size + 16 * task.num_refs);
  std::vector<Buffer> keep;
  Status st = ResolveArgs(task.args(), task.refs(), SameNode(target), msg, &keep);
  if (!st.ok()) {
    FailObject(task.seq, st.code(), st.message(), display);
    return;
  }
  SendTask(task.seq, target, std::move(msg),
           keep.empty() ? nullptr : std::make_shared<const std::vector<Buffer>>(std::move(keep)),
           display);
}

void Runtime::Place(const TaskView& t) {
  Result<int> target = placement_.Pick(t.demand, t.affinity);
  const std::string& display = t.name.empty() ? *t.function : t.name;
  if (!target.ok()) {
    FailObject(t.seq, target.status().code(), target.status().message(), display);
    return;
  }
  ScratchBytes scratch;
  std::vector<uint8_t>& msg = scratch.get();
  EncodeTask(msg, static_cast<uint32_t>(rank_), t.seq, *t.function, t.name, t.num_args,
             t.args.data(), t.args.size());
  SendTask(t.seq, *target, std::move(msg), nullptr, display);
}

void Runtime::SendTask(uint64_t seq, int target, std::vector<uint8_t>&& msg,
                       std::shared_ptr<const void> keep, const std::string& display) {
  if (msg.size() > config_.max_message_bytes) {
    FailObject(seq, StatusCode::kTooLarge,
               "task message of " + std::to_string(msg.size()) + " bytes is above the limit of " +
                   std::to_string(config_.max_message_bytes) + " (RANKFLOW_MAX_MESSAGE_BYTES)",
               display);
    return;
  }
  DispatchEncoded(seq, target, std::move(msg), std::move(keep));
}

void Runtime::DispatchEncoded(uint64_t seq, int target, std::vector<uint8_t>&& msg,
                              std::shared_ptr<const void> keep) {
  placement_.OnDispatched(target);
  if (target == rank_) {
    if (keep == nullptr) {
      Buffer task = OwnedBytes(std::move(msg));
      if (!TakeInline(rank_, task)) executors_->Push(scheduler::Work{rank_, std::move(task)});
    } else {
      // The message's bytes and the store objects it points at live as long as the work.
      auto both = std::make_shared<std::pair<std::vector<uint8_t>, std::shared_ptr<const void>>>(
          std::move(msg), std::move(keep));
      executors_->Push(scheduler::Work{
          rank_, Buffer::View(both->first.data(), both->first.size(), both)});
    }
    return;
  }
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    inflight_[seq] = InFlight{target, true, std::move(keep)};
  }
  Status st = transport_->Send(target, kTaskSubmit, std::move(msg));
  if (!st.ok()) {
    {
      std::lock_guard<std::mutex> lock(inflight_mu_);
      inflight_.erase(seq);
    }
    placement_.OnFinished(target);
    FailObject(seq, st.code(), "could not send the task to rank " + std::to_string(target) + ": " +
                                   st.message(), "");
  }
}

void Runtime::FailObject(uint64_t seq, StatusCode code, const std::string& message,
                         const std::string& task_name) {
  objects_->Complete(seq, objects::ErrorValue(code, message, task_name, rank_));
}

Status Runtime::ReceiveValue(int source, const Buffer& msg, uint64_t* seq,
                             objects::ObjectValue* value) {
  store::Descriptor where;
  bool stored = false;
  std::vector<internal::ExportedRef> contained;
  Status st = DecodeResult(msg, seq, value, &where, &stored, &contained);
  for (const auto& e : contained) {
    if (e.id.owner >= static_cast<uint32_t>(size_)) st = Status(StatusCode::kMalformed, "bad reference");
  }
  if (!st.ok()) return st;
  value->contained = MakeContained(std::move(contained));
  if (stored) {
    // A same-node rank put the value into the store for us.
    auto view = store_ ? store_->Adopt(where)
                       : Result<Buffer>(Status(StatusCode::kMalformed, "no store on this rank"));
    if (view.ok()) {
      value->data = std::move(*view);
    } else {
      *value = objects::ErrorValue(StatusCode::kObjectLost,
                                   "the value's store location is invalid: " + view.status().message(),
                                   "", source);
    }
  }
  return Status::Ok();
}

void Runtime::OnResult(int source, const Buffer& msg) {
  uint64_t seq = 0;
  objects::ObjectValue value;
  bool placed = false;
  Status st = ReceiveValue(source, msg, &seq, &value);
  if (!st.ok()) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped a result from rank {}: {}", source, st.ToString());
    return;
  }
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    const InFlight* f = inflight_.find(seq);
    if (f == nullptr || f->rank != source) {
      counters_.messages_malformed.fetch_add(1);
      RF_WARN("dropped an unexpected result for object {} from rank {}", seq, source);
      return;
    }
    placed = f->placed;
    inflight_.erase(seq);
  }
  if (placed) placement_.OnFinished(source);
  objects_->Complete(seq, std::move(value));
}

void Runtime::FailTasksOn(int rank) {
  std::vector<std::pair<uint64_t, bool>> lost;
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    inflight_.for_each([&](uint64_t seq, const InFlight& f) {
      if (f.rank == rank) lost.push_back({seq, f.placed});
    });
    for (const auto& l : lost) inflight_.erase(l.first);
  }
  for (auto [seq, placed] : lost) {
    if (placed) placement_.OnFinished(rank);
    FailObject(seq, StatusCode::kRankDied,
               "rank " + std::to_string(rank) + " died while running the task", "");
  }
}

}  // namespace rankflow::runtime
