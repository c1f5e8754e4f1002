// Actors across ranks: order, names, handles passed around, concurrency,
// kill, exit, errors. main() calls rankflow::Init; the driver runs the tests.
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

#include "runtime/testing_hooks.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

class Counter {
 public:
  explicit Counter(int start) : value_(start) {
    if (start < 0) throw std::invalid_argument("negative start");
  }
  int Add(int x) {
    history_.push_back(x);
    value_ += x;
    return value_;
  }
  std::vector<int> History() { return history_; }
  int Where() { return rankflow::Rank(); }
  int Fail(int x) { throw std::runtime_error("method failed with " + std::to_string(x)); }
  void Quit() { rankflow::ExitActor(); }
  // Blocks until `n` callers are inside at once (or 5 s pass): needs concurrency.
  bool Meet(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    ++inside_;
    cv_.notify_all();
    bool met = cv_.wait_for(lock, std::chrono::seconds(5), [&] { return inside_ >= n; });
    return met;
  }

 private:
  int value_;
  std::vector<int> history_;
  std::mutex mu_;  // for Meet
  std::condition_variable cv_;
  int inside_ = 0;
};

class Other {
 public:
  int Ping() { return 1; }
};

Counter* MakeCounter(int start) { return new Counter(start); }
Other* MakeOther() { return new Other(); }

// A task that uses an actor handle it was given (possibly on another rank).
int AddThroughTask(rankflow::ActorHandle<Counter> c, int x) {
  return *rankflow::Get(c.Task(&Counter::Add).Remote(x));
}

// An actor that creates another actor and talks to it (actors creating actors).
class Spawner {
 public:
  int SpawnAndAdd(int start, int x) {
    auto child = rankflow::Actor(MakeCounter).Remote(start);
    return *rankflow::Get(child.Task(&Counter::Add).Remote(x));
  }
};
Spawner* MakeSpawner() { return new Spawner(); }

int Twice(int x) { return 2 * x; }
int RankOfTask() { return rankflow::Rank(); }

RANKFLOW_REMOTE(MakeCounter, &Counter::Add, &Counter::History, &Counter::Where, &Counter::Fail,
                &Counter::Quit, &Counter::Meet, MakeOther);
uint64_t InlineActorCalls(int) { return rankflow::testing::ActorCallsRunInline(); }

RANKFLOW_REMOTE(&Other::Ping, AddThroughTask, MakeSpawner, &Spawner::SpawnAndAdd, Twice, RankOfTask);
RANKFLOW_REMOTE(InlineActorCalls);

// With SetInlineCalls, short calls of an idle one-thread actor run on the
// thread that received them (run to completion): still one at a time, in
// order, on the same object; a method that waits (Spawner's) keeps working.
// Without it, every call runs on the actor's own thread.
TEST(Actors, ShortCallsRunToCompletionInOrder) {
  const int r = rankflow::Size() - 1;
  auto c = rankflow::Actor(MakeCounter).SetRank(r).SetInlineCalls().Remote(0);
  const uint64_t before = *rankflow::Get(rankflow::Task(InlineActorCalls).SetRank(r).Remote(0));
  int expect = 0;
  for (int i = 1; i <= 200; ++i) {  // one at a time: the actor is idle when each arrives
    expect += i;
    ASSERT_EQ(*rankflow::Get(c.Task(&Counter::Add).Remote(i)), expect);
  }
  std::vector<rankflow::ObjectRef<int>> burst;
  for (int i = 1; i <= 200; ++i) burst.push_back(c.Task(&Counter::Add).Remote(1000 + i));
  for (int i = 1; i <= 200; ++i) {
    expect += 1000 + i;
    EXPECT_EQ(*rankflow::Get(burst[i - 1]), expect);
  }
  auto history = *rankflow::Get(c.Task(&Counter::History).Remote());
  ASSERT_EQ(history.size(), 400u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(history[i], i + 1);
    EXPECT_EQ(history[200 + i], 1001 + i);
  }
  const uint64_t after = *rankflow::Get(rankflow::Task(InlineActorCalls).SetRank(r).Remote(0));
  if (r != 0) {
    EXPECT_GT(after, before);  // (rank 0's calls come from the driver: never kept)
  }
  auto s = rankflow::Actor(MakeSpawner).SetRank(r).SetInlineCalls().Remote();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*rankflow::Get(s.Task(&Spawner::SpawnAndAdd).Remote(i, 1)), i + 1);
  auto q = c.Task(&Counter::Quit).Remote();
  EXPECT_THROW(rankflow::Get(q), rankflow::Error);
  EXPECT_THROW(rankflow::Get(c.Task(&Counter::Add).Remote(1)), rankflow::Error);

  auto plain = rankflow::Actor(MakeCounter).SetRank(r).Remote(0);
  const uint64_t plain_before = *rankflow::Get(rankflow::Task(InlineActorCalls).SetRank(r).Remote(0));
  for (int i = 1; i <= 100; ++i) ASSERT_EQ(*rankflow::Get(plain.Task(&Counter::Add).Remote(1)), i);
  EXPECT_EQ(*rankflow::Get(rankflow::Task(InlineActorCalls).SetRank(r).Remote(0)), plain_before);
}

