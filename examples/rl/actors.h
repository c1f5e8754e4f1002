// The two kinds of actors of the example.
//
//   Simulator  lives on any rank, keeps K cart-poles and a scratch policy, and
//              plays episodes with whatever weights a call brings.
//   Learner    owns the policy and Adam's state; folds in rollouts one at a
//              time and hands out its current weights.
//
// Everything that crosses ranks (Weights, Rollout, UpdateStats) is a plain
// struct with a cereal `serialize`.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <cereal/types/vector.hpp>

#include "cartpole.h"
#include "policy.h"

namespace rl {

/// What one Simulator::Run returns: every step of every episode it played.
struct Rollout {
  int32_t sim_id = 0;
  uint64_t weights_version = 0;         // the Weights::version it played with
  std::vector<float> observations;      // steps x 4, flat
  std::vector<int32_t> actions;         // steps
  std::vector<float> returns_to_go;     // steps: discounted reward from that step on
  std::vector<float> episode_returns;   // episodes: undiscounted total reward
  int64_t env_steps = 0;
  double seconds = 0;                   // time spent playing

  template <class Archive>
  void serialize(Archive& ar) {
    ar(sim_id, weights_version, observations, actions, returns_to_go, episode_returns, env_steps,
       seconds);
  }
};

/// What Learner::Update reports back to the driver (the rollout stays put).
struct UpdateStats {
  int32_t sim_id = 0;
  uint64_t staleness = 0;               // updates the rollout's weights had not seen
  uint64_t version = 0;                 // the learner's version after the update
  std::vector<float> episode_returns;
  int64_t env_steps = 0;
  double sim_seconds = 0;               // the simulator's time for the rollout
  double update_seconds = 0;            // the learner's time for this update

  template <class Archive>
  void serialize(Archive& ar) {
    ar(sim_id, staleness, version, episode_returns, env_steps, sim_seconds, update_seconds);
  }
};

class Simulator {
 public:
  Simulator(int id, int num_envs, float gamma);
  /// Plays `episodes` episodes, `num_envs` at a time, sampling actions from
  /// the softmax policy `w`. Deterministic for a given (w, episodes, seed).
  Rollout Run(Weights w, int episodes, uint64_t seed);

 private:
  int id_;
  int num_envs_;
  float gamma_;
};

class Learner {
 public:
  Learner(int hidden, float lr, uint64_t seed);
  Weights GetWeights();
  /// One REINFORCE step (normalised returns-to-go as advantages) with Adam.
  UpdateStats Update(Rollout batch);

 private:
  Weights weights_;
  Adam adam_;
};

Simulator* MakeSimulator(int id, int num_envs, float gamma);
Learner* MakeLearner(int hidden, float lr, uint64_t seed);

}  // namespace rl
