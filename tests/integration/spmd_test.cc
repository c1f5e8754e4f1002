// SPMD mode (InitMode::kSpmd): every rank runs these tests and makes the
// same collective calls in the same order. Collective tasks form one graph
// across the ranks: each is owned and run by the rank SetOwner names, and
// its inputs from other ranks' collective tasks are sent by those ranks.
// Run alone and through a real launcher with 1, 2 and 4 ranks.
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

#include "runtime/testing_hooks.h"
#include "stencil_serial.h"

#include <chrono>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

double Cell(double l, double c, double r, int step) { return (l + 2 * c + r) / 4 + step; }

double CellFailsAt(double l, double c, double r, int step, int fail_step, int x) {
  if (step == fail_step && x == 0) throw std::runtime_error("cell failed at step " + std::to_string(step));
  return Cell(l, c, r, step);
}

double Start(int x) { return x; }
double Add(double a, double b) { return a + b; }

std::vector<double> Ramp(int from, int n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = from + i;
  return v;
}
double Total(std::vector<double> v, double extra) { return std::accumulate(v.begin(), v.end(), extra); }

int RankHere(int v) { return rankflow::Rank() * 1000 + v; }

// A collective submission from inside a task: refused.
double Nested() { return *rankflow::Get(rankflow::Task(Start).SetOwner(0).Remote(1)); }

double SumRefs(std::vector<rankflow::ObjectRef<double>> refs) {
  double sum = 0;
  for (const auto& r : refs) sum += *rankflow::Get(r);
  return sum;
}

class Acc {
 public:
  double Add(double v) { return total_ += v; }

 private:
  double total_ = 0;
};
Acc* MakeAcc() { return new Acc; }

RANKFLOW_REMOTE(Cell, CellFailsAt, Start, Add, Ramp, Total, RankHere, Nested);
RANKFLOW_REMOTE(SumRefs, MakeAcc, &Acc::Add);

int OwnerOf(int x) { return x % rankflow::Size(); }

std::vector<double> Serial(int width, int steps) { return SerialStencil(width, steps, Cell); }

// The stencil as collective tasks: column x on rank x % size.
template <typename F>
std::vector<rankflow::ObjectRef<double>> Stencil(int width, int steps, F&& step) {
  std::vector<rankflow::ObjectRef<double>> prev, cur;
  for (int x = 0; x < width; ++x) prev.push_back(rankflow::Task(Start).SetOwner(OwnerOf(x)).Remote(x));
  for (int t = 1; t < steps; ++t) {
    cur.clear();
    for (int x = 0; x < width; ++x) {
      cur.push_back(step(prev[x > 0 ? x - 1 : x], prev[x], prev[x + 1 < width ? x + 1 : x], t, x));
    }
    prev.swap(cur);
  }
  return prev;
}

auto PlainStep() {
  return [](const auto& l, const auto& c, const auto& r, int t, int x) {
    return rankflow::Task(Cell).SetOwner(OwnerOf(x)).Remote(l, c, r, t);
  };
}

// Waits (bounded: a leak fails, it does not hang) until f() <= want.
template <typename F>
uint64_t SettlesTo(uint64_t want, F&& f) {
  uint64_t now = f();
  for (int i = 0; i < 1000 && now > want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = f();
  }
  return now;
}

// Returns once every rank has called it (collective tasks: each rank's
// token goes to rank 0, whose sum comes back to each).
void Barrier() {
  std::vector<rankflow::ObjectRef<double>> tokens;
  for (int r = 0; r < rankflow::Size(); ++r) tokens.push_back(rankflow::Task(Start).SetOwner(r).Remote(r));
  auto all = tokens[0];
  for (int r = 1; r < rankflow::Size(); ++r) all = rankflow::Task(Add).SetOwner(0).Remote(all, tokens[r]);
  std::vector<rankflow::ObjectRef<double>> back;
  for (int r = 0; r < rankflow::Size(); ++r) back.push_back(rankflow::Task(Add).SetOwner(r).Remote(all, 0.0));
  const int n = rankflow::Size();
  EXPECT_DOUBLE_EQ(*rankflow::Get(back[rankflow::Rank()]), n * (n - 1) / 2.0);
}

// This rank's object count once it is steady (objects of earlier work may
// still be going).
uint64_t SteadyObjectCount() {
  uint64_t before = rankflow::testing::OwnedObjectCount();
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const uint64_t now = rankflow::testing::OwnedObjectCount();
    if (now == before) break;
    before = now;
  }
  return before;
}

