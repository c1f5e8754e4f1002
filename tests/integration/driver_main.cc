// main() of the multi-rank test binaries: rankflow::Init first, so the
// driver rank runs the tests while every other rank serves until Shutdown.
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

int main(int argc, char** argv) {
  rankflow::Init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  rankflow::Shutdown();
  return rc;
}
