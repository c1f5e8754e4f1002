// Heat control, an HPC-flavoured second environment: a 1-D rod discretised
// into N cells, cooled at both ends (held at 0), with a heater over its
// middle cells. Each control step runs K explicit finite-difference
// substeps of the heat equation (a 3-point stencil, N x K cell updates);
// the agent switches the heater on or off to hold the mean temperature of
// the middle ("sensor") cells within 10% of a target. The rod starts from a
// random sine profile, too cold or too hot. Reward 1 per step in the band;
// 200 steps per episode. Observation: sensor error, its rate of change,
// heater state, and the error of an off-centre probe (all / target).
#pragma once

#include <array>
#include <random>
#include <vector>

namespace rl {

class HeatRod {
 public:
  static constexpr int kMaxSteps = 200;
  static constexpr int kObservationSize = 4;
  static constexpr int kNumActions = 2;
  static constexpr int kCells = 128;      // N
  static constexpr int kSubsteps = 40;    // K per control step
  static constexpr float kTarget = 1.0f;

  HeatRod() : u_(kCells, 0.f), next_(kCells, 0.f) {}
  std::array<float, 4> Reset(std::mt19937_64& rng);
  /// Heater off (0) or on (1) for one control step. True when the episode is over.
  bool Step(int action);
  std::array<float, 4> observation() const;
  float reward() const { return reward_; }
  int steps() const { return steps_; }

 private:
  float Sensor() const;
  float Probe() const;

  std::vector<float> u_, next_;
  float last_sensor_ = 0, reward_ = 0;
  int heater_ = 0, steps_ = 0;
};

}  // namespace rl