TEST(Spmd, StencilMatchesSerialComputation) {
  const int width = 3 * rankflow::Size(), steps = 40;
  const uint64_t sent_before = rankflow::testing::CollectiveInputsSent();
  auto last = Stencil(width, steps, PlainStep());
  // Rank 0 adds up every column's last value: inputs from every rank.
  auto sum = rankflow::Task(Start).SetOwner(0).Remote(0);
  for (const auto& ref : last) sum = rankflow::Task(Add).SetOwner(0).Remote(sum, ref);
  const std::vector<double> want = Serial(width, steps);
  for (int x = 0; x < width; ++x) {
    if (OwnerOf(x) == rankflow::Rank()) {
      EXPECT_DOUBLE_EQ(*rankflow::Get(last[x]), want[x]) << "column " << x;
    }
  }
  if (rankflow::Rank() == 0) {
    EXPECT_DOUBLE_EQ(*rankflow::Get(sum), std::accumulate(want.begin(), want.end(), 0.0));
  }
  if (rankflow::Size() > 1) {
    // Every rank sent its neighbours' columns their inputs, each step.
    EXPECT_GE(rankflow::testing::CollectiveInputsSent() - sent_before, uint64_t(steps - 1));
  } else {
    EXPECT_EQ(rankflow::testing::CollectiveInputsSent(), sent_before);
  }
  // Every input this rank's tasks took comes. (A value two tasks here take
  // comes twice, the second time perhaps after both ran; inputs of the next
  // test may come already: other ranks can be ahead.)
  EXPECT_EQ(SettlesTo(0, [] { return rankflow::testing::CollectiveInputsAwaited(); }), 0u);
}

TEST(Spmd, LargeValuesReachTheOwner) {
  // Above the inline size: a store location within a node, bytes between.
  const int n = 200000;
  const int size = rankflow::Size();
  std::vector<rankflow::ObjectRef<double>> totals;
  for (int r = 0; r < size; ++r) {
    auto ramp = rankflow::Task(Ramp).SetOwner(r).Remote(r, n);
    totals.push_back(rankflow::Task(Total).SetOwner((r + 1) % size).Remote(ramp, 0.5));
  }
  for (int r = 0; r < size; ++r) {
    if ((r + 1) % size != rankflow::Rank()) continue;
    const double want = static_cast<double>(n) * r + static_cast<double>(n) * (n - 1) / 2 + 0.5;
    EXPECT_DOUBLE_EQ(*rankflow::Get(totals[r]), want);
  }
}

TEST(Spmd, AnErrorReachesDependentsOnEveryRank) {
  const int width = 2 * rankflow::Size(), fail_step = 3;
  // Enough steps for the failure of column 0 to reach every column.
  auto last = Stencil(width, fail_step + width + 1, [&](const auto& l, const auto& c, const auto& r, int t, int x) {
    return rankflow::Task(CellFailsAt).SetOwner(OwnerOf(x)).Remote(l, c, r, t, fail_step, x);
  });
  for (int x = 0; x < width; ++x) {
    if (OwnerOf(x) != rankflow::Rank()) continue;
    try {
      rankflow::Get(last[x]);
      ADD_FAILURE() << "column " << x << " did not fail";
    } catch (const rankflow::TaskError& e) {
      EXPECT_NE(std::string(e.what()).find("cell failed at step 3"), std::string::npos) << e.what();
    }
  }
}

TEST(Spmd, AnotherRanksResultIsReadOnlyOnItsOwner) {
  if (rankflow::Size() < 2) GTEST_SKIP() << "needs two ranks";
  const int other = (rankflow::Rank() + 1) % rankflow::Size();
  std::vector<rankflow::ObjectRef<double>> refs;
  for (int r = 0; r < rankflow::Size(); ++r) refs.push_back(rankflow::Task(Start).SetOwner(r).Remote(r));
  try {
    rankflow::Get(refs[other]);
    ADD_FAILURE() << "Get of rank " << other << "'s collective result succeeded";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("owned by rank " + std::to_string(other)), std::string::npos)
        << e.what();
  }
  // Nor as an ordinary task's input: the task fails, with the reason.
  auto plain = rankflow::Task(Add).Remote(refs[other], 1.0);
  try {
    rankflow::Get(plain);
    ADD_FAILURE() << "an ordinary task read another rank's collective result";
  } catch (const rankflow::Error& e) {
    EXPECT_NE(std::string(e.what()).find("owned by rank"), std::string::npos) << e.what();
  }
  // Its own is there.
  EXPECT_DOUBLE_EQ(*rankflow::Get(refs[rankflow::Rank()]), rankflow::Rank());
}

TEST(Spmd, CollectiveResultsDoNotTravelInsideValues) {
  auto own = rankflow::Task(Start).SetOwner(0).Remote(3);
  if (rankflow::Rank() == 0) {  // (the owner's own handle; elsewhere only a name)
    const uint64_t before = SteadyObjectCount();
    {
      auto plain = rankflow::Put(1.5);  // counted by the encoding first, then given back
      try {
        rankflow::Put(std::vector<rankflow::ObjectRef<double>>{plain, own});
        ADD_FAILURE() << "a collective result was nested in a value";
      } catch (const rankflow::Error& e) {
        EXPECT_EQ(e.code(), rankflow::ErrorCode::kInvalidArgument);
        EXPECT_NE(std::string(e.what()).find("cannot be nested"), std::string::npos) << e.what();
      }
    }
    // `plain` is freed: the failed encoding left no count on it.
    EXPECT_EQ(rankflow::testing::OwnedObjectCount(), before);
    EXPECT_DOUBLE_EQ(*rankflow::Get(own), 3.0);
  }
  // The other ranks wait here for rank 0 (nothing of the next test's may
  // reach its table while it counts).
  auto gate = rankflow::Task(Start).SetOwner(0).Remote(0);
  std::vector<rankflow::ObjectRef<double>> passed;
  for (int r = 0; r < rankflow::Size(); ++r) passed.push_back(rankflow::Task(Add).SetOwner(r).Remote(gate, 1.0));
  EXPECT_DOUBLE_EQ(*rankflow::Get(passed[rankflow::Rank()]), 1.0);
}

