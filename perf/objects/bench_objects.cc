// Object store benchmarks, run with 4 ranks in two virtual nodes
// (RANKFLOW_RANKS_PER_NODE=2: ranks 0,1 on node 0; ranks 2,3 on node 1):
//   - multi client put gigabytes: every rank fills arrays into its store at
//     once, beside memcpy of the same sizes by the same clients;
//   - same-node get of a large object by another process (rank 1): a view;
//   - get latency / bandwidth from the other node (rank 2) for 1 KiB .. max:
//     one rendezvous pull into rank 2's store (the baseline, ucx_perftest on
//     the same transport, is run by perf/run);
//   - broadcast: every other rank reads one large object at once.
// Prints one JSON figure per line (perf/run's format).
#include <rankflow/rankflow.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/testing_hooks.h"

namespace {

using Bytes = std::vector<uint8_t>;
using BytesRef = rankflow::ObjectRef<Bytes>;

double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Seconds for this rank to read the borrowed object (pulling it if needed);
// the copy is dropped afterwards so the next read pulls again.
double TimedGet(std::vector<BytesRef> ref) {
  double t0 = Now();
  auto view = rankflow::GetArray(ref[0]);
  double t = Now() - t0;
  volatile uint8_t touch = view[view.size() - 1];  // the bytes are there
  (void)touch;
  view = {};
  rankflow::testing::DropFetchedCopies();
  return t;
}

// One put client: `reps` arrays of `bytes` into the store, and the same with memcpy.
std::vector<double> PutClient(size_t bytes, int reps) {
  Bytes src(bytes, 3), dst(bytes, 0);
  double put_best = 1e30, copy_best = 1e30;
  for (int i = 0; i < reps; ++i) {
    double t0 = Now();
    auto ref = rankflow::Put(src);
    put_best = std::min(put_best, Now() - t0);
    t0 = Now();
    std::memcpy(dst.data(), src.data(), bytes);
    copy_best = std::min(copy_best, Now() - t0);
  }
  return {bytes / put_best / 1e9, bytes / copy_best / 1e9};
}

RANKFLOW_REMOTE(TimedGet, PutClient);

void Emit(const std::string& name, double value, const char* unit, const char* baseline_name = nullptr,
          double baseline = 0) {
  if (baseline_name) {
    std::printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"baseline_name\": \"%s\", "
                "\"baseline\": %.3f}\n", name.c_str(), value, unit, baseline_name, baseline);
  } else {
    std::printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\"}\n", name.c_str(), value, unit);
  }
  std::fflush(stdout);
}

std::string SizeName(size_t b) {
  if (b >= (size_t{1} << 30)) return std::to_string(b >> 30) + " gib";
  if (b >= (size_t{1} << 20)) return std::to_string(b >> 20) + " mib";
  return std::to_string(b >> 10) + " kib";
}

BytesRef MakeObject(size_t bytes) {
  auto b = rankflow::CreateArray<uint8_t>(bytes - sizeof(uint64_t));
  std::memset(b.data(), 5, b.size());
  return b.Seal();
}

}  // namespace

int main(int argc, char** argv) {
  size_t max_bytes = size_t{1} << 30;
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--max-bytes")) max_bytes = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
  }
  rankflow::Init(argc, argv);
  const int n = rankflow::Size();
  if (n < 4 || rankflow::testing::NodeOfRank(1) != 0 || rankflow::testing::NodeOfRank(2) == 0) {
    std::fprintf(stderr, "run with 4 ranks and RANKFLOW_RANKS_PER_NODE=2\n");
    rankflow::Shutdown();
    return 2;
  }
  const int same = 1, other = 2;

  // Multi client put gigabytes: one client per rank, all at once.
  {
    const size_t bytes = std::min<size_t>(max_bytes / 4, size_t{256} << 20);
    std::vector<rankflow::ObjectRef<std::vector<double>>> cs;
    double t0 = Now();
    for (int r = 0; r < n; ++r) cs.push_back(rankflow::Task(PutClient).SetRank(r).Remote(bytes, reps + 1));
    double put = 0, copy = 0;
    for (auto& c : cs) {
      auto v = rankflow::Get(c);
      put += (*v)[0];
      copy += (*v)[1];
    }
    (void)t0;
    Emit("multi client put gigabytes", put, "GB/s", "memcpy", copy);
  }

  // Same-node get of the largest object by another process: a view, no copy.
  {
    auto ref = MakeObject(max_bytes);
    std::vector<BytesRef> held{ref};
    double best = 1e30;
    for (int i = 0; i < reps + 2; ++i) {
      best = std::min(best, *rankflow::Get(rankflow::Task(TimedGet).SetRank(same).Remote(held)));
    }
    Emit("same node get " + SizeName(max_bytes) + " latency", best * 1e6, "us");
    double own = 1e30;
    for (int i = 0; i < reps + 2; ++i) {
      double t0 = Now();
      auto v = rankflow::GetArray(ref);
      own = std::min(own, Now() - t0);
    }
    Emit("owner get " + SizeName(max_bytes) + " latency", own * 1e6, "us");
  }

  // From the other node: latency and bandwidth by size.
  for (size_t bytes = 1024; bytes <= max_bytes; bytes *= 4) {
    std::vector<BytesRef> held{MakeObject(std::max<size_t>(bytes, 16))};
    double best = 1e30;
    const int tries = bytes >= (size_t{256} << 20) ? 2 : reps + 2;
    for (int i = 0; i < tries; ++i) {
      best = std::min(best, *rankflow::Get(rankflow::Task(TimedGet).SetRank(other).Remote(held)));
    }
    Emit("inter node get " + SizeName(bytes) + " latency", best * 1e6, "us");
    if (bytes >= (size_t{1} << 20)) {
      Emit("inter node get " + SizeName(bytes) + " bandwidth", bytes / best / 1e9, "GB/s");
    }
  }

  // Broadcast: every other rank reads one object at once; copies on a node
  // are shared (one pull per node), later readers may pull from a holder.
  {
    std::vector<BytesRef> held{MakeObject(max_bytes)};
    double p2p = *rankflow::Get(rankflow::Task(TimedGet).SetRank(other).Remote(held));
    double best = 1e30;
    for (int i = 0; i < 2; ++i) {
      double t0 = Now();
      std::vector<rankflow::ObjectRef<double>> rs;
      for (int r = 1; r < n; ++r) rs.push_back(rankflow::Task(TimedGet).SetRank(r).Remote(held));
      for (auto& r : rs) rankflow::Get(r);
      best = std::min(best, Now() - t0);
    }
    Emit("broadcast " + SizeName(max_bytes) + " to " + std::to_string(n - 1) + " ranks", best * 1e3, "ms",
         "one inter node get", p2p * 1e3);
  }
  rankflow::Shutdown();
  return 0;
}
