// Distributed policy-gradient training on cart-pole (or, with --env heat,
// heat control on a rod): simulator actors on every rank play episodes with
// the latest weights, a learner actor updates the policy as each batch of
// episodes arrives, the driver moves references.
//
//   ./rankflow_example_rl                                   one process
//   mpirun -n 4 --bind-to none ./rankflow_example_rl        four ranks
//   ./rankflow_example_rl --sims-per-rank 2 --csv curve.csv
//   ./rankflow_example_rl --env heat
//
// Exit status 0 when the mean return over the last 100 episodes reached the
// target (195 for cart-pole, CartPole-v0's "solved"; 150 for heat), 1
// otherwise. See docs/rl-example.md.
#include <rankflow/rankflow.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <numeric>
#include <string>
#include <vector>

#include "actors.h"

namespace {

// Heat control counts as solved at a mean return of 150 of 200 steps (a
// hand-written switch on the sensor reaches about 180; a random policy 19).
constexpr double kHeatTarget = 150.0;

struct Options {
  int sims_per_rank = 1;
  int episodes = 8;        // episodes per Simulator::Run
  int envs = 0;            // environments stepped side by side per simulator (0: = episodes)
  uint64_t seed = 1;
  int max_iterations = 300;
  bool require_solve = true;
  std::string csv;
  int hidden = 32;
  float lr = 1e-2f;
  float gamma = 0.99f;
  double target = 195.0;
  int timeout_s = 120;     // longest wait for any one rollout
  std::string learner_device = "auto";  // cpu, gpu or auto
  rl::EnvKind env = rl::EnvKind::kCartPole;
  bool target_set = false;
};

[[noreturn]] void Usage(const char* argv0, const std::string& why) {
  std::fprintf(stderr,
               "%s: %s\n"
               "usage: %s [--sims-per-rank N] [--episodes N] [--envs N] [--seed N]\n"
               "          [--max-iterations N] [--no-require-solve] [--csv PATH]\n"
               "          [--hidden N] [--lr X] [--gamma X] [--target X] [--timeout-s N]\n"
               "          [--learner-device auto|cpu|gpu] [--env cartpole|heat]\n",
               argv0, why.c_str(), argv0);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(argv[0], a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--sims-per-rank") o.sims_per_rank = std::stoi(value());
      else if (a == "--episodes") o.episodes = std::stoi(value());
      else if (a == "--envs") o.envs = std::stoi(value());
      else if (a == "--seed") o.seed = std::stoull(value());
      else if (a == "--max-iterations") o.max_iterations = std::stoi(value());
      else if (a == "--no-require-solve") o.require_solve = false;
      else if (a == "--csv") o.csv = value();
      else if (a == "--hidden") o.hidden = std::stoi(value());
      else if (a == "--lr") o.lr = std::stof(value());
      else if (a == "--gamma") o.gamma = std::stof(value());
      else if (a == "--target") o.target = std::stod(value()), o.target_set = true;
      else if (a == "--env") {
        if (!rl::ParseEnv(value(), &o.env)) Usage(argv[0], "--env must be cartpole or heat");
      }
      else if (a == "--timeout-s") o.timeout_s = std::stoi(value());
      else if (a == "--learner-device") o.learner_device = value();
      else if (a == "-h" || a == "--help") Usage(argv[0], "help");
      else Usage(argv[0], "unknown argument " + a);
    } catch (const std::logic_error&) {
      Usage(argv[0], "bad value for " + a);
    }
  }
  if (o.sims_per_rank < 1 || o.episodes < 1 || o.max_iterations < 1 || o.hidden < 1) {
    Usage(argv[0], "counts must be >= 1");
  }
  if (o.envs <= 0) o.envs = o.episodes;
  if (!o.target_set && o.env == rl::EnvKind::kHeat) o.target = kHeatTarget;
  if (o.learner_device != "auto" && o.learner_device != "cpu" && o.learner_device != "gpu") {
    Usage(argv[0], "--learner-device must be auto, cpu or gpu");
  }
  return o;
}

