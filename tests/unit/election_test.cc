// Unit tests for control/election: which rank hosts the control service.
#include "control/election.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace rankflow::control {
namespace {

Candidate C(int rank, bool alive = true, bool runs_driver = false, bool willing = true) {
  Candidate c;
  c.rank = rank;
  c.alive = alive;
  c.runs_driver = runs_driver;
  c.willing = willing;
  return c;
}

// `n` live, willing ranks; `driver` runs the driver.
std::vector<Candidate> Job(int n, int driver) {
  std::vector<Candidate> v;
  for (int r = 0; r < n; ++r) v.push_back(C(r, true, r == driver));
  return v;
}

TEST(ElectionTest, LowestNonDriverRankWins) {
  EXPECT_EQ(ElectControlRank(Job(4, 0)), 1);
  EXPECT_EQ(ElectControlRank(Job(4, 2)), 0);
  EXPECT_EQ(ElectControlRank(Job(4, 3)), 0);
  EXPECT_EQ(ElectControlRank(Job(2, 0)), 1);
  EXPECT_EQ(ElectControlRank(Job(2, 1)), 0);
}

TEST(ElectionTest, NoDriverAmongCandidatesPicksLowest) {
  EXPECT_EQ(ElectControlRank(Job(5, -1)), 0);
  EXPECT_EQ(ElectControlRank({C(7), C(3), C(9)}), 3);
}

TEST(ElectionTest, DriverRankOnlyIfAlone) {
  EXPECT_EQ(ElectControlRank(Job(1, 0)), 0);
  // Driver is the only live candidate.
  EXPECT_EQ(ElectControlRank({C(0, true, true), C(1, false), C(2, false)}), 0);
  // Driver is the only willing candidate.
  EXPECT_EQ(ElectControlRank({C(0, true, false, false), C(1, true, true), C(2, true, false, false)}),
            1);
  // Any live, willing non-driver beats the driver, even a high rank.
  EXPECT_EQ(ElectControlRank({C(0, true, true), C(1, false), C(9)}), 9);
}

TEST(ElectionTest, DeadCandidatesSkipped) {
  auto v = Job(4, 0);
  v[1].alive = false;
  EXPECT_EQ(ElectControlRank(v), 2);
  v[2].alive = false;
  EXPECT_EQ(ElectControlRank(v), 3);
}

TEST(ElectionTest, UnwillingCandidatesSkipped) {
  auto v = Job(4, 0);
  v[1].willing = false;
  EXPECT_EQ(ElectControlRank(v), 2);
  v[2].willing = false;
  v[3].willing = false;
  EXPECT_EQ(ElectControlRank(v), 0);  // only the driver rank is left
}

TEST(ElectionTest, DeadDriverIsNotElected) {
  auto v = Job(3, 0);
  v[0].alive = false;
  v[1].alive = false;
  v[2].alive = false;
  EXPECT_EQ(ElectControlRank(v), -1);
  v[0].alive = true;
  EXPECT_EQ(ElectControlRank(v), 0);
}

TEST(ElectionTest, NoneGivesMinusOne) {
  EXPECT_EQ(ElectControlRank({}), -1);
  EXPECT_EQ(ElectControlRank({C(0, false), C(1, false, true)}), -1);
  EXPECT_EQ(ElectControlRank({C(0, true, false, false), C(1, true, true, false)}), -1);
  EXPECT_EQ(ElectControlRank({C(0, false, false, true), C(1, true, false, false)}), -1);
}

TEST(ElectionTest, ReElectionAfterWinnerDies) {
  auto v = Job(5, 0);
  int first = ElectControlRank(v);
  ASSERT_EQ(first, 1);
  v[first].alive = false;
  int second = ElectControlRank(v);
  EXPECT_EQ(second, 2);
  v[second].alive = false;
  EXPECT_EQ(ElectControlRank(v), 3);
  v[3].alive = false;
  EXPECT_EQ(ElectControlRank(v), 4);
  v[4].alive = false;
  EXPECT_EQ(ElectControlRank(v), 0);  // only the driver's rank survives
  v[0].alive = false;
  EXPECT_EQ(ElectControlRank(v), -1);
}

TEST(ElectionTest, OrderOfInputDoesNotMatter) {
  std::vector<Candidate> base = {
      C(0, true, true),   C(1, false),        C(2, true, false, false), C(3),
      C(4),               C(5, false, false), C(6, true, false, false), C(7),
  };
  const int expected = 3;
  ASSERT_EQ(ElectControlRank(base), expected);

  std::vector<Candidate> rev(base.rbegin(), base.rend());
  EXPECT_EQ(ElectControlRank(rev), expected);

  std::mt19937 rng(4242);
  for (int i = 0; i < 200; ++i) {
    auto v = base;
    std::shuffle(v.begin(), v.end(), rng);
    ASSERT_EQ(ElectControlRank(v), expected) << "shuffle " << i;
  }
}

TEST(ElectionTest, OrderDoesNotMatterForRandomJobs) {
  std::mt19937 rng(99);
  std::bernoulli_distribution coin(0.7);
  for (int trial = 0; trial < 300; ++trial) {
    int n = 1 + static_cast<int>(rng() % 10);
    int driver = static_cast<int>(rng() % (n + 1)) - 1;  // -1: driver elsewhere
    std::vector<Candidate> v;
    for (int r = 0; r < n; ++r) v.push_back(C(r, coin(rng), r == driver, coin(rng)));

    // Reference rule, computed independently.
    int expected = -1;
    for (int r = 0; r < n && expected < 0; ++r) {
      if (v[r].alive && v[r].willing && !v[r].runs_driver) expected = r;
    }
    if (expected < 0 && driver >= 0 && v[driver].alive && v[driver].willing) expected = driver;

    ASSERT_EQ(ElectControlRank(v), expected) << "trial " << trial;
    for (int k = 0; k < 5; ++k) {
      std::shuffle(v.begin(), v.end(), rng);
      ASSERT_EQ(ElectControlRank(v), expected) << "trial " << trial << " shuffle " << k;
    }
  }
}

}  // namespace
}  // namespace rankflow::control
