// SPMD mode with a rank that dies mid-graph (SIGKILL inside its collective
// task): inputs the others wait for from it fail with kRankDied instead of
// hanging, later ones too, the survivors' collective graph goes on, and
// Shutdown returns. Run with 3 ranks through `mpirun --enable-recovery`.
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

#include <signal.h>

#include <string>
#include <vector>

namespace {

double Die(int) {
  raise(SIGKILL);
  return 0;
}
double Start(int x) { return x; }
double Add(double a, double b) { return a + b; }

RANKFLOW_REMOTE(Die, Start, Add);

void ExpectRankDied(const rankflow::ObjectRef<double>& ref) {
  try {
    rankflow::Get(ref, 60000);
    ADD_FAILURE() << "an input from a dead rank arrived";
  } catch (const rankflow::TimeoutError&) {
    ADD_FAILURE() << "an input from a dead rank hung";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kRankDied) << e.what();
  }
}

TEST(SpmdDeath, InputsFromADeadRankFailAndSurvivorsGoOn) {
  ASSERT_GE(rankflow::Size(), 3) << "run with at least 3 ranks";
  const int victim = rankflow::Size() - 1, me = rankflow::Rank();
  auto lost = rankflow::Task(Die).SetOwner(victim).Remote(0);
  // Every survivor's task takes the victim's value.
  std::vector<rankflow::ObjectRef<double>> waiting;
  for (int r = 0; r < victim; ++r) waiting.push_back(rankflow::Task(Add).SetOwner(r).Remote(lost, 1.0));
  if (me == victim) return;  // (dies in its task; nothing after this runs there)
  ExpectRankDied(waiting[me]);
  // A later task on the dead rank's value fails at once, with the same cause.
  std::vector<rankflow::ObjectRef<double>> later;
  for (int r = 0; r < victim; ++r) later.push_back(rankflow::Task(Add).SetOwner(r).Remote(lost, 2.0));
  ExpectRankDied(later[me]);
  // The survivors' own graph goes on: a ring of sums over ranks 0..victim-1.
  std::vector<rankflow::ObjectRef<double>> vals;
  for (int r = 0; r < victim; ++r) vals.push_back(rankflow::Task(Start).SetOwner(r).Remote(r));
  std::vector<rankflow::ObjectRef<double>> sums;
  for (int r = 0; r < victim; ++r) {
    sums.push_back(rankflow::Task(Add).SetOwner(r).Remote(vals[r], vals[(r + 1) % victim]));
  }
  EXPECT_DOUBLE_EQ(*rankflow::Get(sums[me], 60000), me + (me + 1) % victim);
}

}  // namespace
