// The whole Runtime, three ranks in one process over the loopback transport:
// rank 0 is the driver (this test's thread), rank 1 hosts the control
// service, ranks 1 and 2 serve. Tests use only the public API.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rankflow/rankflow.h"
#include "runtime/runtime.h"
#include "transport/loopback_transport.h"

namespace {

// ---------------------------------------------------------------------------
// Remote functions.

int WhereAmI() { return rankflow::Rank(); }

// Holds its executor for a while so that a burst of tasks spreads over ranks.
int SlowWhereAmI(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return rankflow::Rank();
}

int JobSize() { return rankflow::Size(); }

int Add(int a, int b) { return a + b; }

int Throw(std::string message) { throw std::runtime_error(message); }

uint64_t ByteSum(std::vector<uint8_t> bytes) {
  return std::accumulate(bytes.begin(), bytes.end(), uint64_t{0});
}

// Submits `n` tasks from inside a task and sums their results.
int NestedSum(int n) {
  std::vector<rankflow::ObjectRef<int>> refs;
  for (int i = 0; i < n; ++i) refs.push_back(rankflow::Task(Add).Remote(i, 1));
  int sum = 0;
  for (const auto& r : refs) sum += *rankflow::Get(r);
  return sum;
}

// A gate that tasks can wait on, opened by the test (or its teardown).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;

  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu);
    open = false;
  }
  void Pass() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return open; });
  }
};
Gate g_gate;

int WaitAtGate() {
  g_gate.Pass();
  return rankflow::Rank();
}

RANKFLOW_REMOTE(WhereAmI, SlowWhereAmI, JobSize, Add, Throw, ByteSum, NestedSum, WaitAtGate);

using rankflow::runtime::Runtime;
using rankflow::runtime::RuntimeDeps;

constexpr int kRanks = 3;
constexpr int64_t kGenerousMs = 30000;

// ---------------------------------------------------------------------------
// A three-rank job in this process. Ranks listed in `crashable` do not run
// ServeUntilShutdown: a rank cut off with LoopbackHub::Disconnect hears from
// nobody again (as a crashed process would not), so nothing could end its
// serve loop; such a rank is torn down by destroying its Runtime.

class LoopbackCluster {
 public:
  explicit LoopbackCluster(std::set<int> crashable = {}) : crashable_(std::move(crashable)) {
    hub_ = rankflow::transport::LoopbackHub::Create(kRanks);
    for (int r = 0; r < kRanks; ++r) {
      RuntimeDeps deps;
      deps.rank = r;
      deps.size = kRanks;
      deps.driver_rank = 0;
      deps.control_rank = 1;
      deps.host = "test";
      deps.num_executors = 1;
      deps.resources = {{"CPU", 1}};
      deps.transport = hub_->MakeTransport(r);
      runtimes_.push_back(std::make_shared<Runtime>(std::move(deps)));
    }
    // Start() blocks until the control service's view arrives, which needs
    // every rank registered: start them all at once.
    std::vector<rankflow::Status> started(kRanks);
    std::vector<std::thread> starters;
    for (int r = 0; r < kRanks; ++r) {
      starters.emplace_back([this, r, &started] { started[r] = runtimes_[r]->Start(kGenerousMs); });
    }
    for (auto& t : starters) t.join();
    ok_ = true;
    for (int r = 0; r < kRanks; ++r) {
      if (!started[r].ok()) {
        ADD_FAILURE() << "rank " << r << " did not start: " << started[r].ToString();
        ok_ = false;
      }
    }
    if (!ok_) return;
    for (int r = 1; r < kRanks; ++r) {
      if (crashable_.count(r)) continue;
      servers_.emplace_back([this, r] {
        Runtime::SetCurrent(runtimes_[r].get());
        exit_codes_[r] = runtimes_[r]->ServeUntilShutdown();
        Runtime::SetCurrent(nullptr);
      });
    }
    Runtime::SetCurrent(runtimes_[0].get());
  }

