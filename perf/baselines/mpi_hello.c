/* Baseline for startup: MPI_Init plus a barrier, timed from the launch
 * timestamp that perf/run puts in RANKFLOW_BENCH_LAUNCH_NS (CLOCK_REALTIME). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double ms_since_launch(void) {
  const char* s = getenv("RANKFLOW_BENCH_LAUNCH_NS");
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double now = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
  return s ? now - atof(s) / 1e6 : -1.0;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Barrier(MPI_COMM_WORLD);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    printf("{\"name\":\"mpi hello init all ranks\",\"value\":%.3f,\"unit\":\"ms\"}\n", ms_since_launch());
  }
  MPI_Finalize();
  return 0;
}
