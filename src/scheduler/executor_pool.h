// scheduler/executor_pool.h — the threads that run tasks on a rank.
//
// One thread per core of the rank's share by default, pinned when the share
// is exclusive. Idle threads spin briefly, then sleep on a condition
// variable; while spinning they poll the network themselves, so a task that
// arrives then runs without any thread hand-off. A thread blocked in Get() inside a task may run queued work
// meanwhile (RunOneIfAny), so nested fan-out cannot deadlock the pool.
// Thread safety: Push/RunOneIfAny from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "rankflow/buffer.h"

namespace rankflow::scheduler {

/// A unit of work: one encoded task message and who sent it.
struct Work {
  int source = -1;
  Buffer message;
};

/// Lets idle executors drive the network while they spin (see
/// Transport::PollOnce); all empty when there is no network.
struct PollHooks {
  std::function<void()> begin;
  std::function<bool()> poll;
  std::function<void()> end;
};

class ExecutorPool {
 public:
  using RunFn = std::function<void(Work&)>;

  /// `pin_pus[i]` (if given) is the PU executor i is pinned to.
  ExecutorPool(int num_threads, std::vector<int> pin_pus, int spin_us, RunFn run,
               PollHooks hooks = {});
  ~ExecutorPool();

  void Push(Work&& work);
  /// Runs one queued item on the calling thread; false if none was queued.
  bool RunOneIfAny();
  /// Stops after the running items finish; queued items are dropped.
  void Stop();
  int size() const { return static_cast<int>(threads_.size()); }
  /// The pool the calling thread belongs to, or nullptr.
  static ExecutorPool* Current();

 private:
  void Loop(int index);

  RunFn run_;
  PollHooks hooks_;
  int spin_us_;
  std::vector<int> pin_pus_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Work> queue_;
  std::atomic<int> queued_{0};
  int sleepers_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace rankflow::scheduler
