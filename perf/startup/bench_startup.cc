// Startup and memory: time from launch (RANKFLOW_BENCH_LAUNCH_NS, set by
// perf/run just before mpirun) to Init returning on the driver (which needs
// every rank registered) and to the first task executed; resident memory of
// every rank idle and after a burst of tasks (the largest rank is reported).
#include <rankflow/rankflow.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

double NowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(system_clock::now().time_since_epoch()).count();
}

double LaunchMs() {
  const char* s = std::getenv("RANKFLOW_BENCH_LAUNCH_NS");
  return s ? std::atof(s) / 1e6 : NowMs();
}

double StampMs(int) { return NowMs(); }

double RssMb(int) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return -1;
}

void Empty() {}

RANKFLOW_REMOTE(StampMs, RssMb, Empty);

void Emit(const char* name, double value, const char* unit) {
  std::printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\"}\n", name, value, unit);
}

double MaxOverRanks(double (*fn)(int)) {
  std::vector<rankflow::ObjectRef<double>> refs;
  for (int r = 0; r < rankflow::Size(); ++r) refs.push_back(rankflow::Task(fn).SetRank(r).Remote(r));
  double m = 0;
  for (auto& v : rankflow::Get(refs)) m = std::max(m, *v);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const double launch = LaunchMs();
  rankflow::Init(argc, argv);
  const double init_ms = NowMs() - launch;
  const int last = rankflow::Size() - 1;
  const double first_ms = *rankflow::Get(rankflow::Task(StampMs).SetRank(last).Remote(0)) - launch;

  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double idle = MaxOverRanks(RssMb);
  for (int round = 0; round < 5; ++round) {
    std::vector<rankflow::ObjectRef<void>> refs;
    for (int i = 0; i < 20000; ++i) refs.push_back(rankflow::Task(Empty).Remote());
    for (auto& r : refs) rankflow::Get(r);
  }
  const double loaded = MaxOverRanks(RssMb);

  Emit("startup init all ranks", init_ms, "ms");
  Emit("startup to first task", first_ms, "ms");
  Emit("idle rank rss", idle, "MB");
  Emit("loaded rank rss", loaded, "MB");
  rankflow::Shutdown();
  return 0;
}
