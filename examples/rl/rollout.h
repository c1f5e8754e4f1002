// Playing episodes (cart-pole or heat control) with a policy, and the batch
// that results.
// Plain C++ (no rankflow): the Simulator actor calls it, and so does the
// stand-alone GPU check.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <cereal/types/vector.hpp>

#include "policy.h"

namespace rl {

/// Every step of every episode of one batch.
struct Rollout {
  int32_t sim_id = 0;
  uint64_t weights_version = 0;         // the version of the weights it played with
  std::vector<float> observations;      // steps x 4, flat
  std::vector<int32_t> actions;         // steps
  std::vector<float> returns_to_go;     // steps: discounted reward from that step on
  std::vector<float> behaviour_probs;   // steps: the chosen action's probability when played
  std::vector<float> episode_returns;   // episodes: undiscounted total reward
  int64_t env_steps = 0;
  double seconds = 0;                   // time spent playing

  template <class Archive>
  void serialize(Archive& ar) {
    ar(sim_id, weights_version, observations, actions, returns_to_go, behaviour_probs,
       episode_returns, env_steps, seconds);
  }
};

/// The environments; both observe 4 floats and choose between 2 actions.
enum class EnvKind : int32_t {
  kCartPole = 0,  ///< cart-pole (cartpole.h): solved at a mean return of 195
  kHeat = 1,      ///< heat control on a 1-D rod (heat.h), a stencil per step
};
/// "cartpole" / "heat" <-> EnvKind; false for an unknown name.
bool ParseEnv(const std::string& name, EnvKind* kind);
const char* EnvName(EnvKind kind);

/// Plays `episodes` episodes of `env`, `num_envs` environments side by
/// side, sampling actions from the softmax policy `w`. Deterministic for a
/// given (w, episodes, seed). Fills everything but sim_id and weights_version.
Rollout PlayEpisodes(EnvKind env, PolicyView w, int num_envs, float gamma, int episodes,
                     uint64_t seed);

}  // namespace rl
