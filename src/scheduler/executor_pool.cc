#include "scheduler/executor_pool.h"

#include <chrono>

#include "common/logging.h"
#include "topology/topology.h"

namespace rankflow::scheduler {

namespace {
thread_local ExecutorPool* tls_pool = nullptr;

int64_t NowUs() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

ExecutorPool* ExecutorPool::Current() { return tls_pool; }

ExecutorPool::ExecutorPool(int num_threads, std::vector<int> pin_pus, int spin_us, RunFn run,
                           PollHooks hooks)
    : run_(std::move(run)), hooks_(std::move(hooks)), spin_us_(spin_us), pin_pus_(std::move(pin_pus)) {
  for (int i = 0; i < num_threads; ++i) threads_.emplace_back([this, i] { Loop(i); });
}

ExecutorPool::~ExecutorPool() { Stop(); }

void ExecutorPool::Push(Work&& work) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    queue_.push_back(std::move(work));
    queued_.fetch_add(1, std::memory_order_release);
    wake = sleepers_ > 0;
  }
  if (wake) cv_.notify_one();
}

bool ExecutorPool::RunOneIfAny() {
  Work w;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty() || stopping_) return false;
    w = std::move(queue_.front());
    queue_.pop_front();
    queued_.fetch_sub(1, std::memory_order_relaxed);
  }
  run_(w);
  return true;
}

void ExecutorPool::Loop(int index) {
  tls_pool = this;
  if (index < static_cast<int>(pin_pus_.size())) {
    Status st = topology::PinCurrentThread(pin_pus_[index]);
    if (!st.ok()) RF_WARN("executor {}: pinning failed: {}", index, st.ToString());
  }
  for (;;) {
    // Spin briefly before sleeping: a task arriving soon costs no wake-up.
    int64_t until = NowUs() + spin_us_;
    if (hooks_.poll) {
      hooks_.begin();
      while (queued_.load(std::memory_order_acquire) == 0 && NowUs() < until) {
        if (hooks_.poll()) until = NowUs() + spin_us_;
      }
      hooks_.end();
    } else {
      while (queued_.load(std::memory_order_acquire) == 0 && NowUs() < until) {
        std::this_thread::yield();
      }
    }
    Work w;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++sleepers_;
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      --sleepers_;
      if (stopping_) return;
      w = std::move(queue_.front());
      queue_.pop_front();
      queued_.fetch_sub(1, std::memory_order_relaxed);
    }
    run_(w);
  }
}

void ExecutorPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
  threads_.clear();
}

}  // namespace rankflow::scheduler