TEST(Spmd, NestedReferencesInArgumentsAreFreedOnEveryRank) {
  // A collective task whose argument holds references: the owner reads its
  // own; on the other ranks the message is never sent, and the counts the
  // encoding took go back (each rank's object is freed).
  const uint64_t before = SteadyObjectCount();
  {
    auto mine = rankflow::Put(2.5);
    auto total = rankflow::Task(SumRefs).SetOwner(0).Remote(std::vector<rankflow::ObjectRef<double>>{mine});
    if (rankflow::Rank() == 0) {
      EXPECT_DOUBLE_EQ(*rankflow::Get(total), 2.5);
    }
  }
  // (Counted on the other ranks: nothing reaches their tables before their
  // own Barrier token has gone, while rank 0 takes the others' tokens.)
  if (rankflow::Rank() != 0) {
    EXPECT_LE(SettlesTo(before, [] { return rankflow::testing::OwnedObjectCount(); }), before);
  }
  Barrier();  // (nobody's next test reaches a rank's table while it counts)
}

TEST(Spmd, ActorCallsRefuseAnotherRanksCollectiveResult) {
  if (rankflow::Size() < 2) GTEST_SKIP() << "needs two ranks";
  std::vector<rankflow::ObjectRef<double>> refs;
  for (int r = 0; r < rankflow::Size(); ++r) refs.push_back(rankflow::Task(Start).SetOwner(r).Remote(r + 1));
  auto acc = rankflow::Actor(MakeAcc).SetRank(rankflow::Rank()).Remote();
  const int other = (rankflow::Rank() + 1) % rankflow::Size();
  try {
    rankflow::Get(acc.Task(&Acc::Add).Remote(refs[other]));
    ADD_FAILURE() << "an actor call read another rank's collective result";
  } catch (const rankflow::Error& e) {
    EXPECT_NE(std::string(e.what()).find("owned by rank " + std::to_string(other)), std::string::npos)
        << e.what();
  }
  // Its own is an ordinary argument here.
  EXPECT_DOUBLE_EQ(*rankflow::Get(acc.Task(&Acc::Add).Remote(refs[rankflow::Rank()])), rankflow::Rank() + 1);
}

TEST(Spmd, BadCollectiveCallsAreRefusedOnEveryRank) {
  for (int bad : {rankflow::Size(), -1}) {
    try {
      rankflow::Task(Start).SetOwner(bad).Remote(1);
      ADD_FAILURE() << "SetOwner(" << bad << ") was accepted";
    } catch (const rankflow::Error& e) {
      EXPECT_EQ(e.code(), rankflow::ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("not a rank of this job"), std::string::npos) << e.what();
    }
  }
  // From inside a task (whose order no other rank can know).
  try {
    rankflow::Get(rankflow::Task(Nested).Remote());
    ADD_FAILURE() << "a collective task was submitted from inside a task";
  } catch (const rankflow::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("thread that called Init"), std::string::npos) << e.what();
  }
  // The numbering stayed in step: a graph after the refusals still works.
  auto last = Stencil(rankflow::Size(), 5, PlainStep());
  EXPECT_DOUBLE_EQ(*rankflow::Get(last[rankflow::Rank()]), Serial(rankflow::Size(), 5)[rankflow::Rank()]);
}

TEST(Spmd, EveryRankSubmitsTasksOfItsOwn) {
  std::vector<rankflow::ObjectRef<int>> refs;
  for (int i = 0; i < 40; ++i) refs.push_back(rankflow::Task(RankHere).Remote(i));
  for (int i = 0; i < 40; ++i) {
    const int v = *rankflow::Get(refs[i]);
    EXPECT_EQ(v % 1000, i);
    EXPECT_LT(v / 1000, rankflow::Size());
  }
}

TEST(Spmd, ObjectsAreFreedAfterTheGraph) {
  // (Objects of earlier tests may still be going when the baseline is
  // taken: the count may end below it, never above.)
  const uint64_t before = rankflow::testing::OwnedObjectCount();
  {
    const int width = 2 * rankflow::Size();
    auto last = Stencil(width, 30, PlainStep());
    for (int x = 0; x < width; ++x) {
      if (OwnerOf(x) == rankflow::Rank()) rankflow::Get(last[x]);
    }
    EXPECT_GE(rankflow::testing::OwnedObjectCount(), 2u);  // this rank's last columns
  }
  // (Values still being sent to other ranks hold their objects a moment.)
  EXPECT_LE(SettlesTo(before, [] { return rankflow::testing::OwnedObjectCount(); }), before);
}

}  // namespace
