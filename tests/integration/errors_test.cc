// Bad input across ranks: each case gets a clear error and loses nothing.
#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/testing_hooks.h"

namespace {

int Throws(int x) {
  if (x > 0) throw std::runtime_error("boom " + std::to_string(x));
  return x;
}
int Identity(int x) { return x; }
size_t Length(std::vector<uint8_t> v) { return v.size(); }
std::vector<uint8_t> MakeBytes(size_t n) { return std::vector<uint8_t>(n, 1); }
int NotRegistered(int x) { return x; }
uint64_t DroppedHere(int) { return rankflow::testing::RejectedCount() + rankflow::testing::MalformedCount(); }
int RankOf(int) { return rankflow::Rank(); }

RANKFLOW_REMOTE(Throws, Identity, Length, MakeBytes, DroppedHere, RankOf);

TEST(Errors, TaskExceptionCarriesMessageNameAndRank) {
  for (int r = 0; r < rankflow::Size(); ++r) {
    auto ref = rankflow::Task(Throws).SetName("step-" + std::to_string(r)).SetRank(r).Remote(3);
    try {
      rankflow::Get(ref);
      FAIL() << "expected TaskError";
    } catch (const rankflow::TaskError& e) {
      EXPECT_EQ(e.remote_message(), "boom 3");
      EXPECT_EQ(e.task_name(), "step-" + std::to_string(r));
      EXPECT_EQ(e.rank(), r);
      EXPECT_NE(std::string(e.what()).find("boom 3"), std::string::npos);
    }
  }
  // Unnamed tasks report the registered function name.
  try {
    rankflow::Get(rankflow::Task(Throws).Remote(1));
    FAIL() << "expected TaskError";
  } catch (const rankflow::TaskError& e) {
    EXPECT_EQ(e.task_name(), "Throws");
  }
}

TEST(Errors, FailedDependencyFailsTheDependent) {
  auto bad = rankflow::Task(Throws).Remote(5);
  auto dep = rankflow::Task(Identity).Remote(bad);
  try {
    rankflow::Get(dep);
    FAIL() << "expected an error";
  } catch (const rankflow::Error& e) {
    EXPECT_NE(std::string(e.what()).find("boom 5"), std::string::npos) << e.what();
  }
}

TEST(Errors, UnregisteredFunctionIsRejectedAtSubmit) {
  try {
    rankflow::Task(NotRegistered).Remote(1);
    FAIL() << "expected an error";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("RANKFLOW_REMOTE"), std::string::npos);
  }
}

int Late(int x) { return x; }

TEST(Errors, RegisteringAfterInitIsRefused) {
  // The registry is frozen once the runtime runs (lookups then take no lock).
  try {
    rankflow::Register("Late", Late);
    FAIL() << "expected an error";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("before Init"), std::string::npos) << e.what();
  }
  EXPECT_THROW(rankflow::Task(Late).Remote(1), rankflow::Error);  // still unknown
  EXPECT_EQ(*rankflow::Get(rankflow::Task(Identity).Remote(3)), 3);
}

TEST(Errors, InfeasibleResourcesFailFast) {
  auto gpu = rankflow::Task(Identity).SetResource("GPU", 64).Remote(1);
  try {
    rankflow::Get(gpu, 5000);
    FAIL() << "expected an error";
  } catch (const rankflow::TimeoutError&) {
    FAIL() << "an infeasible task must fail, not hang";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInfeasible);
    EXPECT_NE(std::string(e.what()).find("GPU"), std::string::npos);
  }
  auto nowhere = rankflow::Task(Identity).SetRank(rankflow::Size()).Remote(1);
  EXPECT_THROW(rankflow::Get(nowhere, 5000), rankflow::Error);
  EXPECT_EQ(*rankflow::Get(rankflow::Task(Identity).Remote(9)), 9);
}

TEST(Errors, CollectiveTaskNeedsSpmdMode) {
  // SetOwner makes a collective task, which only SPMD mode has.
  try {
    rankflow::Task(Identity).SetOwner(0).Remote(1);
    FAIL() << "a collective task was accepted in driver mode";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("InitMode::kSpmd"), std::string::npos) << e.what();
  }
  EXPECT_EQ(*rankflow::Get(rankflow::Task(Identity).Remote(4)), 4);
}

TEST(Errors, OversizeArgumentAndResultAreClearErrors) {
  // The tests run with RANKFLOW_MAX_MESSAGE_BYTES=4M.
  int last = rankflow::Size() - 1;
  auto big = rankflow::Task(Length).SetRank(last).Remote(std::vector<uint8_t>(5u << 20, 7));
  try {
    rankflow::Get(big);
    FAIL() << "expected an error";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kTooLarge) << e.what();
  }
  if (rankflow::Size() > 1) {
    auto res = rankflow::Task(MakeBytes).SetRank(last).Remote(size_t{5} << 20);
    if (rankflow::testing::NodeOfRank(last) == rankflow::testing::NodeOfRank(0)) {
      // Same node: a result above the message limit comes back as a
      // location in the node's store, not as a message.
      EXPECT_EQ(rankflow::GetArray(res).size(), size_t{5} << 20);
    } else {
      try {
        rankflow::Get(res);
        FAIL() << "expected an error";
      } catch (const rankflow::Error& e) {
        EXPECT_EQ(e.code(), rankflow::ErrorCode::kTooLarge) << e.what();
      }
    }
  }
  EXPECT_EQ(*rankflow::Get(rankflow::Task(Length).SetRank(last).Remote(std::vector<uint8_t>(10))), 10u);
}

TEST(Errors, GarbageAndForgedMessagesAreDroppedNotFatal) {
  if (rankflow::Size() < 2) GTEST_SKIP() << "needs a peer rank";
  const int peer = 1;
  const uint64_t before = *rankflow::Get(rankflow::Task(DroppedHere).SetRank(peer).Remote(0));
  std::vector<uint8_t> junk = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3};
  ASSERT_TRUE(rankflow::testing::SendRaw(peer, 1, junk).ok());   // task kind
  ASSERT_TRUE(rankflow::testing::SendRaw(peer, 2, junk).ok());   // result kind
  ASSERT_TRUE(rankflow::testing::SendRaw(peer, 3, junk).ok());   // control kind
  ASSERT_TRUE(rankflow::testing::SendRaw(peer, 999, junk).ok()); // unknown kind
  ASSERT_TRUE(rankflow::testing::SendWithWrongToken(peer).ok());
  // Messages to one peer arrive in order, but a task message that does not
  // parse is reported by an executor, which on a loaded machine may run
  // well after the counting tasks (run on the receiving thread): ask again
  // for up to ten seconds (a bound so that a lost count fails, not hangs).
  uint64_t after = before;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (after < before + 5 && std::chrono::steady_clock::now() < give_up) {
    after = *rankflow::Get(rankflow::Task(DroppedHere).SetRank(peer).Remote(0));
    if (after < before + 5) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(after, before + 5);
  EXPECT_EQ(*rankflow::Get(rankflow::Task(RankOf).SetRank(peer).Remote(0)), peer);
}

}  // namespace
