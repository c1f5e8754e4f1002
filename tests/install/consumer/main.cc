// Uses an installed rankflow: registers a function, runs 100 tasks in one
// process (no launcher), checks every result. Exit status 0 only if all match.
#include <rankflow/rankflow.h>

#include <cstdio>
#include <exception>
#include <vector>

long Square(long x) { return x * x; }

RANKFLOW_REMOTE(Square);

int main(int argc, char** argv) {
  constexpr int kTasks = 100;
  int wrong = 0;
  try {
    rankflow::Init(argc, argv);
    std::printf("rankflow %s: rank %d of %d\n", rankflow::Version(), rankflow::Rank(),
                rankflow::Size());

    std::vector<rankflow::ObjectRef<long>> refs;
    refs.reserve(kTasks);
    for (long i = 0; i < kTasks; ++i) refs.push_back(rankflow::Task(Square).Remote(i));

    for (long i = 0; i < kTasks; ++i) {
      const long got = *rankflow::Get(refs[i], /*timeout_ms=*/60000);
      if (got != i * i) {
        std::fprintf(stderr, "task %ld: got %ld, want %ld\n", i, got, i * i);
        ++wrong;
      }
    }
    rankflow::Shutdown();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "install consumer failed: %s\n", e.what());
    return 1;
  }
  if (wrong != 0) {
    std::fprintf(stderr, "%d of %d results wrong\n", wrong, kTasks);
    return 1;
  }
  std::printf("%d tasks ok\n", kTasks);
  return 0;
}
