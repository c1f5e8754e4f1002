#include "objects/object_table.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdio>

namespace rankflow::objects {

int64_t NowMicros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

uint64_t ObjectTable::CreatePending() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t seq = next_seq_++;
  entries_.emplace(seq);
  return seq;
}

uint64_t ObjectTable::CreateReady(Buffer data, std::shared_ptr<const ContainedRefs> contained) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t seq = next_seq_++;
  Entry& e = entries_.emplace(seq);
  e.done = true;
  e.last_read = ++tick_;
  e.value.data = std::move(data);
  e.value.contained = std::move(contained);
  return seq;
}

namespace {
// Runs a detached list of hooks (pushed at the front) in the order they
// were registered. Each hook's successor is read before the hook runs:
// running it may free the task it is part of.
void RunHooks(ReadyHook* h) {
  ReadyHook* fifo = nullptr;
  while (h != nullptr) {
    ReadyHook* next = h->next;
    h->next = fifo;
    fifo = h;
    h = next;
  }
  h = fifo;
  while (h != nullptr) {
    ReadyHook* next = h->next;
    h->ready(h);
    h = next;
  }
}
}  // namespace

void ObjectTable::Complete(uint64_t seq, ObjectValue value) {
  std::vector<ReadyCallback> callbacks;
  ReadyHook* hooks;
  ObjectValue copy;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = entries_.find(seq);
    if (e == nullptr || e->done) return;
    e->done = true;
    e->last_read = ++tick_;
    e->value = std::move(value);
    callbacks.swap(e->callbacks);
    hooks = e->hooks;
    e->hooks = nullptr;
    if (!callbacks.empty()) copy = e->value;
    wake = e->waiters > 0 || multi_waiters_ > 0;
  }
  if (wake) cv_.notify_all();
  RunHooks(hooks);
  for (auto& cb : callbacks) cb(copy);
}

ObjectValue ErrorValue(StatusCode code, std::string message, std::string_view task_name,
                       int rank) {
  auto err = std::make_shared<ObjectError>();
  err->code = code;
  err->message = std::move(message);
  err->task_name = std::string(task_name);
  err->rank = rank;
  return ObjectValue{Buffer(), std::move(err), nullptr, nullptr};
}

SpillFile::~SpillFile() {
  if (!path.empty()) std::remove(path.c_str());
}

bool ObjectTable::AddRef(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = entries_.find(seq);
  if (e == nullptr) return false;
  ++e->refs;
  return true;
}

bool ObjectTable::ReplaceValue(uint64_t seq, const uint8_t* expected_data,
                               const void* expected_spill, ObjectValue replacement) {
  ObjectValue old;  // destroyed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = entries_.find(seq);
  if (e == nullptr || !e->done || e->value.error || e->value.data.data() != expected_data ||
      e->value.spilled.get() != expected_spill) {
    return false;
  }
  old = std::move(e->value);
  if (!replacement.contained) replacement.contained = old.contained;  // still inside
  e->value = std::move(replacement);
  return true;
}

std::vector<std::pair<uint64_t, ObjectValue>> ObjectTable::ReadyByAge() const {
  std::vector<std::pair<uint64_t, std::pair<uint64_t, ObjectValue>>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.for_each([&](uint64_t seq, const Entry& e) {
      if (e.done && !e.value.error && !e.value.data.empty()) {
        all.push_back({e.last_read, {seq, e.value}});
      }
    });
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<uint64_t, ObjectValue>> out;
  out.reserve(all.size());
  for (auto& a : all) out.push_back(std::move(a.second));
  return out;
}

bool ObjectTable::Release(uint64_t seq) {
  Entry dead;  // destroyed outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = entries_.find(seq);
    if (e == nullptr) return false;
    if (--e->refs > 0) return false;
    dead = std::move(*e);
    entries_.erase(seq);
  }
  return true;
}

ObjectTable::BorrowTokens& ObjectTable::Tokens(Entry& e) {
  if (!e.borrows) e.borrows = std::make_unique<BorrowTokens>();
  return *e.borrows;
}

bool ObjectTable::AddBorrow(uint64_t seq, uint64_t token) {
  if (token == 0) return AddRef(seq);
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = entries_.find(seq);
  if (e == nullptr) return false;
  BorrowTokens& b = Tokens(*e);
  if (b.released_early.erase(token) == 0) {  // not released yet: count it
    b.counted.insert(token);
    ++e->refs;
  }
  return true;
}

