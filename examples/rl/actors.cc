#include "actors.h"

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "cartpole.h"
#include "heat.h"

namespace rl {

// One learner serves either environment: both observe 4 floats, choose of 2.
static_assert(CartPole::kObservationSize == HeatRod::kObservationSize &&
              CartPole::kNumActions == HeatRod::kNumActions);

Simulator::Simulator(int id, int num_envs, float gamma, EnvKind env)
    : id_(id), num_envs_(num_envs < 1 ? 1 : num_envs), gamma_(gamma), env_(env) {}

Rollout Simulator::Run(PublishedWeights w, int episodes, uint64_t seed) {
  // A view of the parameters where they lie: in this node's store (no copy),
  // or pulled once into it from the learner's node.
  const rankflow::ArrayView<float> params = rankflow::GetArray(w.params);
  PolicyView view{w.in, w.hidden, w.out, params.data()};
  if (params.size() != view.NumParams()) {
    throw std::invalid_argument("Simulator::Run: weights hold " + std::to_string(params.size()) +
                                " parameters, a " + std::to_string(w.in) + "-" +
                                std::to_string(w.hidden) + "-" + std::to_string(w.out) +
                                " network needs " + std::to_string(view.NumParams()));
  }
  Rollout out = PlayEpisodes(env_, view, num_envs_, gamma_, episodes, seed);
  out.sim_id = id_;
  out.weights_version = w.version;
  return out;
}

Learner::Learner(int hidden, float lr, uint64_t seed, const std::string& device)
    : weights_(InitialWeights(CartPole::kObservationSize, hidden, CartPole::kNumActions, seed)),
      adam_(weights_.params.size(), lr) {
  if (device != "cpu" && device != "gpu" && device != "auto") {
    throw std::invalid_argument("learner device must be cpu, gpu or auto, not '" + device + "'");
  }
  std::string why;
  if (device == "cpu" || !GpuTrainer::Available(&why)) {
    if (device == "gpu") {
      throw std::runtime_error("learner device gpu on rank " + std::to_string(rankflow::Rank()) +
                               ": " + why);
    }
    return;
  }
  gpu_ = std::make_unique<GpuTrainer>(weights_.in, weights_.hidden, weights_.out,
                                      weights_.params.data(), lr);
}

std::string Learner::Device() { return gpu_ ? "gpu: " + gpu_->DeviceName() : "cpu"; }

PublishedWeights Learner::Publish() {
  if (published_.params.valid() && published_.version == weights_.version) return published_;
  // Written once, straight into the store; every simulator reads this copy.
  auto array = rankflow::CreateArray<float>(weights_.params.size());
  std::memcpy(array.data(), weights_.params.data(), weights_.params.size() * sizeof(float));
  published_ = PublishedWeights{weights_.in, weights_.hidden, weights_.out, weights_.version,
                                array.Seal()};
  return published_;
}

UpdateStats Learner::Update(Rollout batch) {
  const auto t0 = std::chrono::steady_clock::now();
  UpdateStats s;
  s.sim_id = batch.sim_id;
  s.staleness = weights_.version - batch.weights_version;  // updates it did not see
  if (!batch.actions.empty()) {
    const std::vector<float> adv = NormalisedAdvantages(batch.returns_to_go);
    if (batch.observations.size() != batch.actions.size() * weights_.in ||
        adv.size() != batch.actions.size() || batch.behaviour_probs.size() != batch.actions.size()) {
      throw std::invalid_argument("Learner::Update: rollout sizes do not match");
    }
    // Clipped against the probabilities the batch was played with: batches
    // from older weights (staleness) cannot overshoot.
    if (gpu_) {
      gpu_->Step(batch.observations.data(), batch.actions.data(), adv.data(),
                 batch.behaviour_probs.data(), batch.actions.size(), weights_.params.data());
    } else {
      adam_.Step(weights_.params, ReinforceGradient(weights_, batch.observations, batch.actions, adv,
                                                    &batch.behaviour_probs));
    }
    ++weights_.version;
  }
  s.version = weights_.version;
  s.episode_returns = std::move(batch.episode_returns);
  s.env_steps = batch.env_steps;
  s.sim_seconds = batch.seconds;
  s.update_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

Simulator* MakeSimulator(int id, int num_envs, float gamma, int env) {
  if (env != static_cast<int>(EnvKind::kCartPole) && env != static_cast<int>(EnvKind::kHeat)) {
    throw std::invalid_argument("unknown environment " + std::to_string(env));
  }
  return new Simulator(id, num_envs, gamma, static_cast<EnvKind>(env));
}
Learner* MakeLearner(int hidden, float lr, uint64_t seed, std::string device) {
  return new Learner(hidden, lr, seed, device);
}

}  // namespace rl

// Known on every rank by these names.
RANKFLOW_REMOTE(rl::MakeSimulator, &rl::Simulator::Run, rl::MakeLearner, &rl::Learner::Publish,
                &rl::Learner::Update, &rl::Learner::Device);
