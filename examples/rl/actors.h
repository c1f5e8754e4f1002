// The two kinds of actors of the example.
//
//   Simulator  lives on any rank and plays episodes (cart-pole or heat
//              control) with the weights a call names, read from the object store.
//   Learner    owns the policy and Adam's state (on its GPU when it has one);
//              folds in rollouts one at a time and publishes its weights.
//
// Everything that crosses ranks (PublishedWeights, Rollout, UpdateStats) is
// a plain struct with a cereal `serialize`.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <memory>
#include <string>

#include <cereal/types/vector.hpp>
#include <rankflow/rankflow.h>

#include "gpu_trainer.h"
#include "policy.h"
#include "rollout.h"

namespace rl {

/// Weights as the learner publishes them: the shape and version inline, the
/// parameters as an array object in the store (owned by the learner's rank).
/// Simulators read the parameters with GetArray: on the learner's node
/// without a copy, on another node pulled once per node.
struct PublishedWeights {
  int32_t in = 0, hidden = 0, out = 0;
  uint64_t version = 0;
  rankflow::ObjectRef<std::vector<float>> params;  // layout of Weights::params

  template <class Archive>
  void serialize(Archive& ar) {
    ar(in, hidden, out, version, params);
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
  Simulator(int id, int num_envs, float gamma, EnvKind env);
  /// Plays `episodes` episodes, `num_envs` at a time, sampling actions from
  /// the softmax policy `w`. Deterministic for a given (w, episodes, seed).
  Rollout Run(PublishedWeights w, int episodes, uint64_t seed);

 private:
  int id_;
  int num_envs_;
  float gamma_;
  EnvKind env_;
};

class Learner {
 public:
  /// `device`: "cpu", "gpu" (fails without a usable GPU) or "auto" (the GPU
  /// when this rank has one).
  Learner(int hidden, float lr, uint64_t seed, const std::string& device);
  /// Puts the current weights into the store, once per version.
  PublishedWeights Publish();
  /// One REINFORCE step (normalised returns-to-go as advantages) with Adam.
  UpdateStats Update(Rollout batch);
  /// "cpu", or "gpu: <device name>".
  std::string Device();

 private:
  Weights weights_;
  Adam adam_;
  std::unique_ptr<GpuTrainer> gpu_;   // set when the update runs on a GPU
  PublishedWeights published_;        // the latest published version
};

Simulator* MakeSimulator(int id, int num_envs, float gamma, int env);
Learner* MakeLearner(int hidden, float lr, uint64_t seed, std::string device);

}  // namespace rl
