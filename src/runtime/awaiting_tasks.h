// runtime/awaiting_tasks.h — the executing rank's side of early dispatch:
// tasks its owner sent before their inputs existed, and those inputs.
//
// An awaited input is an object of the task's owner, in one of two ways
// (the owner decides, per argument):
//  - local: the result of another early task tracked here. Its result is
//    handed over when it finishes here, and small results are kept a while
//    for tasks that arrive after it finished.
//  - pushed: the owner sends it (kTaskInput) once it completes.
// A task whose local input is no longer known here (finished and evicted),
// or whose pushed input is too large to push, is given back to its owner
// (a bounce): the owner then dispatches it the ordinary way. Tasks tracked
// here that wait on a bounced task are bounced with it.
//
// Records are recycled and small inputs are carried inline, so an early
// task costs a message rebuild and no other allocation here.
//
// No transport here: each call fills an Outcome — tasks now ready to run
// (their messages rebuilt with every input in place), tasks that failed on
// an input's error, tasks to bounce — for the runtime to act on. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "common/seq_map.h"
#include "common/status.h"
#include "objects/object_table.h"
#include "rankflow/buffer.h"

namespace rankflow::runtime {

class AwaitingTasks {
 public:
  /// A task that needs no more inputs.
  struct Ready {
    int owner = 0;
    uint64_t seq = 0;
    Buffer message;  // the task message with every awaited argument in place
    // Or an input failed: the task fails with it (message: as it came).
    std::shared_ptr<const objects::ObjectError> error;
    uint64_t failed_input = 0;
  };
  struct Outcome {
    std::vector<Ready> ready;
    std::vector<std::pair<int, uint64_t>> bounced;  // (owner, task seq)
  };

  /// Results up to `keep_bytes` of at most `keep_results` finished tasks are
  /// kept for tasks that arrive later.
  explicit AwaitingTasks(size_t keep_results = 1024, size_t keep_bytes = 4096);

  /// An early task from `owner`: `message` is its whole message, its
  /// arguments start at `args_offset`. kMalformed if they do not parse,
  /// await more than kMaxAwaited inputs or name object 0.
  Status Add(int owner, uint64_t seq, Buffer message, size_t args_offset, Outcome* out);
  /// A tracked task finished here with `value` (a result or an error).
  void Finished(int owner, uint64_t seq, const objects::ObjectValue& value, Outcome* out);
  /// The owner pushed input `seq`: an encoded argument, or an error.
  void Pushed(int owner, uint64_t seq, std::span<const uint8_t> argument,
              std::shared_ptr<const objects::ObjectError> error, Outcome* out);
  /// The owner will not push input `seq`: the tasks waiting for it bounce.
  void NotPushed(int owner, uint64_t seq, Outcome* out);
  /// Forgets everything of `owner` (it is gone).
  void DropOwner(int owner);

  size_t waiting() const;        // tasks waiting for inputs
  size_t kept_results() const;   // finished results kept

  /// The most awaited arguments an early task may have (the owner sends
  /// early only tasks with at most this many dependencies).
  static constexpr size_t kMaxAwaited = 4;

 private:
  // An encoded argument (tag, length, bytes): inline when small, as pushed
  // and kept values almost always are, so that passing one along copies
  // bytes and allocates nothing.
  class ArgBytes {
   public:
    void Assign(std::span<const uint8_t> bytes);
    void AssignResolved(const Buffer& value);  // a kResolved argument of `value`
    std::span<const uint8_t> span() const {
      return {size_ <= kInline ? inline_ : more_.data(), size_};
    }

   private:
    static constexpr size_t kInline = 48;
    size_t size_ = 0;
    uint8_t inline_[kInline];
    std::vector<uint8_t> more_;
  };
  struct Input {
    ArgBytes argument;
    std::shared_ptr<const objects::ObjectError> error;
  };
  struct Task {
    int owner = 0;
    uint64_t seq = 0;
    Buffer message;
    size_t args_offset = 0;
    size_t awaited = 0;                // awaited arguments, in order:
    uint64_t keys[kMaxAwaited] = {};   //   what each waits for
    Input inputs[kMaxAwaited];         //   filled as they come
    bool filled[kMaxAwaited] = {};
    size_t missing = 0;
    bool over = false;  // ready, failed or bounced
  };
  // Tasks waiting for one input: a few inline, more in a vector.
  class Waiters {
   public:
    void push_back(std::shared_ptr<Task> t);
    bool empty() const { return few_ == 0; }
    template <typename F>
    void for_each(F&& f) const {
      for (size_t i = 0; i < few_ && i < kFew; ++i) f(first_[i]);
      for (const auto& t : more_) f(t);
    }

   private:
    static constexpr size_t kFew = kMaxAwaited;
    size_t few_ = 0;  // all of them (the first kFew inline)
    std::shared_ptr<Task> first_[kFew];
    std::vector<std::shared_ptr<Task>> more_;
  };
  struct Entry {
    bool tracked = false;  // an early task of this rank (running, waiting or finished)
    bool done = false;     // finished: `value` kept
    Input value;
    Waiters waiters;
  };

  static uint64_t Key(int owner, uint64_t seq);
  void Fill(const std::shared_ptr<Task>& task, uint64_t key, const Input& value, Outcome* out);
  void Done(const std::shared_ptr<Task>& task, Outcome* out);  // every input in: ready or failed
  void Bounce(const std::shared_ptr<Task>& task, Outcome* out);
  static Buffer Rebuild(const Task& task);

  const size_t keep_results_;
  const size_t keep_bytes_;
  mutable std::mutex mu_;
  SeqMap<Entry> entries_;      // by Key(owner, seq)
  std::deque<uint64_t> kept_;  // finished entries, oldest first
  size_t waiting_ = 0;
};

}  // namespace rankflow::runtime
