// The estimate that decides whether a function's tasks run inline.
#include <gtest/gtest.h>

#include <vector>

#include "scheduler/run_time_estimate.h"

namespace rankflow::scheduler {
namespace {

TEST(RunTimeEstimate, UnknownUntilMeasured) {
  RunTimeEstimate e;
  EXPECT_FALSE(e.ShorterThan(1'000'000'000));
  e.Add(1'000, false);
  EXPECT_TRUE(e.ShorterThan(50'000));
  EXPECT_FALSE(e.ShorterThan(1'000));
}

TEST(RunTimeEstimate, FollowsRecentRunsAndRecovers) {
  RunTimeEstimate e;
  e.Add(1'000, false);
  e.Add(1'000'000, false);  // one slow run: (1000*3 + 1e6) / 4
  EXPECT_FALSE(e.ShorterThan(50'000));
  for (int i = 0; i < 20; ++i) e.Add(1'000, false);
  EXPECT_TRUE(e.ShorterThan(50'000));
}

TEST(RunTimeEstimate, ARunThatWaitedMarksTheFunctionForGood) {
  RunTimeEstimate e;
  e.Add(100, false);
  e.Add(100, true);
  for (int i = 0; i < 10; ++i) e.Add(100, false);
  EXPECT_FALSE(e.ShorterThan(1'000'000'000));
}

TEST(RunTimeEstimate, HugeRunsSaturateAndCopiesKeepTheValue) {
  RunTimeEstimate e;
  e.Add(uint64_t{1} << 40, false);
  EXPECT_FALSE(e.ShorterThan(uint64_t{1} << 41));
  RunTimeEstimate f;
  f.Add(10, false);
  std::vector<RunTimeEstimate> v{f};
  EXPECT_TRUE(v[0].ShorterThan(11));
  e = f;
  EXPECT_TRUE(e.ShorterThan(11));
}

}  // namespace
}  // namespace rankflow::scheduler
