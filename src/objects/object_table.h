// objects/object_table.h — the objects this rank owns (ownership as in Ray).
//
// Every object that a task submitted here will produce, or that Put() stored
// here, has an entry: its state (pending, ready, failed), its value, a count
// of local references and callbacks waiting for it. An entry is freed when
// its last reference goes. Thread safety: all methods may be called from any
// thread; callbacks run on the thread that completes the object, unlocked.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/seq_map.h"
#include "common/status.h"
#include "rankflow/buffer.h"
#include "rankflow/internal/core.h"

namespace rankflow::objects {

/// Why an object holds no value.
struct ObjectError {
  StatusCode code = StatusCode::kInternal;
  std::string message;
  std::string task_name;  // for kTaskFailed
  int rank = -1;          // where it failed
};

/// An object's bytes written out to a file because the store was full.
struct SpillFile {
  std::string path;
  uint64_t size = 0;
  uint64_t checksum = 0;
  ~SpillFile();  // removes the file
};

/// References serialized inside an object's value: the object holds one
/// count on each until it is freed (then `release` gives them back).
struct ContainedRefs {
  std::vector<internal::ExportedRef> ids;
  std::function<void(const std::vector<internal::ExportedRef>&)> release;
  ~ContainedRefs() {
    if (release) release(ids);
  }
};

/// A completed object: a value (in memory or spilled) or an error.
struct ObjectValue {
  Buffer data;
  std::shared_ptr<const ObjectError> error;  // null when ok
  std::shared_ptr<const SpillFile> spilled;  // set when `data` is on disk
  std::shared_ptr<const ContainedRefs> contained;  // references inside `data`
};

/// A value held in memory.
inline ObjectValue ValueOf(Buffer data) {
  ObjectValue v;
  v.data = std::move(data);
  return v;
}

/// A failed object's value: the error, the task it came from and where.
ObjectValue ErrorValue(StatusCode code, std::string message, std::string_view task_name = {},
                       int rank = -1);

/// Where an ObjectRef's last copy reports that it is gone.
class RefSink {
 public:
  virtual ~RefSink() = default;
  /// Drops one reference; `token` names the borrow it ends (0: an ordered one).
  virtual void ReleaseRef(const internal::ObjectId& id, uint64_t token) = 0;
};

/// A callback embedded in what waits (a task's dependency slots): registering
/// it allocates nothing. `ready` runs once, when object `seq` completes or,
/// if the object is unknown, at once; the hook may be freed from then on.
struct ReadyHook {
  uint64_t seq = 0;
  void (*ready)(ReadyHook*) = nullptr;
  void* owner = nullptr;  // for `ready`
  ReadyHook* next = nullptr;
};

class ObjectTable : public RefSink {
 public:
  using ReadyCallback = std::function<void(const ObjectValue&)>;

  /// A new pending object with one reference. Returns its sequence number.
  uint64_t CreatePending();
  /// CreatePending and OnReadyAll(hooks, n) under one lock (the hooks wait
  /// for other objects; those of objects complete already run before it
  /// returns, as with OnReadyAll). With `seq` != 0 the object takes that
  /// number (one of kNamedSeqBit's, not in use) instead of the next.
  uint64_t CreatePendingWatching(ReadyHook* hooks, size_t n, uint64_t seq = 0);
  /// Numbers that callers choose themselves (collective tasks, whose number
  /// every rank knows) have this bit; the table's own never do.
  static constexpr uint64_t kNamedSeqBit = 1ull << 63;
  /// A new ready object with one reference.
  uint64_t CreateReady(Buffer data, std::shared_ptr<const ContainedRefs> contained = nullptr);

