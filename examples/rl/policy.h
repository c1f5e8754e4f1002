// The policy: a small MLP (observation -> tanh hidden layer -> action logits)
// sampled through a softmax, its REINFORCE gradient, and Adam. Hand-written
// over std::vector<float>: a 4-32-2 network needs nothing more on a CPU
// (gpu_trainer.h does the same arithmetic with cuBLAS on a GPU).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <cereal/types/vector.hpp>

#include "sample_weight.h"

namespace rl {

/// The policy's parameters, sent from the learner to every simulator.
/// Layout of `params`: W1 (hidden x in), b1 (hidden), W2 (out x hidden), b2 (out).
struct Weights {
  int32_t in = 0, hidden = 0, out = 0;
  uint64_t version = 0;  // number of updates that produced these weights
  std::vector<float> params;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(in, hidden, out, version, params);
  }
};

/// The network's shape and a pointer to its parameters (layout as in
/// Weights::params), wherever they lie: a Weights, or an array object viewed
/// in the node's store.
struct PolicyView {
  int32_t in = 0, hidden = 0, out = 0;
  const float* params = nullptr;

  size_t NumParams() const { return size_t(hidden) * in + hidden + size_t(out) * hidden + out; }
};

inline PolicyView ViewOf(const Weights& w) { return {w.in, w.hidden, w.out, w.params.data()}; }

/// A network with small random weights (deterministic for a given seed).
Weights InitialWeights(int in, int hidden, int out, uint64_t seed);

/// Evaluates the network; reused scratch space avoids allocation per step.
class Policy {
 public:
  explicit Policy(PolicyView w) : w_(w), h_(w.hidden), logits_(w.out), probs_(w.out) {}
  /// Action probabilities for one observation (`in` floats).
  const std::vector<float>& Probabilities(const float* obs);
  /// Samples an action from the softmax; `*prob` (if given) gets its probability.
  int Sample(const float* obs, std::mt19937_64& rng, float* prob = nullptr);
  /// The hidden layer's activations from the last evaluation.
  const std::vector<float>& hidden() const { return h_; }

 private:
  PolicyView w_;
  std::vector<float> h_, logits_, probs_;
};

/// Gradient with respect to `w.params` (same layout) of the policy-gradient
/// loss for N samples given as flat observations (N x in), actions and
/// advantages.
///
/// Without `behaviour`: REINFORCE, -1/N sum_i A_i log pi(a_i | s_i).
/// With `behaviour` (the probability each action had under the weights that
/// played it): PPO's clipped surrogate, -1/N sum_i min(r_i A_i,
/// clip(r_i, 1 - clip, 1 + clip) A_i) with r_i = pi(a_i | s_i) / behaviour_i.
/// A sample whose ratio has already moved past the clip in its advantage's
/// direction adds nothing, so several updates from batches played with
/// older weights cannot push the policy arbitrarily far. On fresh weights
/// (r = 1) the two are the same.
std::vector<float> ReinforceGradient(const Weights& w, const std::vector<float>& observations,
                                     const std::vector<int32_t>& actions,
                                     const std::vector<float>& advantages,
                                     const std::vector<float>* behaviour = nullptr,
                                     float clip = 0.2f);

/// Advantages from returns-to-go: normalised over the batch to zero mean and
/// unit variance (the mean acts as a baseline, the scale keeps steps even).
std::vector<float> NormalisedAdvantages(const std::vector<float>& returns_to_go);

/// Adam (Kingma & Ba 2015) over a flat parameter vector.
class Adam {
 public:
  Adam(size_t n, float lr, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f)
      : lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps), m_(n, 0.f), v_(n, 0.f) {}
  /// params -= lr * m_hat / (sqrt(v_hat) + eps)
  void Step(std::vector<float>& params, const std::vector<float>& grad);

 private:
  float lr_, beta1_, beta2_, eps_;
  std::vector<float> m_, v_;
  int64_t t_ = 0;
};

}  // namespace rl
