// Unit tests for scheduler/placement: choosing the rank that runs a task.
#include "scheduler/placement.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace rankflow::scheduler {
namespace {

// A view of `n` live ranks, two per node, each with `cpus` CPUs.
std::vector<RankCapacity> UniformView(int n, double cpus) {
  std::vector<RankCapacity> v;
  for (int r = 0; r < n; ++r) {
    RankCapacity c;
    c.rank = r;
    c.node = r / 2;
    c.alive = true;
    c.resources = {{"CPU", cpus}};
    v.push_back(c);
  }
  return v;
}

// Picks `n` times for `demand`, dispatching each pick; returns counts per rank.
std::vector<int> PickAndDispatch(Placement& p, const ResourceMap& demand, int n, int world) {
  std::vector<int> counts(world, 0);
  for (int i = 0; i < n; ++i) {
    auto r = p.Pick(demand, -1);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) break;
    int rank = r.value();
    EXPECT_GE(rank, 0);
    EXPECT_LT(rank, world);
    if (rank < 0 || rank >= world) break;
    ++counts[rank];
    p.OnDispatched(rank);
  }
  return counts;
}

TEST(PlacementTest, DefaultDemandSpreadsOverAllRanks) {
  constexpr int kRanks = 5;
  constexpr int kPicks = 500;
  Placement p(kRanks);
  p.Update(UniformView(kRanks, 2));
  std::vector<int> counts = PickAndDispatch(p, {}, kPicks, kRanks);
  int total = 0;
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_GE(counts[r], kPicks / (2 * kRanks)) << "rank " << r;
    EXPECT_EQ(p.Outstanding(r), counts[r]) << "rank " << r;
    total += counts[r];
  }
  EXPECT_EQ(total, kPicks);
}

TEST(PlacementTest, ExplicitCpuDemandAlsoSpreads) {
  constexpr int kRanks = 4;
  constexpr int kPicks = 400;
  Placement p(kRanks);
  p.Update(UniformView(kRanks, 4));
  std::vector<int> counts = PickAndDispatch(p, {{"CPU", 2}}, kPicks, kRanks);
  for (int r = 0; r < kRanks; ++r) EXPECT_GE(counts[r], kPicks / (2 * kRanks)) << "rank " << r;
}

TEST(PlacementTest, FanOutWithoutDispatchStillRotates) {
  // With equal load everywhere, the rotating start alone must reach every rank.
  constexpr int kRanks = 4;
  Placement p(kRanks);
  p.Update(UniformView(kRanks, 1));
  std::set<int> seen;
  for (int i = 0; i < 4 * kRanks; ++i) {
    auto r = p.Pick({}, -1);
    ASSERT_TRUE(r.ok());
    seen.insert(r.value());
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kRanks));
}

TEST(PlacementTest, CustomResourceOnlyOnSomeRanks) {
  constexpr int kRanks = 6;
  Placement p(kRanks);
  auto view = UniformView(kRanks, 2);
  view[1].resources["GPU"] = 1;
  view[4].resources["GPU"] = 2;
  p.Update(view);

  std::vector<int> counts = PickAndDispatch(p, {{"GPU", 1}}, 100, kRanks);
  for (int r = 0; r < kRanks; ++r) {
    if (r == 1 || r == 4) {
      EXPECT_GT(counts[r], 0) << "rank " << r;
    } else {
      EXPECT_EQ(counts[r], 0) << "rank " << r;
    }
  }
  // Two GPUs fit only rank 4.
  for (int i = 0; i < 20; ++i) {
    auto r = p.Pick({{"GPU", 2}}, -1);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r.value(), 4);
  }
  // A combined demand must fit every resource on one rank.
  auto both = p.Pick({{"GPU", 1}, {"CPU", 2}}, -1);
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both.value() == 1 || both.value() == 4);
  EXPECT_EQ(p.Pick({{"GPU", 1}, {"CPU", 3}}, -1).status().code(), StatusCode::kInfeasible);
}

