/*
 * Raw MPI baselines for the rankflow benchmarks.
 *
 *   mpirun -n 2 rankflow_perf_mpi_pingpong [msg_bytes=8] [iters=10000]
 *
 * Prints one JSON object per figure on stdout (see perf/README.md):
 *   {"name":"mpi pingpong half round trip","value":<median us>,"unit":"us"}
 *   {"name":"mpi pingpong msg rate","value":<msgs/s>,"unit":"msgs/s"}
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 64          /* non-blocking sends per window in the rate test */
#define RATE_MSG_BYTES 8
#define RATE_REPS 5        /* the rate test is repeated; the median is reported */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Half round trip samples (seconds) of a blocking ping-pong; rank 0 records. */
static void pingpong(int rank, char *buf, int size, int iters, double *samples)
{
    for (int i = 0; i < iters; i++) {
        if (rank == 0) {
            double t0 = MPI_Wtime();
            MPI_Send(buf, size, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(buf, size, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (samples)
                samples[i] = (MPI_Wtime() - t0) / 2.0;
        } else if (rank == 1) {
            MPI_Recv(buf, size, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, size, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
        }
    }
}

/* Windowed streaming of small messages rank 0 -> rank 1, acked per window. */
static double msg_rate(int rank, int windows)
{
    char bufs[WINDOW][RATE_MSG_BYTES];
    MPI_Request reqs[WINDOW];
    char ack = 0;

    memset(bufs, 0, sizeof bufs);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int w = 0; w < windows; w++) {
        if (rank == 0) {
            for (int i = 0; i < WINDOW; i++)
                MPI_Isend(bufs[i], RATE_MSG_BYTES, MPI_BYTE, 1, 1, MPI_COMM_WORLD, &reqs[i]);
            MPI_Waitall(WINDOW, reqs, MPI_STATUSES_IGNORE);
            MPI_Recv(&ack, 1, MPI_BYTE, 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            for (int i = 0; i < WINDOW; i++)
                MPI_Irecv(bufs[i], RATE_MSG_BYTES, MPI_BYTE, 0, 1, MPI_COMM_WORLD, &reqs[i]);
            MPI_Waitall(WINDOW, reqs, MPI_STATUSES_IGNORE);
            MPI_Send(&ack, 1, MPI_BYTE, 0, 2, MPI_COMM_WORLD);
        }
    }
    double elapsed = MPI_Wtime() - t0;
    return (double)windows * WINDOW / elapsed;
}

int main(int argc, char **argv)
{
    int rank, nranks;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    int size = argc > 1 ? atoi(argv[1]) : 8;
    int iters = argc > 2 ? atoi(argv[2]) : 10000;
    if (nranks < 2 || size < 0 || iters < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -n 2 %s [msg_bytes] [iters]\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int warmup = iters / 10 > 100 ? iters / 10 : 100;

    char *buf = calloc(size > 0 ? size : 1, 1);
    double *samples = rank == 0 ? malloc(sizeof(double) * iters) : NULL;

    /* Ranks >= 2 (if any) only take part in the barriers. */
    pingpong(rank, buf, size, warmup, NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    pingpong(rank, buf, size, iters, samples);

    int windows = iters / WINDOW > 50 ? iters / WINDOW : 50;   /* over all reps */
    double rates[RATE_REPS];
    msg_rate(rank, windows / 10 > 1 ? windows / 10 : 1);   /* warm-up */
    for (int r = 0; r < RATE_REPS; r++)      /* median of a few runs: less noise */
        rates[r] = msg_rate(rank, windows / RATE_REPS > 1 ? windows / RATE_REPS : 1);
    qsort(rates, RATE_REPS, sizeof(double), cmp_double);
    double rate = rates[RATE_REPS / 2];

    if (rank == 0) {
        qsort(samples, iters, sizeof(double), cmp_double);
        double median = iters % 2 ? samples[iters / 2]
                                  : (samples[iters / 2 - 1] + samples[iters / 2]) / 2.0;
        printf("{\"name\":\"mpi pingpong half round trip\",\"value\":%.4f,\"unit\":\"us\","
               "\"msg_bytes\":%d,\"iters\":%d}\n", median * 1e6, size, iters);
        printf("{\"name\":\"mpi pingpong msg rate\",\"value\":%.1f,\"unit\":\"msgs/s\","
               "\"msg_bytes\":%d,\"window\":%d}\n", rate, RATE_MSG_BYTES, WINDOW);
        fflush(stdout);
    }

    free(samples);
    free(buf);
    MPI_Finalize();
    return 0;
}
