// METG for rankflow tasks: a stencil_1d task graph of width W and T steps;
// task (t, x) takes the results of (t-1, x-1), (t-1, x), (t-1, x+1) as
// ObjectRef arguments, so the runtime resolves dependencies and places work.
// Sweeps the kernel size from large to small and prints METG(50%), for
// tasks and for one actor per column.
#include <rankflow/rankflow.h>

#include <chrono>
#include <cstdio>
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

RANKFLOW_REMOTE(Stencil, Start, MakeColumn, &Column::Step);

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

// Sweeps iter down from max_iter, running `graph(iter)`; returns METG(50%).
template <typename G>
double Sweep(const char* label, int width, int steps, int cores, long max_iter, G graph) {
  std::vector<metg_point> pts;
  graph(16);  // warm-up
  for (long iter = max_iter; iter >= 1; iter /= 2) {
    double t0 = Now();
    volatile double sink = graph(iter);
    (void)sink;
    double secs = Now() - t0;
    double tasks = static_cast<double>(width) * steps;
    pts.push_back({iter, secs, tasks * METG_FLOPS(iter), secs * cores / tasks * 1e6});
    std::fprintf(stderr, "%s: iter %ld: %.4f s, granularity %.2f us, %.2f GFLOP/s\n", label, iter,
                 secs, pts.back().granularity, pts.back().flops / secs / 1e9);
  }
  return metg_50(pts.data(), pts.size());
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 100, cores = static_cast<int>(std::thread::hardware_concurrency());
  long max_iter = 1L << 16;
  int width = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--width")) width = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--cores")) cores = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--max-iter")) max_iter = std::atol(argv[i + 1]);
  }
  rankflow::Init(argc, argv);
  if (width <= 0) width = cores;
  double metg = Sweep("rankflow tasks", width, steps, cores, max_iter,
                      [&](long iter) { return RunGraph(width, steps, iter); });
  std::printf("{\"name\": \"metg rankflow tasks\", \"value\": %.3f, \"unit\": \"us\", \"better\": \"lower\", "
              "\"width\": %d, \"steps\": %d, \"cores\": %d}\n", metg, width, steps, cores);
  std::vector<rankflow::ActorHandle<Column>> cols;
  for (int x = 0; x < width; ++x) cols.push_back(rankflow::Actor(MakeColumn).SetRank(x % rankflow::Size()).Remote(x));
  double metg_actors = Sweep("rankflow actors", width, steps, cores, max_iter,
                             [&](long iter) { return RunActorGraph(cols, steps, iter); });
  std::printf("{\"name\": \"metg rankflow actors\", \"value\": %.3f, \"unit\": \"us\", \"better\": \"lower\", "
              "\"width\": %d, \"steps\": %d, \"cores\": %d}\n", metg_actors, width, steps, cores);
  rankflow::Shutdown();
  return 0;
}
