// Get and Wait on objects this rank owns. A thread of the executor pool that
// waits runs queued tasks meanwhile, so nested tasks cannot starve the pool.
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
  if (id.owner != static_cast<uint32_t>(rank_)) {
    return Status(StatusCode::kInvalidArgument,
                  "object " + id.ToString() + " is owned by rank " + std::to_string(id.owner) +
                      "; this version reads objects only on their owner");
  }
  const int64_t deadline = Deadline(timeout_ms);
  scheduler::ExecutorPool* pool = scheduler::ExecutorPool::Current();
  if (pool == nullptr) {
    objects::ObjectValue v;
    if (SpinPoll(id.seq, &v)) return v;
    return objects_->Wait(id.seq, deadline);
  }
  for (;;) {
    objects::ObjectValue v;
    if (objects_->TryGet(id.seq, &v)) return v;
    if (pool->RunOneIfAny()) continue;
    int64_t slice = objects::NowMicros() + kHelpSliceUs;
    if (deadline >= 0 && deadline < slice) slice = deadline;
    auto r = objects_->Wait(id.seq, slice);
    if (r.ok() || r.status().code() != StatusCode::kTimeout) return r;
    if (deadline >= 0 && objects::NowMicros() >= deadline) return r;
  }
}

std::vector<bool> Runtime::Wait(const std::vector<internal::ObjectId>& ids, int n,
                                int64_t timeout_ms) {
  std::vector<uint64_t> seqs;
  seqs.reserve(ids.size());
  for (const auto& id : ids) {
    if (id.owner != static_cast<uint32_t>(rank_)) {
      throw Error(ErrorCode::kInvalidArgument, "Wait(): object " + id.ToString() +
                                                   " is owned by another rank");
    }
    seqs.push_back(id.seq);
  }
  const int64_t deadline = Deadline(timeout_ms);
  scheduler::ExecutorPool* pool = scheduler::ExecutorPool::Current();
  if (pool == nullptr) return objects_->WaitSome(seqs, n, deadline);
  for (;;) {
    int64_t slice = objects::NowMicros() + kHelpSliceUs;
    if (deadline >= 0 && deadline < slice) slice = deadline;
    auto ready = objects_->WaitSome(seqs, n, slice);
    int count = 0;
    for (bool b : ready) count += b ? 1 : 0;
    if (count >= n || (deadline >= 0 && objects::NowMicros() >= deadline)) return ready;
    pool->RunOneIfAny();
  }
}

}  // namespace rankflow::runtime