  ~LoopbackCluster() { Stop(); }

  // The driver shuts the job down; serving ranks leave; every Runtime goes.
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    g_gate.Open();  // no task may stay parked at the gate
    if (ok_) runtimes_[0]->Shutdown();
    for (auto& t : servers_) t.join();
    servers_.clear();
    Runtime::SetCurrent(nullptr);
    // Crashed ranks first: their executors may still send to the others.
    for (int r = kRanks - 1; r >= 0; --r) {
      if (crashable_.count(r)) runtimes_[r].reset();
    }
    runtimes_.clear();
    g_gate.Close();
  }

  bool ok() const { return ok_; }
  Runtime& rt(int rank) { return *runtimes_[rank]; }
  rankflow::transport::LoopbackHub& hub() { return *hub_; }
  int exit_code(int rank) const { return exit_codes_[rank]; }

 private:
  std::set<int> crashable_;
  std::shared_ptr<rankflow::transport::LoopbackHub> hub_;
  std::vector<std::shared_ptr<Runtime>> runtimes_;
  std::vector<std::thread> servers_;
  int exit_codes_[kRanks] = {-1, -1, -1};
  bool ok_ = false;
  bool stopped_ = false;
};

// ---------------------------------------------------------------------------

TEST(RuntimeLoopback, DriverSeesTheJob) {
  LoopbackCluster cluster;
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ(rankflow::Rank(), 0);
  EXPECT_EQ(rankflow::Size(), kRanks);
  EXPECT_EQ(*rankflow::Get(rankflow::Task(JobSize).SetRank(2).Remote(), kGenerousMs), kRanks);
}

TEST(RuntimeLoopback, AffinityRunsOnEachRank) {
  LoopbackCluster cluster;
  ASSERT_TRUE(cluster.ok());
  for (int r = 0; r < kRanks; ++r) {
    auto ref = rankflow::Task(WhereAmI).SetRank(r).Remote();
    EXPECT_EQ(*rankflow::Get(ref, kGenerousMs), r) << "task pinned to rank " << r;
  }
}

TEST(RuntimeLoopback, FanOutReachesAllRanks) {
  LoopbackCluster cluster;
  ASSERT_TRUE(cluster.ok());
  constexpr int kTasks = 30;
  std::vector<rankflow::ObjectRef<int>> refs;
  for (int i = 0; i < kTasks; ++i) refs.push_back(rankflow::Task(SlowWhereAmI).Remote(20));
  auto waited = rankflow::Wait(refs, kTasks, kGenerousMs);
  ASSERT_EQ(waited.ready.size(), static_cast<size_t>(kTasks));
  std::vector<int> per_rank(kRanks, 0);
  for (const auto& r : refs) {
    int where = *rankflow::Get(r, kGenerousMs);
    ASSERT_GE(where, 0);
    ASSERT_LT(where, kRanks);
    ++per_rank[where];
  }
  for (int r = 0; r < kRanks; ++r) EXPECT_GT(per_rank[r], 0) << "no task ran on rank " << r;
  // Every remote execution is counted by the rank that ran it.
  uint64_t executed = 0;
  for (int r = 0; r < kRanks; ++r) executed += cluster.rt(r).counters().tasks_executed.load();
  EXPECT_EQ(executed, static_cast<uint64_t>(kTasks));
}

