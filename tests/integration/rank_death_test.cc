// A rank dies mid-job (SIGKILL inside a task): the owner's tasks there fail
// with kRankDied instead of hanging, and the job goes on with the others.
// Run through `mpirun --enable-recovery` so the launcher lets survivors live.
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

namespace {

int Die(int) {
  raise(SIGKILL);
  return 0;
}
int Nap(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return rankflow::Rank();
}
int RankOf(int) { return rankflow::Rank(); }

RANKFLOW_REMOTE(Die, Nap, RankOf);

TEST(RankDeath, TasksOnADeadRankFailAndOthersGoOn) {
  ASSERT_GE(rankflow::Size(), 3) << "run with at least 3 ranks";
  const int victim = rankflow::Size() - 1;
  auto death = rankflow::Task(Die).SetRank(victim).Remote(0);
  auto pending = rankflow::Task(Nap).SetRank(victim).Remote(10);  // queued there when it dies
  for (auto* ref : {&death, &pending}) {
    try {
      rankflow::Get(*ref, 60000);
      FAIL() << "a task on a dead rank returned";
    } catch (const rankflow::TimeoutError&) {
      FAIL() << "a task on a dead rank hung";
    } catch (const rankflow::Error& e) {
      EXPECT_EQ(e.code(), rankflow::ErrorCode::kRankDied) << e.what();
    }
  }
  // New work avoids the dead rank and completes.
  std::set<int> seen;
  for (int i = 0; i < 60; ++i) seen.insert(*rankflow::Get(rankflow::Task(RankOf).Remote(i)));
  EXPECT_EQ(seen.count(victim), 0u);
  EXPECT_GE(seen.size(), 2u);
  // Asking for the dead rank explicitly is a clear error, not a hang.
  EXPECT_THROW(rankflow::Get(rankflow::Task(RankOf).SetRank(victim).Remote(0), 10000),
               rankflow::Error);
}

}  // namespace
