// The executing side of a task: decode, look up, run, send the outcome back.
#include "common/logging.h"
#include "common/scratch_bytes.h"
#include "runtime/registry.h"
#include "runtime/runtime.h"
#include "runtime/wire.h"

namespace rankflow::runtime {

using objects::ErrorValue;

void Runtime::RunTask(scheduler::Work& work) {
  TaskWire task;
  Status st = DecodeTask(work.message, &task);
  if (!st.ok()) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped a task message from rank {}: {}", work.source, st.ToString());
    return;
  }
  const FunctionEntry* fn = FindFunction(task.function);
  RunDecoded(work.source, task, fn != nullptr && fn->kind == FunctionEntry::Kind::kFunction ? fn : nullptr);
}

void Runtime::RunDecoded(int source, const TaskWire& task, const FunctionEntry* fn) {
  if (task.owner >= static_cast<uint32_t>(size_) ||
      (transport_ && static_cast<int>(task.owner) != source)) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped a task message from rank {}: owner does not match sender", source);
    return;
  }
  // Only errors need the display name: no copy per task.
  const std::string_view display = task.name.empty() ? task.function : task.name;
  objects::ObjectValue value;
  if (fn == nullptr) {
    value = ErrorValue(StatusCode::kNotFound,
                       "function '" + std::string(task.function) + "' is not registered on rank " +
                           std::to_string(rank_) + " (RANKFLOW_REMOTE missing in this binary?)",
                       display, rank_);
  } else if (fn->arity != task.num_args) {
    value = ErrorValue(StatusCode::kTypeMismatch,
                       "function '" + fn->name + "' takes " + std::to_string(fn->arity) +
                           " arguments, the message has " + std::to_string(task.num_args),
                       display, rank_);
  } else {
    ScratchBytes scratch;  // the result is copied out of it
    std::vector<uint8_t>& out = scratch.get();
    try {
      internal::ArgReader reader(task.args.data(), task.args.size());
      TakeExports();  // what the result's encoding exports belongs to the result
      RunTimer timer;
      fn->thunk(fn->fn, reader, task.args, out);
      timer.Record(*fn);
      SetImportOwn(false);
      value.data = OwnedBytes(std::move(out));
    } catch (const Error& e) {
      // Arguments that do not decode are a type mismatch; any other rankflow
      // error (e.g. a failed nested Get) is this task's failure.
      StatusCode code = e.code() == ErrorCode::kTypeMismatch ? StatusCode::kTypeMismatch
                                                             : StatusCode::kTaskFailed;
      value = ErrorValue(code, e.what(), display, rank_);
    } catch (const std::exception& e) {
      value = ErrorValue(StatusCode::kTaskFailed, e.what(), display, rank_);
    } catch (...) {
      value = ErrorValue(StatusCode::kTaskFailed, "unknown exception", display, rank_);
    }
  }
  counters_.tasks_executed.fetch_add(1, std::memory_order_relaxed);
  if ((task.flags & kTaskEarly) == 0) {
    DeliverResult(task.owner, task.seq, std::move(value), /*placed=*/true);
    return;
  }
  // Early tasks here waiting for this result get it; they start once it has left.
  AwaitingTasks::Outcome ready;
  awaiting_.Finished(static_cast<int>(task.owner), task.seq, value, &ready);
  DeliverResult(task.owner, task.seq, std::move(value), /*placed=*/true);
  RunAwaited(ready);
}

void Runtime::DeliverResult(uint32_t owner, uint64_t seq, objects::ObjectValue&& value,
                            bool placed) {
  // References the result's encoding exported (on this thread): the result
  // object holds them until it is freed.
  std::vector<internal::ExportedRef> contained = TakeExports();
  if (value.error) contained.clear();
  if (static_cast<int>(owner) == rank_) {
    if (placed) placement_.OnFinished(rank_);
    value.contained = MakeContained(std::move(contained));
    objects_->Complete(seq, std::move(value));
    return;
  }
  SendValue(static_cast<int>(owner), kTaskResult, seq, value, std::move(contained));
}

void Runtime::SendValue(int dest, uint16_t kind, uint64_t seq, const objects::ObjectValue& value,
                        std::vector<internal::ExportedRef> contained) {
  ScratchBytes scratch;  // copied into a transport batch
  std::vector<uint8_t>& msg = scratch.get();
  Buffer in_store;
  store::Descriptor where;
  if (!value.error && contained.empty() && SameNode(dest) &&
      CopyIntoStore(value.data, &in_store) && store_->Describe(in_store, &where)) {
    // Same node: the receiver adopts a reference to the value in the store.
    store_->AddRef(where);
    EncodeStoredResult(msg, seq, rank_, where);
  } else {
    where.size = 0;
    EncodeResult(msg, seq, rank_, value, &contained);
  }
  Status st = transport_->Send(dest, kind, std::move(msg));
  bool delivered = st.ok();
  if (st.code() == StatusCode::kTooLarge) {
    msg.clear();
    EncodeResult(msg, seq, rank_,
                 ErrorValue(StatusCode::kTooLarge, "result: " + st.message(), "", rank_));
    st = transport_->Send(dest, kind, std::move(msg));
  }
  if (!delivered) {
    // Nobody will hold what the message pointed at: give it back.
    if (where.size > 0) store_->Release(where);
    MakeContained(std::move(contained));
  }
  if (!st.ok()) RF_WARN("value of object {} to rank {}: {}", seq, dest, st.ToString());
}

}  // namespace rankflow::runtime
