#include "actors.h"

#include <rankflow/rankflow.h>

#include <chrono>
#include <cmath>

namespace rl {

Simulator::Simulator(int id, int num_envs, float gamma)
    : id_(id), num_envs_(num_envs < 1 ? 1 : num_envs), gamma_(gamma) {}

Rollout Simulator::Run(Weights w, int episodes, uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  Rollout out;
  out.sim_id = id_;
  out.weights_version = w.version;
  std::mt19937_64 rng(seed);
  Policy policy(w);

  // K environments stepped side by side; each keeps its current episode
  // until it ends, then the episode is appended to the batch and the
  // environment starts the next one while episodes remain to be started.
  const int k = std::min(num_envs_, std::max(episodes, 0));
  struct Slot {
    CartPole env;
    Observation obs{};
    std::vector<float> observations;
    std::vector<int32_t> actions;
    bool active = false;
  };
  std::vector<Slot> slots(k);
  int started = 0;
  for (auto& s : slots) {
    s.obs = s.env.Reset(rng);
    s.active = true;
    ++started;
  }
  int active = k;
  while (active > 0) {
    for (auto& s : slots) {
      if (!s.active) continue;
      const int a = policy.Sample(s.obs.data(), rng);
      s.observations.insert(s.observations.end(), s.obs.begin(), s.obs.end());
      s.actions.push_back(a);
      const bool done = s.env.Step(a);
      s.obs = s.env.observation();
      if (!done) continue;
      // Episode over: reward 1 per step, returns-to-go computed backwards.
      const size_t n = s.actions.size();
      std::vector<float> rtg(n);
      float g = 0;
      for (size_t t = n; t-- > 0;) rtg[t] = g = 1.f + gamma_ * g;
      out.observations.insert(out.observations.end(), s.observations.begin(), s.observations.end());
      out.actions.insert(out.actions.end(), s.actions.begin(), s.actions.end());
      out.returns_to_go.insert(out.returns_to_go.end(), rtg.begin(), rtg.end());
      out.episode_returns.push_back(static_cast<float>(n));
      out.env_steps += static_cast<int64_t>(n);
      s.observations.clear();
      s.actions.clear();
      if (started < episodes) {
        s.obs = s.env.Reset(rng);
        ++started;
      } else {
        s.active = false;
        --active;
      }
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

Learner::Learner(int hidden, float lr, uint64_t seed)
    : weights_(InitialWeights(CartPole::kObservationSize, hidden, CartPole::kNumActions, seed)),
      adam_(weights_.params.size(), lr) {}

Weights Learner::GetWeights() { return weights_; }

UpdateStats Learner::Update(Rollout batch) {
  const auto t0 = std::chrono::steady_clock::now();
  UpdateStats s;
  s.sim_id = batch.sim_id;
  s.staleness = weights_.version - batch.weights_version;  // updates it did not see
  // Advantages: returns-to-go normalised over the batch (zero mean, unit
  // variance): the mean acts as a baseline, the scale keeps steps even.
  std::vector<float> adv = batch.returns_to_go;
  if (!adv.empty()) {
    double mean = 0, var = 0;
    for (float v : adv) mean += v;
    mean /= adv.size();
    for (float v : adv) var += (v - mean) * (v - mean);
    const double sd = std::sqrt(var / adv.size()) + 1e-8;
    for (float& v : adv) v = static_cast<float>((v - mean) / sd);
    const std::vector<float> grad = ReinforceGradient(weights_, batch.observations, batch.actions, adv);
    adam_.Step(weights_.params, grad);
    ++weights_.version;
  }
  s.version = weights_.version;
  s.episode_returns = std::move(batch.episode_returns);
  s.env_steps = batch.env_steps;
  s.sim_seconds = batch.seconds;
  s.update_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

Simulator* MakeSimulator(int id, int num_envs, float gamma) {
  return new Simulator(id, num_envs, gamma);
}
Learner* MakeLearner(int hidden, float lr, uint64_t seed) { return new Learner(hidden, lr, seed); }

}  // namespace rl

// Known on every rank by these names.
RANKFLOW_REMOTE(rl::MakeSimulator, &rl::Simulator::Run, rl::MakeLearner,
                &rl::Learner::GetWeights, &rl::Learner::Update);
