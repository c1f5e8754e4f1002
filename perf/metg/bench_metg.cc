// METG for rankflow tasks: a stencil_1d task graph of width W and T steps;
// task (t, x) takes the results of (t-1, x-1), (t-1, x), (t-1, x+1) as
// ObjectRef arguments, so the runtime resolves dependencies and places work.
// Sweeps the kernel size from large to small and prints METG(50%), for
// tasks, for one actor per column called by the driver, and for column
// actors that send their values straight to their neighbours (dataflow).
#include <rankflow/rankflow.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "kernel.h"
#include "metg_math.h"

namespace {

double Stencil(double left, double center, double right, long iter) {
  return metg_kernel((left + center + right) * 1e-3, iter);
}
double Start(int x, long iter) { return metg_kernel(x, iter); }
double Add(double a, double b) { return a + b; }

// The actor version: one stateful actor per column.
class Column {
 public:
  explicit Column(int x) : x_(x) {}
  double Step(double left, double center, double right, long iter) {
    ++steps_;
    return metg_kernel((left + center + right) * 1e-3 + x_ * 1e-9, iter);
  }

 private:
  int x_;
  long steps_ = 0;
};
Column* MakeColumn(int x) { return new Column(x); }

// The dataflow version: one actor per column that sends each new value
// straight to its neighbours' actors. The driver only starts a run and
// waits for the last step, so no step goes through it.
class Cell {
 public:
  Cell(int x, int width) : x_(x), width_(width) {}
  void Wire(std::vector<rankflow::ActorHandle<Cell>> cells) { cells_ = std::move(cells); }
  /// Computes this column's step 0 of run `run` and passes it on.
  void Begin(int run, int steps, long iter) {
    std::unique_lock<std::mutex> lock(mu_);
    Emit(lock, run, steps, iter, 0, metg_kernel(x_, iter));
  }
  /// A neighbour's (or this column's) value of step t.
  void Deliver(int run, int steps, long iter, int t, int from, double v) {
    std::unique_lock<std::mutex> lock(mu_);
    Accept(lock, run, steps, iter, t, from, v);
  }
  /// This column's value of the last step of run `run`, once computed.
  double Result(int run) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return results_.count(run) > 0; });
    const double v = results_[run];
    results_.erase(run);
    return v;
  }

 private:
  struct Inputs {
    double v[3] = {0, 0, 0};  // left, centre, right
    int count = 0;
  };
  void Emit(std::unique_lock<std::mutex>& lock, int run, int steps, long iter, int t, double v) {
    if (t == steps - 1) {
      results_[run] = v;
      done_cv_.notify_all();
      return;
    }
    lock.unlock();  // send without the lock: Deliver calls may arrive meanwhile
    for (int n : {x_ - 1, x_ + 1}) {
      if (n >= 0 && n < width_) cells_[n].Task(&Cell::Deliver).Remote(run, steps, iter, t, x_, v);
    }
    lock.lock();
    Accept(lock, run, steps, iter, t, x_, v);
  }
  void Accept(std::unique_lock<std::mutex>& lock, int run, int steps, long iter, int t, int from,
              double v) {
    Inputs& in = inbox_[{run, t}];
    in.v[from - x_ + 1] = v;
    const int needed = 1 + (x_ > 0) + (x_ + 1 < width_);
    if (++in.count < needed) return;
    const double c = in.v[1];
    const double l = x_ > 0 ? in.v[0] : c, r = x_ + 1 < width_ ? in.v[2] : c;
    inbox_.erase({run, t});
    Emit(lock, run, steps, iter, t + 1, metg_kernel((l + c + r) * 1e-3, iter));
  }

  int x_, width_;
  std::vector<rankflow::ActorHandle<Cell>> cells_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  std::map<std::pair<int, int>, Inputs> inbox_;  // by (run, step)
  std::map<int, double> results_;                 // by run
};
Cell* MakeCell(int x, int width) { return new Cell(x, width); }

RANKFLOW_REMOTE(Stencil, Start, Add, MakeColumn, &Column::Step);
RANKFLOW_REMOTE(MakeCell, &Cell::Wire, &Cell::Begin, &Cell::Deliver, &Cell::Result);


double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

double RunGraph(int width, int steps, long iter) {
  std::vector<rankflow::ObjectRef<double>> prev, cur;
  for (int x = 0; x < width; ++x) prev.push_back(rankflow::Task(Start).Remote(x, iter));
  for (int t = 1; t < steps; ++t) {
    cur.clear();
    for (int x = 0; x < width; ++x) {
      const auto& l = prev[x > 0 ? x - 1 : x];
      const auto& r = prev[x + 1 < width ? x + 1 : x];
      cur.push_back(rankflow::Task(Stencil).Remote(l, prev[x], r, iter));
    }
    prev.swap(cur);
  }
  double sum = 0;
  for (auto& ref : prev) sum += *rankflow::Get(ref);
  return sum;
}

