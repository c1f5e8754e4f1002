#include "runtime/awaiting_tasks.h"

#include <cstring>

#include "rankflow/internal/core.h"
#include "runtime/wire.h"

namespace rankflow::runtime {

namespace {
constexpr int kSeqBits = 48;  // an owner's sequence numbers stay far below 2^48
constexpr uint64_t kSeqMask = (uint64_t{1} << kSeqBits) - 1;
}  // namespace

AwaitingTasks::AwaitingTasks(size_t keep_results, size_t keep_bytes)
    : keep_results_(keep_results), keep_bytes_(keep_bytes) {}

uint64_t AwaitingTasks::Key(int owner, uint64_t seq) {
  return (static_cast<uint64_t>(owner) << kSeqBits) | (seq & kSeqMask);
}

Status AwaitingTasks::Add(int owner, uint64_t seq, Buffer message, size_t args_offset,
                          Outcome* out) {
  auto task = std::make_shared<Task>();
  task->owner = owner;
  task->seq = seq;
  task->args_offset = args_offset;
  std::vector<bool> local;
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
      uint64_t input;
      std::memcpy(&input, p + 5, sizeof(input));
      task->keys.push_back(Key(owner, input));
      local.push_back(p[13] != 0);
    }
    p += 5 + len;
  }
  task->message = std::move(message);
  task->inputs.resize(task->keys.size());
  task->filled.assign(task->keys.size(), false);
  task->missing = task->keys.size();

  std::lock_guard<std::mutex> lock(mu_);
  entries_[Key(owner, seq)].tracked = true;
  ++waiting_;
  for (size_t i = 0; i < task->keys.size() && !task->over; ++i) {
    if (task->filled[i]) continue;
    auto it = entries_.find(task->keys[i]);
    if (it != entries_.end() && it->second.done) {
      Fill(task, task->keys[i], it->second.value, out);  // (Fill leaves the map alone)
    } else if (local[i] && (it == entries_.end() || !it->second.tracked)) {
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
  auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.tracked) return;  // bounced meanwhile
  std::vector<std::shared_ptr<Task>> waiters = std::move(it->second.waiters);
  it->second.waiters.clear();
  const bool keep = value.error != nullptr || value.data.size() <= keep_bytes_;
  if (waiters.empty() && !keep) {
    entries_.erase(it);
    return;
  }
  Input in;
  if (value.error) {
    in.error = value.error;
  } else {
    AppendResolvedArgument(in.argument, value.data);
  }
  if (keep) {
    it->second.done = true;
    it->second.value = in;
    kept_.push_back(key);
    while (kept_.size() > keep_results_) {
      auto old = entries_.find(kept_.front());
      if (old != entries_.end() && old->second.done && old->second.waiters.empty()) entries_.erase(old);
      kept_.pop_front();
    }
  } else {
    entries_.erase(it);
  }
  for (const auto& w : waiters) Fill(w, key, in, out);
}

void AwaitingTasks::Pushed(int owner, uint64_t seq, std::span<const uint8_t> argument,
                           std::shared_ptr<const objects::ObjectError> error, Outcome* out) {
  const uint64_t key = Key(owner, seq);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;  // its waiters got it already (pushed once per task)
  std::vector<std::shared_ptr<Task>> waiters = std::move(it->second.waiters);
  it->second.waiters.clear();
  if (!it->second.tracked) entries_.erase(it);
  Input in;
  in.error = std::move(error);
  if (!in.error) in.argument.assign(argument.begin(), argument.end());
  for (const auto& w : waiters) Fill(w, key, in, out);
}

void AwaitingTasks::NotPushed(int owner, uint64_t seq, Outcome* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(Key(owner, seq));
  if (it == entries_.end()) return;
  std::vector<std::shared_ptr<Task>> waiters = std::move(it->second.waiters);
  it->second.waiters.clear();
  if (!it->second.tracked) entries_.erase(it);
  for (const auto& w : waiters) Bounce(w, out);
}

void AwaitingTasks::DropOwner(int owner) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (static_cast<int>(it->first >> kSeqBits) != owner) {
      ++it;
      continue;
    }
    for (const auto& w : it->second.waiters) {
      if (!w->over) {
        w->over = true;
        --waiting_;
      }
    }
    it = entries_.erase(it);
  }
}

size_t AwaitingTasks::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

size_t AwaitingTasks::kept_results() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, e] : entries_) n += e.done ? 1 : 0;
  return n;
}

void AwaitingTasks::Fill(const std::shared_ptr<Task>& task, uint64_t key, const Input& value,
                         Outcome* out) {
  if (task->over) return;
  for (size_t i = 0; i < task->keys.size(); ++i) {
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
  for (size_t i = 0; i < task->keys.size(); ++i) {
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
  auto it = entries_.find(Key(task->owner, task->seq));
  if (it == entries_.end()) return;
  std::vector<std::shared_ptr<Task>> waiters = std::move(it->second.waiters);
  entries_.erase(it);
  for (const auto& w : waiters) Bounce(w, out);
}

Buffer AwaitingTasks::Rebuild(const Task& task) {
  std::vector<uint8_t> bytes;
  size_t extra = 0;
  for (const auto& in : task.inputs) extra += in.argument.size();
  bytes.reserve(task.message.size() + extra);
  const uint8_t* base = task.message.data();
  bytes.insert(bytes.end(), base, base + task.args_offset);
  const uint8_t* p = base + task.args_offset;
  const uint8_t* end = base + task.message.size();
  size_t slot = 0;
  while (p < end) {  // (parsed once already in Add)
    uint32_t len;
    std::memcpy(&len, p + 1, sizeof(len));
    if (p[0] == kArgAwait) {
      const auto& arg = task.inputs[slot++].argument;
      bytes.insert(bytes.end(), arg.begin(), arg.end());
    } else {
      bytes.insert(bytes.end(), p, p + 5 + len);
    }
    p += 5 + len;
  }
  return Buffer::FromVector(std::move(bytes));
}

}  // namespace rankflow::runtime
