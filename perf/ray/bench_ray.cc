// Ray's microbenchmarks that the runtime supports so far, under Ray's names
// (ray microbenchmark): single/multi client put calls, get calls, put gigabytes (beside memcpy measured
// here), wait on 1k refs, tasks and get batch, multi client tasks async, and
// the actor calls (1:1 sync/async/concurrent, 1:n, n:n, n:n with arg), and
// placement group create/removal (one one-CPU bundle, created and removed in
// turn: two round trips to the control service).
#include <rankflow/rankflow.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

void Empty() {}

// One "client": a task that itself submits `n` empty tasks and waits for them.
int Client(int n) {
  std::vector<rankflow::ObjectRef<void>> refs;
  refs.reserve(n);
  for (int i = 0; i < n; ++i) refs.push_back(rankflow::Task(Empty).Remote());
  for (auto& r : refs) rankflow::Get(r);
  return n;
}

// One put client: `n` small puts on its own rank.
int PutClient(int n) {
  for (int i = 0; i < n; ++i) rankflow::Put(i);
  return n;
}

class Sink {
 public:
  void Call() {}
  int CallWith(int x) { return x; }
};
Sink* MakeSink() { return new Sink(); }

// An n:n client: calls every actor `per` times, round robin, then gets all.
int ActorClient(std::vector<rankflow::ActorHandle<Sink>> actors, int per, bool with_arg) {
  std::vector<rankflow::ObjectRef<void>> plain;
  std::vector<rankflow::ObjectRef<int>> with;
  auto arg = rankflow::Put(7);
  for (int i = 0; i < per; ++i) {
    for (auto& a : actors) {
      if (with_arg) {
        with.push_back(a.Task(&Sink::CallWith).Remote(arg));
      } else {
        plain.push_back(a.Task(&Sink::Call).Remote());
      }
    }
  }
  for (auto& r : plain) rankflow::Get(r);
  for (auto& r : with) rankflow::Get(r);
  return per;
}

RANKFLOW_REMOTE(Empty, Client, PutClient, MakeSink, &Sink::Call, &Sink::CallWith, ActorClient);

double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void Emit(const char* name, double value, const char* unit, const char* baseline_name = nullptr,
          double baseline = 0) {
  if (baseline_name) {
    std::printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"baseline_name\": \"%s\", "
                "\"baseline\": %.3f}\n", name, value, unit, baseline_name, baseline);
  } else {
    std::printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\"}\n", name, value, unit);
  }
}

