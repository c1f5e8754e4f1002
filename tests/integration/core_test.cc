// Multi-rank behaviour of tasks and objects, run through a real launcher.
// main() calls rankflow::Init: the driver rank runs these tests, the other
// ranks serve tasks until Shutdown.
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

#include "runtime/testing_hooks.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

double Simulate(int seed, std::vector<double> params) {
  double acc = seed;
  for (double p : params) acc = acc * 0.5 + p;
  return acc;
}

int WhereAmI(int) { return rankflow::Rank(); }

int Add(int a, int b) { return a + b; }

int SleepThenReturn(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

// Nested tasks: the task itself fans out and gathers.
long Fib(int n) {
  if (n < 2) return n;
  auto a = rankflow::Task(Fib).Remote(n - 1);
  auto b = rankflow::Task(Fib).Remote(n - 2);
  return *rankflow::Get(a) + *rankflow::Get(b);
}

struct Particle {
  std::string name;
  std::vector<double> pos;
  std::map<std::string, int> tags;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, pos, tags);
  }
};

Particle Move(Particle p, double dx) {
  for (double& x : p.pos) x += dx;
  p.tags["moved"] += 1;
  p.name += "'";
  return p;
}

// Returns the sum and the size of a large array (the rendezvous path).
std::vector<double> SumAndEcho(std::vector<double> v) {
  double s = std::accumulate(v.begin(), v.end(), 0.0);
  v.push_back(s);
  return v;
}

std::string Concat(std::string a, std::string b) { return a + b; }

int Touch() { return 7; }

RANKFLOW_REMOTE(Simulate, WhereAmI, Add, SleepThenReturn, Fib, Move, SumAndEcho, Concat);
RANKFLOW_REMOTE(Touch);

// Short (so that, once measured, it runs on the thread that receives it),
// until asked to wait for a task of its own: that wait must not stall the
// thread that drives its rank's network.
long ShortUntilAsked(int wait_ms) {
  if (wait_ms == 0) return 1;
  return *rankflow::Get(rankflow::Task(SleepThenReturn).Remote(wait_ms)) +
         *rankflow::Get(rankflow::Task(Add).SetRank(0).Remote(1, 2));
}
uint64_t InlineCount(int) { return rankflow::testing::TasksRunInline(); }
bool LinkIsShm(int peer) { return rankflow::testing::SharedMemoryLinkTo(peer); }
RANKFLOW_REMOTE(ShortUntilAsked, InlineCount, LinkIsShm);

TEST(Tasks, FanOutMatchesLocalResults) {
  const std::vector<double> params = {1.0, 2.0, 3.0};
  std::vector<rankflow::ObjectRef<double>> refs;
  for (int i = 0; i < 1000; ++i) refs.push_back(rankflow::Task(Simulate).Remote(i, params));
  auto ready = rankflow::Wait(refs, 10, 5000);
  EXPECT_GE(ready.ready.size(), 10u);
  for (int i = 0; i < 1000; ++i) EXPECT_DOUBLE_EQ(*rankflow::Get(refs[i]), Simulate(i, params));
}

TEST(Tasks, FanOutReachesEveryRank) {
  std::vector<rankflow::ObjectRef<int>> refs;
  for (int i = 0; i < 200; ++i) refs.push_back(rankflow::Task(WhereAmI).Remote(i));
  std::map<int, int> per_rank;
  for (auto& r : refs) per_rank[*rankflow::Get(r)]++;
  EXPECT_EQ(static_cast<int>(per_rank.size()), rankflow::Size());
  for (auto& [rank, n] : per_rank) {
    EXPECT_GE(rank, 0);
    EXPECT_LT(rank, rankflow::Size());
    EXPECT_GT(n, 0);
  }
}

TEST(Tasks, AffinityRunsOnTheChosenRank) {
  for (int r = 0; r < rankflow::Size(); ++r) {
    EXPECT_EQ(*rankflow::Get(rankflow::Task(WhereAmI).SetRank(r).Remote(0)), r);
  }
}

TEST(Tasks, ObjectRefArgumentsAreResolvedFirst) {
  auto a = rankflow::Task(SleepThenReturn).Remote(50);  // not ready yet when b is submitted
  auto b = rankflow::Task(Add).Remote(a, 1);
  auto c = rankflow::Task(Add).Remote(b, rankflow::Put(100));
  EXPECT_EQ(*rankflow::Get(c), 151);
}

TEST(Tasks, NestedTasks) { EXPECT_EQ(*rankflow::Get(rankflow::Task(Fib).Remote(12)), 144); }

TEST(Tasks, CerealValues) {
  Particle p{"p", {1.0, 2.0}, {{"a", 1}}};
  Particle q = *rankflow::Get(rankflow::Task(Move).Remote(p, 0.5));
  EXPECT_EQ(q.name, "p'");
  EXPECT_EQ(q.pos, (std::vector<double>{1.5, 2.5}));
  EXPECT_EQ(q.tags.at("moved"), 1);
  EXPECT_EQ(q.tags.at("a"), 1);
  EXPECT_EQ(*rankflow::Get(rankflow::Task(Concat).Remote(std::string("ab"), "cd")), "abcd");
}

