// rl.gpu_check: the learner's GPU path against its CPU path, without the
// runtime. Exit 0 when they agree and the GPU learner solves cart-pole, 1
// when not, 77 (skipped) when there is no GPU.
//   1. gradients of random batches agree (float rounding apart), plain
//      REINFORCE and the clipped surrogate with behaviour probabilities;
//   2. twenty Adam steps leave the same parameters;
//   3. training cart-pole with the GPU learner reaches a mean return of 195;
//   4. (report only, unless --no-timing) update time on the CPU and on the
//      GPU by batch size.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cartpole.h"
#include "gpu_trainer.h"
#include "policy.h"
#include "rollout.h"

namespace {

struct Batch {
  std::vector<float> obs;
  std::vector<int32_t> actions;
  std::vector<float> adv;
};

Batch RandomBatch(size_t n, int in, int out, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  Batch b;
  b.obs.resize(n * in);
  b.actions.resize(n);
  b.adv.resize(n);
  for (float& x : b.obs) x = normal(rng);
  for (auto& a : b.actions) a = static_cast<int32_t>(rng() % out);
  for (float& x : b.adv) x = normal(rng);
  return b;
}

// max |a - b| / max |b|
double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(double(b[i])));
  }
  return diff / scale;
}

bool CheckGradients() {
  bool ok = true;
  const struct { size_t n; int hidden; } cases[] = {{1, 32}, {777, 32}, {4096, 256}, {20000, 64}};
  for (const auto& c : cases) {
    rl::Weights w = rl::InitialWeights(4, c.hidden, 2, 7);
    for (float& p : w.params) p += 0.1f * std::sin(float(&p - w.params.data()));  // non-zero everywhere
    const Batch b = RandomBatch(c.n, 4, 2, c.n);
    // Behaviour probabilities far from the current policy's, so that many
    // samples of the clipped surrogate fall outside the clip.
    std::vector<float> behaviour(c.n);
    std::mt19937_64 rng(c.n + 1);
    for (float& p : behaviour) p = std::uniform_real_distribution<float>(0.05f, 0.95f)(rng);
    const std::vector<float>* variants[] = {nullptr, &behaviour};
    for (const std::vector<float>* beh : variants) {
      const std::vector<float> cpu = rl::ReinforceGradient(w, b.obs, b.actions, b.adv, beh);
      rl::GpuTrainer gpu(w.in, w.hidden, w.out, w.params.data(), 1e-2f);
      std::vector<float> g(gpu.NumParams());
      gpu.Gradient(b.obs.data(), b.actions.data(), b.adv.data(), beh ? beh->data() : nullptr, c.n,
                   g.data());
      const double err = RelativeError(g, cpu);
      const bool pass = err < 1e-3;
      ok &= pass;
      std::printf("gradient n=%-6zu hidden=%-4d %-9s relative error %.2e %s\n", c.n, c.hidden,
                  beh ? "clipped" : "reinforce", err, pass ? "ok" : "FAIL");
    }
  }
  return ok;
}

bool CheckAdam() {
  rl::Weights w = rl::InitialWeights(4, 32, 2, 3);
  const Batch b = RandomBatch(2000, 4, 2, 11);
  rl::Adam adam(w.params.size(), 1e-2f);
  rl::GpuTrainer gpu(w.in, w.hidden, w.out, w.params.data(), 1e-2f);
  std::vector<float> gpu_params(w.params.size());
  for (int step = 0; step < 20; ++step) {
    adam.Step(w.params, rl::ReinforceGradient(w, b.obs, b.actions, b.adv));
    gpu.Step(b.obs.data(), b.actions.data(), b.adv.data(), nullptr, b.actions.size(), gpu_params.data());
  }
  const double err = RelativeError(gpu_params, w.params);
  const bool pass = err < 1e-3;
  std::printf("20 Adam steps: parameters differ by %.2e (relative) %s\n", err, pass ? "ok" : "FAIL");
  return pass;
}

bool CheckLearns() {
  rl::Weights w = rl::InitialWeights(4, 32, 2, 1);
  rl::GpuTrainer gpu(w.in, w.hidden, w.out, w.params.data(), 1e-2f);
  std::printf("training cart-pole with the learner on %s\n", gpu.DeviceName().c_str());
  std::deque<float> last100;
  double mean = 0;
  for (int it = 1; it <= 300; ++it) {
    const rl::Rollout r = rl::PlayEpisodes(rl::EnvKind::kCartPole, rl::ViewOf(w), 8, 0.99f, 8, 1000003ull * it);
    const std::vector<float> adv = rl::NormalisedAdvantages(r.returns_to_go);
    gpu.Step(r.observations.data(), r.actions.data(), adv.data(), r.behaviour_probs.data(),
             r.actions.size(), w.params.data());
    for (float e : r.episode_returns) {
      last100.push_back(e);
      if (last100.size() > 100) last100.pop_front();
    }
    mean = std::accumulate(last100.begin(), last100.end(), 0.0) / last100.size();
    if (it % 10 == 0) std::printf("  iteration %3d mean return %.1f\n", it, mean);
    if (last100.size() >= 100 && mean >= 195) {
      std::printf("solved after %d iterations (mean return %.1f) ok\n", it, mean);
      return true;
    }
  }
  std::printf("not solved in 300 iterations (mean return %.1f) FAIL\n", mean);
  return false;
}

template <typename F>
double MedianSeconds(F&& f, int reps) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void ReportTimes() {
  std::printf("\n| batch (steps) | hidden | CPU update ms | GPU update ms | GPU speed-up |\n"
              "|---|---|---|---|---|\n");
  const struct { size_t n; int hidden; } cases[] = {
      {1600, 32}, {100000, 32}, {100000, 256}, {1000000, 256}};
  for (const auto& c : cases) {
    rl::Weights w = rl::InitialWeights(4, c.hidden, 2, 5);
    const Batch b = RandomBatch(c.n, 4, 2, 9);
    rl::Adam adam(w.params.size(), 1e-3f);
    rl::GpuTrainer gpu(w.in, w.hidden, w.out, w.params.data(), 1e-3f);
    std::vector<float> out(w.params.size());
    gpu.Step(b.obs.data(), b.actions.data(), b.adv.data(), nullptr, c.n, out.data());  // warm-up
    const double cpu = MedianSeconds(
        [&] { adam.Step(w.params, rl::ReinforceGradient(w, b.obs, b.actions, b.adv)); }, 3);
    const double gpus = MedianSeconds(
        [&] { gpu.Step(b.obs.data(), b.actions.data(), b.adv.data(), nullptr, c.n, out.data()); }, 7);
    std::printf("| %zu | %d | %.3f | %.3f | %.1fx |\n", c.n, c.hidden, cpu * 1e3, gpus * 1e3,
                cpu / gpus);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool timing = !(argc > 1 && std::string(argv[1]) == "--no-timing");
  std::string why;
  if (!rl::GpuTrainer::Available(&why)) {
    std::printf("SKIP: %s\n", why.c_str());
    return 77;
  }
  bool ok = CheckGradients();
  ok &= CheckAdam();
  ok &= CheckLearns();
  if (timing) ReportTimes();
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
