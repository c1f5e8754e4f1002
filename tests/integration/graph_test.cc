// Compiled graphs (rankflow/graph.h): recorded once, run many times, each
// node on its rank and each value sent straight to the ranks that take it.
// Run alone and through a real launcher with 1, 2 and 4 ranks.
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "stencil_serial.h"

namespace {

double Cell(double l, double c, double r, int step) { return (l + 2 * c + r) / 4 + step; }
double Start(int x) { return x; }
double FailsAt(double l, double c, double r, int step, int fail_step) {
  if (step == fail_step) throw std::runtime_error("cell failed at step " + std::to_string(step));
  return Cell(l, c, r, step);
}
double SlowCell(double l, double c, double r, int step) {
  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // not short: runs on an executor
  return Cell(l, c, r, step);
}
int RankHere(int v) { return rankflow::Rank() * 1000 + v; }
std::vector<char> Big(int bytes) { return std::vector<char>(static_cast<size_t>(bytes), 'x'); }
size_t Length(std::vector<char> v) { return v.size(); }
int Count(std::vector<rankflow::ObjectRef<int>> refs) { return static_cast<int>(refs.size()); }
int NotRegistered(int v) { return v; }
int Inc(int v) { return v + 1; }
// A node that submits a task and waits for it (a node may use the API).
int ViaTask(int v) { return *rankflow::Get(rankflow::Task(Inc).Remote(v)) + 100; }

RANKFLOW_REMOTE(Cell, Start, FailsAt, SlowCell, RankHere, Big, Length, Count);
RANKFLOW_REMOTE(Inc, ViaTask);

// The stencil_1d graph of `width` columns over `steps` steps, column x on
// rank x % Size(); returns the last step's nodes (outputs).
template <typename Step>
std::vector<rankflow::GraphRef<double>> Stencil(rankflow::Graph& g, int width, int steps, Step step) {
  const int n = rankflow::Size();
  std::vector<rankflow::GraphRef<double>> prev, cur;
  for (int x = 0; x < width; ++x) prev.push_back(g.Task(Start).SetRank(x % n).Add(x));
  for (int t = 1; t < steps; ++t) {
    cur.clear();
    for (int x = 0; x < width; ++x) {
      cur.push_back(step(x % n, prev[x > 0 ? x - 1 : x], prev[x], prev[x + 1 < width ? x + 1 : x], t));
    }
    prev.swap(cur);
  }
  for (const auto& ref : prev) g.Output(ref);
  return prev;
}

TEST(Graph, StencilMatchesTheSerialResultRunAfterRun) {
  const int width = 2 * rankflow::Size() + 1, steps = 30;
  rankflow::Graph g;
  auto last = Stencil(g, width, steps, [&](int rank, auto l, auto c, auto r, int t) {
    return g.Task(Cell).SetRank(rank).Add(l, c, r, t);
  });
  EXPECT_EQ(g.size(), static_cast<size_t>(width * steps));
  rankflow::CompiledGraph run = g.Compile();
  const std::vector<double> want = SerialStencil(width, steps, Cell);
  for (int i = 0; i < 20; ++i) {
    run.Run();
    for (int x = 0; x < width; ++x) ASSERT_DOUBLE_EQ(run.Get(last[x]), want[x]) << "run " << i << " x " << x;
  }
}

TEST(Graph, NodesRunWhereTheyArePlacedOrWithTheirFirstInput) {
  const int n = rankflow::Size();
  rankflow::Graph g;
  std::vector<rankflow::GraphRef<int>> placed;
  for (int r = 0; r < n; ++r) placed.push_back(g.Task(RankHere).SetRank(r).Add(r));
  auto source = g.Task(RankHere).Add(7);  // no input: the compiling rank
  for (const auto& p : placed) g.Output(p);
  g.Output(source);
  auto run = g.Compile();
  run.Run();
  for (int r = 0; r < n; ++r) EXPECT_EQ(run.Get(placed[r]), r * 1000 + r);
  EXPECT_EQ(run.Get(source), rankflow::Rank() * 1000 + 7);
}

TEST(Graph, LongNodesRunOnExecutors) {
  const int width = rankflow::Size() + 1, steps = 6;
  rankflow::Graph g;
  auto last = Stencil(g, width, steps, [&](int rank, auto l, auto c, auto r, int t) {
    return g.Task(SlowCell).SetRank(rank).Add(l, c, r, t);
  });
  auto run = g.Compile();
  const std::vector<double> want = SerialStencil(width, steps, Cell);
  for (int i = 0; i < 3; ++i) {
    run.Run(60000);
    for (int x = 0; x < width; ++x) EXPECT_DOUBLE_EQ(run.Get(last[x]), want[x]);
  }
}

TEST(Graph, AFailedNodeFailsWhatTakesItsValueAndNothingElse) {
  const int n = rankflow::Size();
  const int width = 3, steps = 8, fail_step = 5;
  rankflow::Graph g;
  // Column 0 fails at step 5; its error spreads one column per step and has
  // reached all three by the last step. A node outside the stencil is not
  // affected.
  std::vector<rankflow::GraphRef<double>> prev, cur;
  for (int x = 0; x < width; ++x) prev.push_back(g.Task(Start).SetRank(x % n).Add(x));
  for (int t = 1; t < steps; ++t) {
    cur.clear();
    for (int x = 0; x < width; ++x) {
      const auto& l = prev[x > 0 ? x - 1 : x];
      const auto& r = prev[x + 1 < width ? x + 1 : x];
      cur.push_back(g.Task(FailsAt).SetRank(x % n).Add(l, prev[x], r, t, x == 0 ? fail_step : -1));
    }
    prev.swap(cur);
  }
  auto alone = g.Task(Start).SetRank(n - 1).Add(42);
  for (const auto& ref : prev) g.Output(ref);
  g.Output(alone);
  auto run = g.Compile();
  for (int i = 0; i < 2; ++i) {
    run.Run();  // a node's failure is not Run's: Get reports it
    for (const auto& ref : prev) {
      try {
        run.Get(ref);
        FAIL() << "an output downstream of a failed node has a value";
      } catch (const rankflow::Error& e) {
        EXPECT_EQ(e.code(), rankflow::ErrorCode::kTaskFailed);
        EXPECT_NE(std::string(e.what()).find("cell failed at step 5"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("FailsAt"), std::string::npos) << e.what();
      }
    }
    EXPECT_DOUBLE_EQ(run.Get(alone), 42.0);
  }
}

TEST(Graph, BadUseIsAClearError) {
  rankflow::Graph g, other;
  auto a = g.Task(Start).Add(1);
  auto b = other.Task(Start).Add(2);
  // A node of another graph, as an argument or an output.
  try {
    g.Task(Cell).Add(a, b, a, 1);
    FAIL() << "a GraphRef of another graph was taken";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInvalidArgument);
  }
  EXPECT_THROW(g.Output(b), rankflow::Error);
  // An unregistered function.
  try {
    g.Task(NotRegistered).Add(1);
    FAIL() << "an unregistered function was taken";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kNotFound);
  }
  // ObjectRefs inside a bound argument.
  std::vector<rankflow::ObjectRef<int>> refs{rankflow::Put(1)};
  try {
    g.Task(Count).Add(refs);
    FAIL() << "a bound argument holding ObjectRefs was taken";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInvalidArgument);
  }
  // A rank outside the job.
  rankflow::Graph far;
  far.Task(Start).SetRank(rankflow::Size()).Add(1);
  try {
    far.Compile();
    FAIL() << "a node outside the job was compiled";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("outside the job"), std::string::npos) << e.what();
  }
  // Get before any Run, of a node that is not an output, of another graph.
  g.Output(a);
  auto c = g.Task(Start).Add(3);
  auto run = g.Compile();
  EXPECT_THROW(run.Get(a), rankflow::Error);
  run.Run();
  EXPECT_DOUBLE_EQ(run.Get(a), 1.0);
  EXPECT_THROW(run.Get(c), rankflow::Error);
  EXPECT_THROW(run.Get(b), rankflow::Error);
  EXPECT_THROW(rankflow::CompiledGraph().Run(), rankflow::Error);
  EXPECT_THROW(rankflow::Graph().Compile(), rankflow::Error);  // no nodes
  // A negative rank; a moved-from graph.
  rankflow::Graph negative;
  negative.Task(Start).SetRank(-5).Add(1);
  EXPECT_THROW(negative.Compile(), rankflow::Error);
  rankflow::Graph moved = std::move(negative);
  EXPECT_EQ(moved.size(), 1u);
  EXPECT_THROW(negative.size(), rankflow::Error);  // NOLINT(bugprone-use-after-move)
}

