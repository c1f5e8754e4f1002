#include "heat.h"

#include <cmath>

namespace rl {
namespace {
constexpr float kR = 0.24f;      // diffusion number (stable below 0.5)
// Heat added per substep to each heated cell: always on overheats the rod
// (about 2x the target), always off lets it cool to 0; holding the band
// takes switching.
constexpr float kPower = 0.003f;
constexpr int kHeatLo = HeatRod::kCells / 2 - 4, kHeatHi = HeatRod::kCells / 2 + 4;
constexpr int kProbe = HeatRod::kCells / 4;
}  // namespace

float HeatRod::Sensor() const {
  float s = 0;
  for (int i = kHeatLo; i < kHeatHi; ++i) s += u_[i];
  return s / (kHeatHi - kHeatLo);
}

float HeatRod::Probe() const { return u_[kProbe]; }

std::array<float, 4> HeatRod::Reset(std::mt19937_64& rng) {
  const float amplitude = std::uniform_real_distribution<float>(0.f, 2.f * kTarget)(rng);
  for (int i = 0; i < kCells; ++i) {
    u_[i] = amplitude * std::sin(3.14159265f * (i + 0.5f) / kCells);
  }
  heater_ = 0;
  steps_ = 0;
  reward_ = 0;
  last_sensor_ = Sensor();
  return observation();
}

bool HeatRod::Step(int action) {
  heater_ = action == 1 ? 1 : 0;
  last_sensor_ = Sensor();
  for (int k = 0; k < kSubsteps; ++k) {
    // u_i += r (u_{i-1} - 2 u_i + u_{i+1}), both ends next to cells held at 0.
    next_[0] = u_[0] + kR * (u_[1] - 2 * u_[0]);
    for (int i = 1; i < kCells - 1; ++i) next_[i] = u_[i] + kR * (u_[i - 1] - 2 * u_[i] + u_[i + 1]);
    next_[kCells - 1] = u_[kCells - 1] + kR * (u_[kCells - 2] - 2 * u_[kCells - 1]);
    if (heater_) {
      for (int i = kHeatLo; i < kHeatHi; ++i) next_[i] += kPower;
    }
    u_.swap(next_);
  }
  ++steps_;
  reward_ = std::fabs(Sensor() - kTarget) < 0.1f * kTarget ? 1.f : 0.f;
  return steps_ >= kMaxSteps;
}

std::array<float, 4> HeatRod::observation() const {
  const float s = Sensor();
  return {(s - kTarget) / kTarget, 10.f * (s - last_sensor_) / kTarget, static_cast<float>(heater_),
          (Probe() - kTarget) / kTarget};
}

}  // namespace rl
