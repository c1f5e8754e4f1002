// Unit tests for perf/metg/metg_math.h: METG(50%) as Task Bench computes it,
// shared by the rankflow and the MPI stencil benchmarks.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "../../perf/metg/metg_math.h"

namespace {

// A point that ran at `rate` FLOP/s with granularity `granularity` us.
metg_point Point(long iter, double rate, double granularity) {
  const double seconds = granularity * 1e-3;  // any time: only rates and granularities matter
  return metg_point{iter, seconds, rate * seconds, granularity};
}

// Efficiencies 1.0, 0.8, 0.6, 0.2 of a peak of 100 FLOP/s.
std::vector<metg_point> Sweep() {
  return {Point(8, 100, 16), Point(4, 80, 8), Point(2, 60, 5), Point(1, 20, 4)};
}

TEST(MetgMathTest, PeakIsTheBestRate) {
  const auto pts = Sweep();
  EXPECT_DOUBLE_EQ(metg_peak(pts.data(), pts.size()), 100.0);
}

TEST(MetgMathTest, InterpolatesWhereTheEfficiencyCrossesTheThreshold) {
  const auto pts = Sweep();
  // Between (eff 0.6, 5 us) and (eff 0.2, 4 us): 0.5 is a quarter of the way.
  EXPECT_NEAR(metg_50(pts.data(), pts.size()), 4.75, 1e-12);
}

TEST(MetgMathTest, NoInterpolationTowardsALargerGranularity) {
  auto pts = Sweep();
  pts[3] = Point(1, 20, 6);  // the smallest kernel ran slower per task than the one before
  EXPECT_DOUBLE_EQ(metg_50(pts.data(), pts.size()), 5.0);
}

TEST(MetgMathTest, ThePointsOrderDoesNotMatter) {
  auto pts = Sweep();
  std::reverse(pts.begin(), pts.end());
  std::swap(pts[1], pts[2]);
  EXPECT_NEAR(metg_50(pts.data(), pts.size()), 4.75, 1e-12);
}

TEST(MetgMathTest, AHigherPeakGivesALargerMetg) {
  const auto pts = Sweep();
  // Against 125 FLOP/s the efficiencies are 0.8, 0.64, 0.48, 0.16: the
  // crossing is between the 8 us and the 5 us points.
  const double m = metg_at(pts.data(), pts.size(), 125.0, 0.5);
  EXPECT_NEAR(m, 8.0 + (0.5 - 0.64) * (5.0 - 8.0) / (0.48 - 0.64), 1e-12);
  EXPECT_GT(m, metg_50(pts.data(), pts.size()));
}

TEST(MetgMathTest, NothingAtTheThresholdIsMinusOne) {
  const auto pts = Sweep();
  EXPECT_EQ(metg_at(pts.data(), pts.size(), 1000.0, 0.5), -1.0);
  EXPECT_EQ(metg_50(nullptr, 0), -1.0);
}

TEST(MetgMathTest, TheLastPointAtTheThresholdIsKeptAsIs) {
  const auto pts = Sweep();
  // Every point qualifies at 10%: the smallest granularity, nothing below it.
  EXPECT_DOUBLE_EQ(metg_at(pts.data(), pts.size(), 100.0, 0.1), 4.0);
}

}  // namespace
