// scheduler/run_time_estimate.h — how long a function's tasks have lately
// taken on this rank, and whether one has ever waited for something.
//
// A task of a function that is known to be short and never to block runs on
// the thread that received it, with no hand-off to an executor (see
// Runtime::TakeInline). Estimates are per rank and lock-free; a new function
// is unknown (never inline) until its first run on an executor is measured.
#pragma once

#include <atomic>
#include <cstdint>

namespace rankflow::scheduler {

class RunTimeEstimate {
 public:
  RunTimeEstimate() = default;
  // Copyable so that registry entries can live in containers.
  RunTimeEstimate(const RunTimeEstimate& o) : ns_(o.ns_.load(std::memory_order_relaxed)) {}
  RunTimeEstimate& operator=(const RunTimeEstimate& o) {
    ns_.store(o.ns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return *this;
  }

  /// Records one run: its duration and whether it waited (Get, Wait, a reply).
  /// A run that waited marks the function as blocking for good.
  void Add(uint64_t ns, bool waited) const {
    if (waited) {
      ns_.store(kBlocks, std::memory_order_relaxed);
      return;
    }
    const uint32_t old = ns_.load(std::memory_order_relaxed);
    if (old == kBlocks) return;
    const uint64_t sample = ns < kCap ? ns : kCap;
    // Moving average with weight 1/4 on the newest run; the first run counts whole.
    const uint64_t next = old == kUnknown ? sample : (uint64_t{old} * 3 + sample) / 4;
    ns_.store(static_cast<uint32_t>(next), std::memory_order_relaxed);
  }
  /// True when recent runs averaged under `limit_ns` and none ever waited.
  bool ShorterThan(uint64_t limit_ns) const {
    const uint32_t v = ns_.load(std::memory_order_relaxed);
    return v < kCap && v < limit_ns;
  }

 private:
  static constexpr uint32_t kUnknown = 0xffffffffu;
  static constexpr uint32_t kBlocks = 0xfffffffeu;
  static constexpr uint32_t kCap = 0xf0000000u;  // about 4 s
  mutable std::atomic<uint32_t> ns_{kUnknown};
};

}  // namespace rankflow::scheduler