// Best rate of `rounds` runs of fn(), each doing `ops` operations.
template <typename F>
double BestRate(int rounds, double ops, F fn) {
  double best = 0;
  for (int r = 0; r < rounds; ++r) {
    double t0 = Now();
    fn();
    best = std::max(best, ops / (Now() - t0));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 20000, rounds = 3;
  size_t big = size_t{256} << 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--n")) n = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--bytes")) big = std::strtoull(argv[i + 1], nullptr, 10);
  }
  rankflow::Init(argc, argv);

  std::vector<rankflow::ObjectRef<int>> puts;
  puts.reserve(n);
  double put_rate = BestRate(rounds, n, [&] {
    puts.clear();
    for (int i = 0; i < n; ++i) puts.push_back(rankflow::Put(i));
  });
  Emit("single client put calls", put_rate, "calls/s");
  {
    const int clients = rankflow::Size(), per = std::max(1000, n);
    Emit("multi client put calls", BestRate(rounds, static_cast<double>(clients) * per, [&] {
           std::vector<rankflow::ObjectRef<int>> cs;
           for (int c = 0; c < clients; ++c) cs.push_back(rankflow::Task(PutClient).SetRank(c).Remote(per));
           for (auto& c : cs) rankflow::Get(c);
         }), "calls/s");
  }

  auto one = rankflow::Put(42);
  long sink = 0;
  double get_rate = BestRate(rounds, n, [&] {
    for (int i = 0; i < n; ++i) sink += *rankflow::Get(one);
  });
  Emit("single client get calls", get_rate, "calls/s");

  // Put gigabytes: a large array stored as an object, beside memcpy of the
  // same size into a buffer that is already mapped (the best case).
  std::vector<uint8_t> data(big, 1);
  std::vector<uint8_t> dst(big, 0);
  double memcpy_gbs = BestRate(rounds, big / 1e9, [&] { std::memcpy(dst.data(), data.data(), big); });
  double put_gbs = BestRate(rounds, big / 1e9, [&] { auto ref = rankflow::Put(data); });
  Emit("single client put gigabytes", put_gbs, "GB/s", "memcpy", memcpy_gbs);

  // Wait on 1000 refs of finished tasks.
  std::vector<rankflow::ObjectRef<void>> k;
  for (int i = 0; i < 1000; ++i) k.push_back(rankflow::Task(Empty).Remote());
  for (auto& r : k) rankflow::Get(r);
  int waits = std::max(10, n / 200);
  double wait_rate = BestRate(rounds, waits, [&] {
    for (int i = 0; i < waits; ++i) rankflow::Wait(k, 1000, 10000);
  });
  Emit("single client wait 1k refs", wait_rate, "calls/s");

  // Tasks and get batch: submit 1000 tasks, get them all, as one operation.
  int batches = std::max(2, n / 1000);
  double batch_rate = BestRate(rounds, batches, [&] {
    for (int b = 0; b < batches; ++b) {
      std::vector<rankflow::ObjectRef<void>> refs;
      refs.reserve(1000);
      for (int i = 0; i < 1000; ++i) refs.push_back(rankflow::Task(Empty).Remote());
      for (auto& r : refs) rankflow::Get(r);
    }
  });
  Emit("single client tasks and get batch", batch_rate, "batches/s");

  // Multi client: one client task per rank, each submitting n/size tasks.
  int clients = rankflow::Size(), per = std::max(100, n / clients);
  double multi_rate = BestRate(rounds, static_cast<double>(clients) * per, [&] {
    std::vector<rankflow::ObjectRef<int>> cs;
    for (int c = 0; c < clients; ++c) cs.push_back(rankflow::Task(Client).SetRank(c).Remote(per));
    for (auto& c : cs) rankflow::Get(c);
  });
  Emit("multi client tasks async", multi_rate, "tasks/s");
  // Actors: 1:1 on another rank, 1:n over every rank, n:n from a client per rank.
  const int peer = rankflow::Size() > 1 ? 1 : 0;
  auto actor = rankflow::Actor(MakeSink).SetRank(peer).Remote();
  rankflow::Get(actor.Task(&Sink::Call).Remote());
  {
    std::vector<double> lat;
    const int calls = std::max(1000, n / 4);
    double t0 = Now();
    for (int i = 0; i < calls; ++i) {
      double s0 = Now();
      rankflow::Get(actor.Task(&Sink::Call).Remote());
      lat.push_back((Now() - s0) * 1e6);
    }
    double rate = calls / (Now() - t0);
    std::sort(lat.begin(), lat.end());
    Emit("1:1 actor calls sync", rate, "calls/s");
    Emit("1:1 actor calls sync median latency", lat[lat.size() / 2], "us");
  }
  std::vector<rankflow::ObjectRef<void>> calls;
  calls.reserve(n);
  Emit("1:1 actor calls async", BestRate(rounds, n, [&] {
         calls.clear();
         for (int i = 0; i < n; ++i) calls.push_back(actor.Task(&Sink::Call).Remote());
         for (auto& r : calls) rankflow::Get(r);
       }), "calls/s");
  auto threaded = rankflow::Actor(MakeSink).SetRank(peer).SetMaxConcurrency(4).Remote();
  Emit("1:1 actor calls concurrent", BestRate(rounds, n, [&] {
         calls.clear();
         for (int i = 0; i < n; ++i) calls.push_back(threaded.Task(&Sink::Call).Remote());
         for (auto& r : calls) rankflow::Get(r);
       }), "calls/s");
  std::vector<rankflow::ActorHandle<Sink>> fleet;
  for (int r = 0; r < rankflow::Size(); ++r) fleet.push_back(rankflow::Actor(MakeSink).SetRank(r).Remote());
  Emit("1:n actor calls async", BestRate(rounds, n, [&] {
         calls.clear();
         for (int i = 0; i < n; ++i) calls.push_back(fleet[i % fleet.size()].Task(&Sink::Call).Remote());
         for (auto& r : calls) rankflow::Get(r);
       }), "calls/s");
  for (bool with_arg : {false, true}) {
    const int per = std::max(10, n / static_cast<int>(fleet.size() * fleet.size()));
    double total = static_cast<double>(per) * fleet.size() * fleet.size();
    Emit(with_arg ? "n:n actor calls with arg async" : "n:n actor calls async",
         BestRate(rounds, total, [&] {
           std::vector<rankflow::ObjectRef<int>> cs;
           for (int c = 0; c < rankflow::Size(); ++c) {
             cs.push_back(rankflow::Task(ActorClient).SetRank(c).Remote(fleet, per, with_arg));
           }
           for (auto& c : cs) rankflow::Get(c);
         }), "calls/s");
  }
  const int groups = std::max(10, std::min(n / 10, 2000));
  Emit("placement group create/removal", BestRate(rounds, groups, [&] {
         for (int i = 0; i < groups; ++i) {
           rankflow::RemovePlacementGroup(rankflow::CreatePlacementGroup({{{"CPU", 1}}}));
         }
       }), "groups/s");
  std::fprintf(stderr, "(checksum %ld)\n", sink);
  rankflow::Shutdown();
  return 0;
}
