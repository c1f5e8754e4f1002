// Run to completion: a task whose function is known to be short (recent runs
// under RANKFLOW_INLINE_TASK_US, none of which waited) runs on the thread
// that received it — the progress thread, or an executor polling the
// network — as soon as that thread has let go of the network. One task per
// delivery round is kept this way; the rest of a batch goes to the executors
// as before. This removes the hand-off (a wake-up of a sleeping executor)
// from the critical path of fine-grained task graphs.
//
// A task run inline must never sleep: if it waits (Get, Wait) it polls the
// network itself until the answer is there, and its function is marked as
// one that waits, so it never runs inline again.
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "common/logging.h"
#include "runtime/registry.h"
#include "runtime/runtime.h"
#include "runtime/wire.h"

namespace rankflow::runtime {

namespace {
struct InlineSlot {
  bool taken = false;
  scheduler::Work work;
  TaskWire task;                      // views into work.message, decoded once
  const FunctionEntry* fn = nullptr;
  std::function<void()> call;         // or an actor's call (actors/actor_host.h)
};
thread_local InlineSlot tls_slot;
constexpr int kInlineChain = 16;  // inline tasks in a row before polling again
// A kept task expected to run at least this long is not started before
// what the previous one sent has left (a send costs about a microsecond).
constexpr uint64_t kFlushBeforeNs = 1000;
thread_local bool tls_running_inline = false;
thread_local bool tls_waited = false;

// While alive, the thread runs kept work for `rt` (restored after: this may
// be called again from a wait inside such work).
class InlineScope {
 public:
  explicit InlineScope(Runtime* rt) : previous_(Runtime::Current()), outer_(tls_running_inline) {
    Runtime::SetCurrent(rt);
    tls_running_inline = true;
  }
  ~InlineScope() {
    tls_running_inline = outer_;
    Runtime::SetCurrent(previous_);
  }
  InlineScope(const InlineScope&) = delete;
  InlineScope& operator=(const InlineScope&) = delete;

 private:
  Runtime* previous_;
  bool outer_;
};
}  // namespace

thread_local std::vector<std::shared_ptr<Runtime::PendingTask>> Runtime::deferred_;
thread_local std::vector<std::shared_ptr<Runtime::PendingTask>> Runtime::retired_;
thread_local bool Runtime::delivering_ = false;

void Runtime::RunDeferred() {
  retired_.clear();
  // (Index loop: the lists keep their capacity from one delivery to the next.)
  for (size_t i = 0; i < deferred_.size(); ++i) {
    std::shared_ptr<PendingTask> task = std::move(deferred_[i]);
    DispatchTo(*task, rank_);
  }
  deferred_.clear();
}

bool Runtime::RunningInline() { return tls_running_inline; }

void Runtime::NoteWait() {
  tls_waited = true;
  // The task this thread kept may be the one waited for: run it first.
  if (tls_slot.taken) {
    if (Runtime* rt = Current()) rt->RunTakenInline();
  }
}

RunTimer::RunTimer() : outer_(tls_waited), start_(std::chrono::steady_clock::now()) {
  tls_waited = false;
}

void RunTimer::Record(const FunctionEntry& fn) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - start_).count();
  fn.run_time.Add(static_cast<uint64_t>(ns), tls_waited);
}

RunTimer::~RunTimer() { tls_waited = outer_ || tls_waited; }  // (also when the task threw)

bool Runtime::CanKeepHere() const {
  // Only threads that run their slot once they let go: the progress thread
  // (after each delivery) and executors (after each work item).
  return inline_task_ns_ != 0 && !tls_slot.taken && transport_ &&
         (transport_->OnProgressThread() || scheduler::ExecutorPool::Current() == executors_.get());
}

bool Runtime::TakeInline(int source, const Buffer& data) {
  if (!CanKeepHere()) return false;
  TaskWire task;
  if (!DecodeTask(data, &task).ok()) return false;  // RunTask reports it
  return TakeInline(source, data, task);
}

bool Runtime::TakeInline(int source, const Buffer& data, const TaskWire& task) {
  if (!CanKeepHere()) return false;
  const FunctionEntry* fn = FindFunction(task.function);
  if (fn == nullptr || fn->kind != FunctionEntry::Kind::kFunction ||
      !fn->run_time.ShorterThan(inline_task_ns_)) {
    return false;
  }
  tls_slot.taken = true;
  tls_slot.work = scheduler::Work{source, data};
  tls_slot.task = task;  // its views point into `data`'s bytes, which the slot holds
  tls_slot.fn = fn;
  return true;
}

bool Runtime::KeepActorCall(const FunctionEntry& method, std::function<void()>& run) {
  if (!CanKeepHere()) return false;
  if (!method.run_time.ShorterThan(inline_task_ns_)) return false;
  tls_slot.taken = true;
  tls_slot.call = std::move(run);
  return true;
}

void Runtime::RunTakenInline() {
  // A task run here may make the next one ready (its result completes a
  // local dependency), which is taken again: a short chain runs without any
  // hand-off, then the thread goes back to the network.
  RunDeferred();
  if (graphs_ && graphs_->HasReady()) {
    // Compiled graphs' nodes readied on this thread run here, as kept tasks do.
    InlineScope scope(this);
    graphs_->RunReady();
  }
  if (!tls_slot.taken) return;
  std::optional<InlineScope> scope(std::in_place, this);
  for (int n = 0; tls_slot.taken && n < kInlineChain; ++n) {
    InlineSlot kept = std::move(tls_slot);
    tls_slot = InlineSlot{};
    SetCurrent(this);
    tls_running_inline = true;
    if (kept.call) {
      kept.call();
      counters_.actor_calls_inline.fetch_add(1, std::memory_order_relaxed);
    } else {
      RunDecoded(kept.work.source, kept.task, kept.fn);
      counters_.tasks_inline.fetch_add(1, std::memory_order_relaxed);
    }
    // Before a task that takes a while, what this one sent (its result, a
    // collective task's input) leaves: another rank may be waiting for it,
    // and would otherwise wait for the whole chain. (Before short ones the
    // sends are left to go together.)
    if (tls_slot.taken && transport_ &&
        (tls_slot.fn == nullptr || !tls_slot.fn->run_time.ShorterThan(kFlushBeforeNs))) {
      transport_->FlushSends();
    }
  }
  scope.reset();
  if (tls_slot.taken) {
    InlineSlot rest = std::move(tls_slot);
    tls_slot = InlineSlot{};
    // A task goes to the executors; an actor's call, destroyed unrun, back
    // to its actor's thread.
    if (!rest.call) executors_->Push(std::move(rest.work));
  }
}

bool Runtime::PollUntil(const std::function<bool()>& done, int64_t deadline_us) {
  // While it waits, this thread also does what it might be waiting for:
  // a task it kept, queued executor work, the network.
  for (;;) {
    if (done()) return true;
    if (deadline_us >= 0 && objects::NowMicros() >= deadline_us) return false;
    RunTakenInline();
    if (executors_ && executors_->RunOneIfAny()) continue;
    if (!transport_ || !transport_->PollOnce()) std::this_thread::yield();
  }
}

}  // namespace rankflow::runtime
