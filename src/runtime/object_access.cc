// Get and Wait. Objects owned here come from the object table (a thread of
// the executor pool that waits runs queued tasks meanwhile, so nested tasks
// cannot starve the pool); objects owned elsewhere are fetched
// (object_transfer.cc).
#include "objects/ref_handle.h"
#include "runtime/runtime.h"

namespace rankflow::runtime {

namespace {
int64_t Deadline(int64_t timeout_ms) {
  return timeout_ms < 0 ? -1 : objects::NowMicros() + timeout_ms * 1000;
}
constexpr int64_t kHelpSliceUs = 200;
}  // namespace

bool Runtime::SpinPoll(uint64_t seq, objects::ObjectValue* out) {
  if (objects_->TryGet(seq, out)) return true;
  if (!transport_ || wait_spin_us_ <= 0) return false;
  // Poll the network on this thread for a while: a quick reply then costs no
  // thread wake-up. Spinning stops early if the reply takes longer.
  transport_->BeginPolling();
  int64_t until = objects::NowMicros() + 4 * wait_spin_us_;
  bool found = false;
  while (!(found = objects_->TryGet(seq, out)) && objects::NowMicros() < until) {
    transport_->PollOnce();
  }
  transport_->EndPolling();
  return found;
}

Result<objects::ObjectValue> Runtime::Get(const internal::ObjectId& id, int64_t timeout_ms) {
  const int64_t deadline = Deadline(timeout_ms);
  if (id.owner != static_cast<uint32_t>(rank_)) {
    if (IsCollective(id)) return Status(StatusCode::kInvalidArgument, NotHere(id));
    return GetRemote(id, deadline);
  }
  auto r = GetOwned(id.seq, deadline);
  if (r.ok() && r->spilled && !r->error) {
    Status st = Materialize(id.seq, &r.value());
    if (!st.ok()) return st;
  }
  return r;
}

Result<objects::ObjectValue> Runtime::GetOwned(uint64_t seq, int64_t deadline) {
  {
    objects::ObjectValue v;
    if (objects_->TryGet(seq, &v)) return v;
  }
  NoteWait();
  if (RunningInline()) {
    objects::ObjectValue v;
    if (PollUntil([&] { return objects_->TryGet(seq, &v); }, deadline)) return v;
    return Status(StatusCode::kTimeout, "object not ready before the timeout");
  }
  scheduler::ExecutorPool* pool = scheduler::ExecutorPool::Current();
  if (pool == nullptr) {
    objects::ObjectValue v;
    if (SpinPoll(seq, &v)) return v;
    return objects_->Wait(seq, deadline);
  }
  for (;;) {
    objects::ObjectValue v;
    if (objects_->TryGet(seq, &v)) return v;
    if (pool->RunOneIfAny()) continue;
    int64_t slice = objects::NowMicros() + kHelpSliceUs;
    if (deadline >= 0 && deadline < slice) slice = deadline;
    auto r = objects_->Wait(seq, slice);
    if (r.ok() || r.status().code() != StatusCode::kTimeout) return r;
    if (deadline >= 0 && objects::NowMicros() >= deadline) return r;
  }
}

std::vector<bool> Runtime::Wait(const std::vector<internal::ObjectId>& ids, int n,
                                int64_t timeout_ms) {
  // Borrowed references wait on local stand-ins that complete when fetched.
  std::vector<uint64_t> seqs;
  std::vector<std::shared_ptr<internal::RefHandle>> stand_ins;
  seqs.reserve(ids.size());
  for (const auto& id : ids) {
    if (id.owner != static_cast<uint32_t>(rank_)) {
      if (IsCollective(id)) throw Error(ErrorCode::kInvalidArgument, NotHere(id));
      auto borrowed = std::make_shared<internal::RefHandle>(id, std::weak_ptr<objects::RefSink>());
      stand_ins.push_back(LocalizeRef(borrowed));
      seqs.push_back(stand_ins.back()->id().seq);
      continue;
    }
    seqs.push_back(id.seq);
  }
  const int64_t deadline = Deadline(timeout_ms);
  auto enough = [&](const std::vector<bool>& ready) {
    int count = 0;
    for (bool b : ready) count += b ? 1 : 0;
    return count >= n;
  };
  {
    auto now = objects_->WaitSome(seqs, n, objects::NowMicros());
    if (enough(now)) return now;
  }
  NoteWait();
  if (RunningInline()) {
    PollUntil([&] { return enough(objects_->WaitSome(seqs, n, objects::NowMicros())); }, deadline);
    return objects_->WaitSome(seqs, n, objects::NowMicros());
  }
  scheduler::ExecutorPool* pool = scheduler::ExecutorPool::Current();
  if (pool == nullptr) return objects_->WaitSome(seqs, n, deadline);
  for (;;) {
    int64_t slice = objects::NowMicros() + kHelpSliceUs;
    if (deadline >= 0 && deadline < slice) slice = deadline;
    auto ready = objects_->WaitSome(seqs, n, slice);
    if (enough(ready) || (deadline >= 0 && objects::NowMicros() >= deadline)) return ready;
    pool->RunOneIfAny();
  }
}

}  // namespace rankflow::runtime
