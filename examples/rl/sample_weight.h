// The per-sample weight of the policy gradient (REINFORCE, or PPO's clipped
// surrogate when the behaviour probability is known): one definition for
// the CPU path (policy.cc) and the GPU kernel (gpu_trainer.cu), so both clip
// alike.
#pragma once

#if defined(__CUDACC__)
#define RL_HOST_DEVICE __host__ __device__
#else
#define RL_HOST_DEVICE
#endif

namespace rl {

/// The factor of sample i in the gradient of the loss with respect to
/// log pi(a_i | s_i) (see ReinforceGradient in policy.h): A_i / N without a
/// behaviour probability; with one, r_i A_i / N inside the clip and 0
/// outside, r_i = prob / behaviour.
RL_HOST_DEVICE inline float SampleWeight(float advantage, float inv_n, float prob,
                                         const float* behaviour, float clip) {
  if (behaviour == nullptr) return advantage * inv_n;
  const float r = prob / (*behaviour > 1e-8f ? *behaviour : 1e-8f);
  const bool active = advantage >= 0 ? r < 1.f + clip : r > 1.f - clip;
  return active ? advantage * r * inv_n : 0.f;
}

}  // namespace rl