TEST(Tasks, ShortTasksRunWhereTheyArriveAndMayStillWait) {
  uint64_t before = 0;
  for (int r = 1; r < rankflow::Size(); ++r) before += *rankflow::Get(rankflow::Task(InlineCount).SetRank(r).Remote(0));
  for (int r = 0; r < rankflow::Size(); ++r) {
    for (int i = 0; i < 20; ++i) EXPECT_EQ(*rankflow::Get(rankflow::Task(ShortUntilAsked).SetRank(r).Remote(0)), 1);
    // Now (on the other ranks) it runs inline, and this call waits twice.
    EXPECT_EQ(*rankflow::Get(rankflow::Task(ShortUntilAsked).SetRank(r).Remote(3), 60'000), 6);
    EXPECT_EQ(*rankflow::Get(rankflow::Task(ShortUntilAsked).SetRank(r).Remote(0)), 1);
  }
  if (rankflow::Size() > 1) {
    uint64_t after = 0;
    for (int r = 1; r < rankflow::Size(); ++r) after += *rankflow::Get(rankflow::Task(InlineCount).SetRank(r).Remote(0));
    EXPECT_GT(after, before) << "no task ran on the thread that received it";
  }
}

TEST(Links, RanksOfOneHostShareMemoryUnlessUcxTlsRulesItOut) {
  if (rankflow::Size() < 2) GTEST_SKIP() << "one rank: no links";
  const char* tls = std::getenv("UCX_TLS");
  const bool expect_shm = tls == nullptr || std::string(tls) == "all";
  EXPECT_EQ(LinkIsShm(1), expect_shm) << "UCX_TLS=" << (tls ? tls : "(unset)");
  EXPECT_EQ(*rankflow::Get(rankflow::Task(LinkIsShm).SetRank(1).Remote(0)), expect_shm);
}

TEST(Tasks, LargeArgumentsAndResults) {
  // 3 MiB: above the rendezvous threshold, below the tests' 4 MiB message cap.
  std::vector<double> v((3u << 20) / sizeof(double));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 1000);
  for (int r = 0; r < rankflow::Size(); ++r) {
    auto out = *rankflow::Get(rankflow::Task(SumAndEcho).SetRank(r).Remote(v));
    ASSERT_EQ(out.size(), v.size() + 1);
    EXPECT_TRUE(std::equal(v.begin(), v.end(), out.begin()));
    EXPECT_DOUBLE_EQ(out.back(), std::accumulate(v.begin(), v.end(), 0.0));
  }
}

TEST(Objects, PutGetRoundTrip) {
  auto ref = rankflow::Put(std::vector<int>{1, 2, 3});
  EXPECT_EQ(*rankflow::Get(ref), (std::vector<int>{1, 2, 3}));
  auto s = rankflow::Put(std::string("hello"));
  EXPECT_EQ(*rankflow::Get(s), "hello");
}

TEST(Objects, GetWithTimeoutThrowsAndLosesNothing) {
  auto ref = rankflow::Task(SleepThenReturn).Remote(300);
  EXPECT_THROW(rankflow::Get(ref, 10), rankflow::TimeoutError);
  EXPECT_EQ(*rankflow::Get(ref, 10000), 300);
}

TEST(Objects, WaitReturnsReadyAndUnready) {
  std::vector<rankflow::ObjectRef<int>> refs;
  refs.push_back(rankflow::Task(SleepThenReturn).Remote(0));
  refs.push_back(rankflow::Task(SleepThenReturn).Remote(2000));
  auto r = rankflow::Wait(refs, 1, 1500);
  ASSERT_EQ(r.ready.size(), 1u);
  EXPECT_EQ(r.unready.size(), 1u);
  EXPECT_EQ(*rankflow::Get(r.ready[0]), 0);
  auto none = rankflow::Wait(refs, 2, 0);
  EXPECT_LE(none.ready.size(), 2u);
}

TEST(Objects, DroppedRefsAreFreed) {
  // Let earlier tests' objects settle, then churn: the owner's table returns to its size.
  rankflow::Get(rankflow::Task(Touch).Remote());
  const uint64_t before = rankflow::testing::OwnedObjectCount();
  {
    std::vector<rankflow::ObjectRef<int>> refs;
    for (int i = 0; i < 500; ++i) refs.push_back(rankflow::Task(Add).Remote(i, i));
    for (auto& r : refs) rankflow::Get(r);
    auto p = rankflow::Put(42);
    EXPECT_GE(rankflow::testing::OwnedObjectCount(), before + 501);
  }
  EXPECT_EQ(rankflow::testing::OwnedObjectCount(), before);
}

}  // namespace
