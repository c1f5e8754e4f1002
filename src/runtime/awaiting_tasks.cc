#include "runtime/awaiting_tasks.h"

#include <cstring>
#include <string>

#include "common/recycled_allocator.h"
#include "common/scratch_bytes.h"
#include "rankflow/internal/core.h"
#include "runtime/wire.h"

namespace rankflow::runtime {

namespace {
constexpr int kSeqBits = 48;  // an owner's sequence numbers stay far below 2^48
constexpr uint64_t kSeqMask = (uint64_t{1} << kSeqBits) - 1;
}  // namespace

void AwaitingTasks::ArgBytes::Assign(std::span<const uint8_t> bytes) {
  size_ = bytes.size();
  if (size_ <= kInline) {
    if (size_ != 0) std::memcpy(inline_, bytes.data(), size_);
  } else {
    more_.assign(bytes.begin(), bytes.end());
  }
}

void AwaitingTasks::ArgBytes::AssignResolved(const Buffer& value) {
  ScratchBytes scratch;
  std::vector<uint8_t>& arg = scratch.get();
  AppendResolvedArgument(arg, value);
  Assign(arg);
}

void AwaitingTasks::Waiters::push_back(std::shared_ptr<Task> t) {
  if (few_ < kFew) {
    first_[few_] = std::move(t);
  } else {
    more_.push_back(std::move(t));
  }
  ++few_;
}

AwaitingTasks::AwaitingTasks(size_t keep_results, size_t keep_bytes)
    : keep_results_(keep_results), keep_bytes_(keep_bytes) {}

uint64_t AwaitingTasks::Key(int owner, uint64_t seq) {
  return (static_cast<uint64_t>(owner) << kSeqBits) | (seq & kSeqMask);
}

Status AwaitingTasks::Add(int owner, uint64_t seq, Buffer message, size_t args_offset,
                          Outcome* out) {
  if ((seq & kSeqMask) == 0) return {StatusCode::kMalformed, "early task: object 0"};
  // (Made here, often freed on the thread that runs it: recycled blocks.)
  auto task = std::allocate_shared<Task>(RecycledAllocator<Task>());
  task->owner = owner;
  task->seq = seq;
  task->args_offset = args_offset;
  bool local[kMaxAwaited] = {};
  if (args_offset > message.size()) return {StatusCode::kMalformed, "early task: bad argument offset"};
  const uint8_t* p = message.data() + args_offset;
  const uint8_t* end = message.data() + message.size();
  while (p < end) {
    uint32_t len;
    if (end - p < 5) return {StatusCode::kMalformed, "early task: truncated argument"};
    std::memcpy(&len, p + 1, sizeof(len));
    if (len > static_cast<size_t>(end - p - 5)) return {StatusCode::kMalformed, "early task: truncated argument"};
    if (p[0] == kArgAwait) {
      if (len != kArgAwaitBytes) return {StatusCode::kMalformed, "early task: bad awaited argument"};
      if (task->awaited == kMaxAwaited) {
        return {StatusCode::kMalformed, "early task: more than " + std::to_string(kMaxAwaited) +
                                            " awaited arguments"};
      }
      uint64_t input;
      std::memcpy(&input, p + 5, sizeof(input));
      if ((input & kSeqMask) == 0) return {StatusCode::kMalformed, "early task: awaits object 0"};
      local[task->awaited] = p[13] != 0;
      task->keys[task->awaited++] = Key(owner, input);
    }
    p += 5 + len;
  }
  task->message = std::move(message);
  task->missing = task->awaited;

  std::lock_guard<std::mutex> lock(mu_);
  entries_[Key(owner, seq)].tracked = true;
  ++waiting_;
  for (size_t i = 0; i < task->awaited && !task->over; ++i) {
    if (task->filled[i]) continue;
    Entry* e = entries_.find(task->keys[i]);
    if (e != nullptr && e->done) {
      Fill(task, task->keys[i], e->value, out);  // (Fill leaves the map alone)
    } else if (local[i] && (e == nullptr || !e->tracked)) {
      Bounce(task, out);  // finished here and forgotten: the owner has it
    } else {
      entries_[task->keys[i]].waiters.push_back(task);
    }
  }
  if (!task->over && task->missing == 0) Done(task, out);  // (no awaited argument)
  return Status::Ok();
}

void AwaitingTasks::Finished(int owner, uint64_t seq, const objects::ObjectValue& value,
                             Outcome* out) {
  const uint64_t key = Key(owner, seq);
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = entries_.find(key);
  if (e == nullptr || !e->tracked) return;  // bounced meanwhile
  Waiters waiters = std::move(e->waiters);
  e->waiters = Waiters();
  const bool keep = value.error != nullptr || value.data.size() <= keep_bytes_;
  if (waiters.empty() && !keep) {
    entries_.erase(key);
    return;
  }
  // Filled into the entry itself when kept, else into a local.
  Input local;
  Input& in = keep ? e->value : local;
  if (value.error) {
    in.error = value.error;
  } else {
    in.argument.AssignResolved(value.data);
  }
  e->done = keep;
  // (Filling touches no entry: `e` and `in` stay valid throughout.)
  waiters.for_each([&](const std::shared_ptr<Task>& w) { Fill(w, key, in, out); });
  if (!keep) {
    entries_.erase(key);
    return;
  }
  kept_.push_back(key);
  while (kept_.size() > keep_results_) {
    const uint64_t oldest = kept_.front();
    kept_.pop_front();
    const Entry* old = entries_.find(oldest);
    if (old != nullptr && old->done && old->waiters.empty()) entries_.erase(oldest);
  }
}

void AwaitingTasks::Pushed(int owner, uint64_t seq, std::span<const uint8_t> argument,
                           std::shared_ptr<const objects::ObjectError> error, Outcome* out) {
  const uint64_t key = Key(owner, seq);
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = entries_.find(key);
  if (e == nullptr) return;  // its waiters got it already (pushed once per task)
  Waiters waiters = std::move(e->waiters);
  e->waiters = Waiters();
  if (!e->tracked) entries_.erase(key);
  Input in;
  in.error = std::move(error);
  if (!in.error) in.argument.Assign(argument);
  waiters.for_each([&](const std::shared_ptr<Task>& w) { Fill(w, key, in, out); });
}

void AwaitingTasks::NotPushed(int owner, uint64_t seq, Outcome* out) {
  const uint64_t key = Key(owner, seq);
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = entries_.find(key);
  if (e == nullptr) return;
  Waiters waiters = std::move(e->waiters);
  e->waiters = Waiters();
  if (!e->tracked) entries_.erase(key);
  waiters.for_each([&](const std::shared_ptr<Task>& w) { Bounce(w, out); });
}

void AwaitingTasks::DropOwner(int owner) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> gone;
  entries_.for_each([&](uint64_t key, const Entry& e) {
    if (static_cast<int>(key >> kSeqBits) != owner) return;
    e.waiters.for_each([&](const std::shared_ptr<Task>& w) {
      if (!w->over) {
        w->over = true;
        --waiting_;
      }
    });
    gone.push_back(key);
  });
  for (uint64_t key : gone) entries_.erase(key);
}