TEST(PlacementTest, FractionalResources) {
  Placement p(2);
  auto view = UniformView(2, 1);
  view[1].resources["GPU"] = 0.5;
  p.Update(view);
  auto ok = p.Pick({{"GPU", 0.5}}, -1);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), 1);
  EXPECT_EQ(p.Pick({{"GPU", 0.75}}, -1).status().code(), StatusCode::kInfeasible);
}

TEST(PlacementTest, InfeasibleDemandNamesTheResource) {
  Placement p(3);
  p.Update(UniformView(3, 2));
  auto r = p.Pick({{"TPU", 1}}, -1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInfeasible);
  EXPECT_NE(r.status().message().find("TPU"), std::string::npos) << r.status().message();

  // Too much of a resource that exists is infeasible too.
  auto big = p.Pick({{"CPU", 3}}, -1);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kInfeasible);
  EXPECT_NE(big.status().message().find("CPU"), std::string::npos) << big.status().message();
}

TEST(PlacementTest, EmptyViewIsInfeasible) {
  Placement p(2);
  EXPECT_EQ(p.Pick({}, -1).status().code(), StatusCode::kInfeasible);
  EXPECT_EQ(p.Pick({}, 0).status().code(), StatusCode::kInfeasible);
}

TEST(PlacementTest, AffinityToValidRank) {
  constexpr int kRanks = 4;
  Placement p(kRanks);
  p.Update(UniformView(kRanks, 1));
  // Affinity wins even when that rank is the most loaded.
  for (int i = 0; i < 10; ++i) p.OnDispatched(2);
  for (int i = 0; i < 5; ++i) {
    auto r = p.Pick({}, 2);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r.value(), 2);
  }
  auto r0 = p.Pick({{"CPU", 1}}, 0);
  ASSERT_TRUE(r0.ok());
  EXPECT_EQ(r0.value(), 0);
}

TEST(PlacementTest, AffinityToInvalidRank) {
  Placement p(3);
  p.Update(UniformView(3, 1));
  for (int bad : {3, 4, 1000}) {
    auto r = p.Pick({}, bad);
    ASSERT_FALSE(r.ok()) << "rank " << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInfeasible);
    EXPECT_NE(r.status().message().find(std::to_string(bad)), std::string::npos)
        << r.status().message();
  }
}

TEST(PlacementTest, AffinityToRankLackingTheResource) {
  Placement p(3);
  auto view = UniformView(3, 1);
  view[0].resources["GPU"] = 1;
  p.Update(view);
  EXPECT_TRUE(p.Pick({{"GPU", 1}}, 0).ok());
  auto r = p.Pick({{"GPU", 1}}, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInfeasible);
  EXPECT_NE(r.status().message().find("GPU"), std::string::npos) << r.status().message();
}

TEST(PlacementTest, AffinityToDeadRank) {
  Placement p(3);
  p.Update(UniformView(3, 1));
  p.MarkDead(1);
  auto r = p.Pick({}, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInfeasible);
  EXPECT_NE(r.status().message().find("dead"), std::string::npos) << r.status().message();

  // Dead in the view itself (not via MarkDead) behaves the same.
  auto view = UniformView(3, 1);
  view[2].alive = false;
  p.Update(view);
  EXPECT_EQ(p.Pick({}, 2).status().code(), StatusCode::kInfeasible);
  EXPECT_TRUE(p.Pick({}, 1).ok());  // the new view revived rank 1
}

TEST(PlacementTest, MarkDeadRemovesRank) {
  constexpr int kRanks = 4;
  Placement p(kRanks);
  auto view = UniformView(kRanks, 1);
  view[1].resources["GPU"] = 1;
  view[3].resources["GPU"] = 1;
  p.Update(view);
  p.MarkDead(1);

  std::vector<int> counts = PickAndDispatch(p, {}, 90, kRanks);
  EXPECT_EQ(counts[1], 0);
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[2], 0);
  EXPECT_GT(counts[3], 0);

  // Custom demands skip it too.
  for (int i = 0; i < 10; ++i) {
    auto r = p.Pick({{"GPU", 1}}, -1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), 3);
  }
  // Once every GPU rank is dead, the GPU demand is infeasible.
  p.MarkDead(3);
  EXPECT_EQ(p.Pick({{"GPU", 1}}, -1).status().code(), StatusCode::kInfeasible);
  // Kill the rest: default demand is infeasible.
  p.MarkDead(0);
  p.MarkDead(2);
  EXPECT_EQ(p.Pick({}, -1).status().code(), StatusCode::kInfeasible);
}

