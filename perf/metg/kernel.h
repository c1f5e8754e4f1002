// The compute-bound kernel of Task Bench: 128 * iter + 64 floating-point
// operations on a small register-resident state. Shared by the rankflow and
// the MPI versions of the stencil so both do exactly the same work.
#ifndef RANKFLOW_PERF_METG_KERNEL_H_
#define RANKFLOW_PERF_METG_KERNEL_H_

static inline double metg_kernel(double seed, long iter) {
  double a[32];
  for (int j = 0; j < 32; ++j) a[j] = seed + j;  /* 32 flops */
  for (long i = 0; i < iter; ++i) {
    for (int j = 0; j < 32; ++j) a[j] = a[j] * 0.999999 + 0.000001;  /* 64 flops */
    for (int j = 0; j < 32; ++j) a[j] = a[j] * 1.000001 - 0.000001;  /* 64 flops */
  }
  double s = 0;
  for (int j = 0; j < 32; ++j) s += a[j];  /* 32 flops */
  return s;
}

#define METG_FLOPS(iter) (128.0 * (double)(iter) + 64.0)

#endif