size_t AwaitingTasks::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

size_t AwaitingTasks::kept_results() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  entries_.for_each([&](uint64_t, const Entry& e) { n += e.done ? 1 : 0; });
  return n;
}

void AwaitingTasks::Fill(const std::shared_ptr<Task>& task, uint64_t key, const Input& value,
                         Outcome* out) {
  if (task->over) return;
  for (size_t i = 0; i < task->awaited; ++i) {
    if (task->keys[i] != key || task->filled[i]) continue;
    task->inputs[i] = value;
    task->filled[i] = true;
    --task->missing;
  }
  if (task->missing == 0) Done(task, out);
}

void AwaitingTasks::Done(const std::shared_ptr<Task>& task, Outcome* out) {
  task->over = true;
  --waiting_;
  Ready r;
  r.owner = task->owner;
  r.seq = task->seq;
  for (size_t i = 0; i < task->awaited; ++i) {
    if (task->inputs[i].error) {
      r.error = task->inputs[i].error;
      r.failed_input = task->keys[i] & kSeqMask;
      break;
    }
  }
  r.message = r.error ? task->message : Rebuild(*task);  // (the original names a failed task)
  out->ready.push_back(std::move(r));
}

void AwaitingTasks::Bounce(const std::shared_ptr<Task>& task, Outcome* out) {
  if (task->over) return;
  task->over = true;
  --waiting_;
  out->bounced.emplace_back(task->owner, task->seq);
  // Tasks waiting here for this one's result bounce with it.
  const uint64_t key = Key(task->owner, task->seq);
  Entry* e = entries_.find(key);
  if (e == nullptr) return;
  Waiters waiters = std::move(e->waiters);
  entries_.erase(key);
  waiters.for_each([&](const std::shared_ptr<Task>& w) { Bounce(w, out); });
}

Buffer AwaitingTasks::Rebuild(const Task& task) {
  ScratchBytes scratch;  // copied into one exact-size block
  std::vector<uint8_t>& bytes = scratch.get();
  const uint8_t* base = task.message.data();
  bytes.insert(bytes.end(), base, base + task.args_offset);
  const uint8_t* p = base + task.args_offset;
  const uint8_t* end = base + task.message.size();
  size_t slot = 0;
  while (p < end) {  // (parsed once already in Add)
    uint32_t len;
    std::memcpy(&len, p + 1, sizeof(len));
    if (p[0] == kArgAwait) {
      const auto arg = task.inputs[slot++].argument.span();
      bytes.insert(bytes.end(), arg.begin(), arg.end());
    } else {
      bytes.insert(bytes.end(), p, p + 5 + len);
    }
    p += 5 + len;
  }
  return CopyBytes(bytes.data(), bytes.size());
}

}  // namespace rankflow::runtime
