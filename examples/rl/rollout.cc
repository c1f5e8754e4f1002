#include "rollout.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <random>

#include "cartpole.h"
#include "heat.h"

namespace rl {

bool ParseEnv(const std::string& name, EnvKind* kind) {
  if (name == "cartpole") *kind = EnvKind::kCartPole;
  else if (name == "heat") *kind = EnvKind::kHeat;
  else return false;
  return true;
}

const char* EnvName(EnvKind kind) { return kind == EnvKind::kHeat ? "heat" : "cartpole"; }

namespace {

template <typename Env>
Rollout Play(PolicyView w, int num_envs, float gamma, int episodes, uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  Rollout out;
  std::mt19937_64 rng(seed);
  Policy policy(w);

  // K environments stepped side by side; each keeps its current episode
  // until it ends, then the episode is appended to the batch and the
  // environment starts the next one while episodes remain to be started.
  const int k = std::min(std::max(num_envs, 1), std::max(episodes, 0));
  struct Slot {
    Env env;
    std::array<float, 4> obs{};
    std::vector<float> observations;
    std::vector<int32_t> actions;
    std::vector<float> probs;
    std::vector<float> rewards;
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
      float prob = 0;
      const int a = policy.Sample(s.obs.data(), rng, &prob);
      s.probs.push_back(prob);
      s.observations.insert(s.observations.end(), s.obs.begin(), s.obs.end());
      s.actions.push_back(a);
      const bool done = s.env.Step(a);
      s.rewards.push_back(s.env.reward());
      s.obs = s.env.observation();
      if (!done) continue;
      // Episode over: returns-to-go computed backwards.
      const size_t n = s.actions.size();
      std::vector<float> rtg(n);
      float g = 0, total = 0;
      for (size_t t = n; t-- > 0;) {
        rtg[t] = g = s.rewards[t] + gamma * g;
        total += s.rewards[t];
      }
      out.observations.insert(out.observations.end(), s.observations.begin(), s.observations.end());
      out.actions.insert(out.actions.end(), s.actions.begin(), s.actions.end());
      out.returns_to_go.insert(out.returns_to_go.end(), rtg.begin(), rtg.end());
      out.behaviour_probs.insert(out.behaviour_probs.end(), s.probs.begin(), s.probs.end());
      out.episode_returns.push_back(total);
      out.env_steps += static_cast<int64_t>(n);
      s.observations.clear();
      s.actions.clear();
      s.probs.clear();
      s.rewards.clear();
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

}  // namespace

Rollout PlayEpisodes(EnvKind env, PolicyView w, int num_envs, float gamma, int episodes,
                     uint64_t seed) {
  if (env == EnvKind::kHeat) return Play<HeatRod>(w, num_envs, gamma, episodes, seed);
  return Play<CartPole>(w, num_envs, gamma, episodes, seed);
}

}  // namespace rl
