// PlanBundles: where each strategy puts a placement group's bundles.
#include "control/bundle_planner.h"

#include <gtest/gtest.h>

#include <set>

namespace rankflow::control {
namespace {

// Four ranks on two nodes (ranks 0,1 on node 0; 2,3 on node 1), `cpus` each.
std::vector<RankRoom> TwoNodes(double cpus) {
  std::vector<RankRoom> r;
  for (int i = 0; i < 4; ++i) r.push_back({i, i / 2, {{"CPU", cpus}}});
  return r;
}

int Strategy(BundleStrategy s) { return static_cast<int>(s); }

TEST(BundlePlanner, PackFillsOneRankFirst) {
  auto plan = PlanBundles({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}}, Strategy(BundleStrategy::kPack),
                          TwoNodes(2));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(*plan, (std::vector<int>{0, 0, 1}));  // rank 0 full, then its node's other rank
}

TEST(BundlePlanner, SpreadUsesEveryNodeThenEveryRank) {
  auto plan = PlanBundles({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}},
                          Strategy(BundleStrategy::kSpread), TwoNodes(2));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ((*plan)[0] / 2 != (*plan)[1] / 2, true) << "the first two bundles share a node";
  EXPECT_EQ(std::set<int>(plan->begin(), plan->end()).size(), 4u);
}

TEST(BundlePlanner, StrictPackStaysOnOneNodeOrFails) {
  auto plan = PlanBundles({{{"CPU", 2}}, {{"CPU", 2}}}, Strategy(BundleStrategy::kStrictPack),
                          TwoNodes(2));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ((*plan)[0] / 2, (*plan)[1] / 2);
  auto too_big = PlanBundles({{{"CPU", 2}}, {{"CPU", 2}}, {{"CPU", 2}}},
                             Strategy(BundleStrategy::kStrictPack), TwoNodes(2));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), StatusCode::kInfeasible);
}

TEST(BundlePlanner, StrictSpreadNeedsANodePerBundle) {
  auto plan = PlanBundles({{{"CPU", 1}}, {{"CPU", 1}}}, Strategy(BundleStrategy::kStrictSpread),
                          TwoNodes(1));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_NE((*plan)[0] / 2, (*plan)[1] / 2);
  auto three = PlanBundles({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}},
                           Strategy(BundleStrategy::kStrictSpread), TwoNodes(1));
  EXPECT_EQ(three.status().code(), StatusCode::kInfeasible);
}

TEST(BundlePlanner, AllOrNothingAndNamedResources) {
  auto ranks = TwoNodes(1);
  ranks[3].free["GPU"] = 1;
  auto plan = PlanBundles({{{"CPU", 1}}, {{"GPU", 1}}}, Strategy(BundleStrategy::kPack), ranks);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ((*plan)[1], 3);
  auto two_gpus = PlanBundles({{{"GPU", 1}}, {{"GPU", 1}}}, Strategy(BundleStrategy::kPack), ranks);
  ASSERT_FALSE(two_gpus.ok());
  EXPECT_NE(two_gpus.status().message().find("bundle 1 {GPU: 1}"), std::string::npos)
      << two_gpus.status().message();
}

TEST(BundlePlanner, RejectsBadInput) {
  EXPECT_EQ(PlanBundles({}, 0, TwoNodes(1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanBundles({{{"CPU", -1}}}, 0, TwoNodes(1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanBundles({{{"CPU", 1}}}, 9, TwoNodes(1)).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rankflow::control
