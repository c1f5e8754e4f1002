// main() of the SPMD test binary: every rank runs the tests (InitMode::kSpmd),
// making the same collective calls in the same order; every rank's verdict
// counts (the launcher fails if one rank's does).
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

int main(int argc, char** argv) {
  rankflow::Init(argc, argv, rankflow::InitMode::kSpmd);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  rankflow::Shutdown();
  return rc;
}