TEST(Actors, CallsFromOneCallerRunInOrder) {
  for (int r = 0; r < rankflow::Size(); ++r) {
    auto c = rankflow::Actor(MakeCounter).SetRank(r).Remote(0);
    EXPECT_EQ(c.rank(), r);
    std::vector<rankflow::ObjectRef<int>> refs;
    for (int i = 1; i <= 300; ++i) refs.push_back(c.Task(&Counter::Add).Remote(i));
    int expect = 0;
    for (int i = 1; i <= 300; ++i) {
      expect += i;
      EXPECT_EQ(*rankflow::Get(refs[i - 1]), expect);
    }
    auto history = *rankflow::Get(c.Task(&Counter::History).Remote());
    ASSERT_EQ(history.size(), 300u);
    for (int i = 0; i < 300; ++i) EXPECT_EQ(history[i], i + 1);
    EXPECT_EQ(*rankflow::Get(c.Task(&Counter::Where).Remote()), r);
  }
}

TEST(Actors, ObjectRefArgumentsKeepOrder) {
  auto c = rankflow::Actor(MakeCounter).Remote(0);
  auto slow = rankflow::Task(Twice).Remote(5);                 // may not be ready yet
  auto first = c.Task(&Counter::Add).Remote(slow);            // waits for its argument
  auto second = c.Task(&Counter::Add).Remote(1);              // must still run after `first`
  EXPECT_EQ(*rankflow::Get(first), 10);
  EXPECT_EQ(*rankflow::Get(second), 11);
}

TEST(Actors, NamedActorsAreFoundFromAnywhere) {
  auto c = rankflow::Actor(MakeCounter).SetName("shared-counter", "test").Remote(100);
  auto same = rankflow::GetActor<Counter>("shared-counter", "test");
  EXPECT_EQ(same, c);
  rankflow::Get(c.Task(&Counter::Add).Remote(1));
  EXPECT_EQ(*rankflow::Get(same.Task(&Counter::Add).Remote(1)), 102);
  try {
    rankflow::Actor(MakeCounter).SetName("shared-counter", "test").Remote(0);
    FAIL() << "a duplicate name must be refused";
  } catch (const rankflow::Error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  // Same name in another namespace is a different actor.
  auto other_ns = rankflow::Actor(MakeCounter).SetName("shared-counter", "other").Remote(0);
  EXPECT_FALSE(other_ns == c);
  try {
    rankflow::GetActor<Counter>("no-such-actor");
    FAIL() << "expected NotFound";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kNotFound);
  }
  EXPECT_THROW(rankflow::GetActor<Other>("shared-counter", "test"), rankflow::Error);
}

TEST(Actors, HandlesPassToTasksOnOtherRanks) {
  auto c = rankflow::Actor(MakeCounter).SetRank(0).Remote(0);
  std::vector<rankflow::ObjectRef<int>> refs;
  for (int r = 0; r < rankflow::Size(); ++r) {
    refs.push_back(rankflow::Task(AddThroughTask).SetRank(r).Remote(c, 10));
  }
  for (auto& ref : refs) rankflow::Get(ref);
  auto history = *rankflow::Get(c.Task(&Counter::History).Remote());
  EXPECT_EQ(static_cast<int>(history.size()), rankflow::Size());
}

TEST(Actors, ActorsCreateActors) {
  auto s = rankflow::Actor(MakeSpawner).SetRank(rankflow::Size() - 1).Remote();
  EXPECT_EQ(*rankflow::Get(s.Task(&Spawner::SpawnAndAdd).Remote(40, 2)), 42);
}

TEST(Actors, MaxConcurrencyRunsCallsTogether) {
  auto c = rankflow::Actor(MakeCounter).SetMaxConcurrency(2).Remote(0);
  auto a = c.Task(&Counter::Meet).Remote(2);
  auto b = c.Task(&Counter::Meet).Remote(2);
  EXPECT_TRUE(*rankflow::Get(a));
  EXPECT_TRUE(*rankflow::Get(b));
  auto serial = rankflow::Actor(MakeCounter).Remote(0);
  auto x = serial.Task(&Counter::Meet).Remote(2);  // alone inside: gives up after 5 s
  EXPECT_FALSE(*rankflow::Get(x));
}

