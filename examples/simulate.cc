// A parameter sweep: 1000 simulations fanned out over every rank, the first
// ten collected as they finish, then all of them reduced.
//
//   ./rankflow_example_simulate                      one process
//   mpirun -n 4 ./rankflow_example_simulate          four ranks
//   srun --mpi=pmix -n 4 ./rankflow_example_simulate inside an allocation
#include <rankflow/rankflow.h>

#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

// A stand-in for a simulation: a damped oscillator integrated for a while.
double Simulate(int seed, std::vector<double> params) {
  double x = 1.0 + seed * 1e-3, v = 0.0;
  const double k = params.at(0), damping = params.at(1), dt = 1e-3;
  for (int step = 0; step < 2000; ++step) {
    v += (-k * x - damping * v) * dt;
    x += v * dt;
  }
  return x;
}

// Which rank ran a task, to show the fan-out.
int WhereAmI(int) { return rankflow::Rank(); }

RANKFLOW_REMOTE(Simulate, WhereAmI);

int main(int argc, char** argv) {
  rankflow::Init(argc, argv);  // on ranks other than the driver, this serves and exits
  std::printf("rankflow %s: driver on rank %d of %d\n", rankflow::Version(), rankflow::Rank(),
              rankflow::Size());

  const std::vector<double> params = {4.0, 0.1};
  std::vector<rankflow::ObjectRef<double>> refs;
  for (int i = 0; i < 1000; ++i) refs.push_back(rankflow::Task(Simulate).Remote(i, params));

  auto ready = rankflow::Wait(refs, 10, /*timeout_ms=*/5000);
  std::printf("%zu of %zu results ready after the first Wait\n", ready.ready.size(), refs.size());
  double first = *rankflow::Get(refs[0]);

  double sum = 0;
  for (const auto& v : rankflow::Get(refs)) sum += *v;

  std::vector<rankflow::ObjectRef<int>> where;
  for (int i = 0; i < 64; ++i) where.push_back(rankflow::Task(WhereAmI).Remote(i));
  std::vector<int> per_rank(rankflow::Size(), 0);
  for (const auto& r : rankflow::Get(where)) per_rank.at(*r)++;

  std::printf("first result %.6f, mean %.6f\n", first, sum / refs.size());
  for (int r = 0; r < rankflow::Size(); ++r) std::printf("rank %d ran %d of 64 probe tasks\n", r, per_rank[r]);
  rankflow::Shutdown();
  return 0;
}
