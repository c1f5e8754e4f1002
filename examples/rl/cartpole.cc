#include "cartpole.h"

#include <cmath>

namespace rl {

namespace {
constexpr double kGravity = 9.8;
constexpr double kMassCart = 1.0;
constexpr double kMassPole = 0.1;
constexpr double kTotalMass = kMassCart + kMassPole;
constexpr double kHalfLength = 0.5;  // half the pole's length
constexpr double kPoleMassLength = kMassPole * kHalfLength;
constexpr double kForce = 10.0;
constexpr double kTau = 0.02;  // seconds per step
constexpr double kThetaLimit = 12.0 * 2.0 * M_PI / 360.0;
constexpr double kXLimit = 2.4;
}  // namespace

Observation CartPole::Reset(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-0.05, 0.05);
  x_ = u(rng);
  x_dot_ = u(rng);
  theta_ = u(rng);
  theta_dot_ = u(rng);
  steps_ = 0;
  return observation();
}

bool CartPole::Step(int action) {
  const double force = action == 1 ? kForce : -kForce;
  const double cos_t = std::cos(theta_), sin_t = std::sin(theta_);
  const double temp = (force + kPoleMassLength * theta_dot_ * theta_dot_ * sin_t) / kTotalMass;
  const double theta_acc = (kGravity * sin_t - cos_t * temp) /
                           (kHalfLength * (4.0 / 3.0 - kMassPole * cos_t * cos_t / kTotalMass));
  const double x_acc = temp - kPoleMassLength * theta_acc * cos_t / kTotalMass;
  x_ += kTau * x_dot_;
  x_dot_ += kTau * x_acc;
  theta_ += kTau * theta_dot_;
  theta_dot_ += kTau * theta_acc;
  ++steps_;
  const bool fell = x_ < -kXLimit || x_ > kXLimit || theta_ < -kThetaLimit || theta_ > kThetaLimit;
  return fell || steps_ >= kMaxSteps;
}

Observation CartPole::observation() const {
  return {static_cast<float>(x_), static_cast<float>(x_dot_), static_cast<float>(theta_),
          static_cast<float>(theta_dot_)};
}

}  // namespace rl