  /// Completes an object; ignored if it was already freed or completed.
  void Complete(uint64_t seq, ObjectValue value);
  /// False if the object is gone.
  bool AddRef(uint64_t seq);
  /// Drops one reference; true if that freed the object.
  bool Release(uint64_t seq);
  /// A borrow announced by the rank that passed it on (token != 0). If its
  /// release came first, the two cancel out; else it counts one reference.
  bool AddBorrow(uint64_t seq, uint64_t token);
  /// The end of borrow `token` (0: Release). Before its announcement it is
  /// only noted; true if it freed the object.
  bool ReleaseBorrow(uint64_t seq, uint64_t token);
  void ReleaseRef(const internal::ObjectId& id, uint64_t token) override { ReleaseBorrow(id.seq, token); }
  /// Swaps a ready object's value if it still holds exactly `expected`'s
  /// bytes (spilling and restoring). Returns false if not.
  bool ReplaceValue(uint64_t seq, const uint8_t* expected_data, const void* expected_spill,
                    ObjectValue replacement);
  /// The ready values, least recently read first (spill candidates).
  std::vector<std::pair<uint64_t, ObjectValue>> ReadyByAge() const;

  /// Runs `cb` when the object completes (now, if it has). If the object is
  /// unknown, `cb` gets a kNotFound error.
  void OnReady(uint64_t seq, ReadyCallback cb);
  /// Registers each of `hooks[0..n)` on its object, under one lock. Hooks
  /// of objects already complete (or unknown) run before it returns.
  void OnReadyAll(ReadyHook* hooks, size_t n);
  /// Blocks until complete or `deadline_us` (steady clock, <0 = forever).
  Result<ObjectValue> Wait(uint64_t seq, int64_t deadline_us);
  /// Blocks until `n` of `seqs` are complete or the deadline passes.
  std::vector<bool> WaitSome(const std::vector<uint64_t>& seqs, int n, int64_t deadline_us);
  /// Non-blocking: the value if complete.
  bool TryGet(uint64_t seq, ObjectValue* out);
  /// TryGet of each of `seqs` under one lock; returns how many, in order,
  /// were complete (stops at the first that is not).
  size_t TryGetAll(const uint64_t* seqs, size_t n, ObjectValue* out);

  /// Calls `read(values)` under the table's lock with the values of all of
  /// `seqs` (`values[i]` null where the object is not complete or unknown),
  /// and returns what it returns. `read` must be quick (copy a few small
  /// values at most) and must not call back into the table.
  template <typename F>
  bool ReadLocked(const uint64_t* seqs, size_t n, const ObjectValue** values, F&& read) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < n; ++i) {
      Entry* e = entries_.find(seqs[i]);
      if (e == nullptr || !e->done) {
        values[i] = nullptr;
        continue;
      }
      e->last_read = ++tick_;
      values[i] = &e->value;
    }
    return read(static_cast<const ObjectValue* const*>(values));
  }

  /// Wakes all waiters (e.g. so executor threads waiting in Get can help).
  void NotifyAll();
  size_t size() const;

 private:
  struct BorrowTokens {
    std::unordered_set<uint64_t> counted;         // announced, not yet released
    std::unordered_set<uint64_t> released_early;  // released before their announcement
  };
  struct Entry {
    bool done = false;
    int refs = 1;
    std::unique_ptr<BorrowTokens> borrows;  // made on the first borrow with a token
    ObjectValue value;
    std::vector<ReadyCallback> callbacks;
    ReadyHook* hooks = nullptr;  // a list through ReadyHook::next
    uint64_t last_read = 0;  // tick of completion or of the last read
    int waiters = 0;         // threads in Wait() for this object
  };
  static BorrowTokens& Tokens(Entry& e);
  // Registers hooks[0..n) (under mu_); returns those whose object is done.
  ReadyHook* WatchLocked(ReadyHook* hooks, size_t n);

  uint64_t tick_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Threads in WaitSome() (any completion may be theirs). A completion
  // wakes sleepers only when it has waiters of its own or there are such:
  // a driver waiting for one result is not woken by every other one.
  int multi_waiters_ = 0;
  uint64_t next_seq_ = 1;
  // Entries come and go at the task rate, numbered in order: indexed by
  // number, their records recycled (under mu_).
  SeqMap<Entry> entries_;
};

int64_t NowMicros();

}  // namespace rankflow::objects
