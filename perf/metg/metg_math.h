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

/* The sweep's peak rate in FLOP/s: the best of its points (the largest
   tasks, short of noise). */
static inline double metg_peak(const struct metg_point* p, size_t n) {
  double peak = 0;
  for (size_t i = 0; i < n; ++i) {
    double rate = p[i].flops / p[i].seconds;
    if (rate > peak) peak = rate;
  }
  return peak;
}

/* METG at `threshold` (0.5: METG(50%)) of `peak`, as Task Bench computes
   it: the smallest granularity whose efficiency is at least the threshold,
   then, when the next smaller kernel size ran at a smaller granularity (its
   efficiency below the threshold), the granularity where the line between
   the two crosses the threshold. Points in any order; -1 if none
   qualifies. */
static inline double metg_at(const struct metg_point* p, size_t n, double peak,
                             double threshold) {
  size_t best = n, next = n;
  for (size_t i = 0; i < n; ++i) {
    double eff = (p[i].flops / p[i].seconds) / peak;
    if (eff >= threshold && (best == n || p[i].granularity < p[best].granularity)) best = i;
  }
  if (best == n) return -1;
  for (size_t i = 0; i < n; ++i) {
    if (p[i].iter < p[best].iter && (next == n || p[i].iter > p[next].iter)) next = i;
  }
  double g = p[best].granularity;
  if (next < n && p[next].granularity < g) {
    /* `next` is below the threshold (else it would be `best`): e1 < threshold <= e0. */
    double e0 = (p[best].flops / p[best].seconds) / peak;
    double e1 = (p[next].flops / p[next].seconds) / peak;
    g += (threshold - e0) * (p[next].granularity - g) / (e1 - e0);
  }
  return g;
}

/* METG(50%) against the sweep's own peak. */
static inline double metg_50(const struct metg_point* p, size_t n) {
  return metg_at(p, n, metg_peak(p, n), 0.5);
}

#endif
