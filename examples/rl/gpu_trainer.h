// The learner's arithmetic on a GPU: the REINFORCE gradient of the policy
// MLP with cuBLAS (five matrix products, three small kernels) and Adam, with
// parameters and optimiser state resident on the device. Same layout and
// same results (to float rounding) as ReinforceGradient and Adam in policy.h.
//
// Built when CMake finds CUDA (gpu_trainer.cu); otherwise
// gpu_trainer_none.cc reports that no GPU is available.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace rl {

class GpuTrainer {
 public:
  /// True when this build has CUDA and a device is visible; otherwise false
  /// with the reason in *why.
  static bool Available(std::string* why = nullptr);

  /// Copies the initial parameters (layout of Weights::params) to device 0
  /// of this process. Throws std::runtime_error on any CUDA or cuBLAS error.
  GpuTrainer(int in, int hidden, int out, const float* params, float lr, float clip = 0.2f,
             float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f);
  ~GpuTrainer();
  GpuTrainer(const GpuTrainer&) = delete;
  GpuTrainer& operator=(const GpuTrainer&) = delete;

  /// The gradient of -1/n sum_i adv_i log pi(a_i | s_i) at the current
  /// parameters, copied into `grad` (NumParams floats).
  /// `behaviour` (may be null): the probability each action had when played,
  /// for the clipped surrogate (see ReinforceGradient in policy.h).
  void Gradient(const float* observations, const int32_t* actions, const float* advantages,
                const float* behaviour, size_t n, float* grad);
  /// One gradient step with Adam on the device; the new parameters are
  /// copied into `params` (NumParams floats).
  void Step(const float* observations, const int32_t* actions, const float* advantages,
            const float* behaviour, size_t n, float* params);

  size_t NumParams() const;
  /// "NVIDIA H100 80GB HBM3 (device 0)", say.
  const std::string& DeviceName() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rl
