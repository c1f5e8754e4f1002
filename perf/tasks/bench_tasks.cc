// Ray's "single client tasks async" and "single client tasks sync":
//   async: submit N empty tasks (spread over every rank), then get them all;
//   sync:  one empty task at a time on another rank, submit then get.
// Prints one JSON line per figure (see perf/README.md).
#include <rankflow/rankflow.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

void Empty() {}
RANKFLOW_REMOTE(Empty);

double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void Emit(const char* name, double value, const char* unit, const char* better) {
  std::printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"better\": \"%s\"}\n", name,
              value, unit, better);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int tasks = 20000, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--tasks")) tasks = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  rankflow::Init(argc, argv);
  const int peer = rankflow::Size() > 1 ? 1 : 0;

  // Async: the best of `rounds` batches (the first warms up endpoints and pools).
  double best_rate = 0;
  std::vector<rankflow::ObjectRef<void>> refs;
  refs.reserve(tasks);
  for (int r = 0; r < rounds + 1; ++r) {
    refs.clear();
    double t0 = Now();
    for (int i = 0; i < tasks; ++i) refs.push_back(rankflow::Task(Empty).Remote());
    for (auto& ref : refs) rankflow::Get(ref);
    double rate = tasks / (Now() - t0);
    if (r > 0) best_rate = std::max(best_rate, rate);
  }
  refs.clear();

  // Sync: round trips to another rank, one at a time.
  const int sync_n = std::max(1000, tasks / 4);
  std::vector<double> lat;
  lat.reserve(sync_n);
  auto caller = rankflow::Task(Empty);
  caller.SetRank(peer);
  for (int i = 0; i < 200; ++i) rankflow::Get(caller.Remote());
  double t0 = Now();
  for (int i = 0; i < sync_n; ++i) {
    double s = Now();
    rankflow::Get(caller.Remote());
    lat.push_back((Now() - s) * 1e6);
  }
  double sync_rate = sync_n / (Now() - t0);
  std::sort(lat.begin(), lat.end());

  Emit("single client tasks async", best_rate, "tasks/s", "higher");
  Emit("single client tasks sync", sync_rate, "tasks/s", "higher");
  Emit("single client tasks sync median latency", lat[lat.size() / 2], "us", "lower");
  std::fprintf(stderr, "ranks %d: async %.0f tasks/s; sync %.0f tasks/s, p50 %.1f us, p99 %.1f us\n",
               rankflow::Size(), best_rate, sync_rate, lat[lat.size() / 2], lat[lat.size() * 99 / 100]);
  rankflow::Shutdown();
  return 0;
}