TEST(Graph, AValueAboveTheMessageLimitFailsItsNode) {
  // The tests run with RANKFLOW_MAX_MESSAGE_BYTES=4M.
  const int last = rankflow::Size() - 1;
  rankflow::Graph g;
  auto small = g.Task(Big).SetRank(last).Add(1000);
  auto big = g.Task(Big).SetRank(last).Add(5 << 20);
  auto small_len = g.Task(Length).SetRank(0).Add(small);
  auto big_len = g.Task(Length).SetRank(0).Add(big);
  g.Output(small_len);
  g.Output(big_len);
  auto run = g.Compile();
  run.Run();
  EXPECT_EQ(run.Get(small_len), 1000u);
  try {
    run.Get(big_len);
    FAIL() << "a value above the limit went through";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kTaskFailed);
    EXPECT_NE(std::string(e.what()).find("above the limit"), std::string::npos) << e.what();
  }
}

double Scale(double v, double w) { return v * w; }
double Sum(std::vector<double> v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
int Loud(int) { throw std::runtime_error(std::string(5 << 20, 'e')); }  // a 5 MB message
RANKFLOW_REMOTE(Scale, Sum, Loud);

TEST(Graph, InputsTakeANewValueEachRun) {
  const int n = rankflow::Size();
  rankflow::Graph g;
  auto w = g.Input<double>();
  auto v = g.Input<std::vector<double>>();
  std::vector<rankflow::GraphRef<double>> scaled;
  for (int r = 0; r < n; ++r) {
    auto s = g.Task(Sum).SetRank(r).Add(v);
    scaled.push_back(g.Task(Scale).SetRank(r).Add(s, w));
    g.Output(scaled.back());
  }
  g.Output(w);
  auto run = g.Compile();
  // Every input needs a value before the first run.
  run.Set(w, 2.0);
  try {
    run.Run();
    FAIL() << "a run without every input's value";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInvalidArgument);
  }
  for (int i = 1; i <= 5; ++i) {
    run.Set(w, 0.5 * i);
    run.Set(v, std::vector<double>(static_cast<size_t>(i), 1.0));  // sums to i
    run.Run();
    for (int r = 0; r < n; ++r) EXPECT_DOUBLE_EQ(run.Get(scaled[r]), 0.5 * i * i);
    EXPECT_DOUBLE_EQ(run.Get(w), 0.5 * i);
  }
  run.Run();  // the last values are kept
  EXPECT_DOUBLE_EQ(run.Get(scaled[0]), 12.5);
  // Set() of a node that is not an input, or of another graph's.
  EXPECT_THROW(run.Set(scaled[0], 1.0), rankflow::Error);
  rankflow::Graph other;
  auto x = other.Input<double>();
  EXPECT_THROW(run.Set(x, 1.0), rankflow::Error);
  // An input above the message limit (4M in the tests).
  try {
    run.Set(v, std::vector<double>(1 << 20, 1.0));
    FAIL() << "an input above the limit was taken";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kTooLarge);
  }
}