TEST(PlacementTest, MarkDeadUnknownRankIsHarmless) {
  Placement p(2);
  p.Update(UniformView(2, 1));
  p.MarkDead(7);
  std::vector<int> counts = PickAndDispatch(p, {}, 10, 2);
  EXPECT_EQ(counts[0] + counts[1], 10);
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[1], 0);
}

TEST(PlacementTest, LeastLoadedRankIsPicked) {
  constexpr int kRanks = 3;
  Placement p(kRanks);
  p.Update(UniformView(kRanks, 1));
  for (int r = 0; r < kRanks; ++r) {
    p.OnDispatched(r);
    p.OnDispatched(r);
  }
  p.OnDispatched(0);
  p.OnDispatched(2);
  // Loads: {3, 2, 3}: rank 1 wins from any rotating start.
  for (int i = 0; i < 2 * kRanks; ++i) {
    auto r = p.Pick({}, -1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), 1) << "pick " << i;
  }
}

TEST(PlacementTest, OnFinishedMakesRankPreferredAgain) {
  constexpr int kRanks = 3;
  Placement p(kRanks);
  p.Update(UniformView(kRanks, 1));
  for (int r = 0; r < kRanks; ++r) {
    for (int i = 0; i < 4; ++i) p.OnDispatched(r);
  }
  for (int r = 0; r < kRanks; ++r) EXPECT_EQ(p.Outstanding(r), 4);

  p.OnFinished(2);
  EXPECT_EQ(p.Outstanding(2), 3);
  for (int i = 0; i < 2 * kRanks; ++i) {
    auto r = p.Pick({}, -1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), 2) << "pick " << i;
  }
  // Rank 0 finishes two tasks: it is now the least loaded.
  p.OnFinished(0);
  p.OnFinished(0);
  for (int i = 0; i < 2 * kRanks; ++i) {
    auto r = p.Pick({}, -1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), 0) << "pick " << i;
  }
}

TEST(PlacementTest, LoadIsPerCpu) {
  Placement p(2);
  auto view = UniformView(2, 1);
  view[1].resources["CPU"] = 8;
  p.Update(view);
  // Rank 0: 1 task on 1 CPU (load 1). Rank 1: 4 tasks on 8 CPUs (load 0.5).
  p.OnDispatched(0);
  for (int i = 0; i < 4; ++i) p.OnDispatched(1);
  for (int i = 0; i < 4; ++i) {
    auto r = p.Pick({}, -1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), 1);
  }
  // Dispatching in proportion: rank 1 takes about 8x as many.
  std::vector<int> counts = PickAndDispatch(p, {}, 90, 2);
  EXPECT_GT(counts[1], counts[0]);
}

TEST(PlacementTest, UpdateReplacesTheView) {
  Placement p(3);
  auto view = UniformView(3, 1);
  p.Update(view);
  EXPECT_EQ(p.Pick({{"GPU", 1}}, -1).status().code(), StatusCode::kInfeasible);
  view[2].resources["GPU"] = 1;
  p.Update(view);
  auto r = p.Pick({{"GPU", 1}}, -1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 2);
  // A rank with no CPUs is not picked for the default demand.
  view[0].resources["CPU"] = 0;
  view[1].resources.erase("CPU");
  p.Update(view);
  for (int i = 0; i < 6; ++i) {
    auto d = p.Pick({}, -1);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.value(), 2);
  }
}

}  // namespace
}  // namespace rankflow::scheduler
