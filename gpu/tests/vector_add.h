// gpu/tests/vector_add.h — a tiny kernel for checking that device code runs.
#pragma once

#include <stddef.h>

/// out[i] = a[i] + b[i] on device 0, through device memory. Returns 0 on
/// success, else -1 with the CUDA error in `err` (at most `errlen` bytes).
int rankflow_gpu_test_vector_add(const float* a, const float* b, float* out, int n, char* err,
                                 size_t errlen);