TEST(Actors, ErrorsReachGet) {
  int last = rankflow::Size() - 1;
  auto c = rankflow::Actor(MakeCounter).SetRank(last).Remote(0);
  try {
    rankflow::Get(c.Task(&Counter::Fail).Remote(7));
    FAIL() << "expected TaskError";
  } catch (const rankflow::TaskError& e) {
    EXPECT_EQ(e.remote_message(), "method failed with 7");
    EXPECT_EQ(e.task_name(), "&Counter::Fail");
    EXPECT_EQ(e.rank(), last);
  }
  EXPECT_EQ(*rankflow::Get(c.Task(&Counter::Add).Remote(1)), 1);  // still alive
  auto broken = rankflow::Actor(MakeCounter).Remote(-1);            // constructor throws
  try {
    rankflow::Get(broken.Task(&Counter::Add).Remote(1), 30000);
    FAIL() << "expected ActorDied";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kActorDied);
    EXPECT_NE(std::string(e.what()).find("negative start"), std::string::npos) << e.what();
  }
}

TEST(Actors, KillAndExitEndTheActor) {
  auto c = rankflow::Actor(MakeCounter).SetRank(rankflow::Size() - 1).Remote(0);
  EXPECT_EQ(*rankflow::Get(c.Task(&Counter::Add).Remote(1)), 1);
  c.Kill();
  try {
    rankflow::Get(c.Task(&Counter::Add).Remote(1), 30000);
    FAIL() << "a call to a killed actor returned";
  } catch (const rankflow::TimeoutError&) {
    FAIL() << "a call to a killed actor hung";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kActorDied) << e.what();
  }
  auto q = rankflow::Actor(MakeCounter).Remote(0);
  EXPECT_THROW(rankflow::Get(q.Task(&Counter::Quit).Remote(), 30000), rankflow::Error);
  try {
    rankflow::Get(q.Task(&Counter::Add).Remote(1), 30000);
    FAIL() << "a call to an exited actor returned";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kActorDied) << e.what();
  }
}

