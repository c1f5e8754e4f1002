// Early dispatch. A task waits at its owner until its inputs are ready,
// then goes to a rank with their values: for a chain of tasks on another
// rank that is two messages per link (the result to the owner, the next
// task back). When most of a task's pending inputs are being computed on
// one other rank, the owner sends the task there at once instead: that
// rank hands it its own results as they finish (runtime/awaiting_tasks.h),
// and the owner pushes the other inputs as they complete — one message per
// link, as a hand-written MPI code would send.
//
// The task stays the owner's: it counts in placement and in the in-flight
// map like any sent task, and a failed rank fails it the same way. Inputs
// that do not fit a push (large, spilled) and local inputs the target no
// longer knows make the target give the task back (a bounce); the owner
// then dispatches it the ordinary way once its inputs are ready.
#include "common/bytes.h"
#include "common/logging.h"
#include "common/scratch_bytes.h"
#include "runtime/pending_task.h"
#include "runtime/runtime.h"
#include "runtime/wire.h"

namespace rankflow::runtime {

namespace {
// Early tasks sent to a rank on account of one result there: a producer
// feeds a few consumers on its own rank; the rest are placed by load.
constexpr uint8_t kMaxEarlyChildren = 4;
}  // namespace

int Runtime::EarlyTarget(const PendingTask& task, bool* local) {
  // The executing rank holds an early task's awaited inputs in fixed slots.
  static_assert(PendingTask::kInlineDeps <= AwaitingTasks::kMaxAwaited,
                "an early task's dependencies must fit the executing rank's slots");
  if (!early_possible_ || task.num_refs == 0 ||
      task.num_refs > PendingTask::kInlineDeps || !task.demand.empty() || task.affinity >= 0) {
    return -1;
  }
  const auto refs = task.refs();
  int ranks[PendingTask::kInlineDeps];
  std::lock_guard<std::mutex> lock(inflight_mu_);
  for (size_t i = 0; i < refs.size(); ++i) {
    const InFlight* f = inflight_.find(refs[i]->id().seq);
    const bool sent = f != nullptr && f->placed;
    ranks[i] = sent ? f->rank : rank_;  // (ready, waiting or running here: this rank)
    local[i] = sent && f->early;
  }
  int best = -1;
  int best_votes = 0;
  for (size_t i = 0; i < refs.size(); ++i) {
    int votes = 0;
    for (size_t j = 0; j < refs.size(); ++j) votes += ranks[j] == ranks[i] ? 1 : 0;
    if (votes > best_votes) {
      best = ranks[i];
      best_votes = votes;
    }
  }
  if (best < 0 || best == rank_) return -1;
  // Within a node a message costs less than the owner's extra work for an
  // early task (docs/performance.md): by default only across nodes.
  if (early_dispatch_ == RuntimeConfig::EarlyDispatch::kOtherNodes && SameNode(best)) return -1;
  for (size_t i = 0; i < refs.size(); ++i) {
    if (ranks[i] != best) continue;
    InFlight& producer = *inflight_.find(refs[i]->id().seq);
    if (producer.early_children >= kMaxEarlyChildren) return -1;
    ++producer.early_children;
    break;
  }
  for (size_t i = 0; i < refs.size(); ++i) local[i] = local[i] && ranks[i] == best;
  return best;
}

bool Runtime::SendEarly(const std::shared_ptr<PendingTask>& task, int target, const bool* local) {
  ScratchBytes scratch;
  std::vector<uint8_t>& msg = scratch.get();
  EncodeTaskHeader(msg, static_cast<uint32_t>(rank_), task->seq, *task->function, task->name,
                   task->num_args, task->args_size + 16 * task->num_refs, kTaskEarly);
  bool awaited[PendingTask::kInlineDeps] = {};
  if (!EncodeEarlyArgs(*task, local, msg, awaited)) return false;
  bool any = false;
  for (size_t i = 0; i < task->num_refs; ++i) any = any || awaited[i];
  // (All ready meanwhile: the ordinary path sends it just as soon.)
  if (!any || msg.size() > config_.max_message_bytes) return false;
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    InFlight entry{target, true, task};  // the task keeps its inputs alive until it is done
    entry.early = true;
    inflight_[task->seq] = std::move(entry);
  }
  placement_.OnDispatched(target);
  Status st = transport_->Send(target, kTaskSubmit, std::move(msg));
  if (!st.ok()) {
    {
      std::lock_guard<std::mutex> lock(inflight_mu_);
      inflight_.erase(task->seq);
    }
    placement_.OnFinished(target);
    return false;  // it waits here; a dead target is out of placement by then
  }
  // Set before the dependencies' hooks are registered: a push always
  // follows the task on the link.
  task->early_target = target;
  for (size_t i = 0; i < task->num_refs; ++i) task->push[i] = awaited[i] && !local[i];
  counters_.tasks_early.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Runtime::PushInput(const PendingTask& task, size_t i) {
  if (task.bounced.load()) return;
  const uint64_t seq = task.refs()[i]->id().seq;
  objects::ObjectValue v;
  const bool have = objects_->TryGet(seq, &v);
  // Small values and errors travel; anything else brings the task back.
  const bool push = have && (v.error != nullptr || (!v.spilled && v.data.size() < inline_bytes_ &&
                                                    v.data.size() + 64 <= config_.max_message_bytes));
  ScratchBytes scratch;
  std::vector<uint8_t>& msg = scratch.get();
  EncodeInput(msg, seq, push ? &v : nullptr);
  // (A failed send means a dead target, which fails the task.)
  (void)transport_->Send(task.early_target, kTaskInput, std::move(msg));
}

void Runtime::OnBounce(int source, const Buffer& msg) {
  ByteReader r(msg.data(), msg.size());
  const uint64_t seq = r.Get<uint64_t>();
  std::shared_ptr<const void> keep;
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    InFlight* f = inflight_.find(seq);
    if (r.ok() && r.remaining() == 0 && f != nullptr && f->rank == source && f->early) {
      keep = std::move(f->keep);
      inflight_.erase(seq);
    }
  }
  if (keep == nullptr) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped an unexpected bounce from rank {}", source);
    return;
  }
  placement_.OnFinished(source);
  counters_.tasks_bounced.fetch_add(1, std::memory_order_relaxed);
  auto task = std::const_pointer_cast<PendingTask>(std::static_pointer_cast<const PendingTask>(keep));
  task->bounced.store(true);
  // If its last input came first, it is dispatched here (else by that input).
  if (task->unresolved.load() == 0 && !task->dispatched.exchange(true)) Dispatch(task);
}