TEST(Graph, NodesMaySubmitTasksAndGetThem) {
  rankflow::Graph g;
  std::vector<rankflow::GraphRef<int>> outs;
  for (int r = 0; r < rankflow::Size(); ++r) {
    auto a = g.Task(Inc).SetRank(r).Add(r);
    outs.push_back(g.Task(ViaTask).SetRank((r + 1) % rankflow::Size()).Add(a));
    g.Output(outs.back());
  }
  auto run = g.Compile();
  for (int i = 0; i < 3; ++i) {
    run.Run(60000);
    for (int r = 0; r < rankflow::Size(); ++r) EXPECT_EQ(run.Get(outs[r]), r + 102);
  }
}

TEST(Graph, OutputsAndErrorsAboveTheLimitStillComeBack) {
  // Two 3 MB outputs of one rank other than this one cannot come back in one
  // 4 MB report: the second comes back as an error, and Run() returns.
  const int last = rankflow::Size() - 1;
  rankflow::Graph g;
  auto a = g.Task(Big).SetRank(last).Add(3 << 20);
  auto b = g.Task(Big).SetRank(last).Add(3 << 20);
  auto loud = g.Task(Loud).SetRank(last).Add(1);
  auto after = g.Task(Inc).SetRank(0).Add(loud);  // its error travels as a value
  g.Output(a);
  g.Output(b);
  g.Output(after);
  auto run = g.Compile();
  run.Run(60000);
  EXPECT_EQ(run.Get(a).size(), static_cast<size_t>(3 << 20));
  if (last != rankflow::Rank()) {
    try {
      run.Get(b);
      FAIL() << "two outputs above the limit together came back";
    } catch (const rankflow::Error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot come back"), std::string::npos) << e.what();
    }
  } else {
    EXPECT_EQ(run.Get(b).size(), static_cast<size_t>(3 << 20));  // (here: no message)
  }
  try {
    run.Get(after);
    FAIL() << "a node after a failed one has a value";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kTaskFailed);
    EXPECT_LT(std::string(e.what()).size(), 70u << 10);  // the message was cut
  }
}

TEST(Graph, ManyGraphsAtOnceAndDropped) {
  std::vector<rankflow::CompiledGraph> runs;
  std::vector<rankflow::GraphRef<int>> outs;
  for (int i = 0; i < 8; ++i) {
    rankflow::Graph g;
    auto a = g.Task(RankHere).SetRank(i % rankflow::Size()).Add(i);
    g.Output(a);
    outs.push_back(a);
    runs.push_back(g.Compile());
  }
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < runs.size(); ++i) {
      runs[i].Run();
      EXPECT_EQ(runs[i].Get(outs[i]), static_cast<int>(i % rankflow::Size()) * 1000 + static_cast<int>(i));
    }
  }
  runs.clear();  // uninstalled on every rank
  rankflow::Graph g;
  auto a = g.Task(RankHere).Add(5);
  g.Output(a);
  auto run = g.Compile();
  run.Run();
  EXPECT_EQ(run.Get(a), rankflow::Rank() * 1000 + 5);
}

}  // namespace
