#include "vector_add.h"

#include <cuda_runtime.h>

#include <cstdio>

namespace {

__global__ void VectorAdd(const float* a, const float* b, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}

// Device buffers freed on every path out.
struct DeviceBuffers {
  float* p[3] = {nullptr, nullptr, nullptr};
  ~DeviceBuffers() {
    for (float* q : p) {
      if (q != nullptr) cudaFree(q);
    }
  }
};

}  // namespace

int rankflow_gpu_test_vector_add(const float* a, const float* b, float* out, int n, char* err,
                                 size_t errlen) {
  const char* what = "";
  auto check = [&](cudaError_t rc, const char* step) {
    if (rc != cudaSuccess) what = step;
    return rc == cudaSuccess;
  };
  cudaError_t rc = cudaSuccess;
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  DeviceBuffers d;
  const bool ok =
      check(rc = cudaSetDevice(0), "cudaSetDevice") &&
      check(rc = cudaMalloc(&d.p[0], bytes), "cudaMalloc") &&
      check(rc = cudaMalloc(&d.p[1], bytes), "cudaMalloc") &&
      check(rc = cudaMalloc(&d.p[2], bytes), "cudaMalloc") &&
      check(rc = cudaMemcpy(d.p[0], a, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device") &&
      check(rc = cudaMemcpy(d.p[1], b, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device") &&
      check(rc = (VectorAdd<<<(n + 255) / 256, 256>>>(d.p[0], d.p[1], d.p[2], n),
                  cudaGetLastError()),
            "kernel launch") &&
      check(rc = cudaMemcpy(out, d.p[2], bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  if (ok) return 0;
  if (err != nullptr && errlen > 0) {
    std::snprintf(err, errlen, "%s: %s: %s", what, cudaGetErrorName(rc), cudaGetErrorString(rc));
  }
  return -1;
}
