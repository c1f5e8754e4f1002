#include "device_probe.h"

#include <cuda_runtime.h>

#include <cstdio>

extern "C" int rankflow_gpu_device_count(char* err, size_t errlen) {
  int count = 0;
  const cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess) {
    if (err != nullptr && errlen > 0) {
      std::snprintf(err, errlen, "%s: %s", cudaGetErrorName(rc), cudaGetErrorString(rc));
    }
    cudaGetLastError();  // clear the error so later calls start clean
    return -1;
  }
  if (err != nullptr && errlen > 0) err[0] = '\0';
  return count;
}