void Runtime::OnEarlyTask(int source, const Buffer& message, const TaskWire& task) {
  AwaitingTasks::Outcome out;
  Status st = static_cast<int>(task.owner) == source
                  ? awaiting_.Add(source, task.seq, message,
                                  static_cast<size_t>(task.args.data() - message.data()), &out)
                  : Status(StatusCode::kMalformed, "owner does not match sender");
  if (!st.ok()) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped an early task from rank {}: {}", source, st.ToString());
    if (static_cast<int>(task.owner) == source) {
      DeliverResult(task.owner, task.seq,
                    objects::ErrorValue(StatusCode::kMalformed, st.message(), task.function, rank_),
                    /*placed=*/true);
    }
    return;
  }
  RunAwaited(out);
}

void Runtime::OnTaskInput(int source, const Buffer& msg) {
  InputWire in;
  Status st = DecodeInput(msg, &in);
  if (!st.ok()) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped an input message from rank {}: {}", source, st.ToString());
    return;
  }
  AwaitingTasks::Outcome out;
  if (in.kind == InputKind::kNotPushed) {
    awaiting_.NotPushed(source, in.seq, &out);
  } else {
    awaiting_.Pushed(source, in.seq, in.argument, std::move(in.error), &out);
  }
  RunAwaited(out);
}

void Runtime::RunAwaited(AwaitingTasks::Outcome& out) {
  // (A task failed here on an input's error is itself an input of others
  // here: the list grows as it goes.)
  for (size_t i = 0; i < out.ready.size() || !out.bounced.empty(); ++i) {
    for (const auto& [owner, seq] : out.bounced) {
      std::vector<uint8_t> msg;
      ByteWriter(msg).Put<uint64_t>(seq);
      Status st = transport_->Send(owner, kTaskBounce, std::move(msg));
      if (!st.ok()) RF_WARN("bounce of task {} to rank {}: {}", seq, owner, st.ToString());
    }
    out.bounced.clear();
    if (i >= out.ready.size()) break;
    AwaitingTasks::Ready r = std::move(out.ready[i]);
    if (!r.error) {
      if (!TakeInline(r.owner, r.message)) executors_->Push(scheduler::Work{r.owner, std::move(r.message)});
      continue;
    }
    TaskWire task;
    std::string display;
    if (DecodeTask(r.message, &task).ok()) display = std::string(task.name.empty() ? task.function : task.name);
    const internal::ObjectId input{static_cast<uint32_t>(r.owner), 0, r.failed_input};
    objects::ObjectValue failed =
        objects::ErrorValue(r.error->code, DependencyFailure(input, *r.error), display, rank_);
    awaiting_.Finished(r.owner, r.seq, failed, &out);
    DeliverResult(static_cast<uint32_t>(r.owner), r.seq, std::move(failed), /*placed=*/true);
  }
  out.ready.clear();
}

}  // namespace rankflow::runtime