// SPMD (InitMode::kSpmd): every rank runs this and submits every task as a
// collective one; column x is owned and run by rank x * size / width, and
// its inputs from other ranks' columns come straight from them. Each rank
// waits for its own columns; rank 0 also adds up all of them, so that its
// clock covers every rank's work (as the MPI stencil's final Allreduce).
double RunSpmdGraph(int width, int steps, long iter) {
  const int size = rankflow::Size(), me = rankflow::Rank();
  auto owner = [&](int x) { return static_cast<int>(static_cast<long>(x) * size / width); };
  std::vector<rankflow::ObjectRef<double>> prev, cur;
  for (int x = 0; x < width; ++x) prev.push_back(rankflow::Task(Start).SetOwner(owner(x)).Remote(x, iter));
  for (int t = 1; t < steps; ++t) {
    cur.clear();
    for (int x = 0; x < width; ++x) {
      const auto& l = prev[x > 0 ? x - 1 : x];
      const auto& r = prev[x + 1 < width ? x + 1 : x];
      cur.push_back(rankflow::Task(Stencil).SetOwner(owner(x)).Remote(l, prev[x], r, iter));
    }
    prev.swap(cur);
  }
  double sum = 0;
  for (int x = 0; x < width; ++x) {
    if (owner(x) == me) sum += *rankflow::Get(prev[x]);
  }
  if (size == 1) return sum;
  auto total = prev[0];
  for (int x = 1; x < width; ++x) total = rankflow::Task(Add).SetOwner(0).Remote(total, prev[x]);
  return me == 0 ? *rankflow::Get(total) : sum;
}

// The same stencil as a compiled graph (rankflow/graph.h), column x on rank
// x * size / width: recorded and compiled once per kernel size, before the
// timed runs (as a compiled graph is used: built once, run many times);
// each run then moves values rank to rank with no submission.
struct CompiledStencil {
  rankflow::CompiledGraph run;
  std::vector<rankflow::GraphRef<double>> last;
  double compile_us = 0;
};

CompiledStencil CompileStencil(int width, int steps, long iter) {
  const int size = rankflow::Size();
  auto owner = [&](int x) { return static_cast<int>(static_cast<long>(x) * size / width); };
  const double t0 = Now();
  rankflow::Graph g;
  std::vector<rankflow::GraphRef<double>> prev, cur;
  for (int x = 0; x < width; ++x) prev.push_back(g.Task(Start).SetRank(owner(x)).Add(x, iter));
  for (int t = 1; t < steps; ++t) {
    cur.clear();
    for (int x = 0; x < width; ++x) {
      const auto& l = prev[x > 0 ? x - 1 : x];
      const auto& r = prev[x + 1 < width ? x + 1 : x];
      cur.push_back(g.Task(Stencil).SetRank(owner(x)).Add(l, prev[x], r, iter));
    }
    prev.swap(cur);
  }
  for (const auto& ref : prev) g.Output(ref);
  CompiledStencil c{g.Compile(), prev, 0};
  c.compile_us = (Now() - t0) * 1e6;
  return c;
}

double RunCompiled(CompiledStencil& c) {
  c.run.Run();
  double sum = 0;
  for (const auto& ref : c.last) sum += c.run.Get(ref);
  return sum;
}

double RunActorGraph(const std::vector<rankflow::ActorHandle<Column>>& cols, int steps, long iter) {
  const int width = static_cast<int>(cols.size());
  std::vector<rankflow::ObjectRef<double>> prev, cur;
  for (int x = 0; x < width; ++x) prev.push_back(rankflow::Task(Start).SetRank(cols[x].rank()).Remote(x, iter));
  for (int t = 1; t < steps; ++t) {
    cur.clear();
    for (int x = 0; x < width; ++x) {
      const auto& l = prev[x > 0 ? x - 1 : x];
      const auto& r = prev[x + 1 < width ? x + 1 : x];
      cur.push_back(cols[x].Task(&Column::Step).Remote(l, prev[x], r, iter));
    }
    prev.swap(cur);
  }
  double sum = 0;
  for (auto& ref : prev) sum += *rankflow::Get(ref);
  return sum;
}

double RunDataflowGraph(const std::vector<rankflow::ActorHandle<Cell>>& cells, int steps, long iter) {
  static int run = 0;
  ++run;
  for (const auto& c : cells) c.Task(&Cell::Begin).Remote(run, steps, iter);
  std::vector<rankflow::ObjectRef<double>> results;
  for (const auto& c : cells) results.push_back(c.Task(&Cell::Result).Remote(run));
  double sum = 0;
  for (auto& ref : results) sum += *rankflow::Get(ref);
  return sum;
}

struct Metg {
  double value;  // METG(50%), us
  double peak;   // the sweep's peak, FLOP/s
};