TEST(RuntimeLoopback, ObjectRefArguments) {
  LoopbackCluster cluster;
  ASSERT_TRUE(cluster.ok());
  // A Put object as an argument of a task on another rank.
  auto x = rankflow::Put(20);
  EXPECT_EQ(*rankflow::Get(x), 20);
  auto sum = rankflow::Task(Add).SetRank(2).Remote(x, 22);
  EXPECT_EQ(*rankflow::Get(sum, kGenerousMs), 42);
  // A chain: each task's result feeds the next, across ranks.
  auto acc = rankflow::Task(Add).SetRank(1).Remote(1, 2);
  for (int i = 0; i < 6; ++i) acc = rankflow::Task(Add).SetRank(i % kRanks).Remote(acc, 10);
  EXPECT_EQ(*rankflow::Get(acc, kGenerousMs), 63);
  // Both arguments references, one of them still pending when submitted.
  auto slow = rankflow::Task(SlowWhereAmI).SetRank(2).Remote(50);
  auto both = rankflow::Task(Add).SetRank(1).Remote(slow, x);
  EXPECT_EQ(*rankflow::Get(both, kGenerousMs), 22);
}

TEST(RuntimeLoopback, LargeArgumentsTravel) {
  LoopbackCluster cluster;
  ASSERT_TRUE(cluster.ok());
  std::vector<uint8_t> bytes(3 << 20);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7);
  uint64_t want = std::accumulate(bytes.begin(), bytes.end(), uint64_t{0});
  auto direct = rankflow::Task(ByteSum).SetRank(1).Remote(bytes);
  auto via_put = rankflow::Task(ByteSum).SetRank(2).Remote(rankflow::Put(bytes));
  EXPECT_EQ(*rankflow::Get(direct, kGenerousMs), want);
  EXPECT_EQ(*rankflow::Get(via_put, kGenerousMs), want);
}

TEST(RuntimeLoopback, TaskExceptionBecomesTaskError) {
  LoopbackCluster cluster;
  ASSERT_TRUE(cluster.ok());
  for (int r = 0; r < kRanks; ++r) {
    auto ref = rankflow::Task(Throw).SetRank(r).Remote(std::string("boom on purpose"));
    try {
      rankflow::Get(ref, kGenerousMs);
      ADD_FAILURE() << "Get() of a failed task returned (rank " << r << ")";
    } catch (const rankflow::TaskError& e) {
      EXPECT_EQ(e.code(), rankflow::ErrorCode::kTaskFailed);
      EXPECT_EQ(e.rank(), r);
      EXPECT_EQ(e.task_name(), "Throw");
      EXPECT_NE(e.remote_message().find("boom on purpose"), std::string::npos) << e.what();
    }
  }
  // A custom name is what the error reports.
  auto named = rankflow::Task(Throw).SetName("custom-name").SetRank(2).Remote(std::string("x"));
  try {
    rankflow::Get(named, kGenerousMs);
    ADD_FAILURE() << "Get() of a failed task returned";
  } catch (const rankflow::TaskError& e) {
    EXPECT_EQ(e.task_name(), "custom-name");
    EXPECT_EQ(e.rank(), 2);
  }
  // A task depending on a failed one fails too, naming the cause.
  auto failed = rankflow::Task(Throw).SetRank(1).Remote(std::string("root cause"));
  auto dependent = rankflow::Task(Add).Remote(failed, 1);
  try {
    rankflow::Get(dependent, kGenerousMs);
    ADD_FAILURE() << "Get() of a task with a failed dependency returned";
  } catch (const rankflow::Error& e) {
    EXPECT_NE(std::string(e.what()).find("root cause"), std::string::npos) << e.what();
  }
  // Wait() reports failed tasks as ready and does not throw.
  auto w = rankflow::Wait(std::vector<rankflow::ObjectRef<int>>{failed, dependent}, 2, kGenerousMs);
  EXPECT_EQ(w.ready.size(), 2u);
  // The ranks keep working.
  EXPECT_EQ(*rankflow::Get(rankflow::Task(Add).SetRank(1).Remote(2, 3), kGenerousMs), 5);
}

TEST(RuntimeLoopback, NestedTasksFromAnotherRank) {
  LoopbackCluster cluster;
  ASSERT_TRUE(cluster.ok());
  // Runs on rank 1, which owns and waits for its own 10 subtasks.
  auto ref = rankflow::Task(NestedSum).SetRank(1).Remote(10);
  EXPECT_EQ(*rankflow::Get(ref, kGenerousMs), 55);
}

