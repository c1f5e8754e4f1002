// METG(50%): the smallest task granularity whose efficiency is still at
// least 50% of the peak measured with the largest tasks (Task Bench).
#ifndef RANKFLOW_PERF_METG_MATH_H_
#define RANKFLOW_PERF_METG_MATH_H_

#include <stddef.h>

struct metg_point {
  long iter;
  double seconds;      /* wall time of the whole graph */
  double flops;        /* total floating-point operations */
  double granularity;  /* seconds * cores / tasks, in microseconds */
};

/* The sweep's next kernel size below `iter`: a factor of sqrt(2) per step,
   so that METG is resolved to within 1.41x rather than 2x (both the rankflow
   and the MPI sweeps use it). Returns 0 after 1. */
static inline long metg_next_iter(long iter) {
  long next = (long)((double)iter / 1.4142135623730951);
  if (next >= iter) next = iter - 1;
  return next;
}

/* Points in any order; returns METG in microseconds, or -1 if none qualifies. */
static inline double metg_50(const struct metg_point* p, size_t n) {
  double peak = 0;
  for (size_t i = 0; i < n; ++i) {
    double rate = p[i].flops / p[i].seconds;
    if (rate > peak) peak = rate;
  }
  double best = -1;
  for (size_t i = 0; i < n; ++i) {
    double eff = (p[i].flops / p[i].seconds) / peak;
    if (eff >= 0.5 && (best < 0 || p[i].granularity < best)) best = p[i].granularity;
  }
  return best;
}

#endif
