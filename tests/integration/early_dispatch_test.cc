// Early dispatch (RANKFLOW_EARLY_DISPATCH=1, every rank): tasks sent to the
// rank computing most of their inputs before those exist, their other
// inputs pushed by the owner, and the fallbacks — an input too large to
// push, an input's error. Run through a real launcher with 1, 2 and 4 ranks.
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

#include "runtime/testing_hooks.h"
#include "stencil_serial.h"

#include <chrono>
#include <cstdlib>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

double Cell(double l, double c, double r, int step) { return (l + 2 * c + r) / 4 + step; }

double CellSlow(double l, double c, double r, int step) {
  std::this_thread::sleep_for(std::chrono::microseconds(200));
  return Cell(l, c, r, step);
}

double CellFailsAt(double l, double c, double r, int step, int fail_step) {
  if (step == fail_step) throw std::runtime_error("cell failed at step " + std::to_string(step));
  return Cell(l, c, r, step);
}

double Start(int x, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return x;
}

int SleepThen(int ms, int v) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return v;
}

std::vector<uint8_t> Big(int ms, int bytes) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  std::vector<uint8_t> v(static_cast<size_t>(bytes));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 7);
  return v;
}

long Combine(int a, int b, std::vector<uint8_t> big) {
  return a + b + std::accumulate(big.begin(), big.end(), 0L);
}

RANKFLOW_REMOTE(Cell, CellSlow, CellFailsAt, Start, SleepThen, Big, Combine);

std::vector<double> Serial(int width, int steps) { return SerialStencil(width, steps, Cell); }

// Columns start in blocks of two per rank, so that most of each task's
// inputs come from its own column's rank (where it is then sent early).
template <typename F>
std::vector<rankflow::ObjectRef<double>> Stencil(int width, int steps, F&& task, int start_ms = 0) {
  std::vector<rankflow::ObjectRef<double>> prev, cur;
  for (int x = 0; x < width; ++x) {
    prev.push_back(rankflow::Task(Start).SetRank((x / 2) % rankflow::Size()).Remote(x, start_ms));
  }
  for (int t = 1; t < steps; ++t) {
    cur.clear();
    for (int x = 0; x < width; ++x) {
      cur.push_back(task(prev[x > 0 ? x - 1 : x], prev[x], prev[x + 1 < width ? x + 1 : x], t));
    }
    prev.swap(cur);
  }
  return prev;
}

TEST(EarlyDispatch, StencilMatchesSerialComputation) {
  const int width = 2 * rankflow::Size();
  for (bool slow : {false, true}) {
    const uint64_t early_before = rankflow::testing::TasksSentEarly();
    const int steps = slow ? 20 : 200;
    // Slow: every task is there long before its inputs; fast: inputs often
    // finish before the task that needs them arrives.
    auto refs = Stencil(
        width, steps,
        [&](const auto& l, const auto& c, const auto& r, int t) {
          return slow ? rankflow::Task(CellSlow).Remote(l, c, r, t) : rankflow::Task(Cell).Remote(l, c, r, t);
        },
        slow ? 20 : 0);
    std::vector<double> want = Serial(width, steps);
    for (int x = 0; x < width; ++x) EXPECT_DOUBLE_EQ(*rankflow::Get(refs[x]), want[x]) << "column " << x;
    // Columns computed on other ranks are chains of tasks sent ahead (for
    // certain when the first step is slow: the whole graph is submitted
    // while it runs; the fast graph's count depends on timing).
    if (slow && rankflow::Size() > 1) {
      EXPECT_GT(rankflow::testing::TasksSentEarly(), early_before);
    }
  }
}

TEST(EarlyDispatch, ByDefaultOnlyTowardsOtherNodes) {
  const char* mode = std::getenv("RANKFLOW_EARLY_DISPATCH");
  if (mode != nullptr && std::string(mode) != "auto") GTEST_SKIP() << "RANKFLOW_EARLY_DISPATCH=" << mode;
  bool other_node = false;
  for (int r = 0; r < rankflow::Size(); ++r) {
    other_node = other_node || rankflow::testing::NodeOfRank(r) != rankflow::testing::NodeOfRank(0);
  }
  const int width = 2 * rankflow::Size();
  const uint64_t early_before = rankflow::testing::TasksSentEarly();
  // (The first step takes 50 ms, so that the graph is submitted while its
  // inputs are in flight however slow the driver is.)
  auto refs = Stencil(
      width, 50,
      [&](const auto& l, const auto& c, const auto& r, int t) { return rankflow::Task(Cell).Remote(l, c, r, t); },
      50);
  EXPECT_DOUBLE_EQ(*rankflow::Get(refs[width - 1]), Serial(width, 50)[width - 1]);
  if (other_node) {
    EXPECT_GT(rankflow::testing::TasksSentEarly(), early_before);
  } else {
    EXPECT_EQ(rankflow::testing::TasksSentEarly(), early_before);
  }
}

TEST(EarlyDispatch, InputErrorFailsDependentsWithTheCause) {
  const int width = 2 * rankflow::Size();
  const int fail_step = 5;
  const uint64_t early_before = rankflow::testing::TasksSentEarly();
  auto refs = Stencil(
      width, 12,
      [&](const auto& l, const auto& c, const auto& r, int t) {
        return rankflow::Task(CellFailsAt).Remote(l, c, r, t, fail_step);
      },
      50);  // (in flight while the graph is submitted: see above)
  for (int x = 0; x < width; ++x) {
    try {
      (void)rankflow::Get(refs[x]);
      ADD_FAILURE() << "column " << x << " did not fail";
    } catch (const rankflow::Error& e) {
      EXPECT_NE(std::string(e.what()).find("cell failed at step 5"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("dependency"), std::string::npos) << e.what();
    }
  }
  if (rankflow::Size() > 1) {
    EXPECT_GT(rankflow::testing::TasksSentEarly(), early_before);
  }
  // The runtime goes on: a fresh graph computes.
  auto ok = Stencil(width, 10, [&](const auto& l, const auto& c, const auto& r, int t) {
    return rankflow::Task(Cell).Remote(l, c, r, t);
  });
  EXPECT_DOUBLE_EQ(*rankflow::Get(ok[0]), Serial(width, 10)[0]);
}

TEST(EarlyDispatch, InputTooLargeToPushComesBackAndCompletes) {
  if (rankflow::Size() < 2) GTEST_SKIP() << "needs another rank";
  // Two inputs computed on rank 1, one (larger than a push) on this rank:
  // the task goes to rank 1 early, then comes back when the large one is ready.
  const uint64_t bounced_before = rankflow::testing::TasksBounced();
  const uint64_t early_before = rankflow::testing::TasksSentEarly();
  const int bytes = 300 * 1024;
  auto a = rankflow::Task(SleepThen).SetRank(1).Remote(100, 1);
  auto b = rankflow::Task(SleepThen).SetRank(1).Remote(100, 2);
  auto big = rankflow::Task(Big).SetRank(rankflow::Rank()).Remote(50, bytes);
  auto sum = rankflow::Task(Combine).Remote(a, b, big);
  long want = 3;
  for (int i = 0; i < bytes; ++i) want += static_cast<uint8_t>(i * 7);
  EXPECT_EQ(*rankflow::Get(sum), want);
  EXPECT_EQ(rankflow::testing::TasksSentEarly(), early_before + 1);
  EXPECT_EQ(rankflow::testing::TasksBounced(), bounced_before + 1);
}

}  // namespace