TEST(RuntimeLoopback, WaitAndGetTimeout) {
  LoopbackCluster cluster;
  ASSERT_TRUE(cluster.ok());
  auto parked = rankflow::Task(WaitAtGate).SetRank(2).Remote();
  auto quick = rankflow::Task(Add).SetRank(1).Remote(1, 1);
  std::vector<rankflow::ObjectRef<int>> refs{parked, quick};
  auto w = rankflow::Wait(refs, 1, kGenerousMs);
  ASSERT_EQ(w.ready.size(), 1u);
  EXPECT_TRUE(w.ready[0] == quick);
  ASSERT_EQ(w.unready.size(), 1u);
  EXPECT_TRUE(w.unready[0] == parked);
  EXPECT_THROW(rankflow::Get(parked, 50), rankflow::TimeoutError);
  g_gate.Open();
  EXPECT_EQ(*rankflow::Get(parked, kGenerousMs), 2);
}

TEST(RuntimeLoopback, DeadRankFailsItsTasksAndOthersCarryOn) {
  LoopbackCluster cluster(/*crashable=*/{2});
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ(*rankflow::Get(rankflow::Task(WhereAmI).SetRank(2).Remote(), kGenerousMs), 2);

  // A task in flight on rank 2 when it dies fails with kRankDied.
  auto lost = rankflow::Task(WaitAtGate).SetRank(2).Remote();
  cluster.hub().Disconnect(2);
  try {
    rankflow::Get(lost, kGenerousMs);
    ADD_FAILURE() << "Get() of a task on a dead rank returned";
  } catch (const rankflow::TimeoutError& e) {
    FAIL() << "the task on the dead rank never failed: " << e.what();
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kRankDied) << e.what();
  }

  // New work pinned to the dead rank fails.
  auto pinned = rankflow::Task(WhereAmI).SetRank(2).Remote();
  try {
    rankflow::Get(pinned, kGenerousMs);
    ADD_FAILURE() << "a task pinned to a dead rank succeeded";
  } catch (const rankflow::TimeoutError& e) {
    FAIL() << "a task pinned to a dead rank never failed: " << e.what();
  } catch (const rankflow::Error& e) {
    EXPECT_TRUE(e.code() == rankflow::ErrorCode::kRankDied ||
                e.code() == rankflow::ErrorCode::kInfeasible)
        << static_cast<int>(e.code()) << ": " << e.what();
  }

  // Work without affinity lands on the survivors.
  std::vector<rankflow::ObjectRef<int>> refs;
  for (int i = 0; i < 20; ++i) refs.push_back(rankflow::Task(SlowWhereAmI).Remote(5));
  std::set<int> where;
  for (const auto& r : refs) {
    int w = *rankflow::Get(r, kGenerousMs);
    EXPECT_TRUE(w == 0 || w == 1) << "ran on rank " << w;
    where.insert(w);
  }
  EXPECT_EQ(where, (std::set<int>{0, 1}));
  EXPECT_EQ(*rankflow::Get(rankflow::Task(Add).SetRank(1).Remote(4, 5), kGenerousMs), 9);
}

TEST(RuntimeLoopback, ShutdownEndsServingRanksWithExitCodeZero) {
  LoopbackCluster cluster;
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ(*rankflow::Get(rankflow::Task(Add).SetRank(2).Remote(1, 2), kGenerousMs), 3);
  cluster.rt(0).Shutdown();  // returns once ranks 1 and 2 acknowledged
  cluster.rt(0).Shutdown();  // a second call is harmless
  cluster.Stop();            // joins the serve threads
  EXPECT_EQ(cluster.exit_code(1), 0);
  EXPECT_EQ(cluster.exit_code(2), 0);
}

}  // namespace