// Sweeps iter down from max_iter, running `graph(iter)`; returns METG(50%)
// and the peak it is measured against. Each point is the fastest of `reps`
// runs (the MPI stencil does the same). `prepare(iter)`, untimed, comes
// before a kernel size's runs.
template <typename P, typename G>
Metg Sweep(const char* label, int width, int steps, int cores, long max_iter, int reps, P prepare,
           G graph) {
  std::vector<metg_point> pts;
  prepare(16);
  graph(16);  // warm-up
  for (long iter = max_iter; iter >= 1; iter = metg_next_iter(iter)) {
    prepare(iter);
    double secs = 0;
    for (int r = 0; r < reps; ++r) {
      double t0 = Now();
      volatile double sink = graph(iter);
      (void)sink;
      const double s = Now() - t0;
      if (r == 0 || s < secs) secs = s;
    }
    double tasks = static_cast<double>(width) * steps;
    pts.push_back({iter, secs, tasks * METG_FLOPS(iter), secs * cores / tasks * 1e6});
    if (rankflow::Rank() == 0)
      std::fprintf(stderr, "%s: iter %ld: %.4f s, granularity %.2f us, %.2f GFLOP/s\n", label, iter,
                   secs, pts.back().granularity, pts.back().flops / secs / 1e9);
  }
  return {metg_50(pts.data(), pts.size()), metg_peak(pts.data(), pts.size())};
}

const auto kNoPrepare = [](long) {};

void Print(const char* name, const Metg& metg, int width, int steps, int cores,
           const std::string& extra = "") {
  std::printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"us\", \"better\": \"lower\", "
              "\"width\": %d, \"steps\": %d, \"cores\": %d, \"peak_gflops\": %.2f%s}\n", name,
              metg.value, width, steps, cores, metg.peak / 1e9, extra.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 100, cores = static_cast<int>(std::thread::hardware_concurrency());
  long max_iter = 1L << 16;
  int width = 0, reps = 3;
  std::string variants = "tasks,graph,actors,dataflow";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--width")) width = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--cores")) cores = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--max-iter")) max_iter = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--reps")) reps = std::max(1, std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--variants")) variants = argv[i + 1];
  }
  auto wanted = [&](const char* v) { return ("," + variants + ",").find(std::string(",") + v + ",") != std::string::npos; };
  // The SPMD variant needs every rank to run main: alone in its launch.
  const bool spmd = wanted("spmd");
  if (spmd && variants != "spmd") {
    std::fprintf(stderr, "--variants spmd runs alone (every rank runs main in SPMD mode)\n");
    return 2;
  }
  rankflow::Init(argc, argv, spmd ? rankflow::InitMode::kSpmd : rankflow::InitMode::kDriver);
  if (width <= 0) width = cores;
  if (spmd) {
    // Every rank sweeps (the same collective calls); rank 0 reports.
    const Metg metg = Sweep("rankflow tasks spmd", width, steps, cores, max_iter, reps, kNoPrepare,
                            [&](long iter) { return RunSpmdGraph(width, steps, iter); });
    if (rankflow::Rank() == 0) Print("metg rankflow tasks spmd", metg, width, steps, cores);
  }
  if (wanted("tasks")) {
    const Metg metg = Sweep("rankflow tasks", width, steps, cores, max_iter, reps, kNoPrepare,
                            [&](long iter) { return RunGraph(width, steps, iter); });
    Print("metg rankflow tasks", metg, width, steps, cores);
  }
  if (wanted("graph")) {
    // Compiled once per kernel size, outside the timing; the compile times
    // are reported beside the figure.
    CompiledStencil compiled;
    std::vector<double> compile_us;
    const Metg metg = Sweep("rankflow compiled graph", width, steps, cores, max_iter, reps,
                            [&](long iter) {
                              compiled = CompiledStencil{};  // (the previous one uninstalled first)
                              compiled = CompileStencil(width, steps, iter);
                              compile_us.push_back(compiled.compile_us);
                            },
                            [&](long) { return RunCompiled(compiled); });
    std::sort(compile_us.begin(), compile_us.end());
    Print("metg rankflow compiled graph", metg, width, steps, cores,
          ", \"compile_us\": " + std::to_string(compile_us[compile_us.size() / 2]));
  }
  if (wanted("actors")) {
    std::vector<rankflow::ActorHandle<Column>> cols;
    // Short Step calls run to completion on the receiving thread (SetInlineCalls).
    for (int x = 0; x < width; ++x) {
      cols.push_back(rankflow::Actor(MakeColumn).SetRank(x % rankflow::Size()).SetInlineCalls().Remote(x));
    }
    const Metg metg = Sweep("rankflow actors", width, steps, cores, max_iter, reps, kNoPrepare,
                            [&](long iter) { return RunActorGraph(cols, steps, iter); });
    Print("metg rankflow actors", metg, width, steps, cores);
  }
  if (wanted("dataflow")) {
    // Two threads per cell actor: one may wait in Result while the other
    // takes the neighbours' values.
    std::vector<rankflow::ActorHandle<Cell>> cells;
    for (int x = 0; x < width; ++x) {
      cells.push_back(rankflow::Actor(MakeCell).SetRank(x % rankflow::Size()).SetMaxConcurrency(2).Remote(x, width));
    }
    for (const auto& c : cells) rankflow::Get(c.Task(&Cell::Wire).Remote(cells));
    const Metg metg = Sweep("rankflow actors dataflow", width, steps, cores, max_iter, reps, kNoPrepare,
                            [&](long iter) { return RunDataflowGraph(cells, steps, iter); });
    Print("metg rankflow actors dataflow", metg, width, steps, cores);
  }
  rankflow::Shutdown();
  return 0;
}
