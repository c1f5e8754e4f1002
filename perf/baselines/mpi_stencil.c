/* METG baseline: the same stencil_1d graph in plain MPI. Each rank owns
 * width/size columns; every step it swaps boundary values with its
 * neighbours (MPI_Sendrecv) and runs the kernel on its columns. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../metg/kernel.h"
#include "../metg/metg_math.h"

static double run(int width, int steps, long iter, int rank, int size) {
  int per = width / size, first = rank * per;
  double* cur = calloc(per + 2, sizeof(double));
  double* next = calloc(per + 2, sizeof(double));
  for (int x = 0; x < per; ++x) cur[x + 1] = metg_kernel(first + x, iter);
  int left = rank > 0 ? rank - 1 : MPI_PROC_NULL, right = rank + 1 < size ? rank + 1 : MPI_PROC_NULL;
  for (int t = 1; t < steps; ++t) {
    cur[0] = cur[1];
    cur[per + 1] = cur[per];
    MPI_Sendrecv(&cur[1], 1, MPI_DOUBLE, left, 0, &cur[per + 1], 1, MPI_DOUBLE, right, 0,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&cur[per], 1, MPI_DOUBLE, right, 1, &cur[0], 1, MPI_DOUBLE, left, 1,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (int x = 1; x <= per; ++x) next[x] = metg_kernel((cur[x - 1] + cur[x] + cur[x + 1]) * 1e-3, iter);
    double* tmp = cur; cur = next; next = tmp;
  }
  double s = 0, all = 0;
  for (int x = 1; x <= per; ++x) s += cur[x];
  MPI_Allreduce(&s, &all, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  free(cur);
  free(next);
  return all;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size, steps = 100, width = 0, cores = 0, reps = 3;
  long max_iter = 1L << 16;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--width")) width = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--cores")) cores = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--max-iter")) max_iter = atol(argv[i + 1]);
    if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
  }
  if (reps < 1) reps = 1;
  if (width <= 0) width = size;
  if (cores <= 0) cores = size;
  if (width % size) width += size - width % size;
  struct metg_point pts[64];
  size_t n = 0;
  run(width, 4, 16, rank, size);
  for (long iter = max_iter; iter >= 1 && n < 64; iter = metg_next_iter(iter)) {
    /* The fastest of `reps` runs, as for the rankflow graphs. */
    double secs = 0;
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      volatile double sink = run(width, steps, iter, rank, size);
      (void)sink;
      double s = MPI_Wtime() - t0;
      if (r == 0 || s < secs) secs = s;
    }
    double tasks = (double)width * steps;
    pts[n].iter = iter;
    pts[n].seconds = secs;
    pts[n].flops = tasks * METG_FLOPS(iter);
    pts[n].granularity = secs * cores / tasks * 1e6;
    if (rank == 0)
      fprintf(stderr, "mpi stencil: iter %ld: %.4f s, granularity %.2f us, %.2f GFLOP/s\n", iter,
              secs, pts[n].granularity, pts[n].flops / secs / 1e9);
    ++n;
  }
  if (rank == 0)
    printf("{\"name\":\"metg mpi\",\"value\":%.3f,\"unit\":\"us\",\"better\":\"lower\",\"width\":%d,"
           "\"steps\":%d,\"cores\":%d,\"peak_gflops\":%.2f}\n", metg_50(pts, n), width, steps, cores,
           metg_peak(pts, n) / 1e9);
  MPI_Finalize();
  return 0;
}