// The tests run with RANKFLOW_RESOURCES=slot:1: one "slot" per rank.
TEST(Actors, ActorsHoldTheirResourcesForTheirLifetime) {
  std::vector<rankflow::ActorHandle<Counter>> holders;
  std::set<int> ranks;
  for (int r = 0; r < rankflow::Size(); ++r) {
    holders.push_back(rankflow::Actor(MakeCounter).SetResource("slot", 1).Remote(0));
    ranks.insert(holders.back().rank());
  }
  EXPECT_EQ(static_cast<int>(ranks.size()), rankflow::Size()) << "one slot per rank";
  try {
    rankflow::Actor(MakeCounter).SetResource("slot", 1).Remote(0);
    FAIL() << "every slot is held: creation must fail";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInfeasible);
    EXPECT_NE(std::string(e.what()).find("free now"), std::string::npos) << e.what();
  }
  try {
    rankflow::Actor(MakeCounter).SetResource("no-such-thing", 1).Remote(0);
    FAIL() << "an impossible demand must fail";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInfeasible);
  }
  // Killing one frees its slot (released asynchronously when it has died).
  const int freed = holders[0].rank();
  holders[0].Kill();
  bool created = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!created && std::chrono::steady_clock::now() < deadline) {
    try {
      auto again = rankflow::Actor(MakeCounter).SetResource("slot", 1).Remote(0);
      EXPECT_EQ(again.rank(), freed);
      created = true;
    } catch (const rankflow::Error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_TRUE(created) << "the killed actor's slot was never released";
}

TEST(Actors, NameIsFreedWhenTheActorDies) {
  auto a = rankflow::Actor(MakeCounter).SetName("reusable").Remote(1);
  a.Kill();
  bool reused = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!reused && std::chrono::steady_clock::now() < deadline) {
    try {
      auto b = rankflow::Actor(MakeCounter).SetName("reusable").Remote(2);
      EXPECT_EQ(rankflow::GetActor<Counter>("reusable"), b);
      reused = true;
    } catch (const rankflow::Error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_TRUE(reused);
}

}  // namespace

// Placement groups, with one "pgslot" per rank (RANKFLOW_RESOURCES=slot:1,pgslot:1),
// a resource no other test holds.
TEST(PlacementGroups, BundlesHoldTheirResourcesAndPlaceWork) {
  const int n = rankflow::Size();
  std::vector<rankflow::Bundle> bundles(n, rankflow::Bundle{{"pgslot", 1}});
  auto pg = rankflow::CreatePlacementGroup(bundles, rankflow::PlacementStrategy::kSpread);
  ASSERT_EQ(static_cast<int>(pg.num_bundles()), n);
  EXPECT_EQ(static_cast<int>(std::set<int>(pg.ranks().begin(), pg.ranks().end()).size()), n)
      << "one slot per rank: every bundle on its own rank";
  // The group holds every slot: an actor outside it finds none free.
  try {
    rankflow::Actor(MakeCounter).SetResource("pgslot", 1).Remote(0);
    FAIL() << "the group holds every slot";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInfeasible);
    EXPECT_NE(std::string(e.what()).find("free now"), std::string::npos) << e.what();
  }
  // Inside a bundle the actor uses the bundle's slot, on the bundle's rank.
  const int last = n - 1;
  auto inside = rankflow::Actor(MakeCounter).SetPlacementGroup(pg, last).SetResource("pgslot", 1).Remote(0);
  EXPECT_EQ(inside.rank(), pg.rank(last));
  EXPECT_EQ(*rankflow::Get(inside.Task(&Counter::Where).Remote()), pg.rank(last));
  try {
    rankflow::Actor(MakeCounter).SetPlacementGroup(pg, last).SetResource("pgslot", 1).Remote(0);
    FAIL() << "the bundle's one slot is taken";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInfeasible);
    EXPECT_NE(std::string(e.what()).find("left"), std::string::npos) << e.what();
  }
  // Tasks in a bundle run on its rank.
  for (int b = 0; b < n; ++b) {
    EXPECT_EQ(*rankflow::Get(rankflow::Task(RankOfTask).SetPlacementGroup(pg, b).Remote()), pg.rank(b));
  }
  // Removal frees the slots at once; a second removal is an error.
  rankflow::RemovePlacementGroup(pg);
  auto outside = rankflow::Actor(MakeCounter).SetResource("pgslot", 1).Remote(0);
  EXPECT_EQ(*rankflow::Get(outside.Task(&Counter::Add).Remote(2)), 2);
  try {
    rankflow::RemovePlacementGroup(pg);
    FAIL() << "removed twice";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kNotFound);
  }
  try {
    rankflow::Actor(MakeCounter).SetPlacementGroup(pg, 0).Remote(0);
    FAIL() << "an actor in a removed group";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInfeasible);
    EXPECT_NE(std::string(e.what()).find("removed"), std::string::npos) << e.what();
  }
  // Killed actors give their resources back once they have died (asynchronously).
  outside.Kill();
  inside.Kill();
  bool free = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!free && std::chrono::steady_clock::now() < deadline) {
    try {
      rankflow::RemovePlacementGroup(rankflow::CreatePlacementGroup(bundles, rankflow::PlacementStrategy::kSpread));
      free = true;
    } catch (const rankflow::Error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_TRUE(free) << "the killed actor's pgslot was never released";
}

TEST(PlacementGroups, StrategiesAndBadInput) {
  const int n = rankflow::Size();
  // Two one-slot bundles need two ranks, whatever the strategy.
  for (auto s : {rankflow::PlacementStrategy::kPack, rankflow::PlacementStrategy::kStrictPack}) {
    if (n >= 2) {
      auto pg = rankflow::CreatePlacementGroup({{{"pgslot", 1}}, {{"pgslot", 1}}}, s);
      EXPECT_NE(pg.rank(0), pg.rank(1));
      rankflow::RemovePlacementGroup(pg);
    } else {
      EXPECT_THROW(rankflow::CreatePlacementGroup({{{"pgslot", 1}}, {{"pgslot", 1}}}, s), rankflow::Error);
    }
  }
  auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const rankflow::Error& e) {
      return e.code();
    }
    return static_cast<rankflow::ErrorCode>(0);  // no error
  };
  using rankflow::ErrorCode;
  EXPECT_EQ(code_of([] { rankflow::CreatePlacementGroup({}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] { rankflow::CreatePlacementGroup({{{"pgslot", -1}}}); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] { rankflow::CreatePlacementGroup({{{"no-such-thing", 1}}}); }),
            ErrorCode::kInfeasible);
  auto pg = rankflow::CreatePlacementGroup({{{"pgslot", 1}}});
  EXPECT_EQ(code_of([&] { (void)pg.rank(5); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { rankflow::Actor(MakeCounter).SetPlacementGroup(pg, 3).Remote(0); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] { rankflow::RemovePlacementGroup(rankflow::PlacementGroup()); }),
            ErrorCode::kInvalidArgument);
  rankflow::RemovePlacementGroup(pg);
}
