// GpuTrainer for builds without CUDA: never available, never constructed.
#include <stdexcept>

#include "gpu_trainer.h"

namespace rl {

struct GpuTrainer::Impl {};

bool GpuTrainer::Available(std::string* why) {
  if (why != nullptr) *why = "this build has no CUDA (configure with the CUDA toolkit present)";
  return false;
}

GpuTrainer::GpuTrainer(int, int, int, const float*, float, float, float, float, float) {
  throw std::runtime_error("GpuTrainer: this build has no CUDA");
}
GpuTrainer::~GpuTrainer() = default;
void GpuTrainer::Gradient(const float*, const int32_t*, const float*, const float*, size_t, float*) {}
void GpuTrainer::Step(const float*, const int32_t*, const float*, const float*, size_t, float*) {}
size_t GpuTrainer::NumParams() const { return 0; }
const std::string& GpuTrainer::DeviceName() const {
  static const std::string none = "none";
  return none;
}

}  // namespace rl
