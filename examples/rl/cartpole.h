// Cart-pole, the classic control task (Barto, Sutton & Anderson 1983) with
// the dynamics and termination of Gym's CartPole-v0: Euler steps of 20 ms,
// the episode ends when |x| > 2.4 or |theta| > 12 degrees, or after 200 steps;
// every step earns a reward of 1.
#pragma once

#include <array>
#include <cstdint>
#include <random>

namespace rl {

/// x, x_dot, theta, theta_dot.
using Observation = std::array<float, 4>;

class CartPole {
 public:
  static constexpr int kMaxSteps = 200;
  static constexpr int kObservationSize = 4;
  static constexpr int kNumActions = 2;

  /// Starts a new episode: every state variable uniform in [-0.05, 0.05].
  Observation Reset(std::mt19937_64& rng);
  /// Pushes the cart left (0) or right (1). Returns true when the episode is over.
  bool Step(int action);

  Observation observation() const;
  int steps() const { return steps_; }
  /// The reward of the last step: 1 for every step survived.
  float reward() const { return 1.f; }

 private:
  double x_ = 0, x_dot_ = 0, theta_ = 0, theta_dot_ = 0;
  int steps_ = 0;
};

}  // namespace rl
