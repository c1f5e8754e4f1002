// GPU probes: device count, a tiny kernel, the NCCL version. Device tests skip
// (with the CUDA error) where no usable GPU is present.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "device_probe.h"
#include "vector_add.h"

namespace {

TEST(GpuProbe, DeviceCountOrError) {
  char err[256] = "unset";
  const int n = rankflow_gpu_device_count(err, sizeof(err));
  if (n < 0) {
    EXPECT_STRNE(err, "") << "a failed probe must say why";
    EXPECT_STRNE(err, "unset");
    GTEST_SKIP() << "CUDA runtime unusable here: " << err;
  }
  EXPECT_STREQ(err, "");
  RecordProperty("cuda_devices", n);
}

TEST(GpuProbe, VectorAddOnDevice) {
  char err[256] = "";
  const int n = rankflow_gpu_device_count(err, sizeof(err));
  if (n < 0) GTEST_SKIP() << "CUDA runtime unusable here: " << err;
  if (n == 0) GTEST_SKIP() << "no CUDA device";

  constexpr int kN = 1024;
  std::vector<float> a(kN), b(kN), out(kN, -1.0f);
  for (int i = 0; i < kN; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = 0.5f * static_cast<float>(i) + 1.0f;
  }
  ASSERT_EQ(rankflow_gpu_test_vector_add(a.data(), b.data(), out.data(), kN, err, sizeof(err)), 0)
      << err;
  for (int i = 0; i < kN; ++i) ASSERT_EQ(out[i], a[i] + b[i]) << "at index " << i;
}

#if RANKFLOW_GPU_HAVE_NCCL
TEST(GpuProbe, NcclVersion) {
  const int v = rankflow_nccl_version();
  EXPECT_GT(v, 0);
  RecordProperty("nccl_version", v);
}
#endif

}  // namespace
