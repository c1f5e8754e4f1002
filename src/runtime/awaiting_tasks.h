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
// No transport here: each call fills an Outcome — tasks now ready to run
// (their messages rebuilt with every input in place), tasks that failed on
// an input's error, tasks to bounce — for the runtime to act on. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

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
  /// arguments start at `args_offset`. kMalformed if they do not parse.
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

 private:
  struct Input {
    std::vector<uint8_t> argument;  // tag, length, bytes
    std::shared_ptr<const objects::ObjectError> error;
  };
  struct Task {
    int owner = 0;
    uint64_t seq = 0;
    Buffer message;
    size_t args_offset = 0;
    std::vector<uint64_t> keys;   // per awaited argument, in order
    std::vector<Input> inputs;    // filled as they come
    std::vector<bool> filled;
    size_t missing = 0;
    bool over = false;            // ready, failed or bounced
  };
  struct Entry {
    bool tracked = false;  // an early task of this rank (running, waiting or finished)
    bool done = false;     // finished: `value` kept
    Input value;
    std::vector<std::shared_ptr<Task>> waiters;
  };

  static uint64_t Key(int owner, uint64_t seq);
  void Fill(const std::shared_ptr<Task>& task, uint64_t key, const Input& value, Outcome* out);
  void Done(const std::shared_ptr<Task>& task, Outcome* out);  // every input in: ready or failed
  void Bounce(const std::shared_ptr<Task>& task, Outcome* out);
  static Buffer Rebuild(const Task& task);

  const size_t keep_results_;
  const size_t keep_bytes_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::deque<uint64_t> kept_;  // finished entries, oldest first
  size_t waiting_ = 0;
};

}  // namespace rankflow::runtime
