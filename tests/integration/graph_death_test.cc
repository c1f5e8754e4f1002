// A rank dies during a compiled graph's run (SIGKILL inside a node): Run()
// fails with kRankDied instead of hanging, the graph stays failed, and
// graphs on the surviving ranks still run. Run through `mpirun
// --enable-recovery` so the launcher lets survivors live.
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

#include <signal.h>

namespace {

int Die(int v) {
  raise(SIGKILL);
  return v;
}
int Inc(int v) { return v + 1; }

RANKFLOW_REMOTE(Die, Inc);

TEST(GraphDeath, ARunFailsWhenARankOfItDiesAndOthersGoOn) {
  ASSERT_GE(rankflow::Size(), 3) << "run with at least 3 ranks";
  const int victim = rankflow::Size() - 1;
  rankflow::Graph g;
  auto a = g.Task(Inc).SetRank(1).Add(1);
  auto b = g.Task(Die).SetRank(victim).Add(a);
  auto c = g.Task(Inc).SetRank(1).Add(b);  // waits on rank 1 for the dead rank's value
  g.Output(c);
  auto run = g.Compile();
  try {
    run.Run(60000);
    FAIL() << "a run with a dead rank finished";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kRankDied) << e.what();
  }
  try {
    run.Run(60000);  // failed for good
    FAIL() << "a graph with a dead rank ran again";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kRankDied) << e.what();
  }
  // Compiling onto the dead rank is refused; the others still work.
  rankflow::Graph dead;
  dead.Task(Inc).SetRank(victim).Add(1);
  EXPECT_THROW(dead.Compile(), rankflow::Error);
  rankflow::Graph live;
  auto x = live.Task(Inc).SetRank(1).Add(1);
  auto y = live.Task(Inc).SetRank(0).Add(x);
  live.Output(y);
  auto ok = live.Compile();
  for (int i = 0; i < 3; ++i) {
    ok.Run(60000);
    EXPECT_EQ(ok.Get(y), 3);
  }
}

}  // namespace