bool ObjectTable::ReleaseBorrow(uint64_t seq, uint64_t token) {
  if (token == 0) return Release(seq);
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = entries_.find(seq);
    if (e == nullptr) return false;
    BorrowTokens& b = Tokens(*e);
    if (b.counted.erase(token) == 0) {  // its announcement is still on the way
      b.released_early.insert(token);
      return false;
    }
  }
  return Release(seq);
}

void ObjectTable::OnReady(uint64_t seq, ReadyCallback cb) {
  ObjectValue value;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = entries_.find(seq);
    if (e == nullptr) {
      auto err = std::make_shared<ObjectError>();
      err->code = StatusCode::kNotFound;
      err->message = "object was freed";
      value.error = err;
    } else if (!e->done) {
      auto& cbs = e->callbacks;
      if (cbs.empty()) cbs.reserve(4);  // a few dependents is the common case: one allocation
      cbs.push_back(std::move(cb));
      return;
    } else {
      value = e->value;
    }
  }
  cb(value);
}

ReadyHook* ObjectTable::WatchLocked(ReadyHook* hooks, size_t n) {
  ReadyHook* now = nullptr;  // hooks of objects done (or unknown)
  for (size_t i = 0; i < n; ++i) {
    Entry* e = entries_.find(hooks[i].seq);
    ReadyHook*& list = (e == nullptr || e->done) ? now : e->hooks;
    hooks[i].next = list;
    list = &hooks[i];
  }
  return now;
}

void ObjectTable::OnReadyAll(ReadyHook* hooks, size_t n) {
  ReadyHook* now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    now = WatchLocked(hooks, n);
  }
  RunHooks(now);  // after the lock
}

uint64_t ObjectTable::CreatePendingWatching(ReadyHook* hooks, size_t n, uint64_t seq) {
  ReadyHook* now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    assert(seq == 0 || ((seq & kNamedSeqBit) != 0 && entries_.find(seq) == nullptr));
    if (seq == 0) seq = next_seq_++;
    entries_.emplace(seq);
    now = WatchLocked(hooks, n);
  }
  RunHooks(now);
  return seq;
}

bool ObjectTable::TryGet(uint64_t seq, ObjectValue* out) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = entries_.find(seq);
  if (e == nullptr || !e->done) return false;
  e->last_read = ++tick_;
  *out = e->value;
  return true;
}

size_t ObjectTable::TryGetAll(const uint64_t* seqs, size_t n, ObjectValue* out) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < n; ++i) {
    Entry* e = entries_.find(seqs[i]);
    if (e == nullptr || !e->done) return i;
    e->last_read = ++tick_;
    out[i] = e->value;
  }
  return n;
}

Result<ObjectValue> ObjectTable::Wait(uint64_t seq, int64_t deadline_us) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    Entry* e = entries_.find(seq);
    if (e == nullptr) return Status(StatusCode::kNotFound, "object was freed");
    if (e->done) {
      e->last_read = ++tick_;
      return e->value;
    }
    int64_t left = 0;
    if (deadline_us >= 0 && (left = deadline_us - NowMicros()) <= 0) {
      return Status(StatusCode::kTimeout, "object not ready before the timeout");
    }
    ++e->waiters;
    if (deadline_us < 0) {
      cv_.wait(lock);
    } else {
      cv_.wait_for(lock, std::chrono::microseconds(left));
    }
    // (Freed meanwhile: the next round reports it.)
    if (Entry* again = entries_.find(seq)) --again->waiters;
  }
}

std::vector<bool> ObjectTable::WaitSome(const std::vector<uint64_t>& seqs, int n,
                                        int64_t deadline_us) {
  std::vector<bool> ready(seqs.size(), false);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    int count = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (!ready[i]) {
        const Entry* e = entries_.find(seqs[i]);
        ready[i] = e == nullptr || e->done;
      }
      count += ready[i] ? 1 : 0;
    }
    if (count >= n) return ready;
    ++multi_waiters_;
    if (deadline_us < 0) {
      cv_.wait(lock);
    } else {
      int64_t left = deadline_us - NowMicros();
      if (left <= 0) {
        --multi_waiters_;
        return ready;
      }
      cv_.wait_for(lock, std::chrono::microseconds(left));
    }
    --multi_waiters_;
  }
}

void ObjectTable::NotifyAll() { cv_.notify_all(); }

size_t ObjectTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace rankflow::objects