// A seed per (run seed, iteration, simulator): splitmix64 of the mix.
uint64_t SeedFor(uint64_t seed, uint64_t iteration, uint64_t sim) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + iteration * 0xBF58476D1CE4E5B9ull + sim + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int Train(const Options& o) {
  using Clock = std::chrono::steady_clock;
  const int num_sims = o.sims_per_rank * rankflow::Size();

  // The learner on a GPU rank when the job has one (e.g. the GPU component of
  // slurm/hetjob.sbatch), else next to the driver (rank 0); simulators
  // round-robin over ranks.
  auto learner = [&] {
    const auto& d = o.learner_device;
    if (d != "cpu") {
      try {
        return rankflow::Actor(rl::MakeLearner).SetResource("GPU", 1).Remote(o.hidden, o.lr, o.seed, d);
      } catch (const rankflow::Error& e) {
        if (e.code() != rankflow::ErrorCode::kInfeasible) throw;
      }
    }
    return rankflow::Actor(rl::MakeLearner).SetRank(0).Remote(o.hidden, o.lr, o.seed, d);
  }();
  const std::string device = *rankflow::Get(learner.Task(&rl::Learner::Device).Remote());
  std::vector<rankflow::ActorHandle<rl::Simulator>> sims;
  for (int i = 0; i < num_sims; ++i) {
    sims.push_back(rankflow::Actor(rl::MakeSimulator)
                       .SetRank(i % rankflow::Size())
                       .Remote(i, o.envs, o.gamma, static_cast<int>(o.env)));
  }
  std::string where;
  for (const auto& s : sims) {
    if (!where.empty()) where += ',';
    where += std::to_string(s.rank());
  }
  std::printf("rankflow %s: %s on %d rank(s); learner on rank %d (%s); %d simulator(s) on ranks "
              "%s, %d episodes per call\n",
              rankflow::Version(), rl::EnvName(o.env), rankflow::Size(), learner.rank(),
              device.c_str(), num_sims, where.c_str(), o.episodes);

  std::FILE* csv = nullptr;
  if (!o.csv.empty()) {
    csv = std::fopen(o.csv.c_str(), "w");
    if (csv == nullptr) {
      std::fprintf(stderr, "cannot write %s\n", o.csv.c_str());
      return 1;
    }
    std::fprintf(csv, "iteration,mean_return,env_steps_per_s\n");
  }

  std::deque<float> last100;  // the most recent 100 episode returns
  double mean = 0;
  int64_t total_steps = 0;
  double sim_seconds = 0, update_seconds = 0;
  bool solved = false;
  int iteration = 0;
  const auto start = Clock::now();
  for (iteration = 1; iteration <= o.max_iterations && !solved; ++iteration) {
    const auto t0 = Clock::now();
    // The learner publishes its weights once into the store; every simulator's
    // call carries the same reference and reads that one copy.
    const rl::PublishedWeights weights = *rankflow::Get(learner.Task(&rl::Learner::Publish).Remote());
    std::vector<rankflow::ObjectRef<rl::Rollout>> pending;
    for (int i = 0; i < num_sims; ++i) {
      pending.push_back(sims[i].Task(&rl::Simulator::Run)
                            .Remote(weights, o.episodes, SeedFor(o.seed, iteration, i)));
    }
    // Feed each rollout to the learner as soon as it is done, in arrival order.
    std::vector<rankflow::ObjectRef<rl::UpdateStats>> updates;
    while (!pending.empty()) {
      auto r = rankflow::Wait(pending, 1, int64_t{o.timeout_s} * 1000);
      if (r.ready.empty()) {
        std::fprintf(stderr, "no rollout arrived within %d s (iteration %d, %zu outstanding)\n",
                     o.timeout_s, iteration, pending.size());
        if (csv) std::fclose(csv);
        return 1;
      }
      for (auto& ready : r.ready) updates.push_back(learner.Task(&rl::Learner::Update).Remote(ready));
      pending = std::move(r.unready);
    }
    int64_t steps = 0;
    double staleness = 0;
    for (const auto& u : rankflow::Get(updates)) {  // throws if a rollout or an update failed
      for (float ret : u->episode_returns) {
        last100.push_back(ret);
        if (last100.size() > 100) last100.pop_front();
      }
      steps += u->env_steps;
      staleness += static_cast<double>(u->staleness);
      sim_seconds += u->sim_seconds;
      update_seconds += u->update_seconds;
    }
    total_steps += steps;
    mean = std::accumulate(last100.begin(), last100.end(), 0.0) / last100.size();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const double steps_per_s = steps / secs;
    std::printf("iter %4d  mean_return(last %3zu) %6.1f  env_steps/s %9.0f  staleness %.1f\n",
                iteration, last100.size(), mean, steps_per_s, staleness / updates.size());
    std::fflush(stdout);
    if (csv) {
      std::fprintf(csv, "%d,%.2f,%.0f\n", iteration, mean, steps_per_s);
      std::fflush(csv);
    }
    solved = last100.size() >= 100 && mean >= o.target;
  }
  --iteration;  // the last one that ran
  if (csv) std::fclose(csv);
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%s after %d iterations, %.1f s, %lld env steps (%.0f steps/s); mean return %.1f\n",
              solved ? "solved" : "stopped", iteration, total_s,
              static_cast<long long>(total_steps), total_steps / total_s, mean);
  std::printf("busy time: simulators %.2f s (all of them together), learner %.2f s\n", sim_seconds,
              update_seconds);
  if (solved || !o.require_solve) return 0;
  std::fprintf(stderr,
               "not solved: mean return over the last 100 episodes is %.1f < %.1f after %d "
               "iterations (raise --max-iterations, or pass --no-require-solve)\n",
               mean, o.target, iteration);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  rankflow::Init(argc, argv);  // on ranks other than the driver, this serves and exits
  const Options options = Parse(argc, argv);
  int status = 1;
  try {
    status = Train(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "training failed: %s\n", e.what());
  }
  rankflow::Shutdown();
  return status;
}
