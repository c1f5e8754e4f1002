// The object store through a real launcher: large objects in the node's
// shared arena, zero-copy reads, in-place creation, borrowed references read
// on other ranks (same node: a store location; other virtual node: a UCX
// transfer), reference counting back to empty, spilling, and clear errors.
// The ctest runs use RANKFLOW_STORE_BYTES=16M; some split the ranks into
// virtual nodes (RANKFLOW_RANKS_PER_NODE).
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rankflow/rankflow.h>

#include "runtime/testing_hooks.h"

namespace {

using Doubles = std::vector<double>;
using DoublesRef = rankflow::ObjectRef<Doubles>;

constexpr size_t kBig = 256 * 1024;  // doubles: 2 MiB, far above the inline threshold

double Sum(const Doubles& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
double SumRefs(std::vector<DoublesRef> refs) {
  double s = 0;
  for (const auto& r : refs) {
    auto view = rankflow::GetArray(r);
    s += std::accumulate(view.begin(), view.end(), 0.0);
  }
  return s;
}
Doubles Ramp(size_t n) {
  Doubles v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i % 1000);
  return v;
}
double RampSum(size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(i % 1000);
  return s;
}
// A rank makes an object and hands out a reference to it (it stays the owner).
std::vector<DoublesRef> MakeRemote(size_t n) { return {rankflow::Put(Ramp(n))}; }
Doubles RampTask(size_t n) { return Ramp(n); }
uint64_t OwnedHere(int) { return rankflow::testing::OwnedObjectCount(); }
uint64_t LiveBlocksHere(int) {
  rankflow::testing::DropFetchedCopies();
  return rankflow::testing::GetStoreStats().live_blocks;
}
int NodeHere(int) { return rankflow::testing::GetStoreStats().node; }

RANKFLOW_REMOTE(Sum, SumRefs, MakeRemote, RampTask, OwnedHere, LiveBlocksHere, NodeHere);

// Waits (bounded: a leak must fail, not hang) until f() <= want. Releases
// are messages: objects of earlier tests may still be going when the
// baseline is taken, so the count may end below it, never above.
template <typename F>
bool Eventually(F f, uint64_t want) {
  for (int i = 0; i < 400; ++i) {
    if (f() <= want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return f() <= want;
}

TEST(ObjectStore, LargePutIsReadInPlace) {
  const uint64_t blocks_before = rankflow::testing::GetStoreStats().live_blocks;
  auto ref = rankflow::Put(Ramp(kBig));
  EXPECT_EQ(rankflow::testing::GetStoreStats().live_blocks, blocks_before + 1);
  auto a = rankflow::GetArray(ref);
  auto b = rankflow::GetArray(ref);
  EXPECT_EQ(a.data(), b.data()) << "two reads of one object must view the same bytes";
  ASSERT_EQ(a.size(), kBig);
  EXPECT_EQ(std::accumulate(a.begin(), a.end(), 0.0), RampSum(kBig));
  EXPECT_EQ(*rankflow::Get(ref), Ramp(kBig));  // Get still returns a private copy
  // Small objects stay inline (in the owner's heap), not in the store.
  auto small = rankflow::Put(Doubles{1, 2, 3});
  EXPECT_EQ(rankflow::testing::GetStoreStats().live_blocks, blocks_before + 1);
  EXPECT_EQ(rankflow::GetArray(small).ToVector(), (Doubles{1, 2, 3}));
}

TEST(ObjectStore, ArraysAreFilledInPlaceAndPassedToTasksOnEveryRank) {
  auto builder = rankflow::CreateArray<double>(kBig);
  for (size_t i = 0; i < kBig; ++i) builder[i] = static_cast<double>(i % 1000);
  const double* where = builder.data();
  DoublesRef ref = builder.Seal();
  EXPECT_EQ(rankflow::GetArray(ref).data(), where) << "sealing must not move the bytes";
  EXPECT_THROW(builder.Seal(), rankflow::Error);
  for (int r = 0; r < rankflow::Size(); ++r) {
    EXPECT_EQ(*rankflow::Get(rankflow::Task(Sum).SetRank(r).Remote(ref)), RampSum(kBig)) << "rank " << r;
  }
}

TEST(ObjectStore, LargeResultsComeBackFromEveryRank) {
  for (int r = 0; r < rankflow::Size(); ++r) {
    auto res = rankflow::Task(RampTask).SetRank(r).Remote(kBig);
    auto v = rankflow::GetArray(res);
    ASSERT_EQ(v.size(), kBig) << "rank " << r;
    EXPECT_EQ(std::accumulate(v.begin(), v.end(), 0.0), RampSum(kBig)) << "rank " << r;
  }
}

TEST(ObjectStore, BorrowedReferencesAreReadOnOtherRanks) {
  // The driver owns the objects; every rank reads them through a borrowed
  // reference (nested in a vector, so not resolved by the driver).
  std::vector<DoublesRef> refs = {rankflow::Put(Ramp(kBig)), rankflow::Put(Ramp(kBig / 2))};
  const double want = RampSum(kBig) + RampSum(kBig / 2);
  const uint64_t served = rankflow::testing::GetStoreStats().fetches_served;
  for (int r = 0; r < rankflow::Size(); ++r) {
    EXPECT_EQ(*rankflow::Get(rankflow::Task(SumRefs).SetRank(r).Remote(refs)), want) << "rank " << r;
  }
  if (rankflow::Size() > 1) {
    // Every other rank pulled both objects from the driver (a location on
    // this node, the bytes from another), or from a copy on its own node.
    EXPECT_GE(rankflow::testing::GetStoreStats().fetches_served, served + 2);
  }
  // And the other way: objects owned by other ranks, read by the driver.
  for (int r = 0; r < rankflow::Size(); ++r) {
    auto held = *rankflow::Get(rankflow::Task(MakeRemote).SetRank(r).Remote(kBig));
    ASSERT_EQ(held.size(), 1u);
    auto v = rankflow::GetArray(held[0]);
    EXPECT_EQ(std::accumulate(v.begin(), v.end(), 0.0), RampSum(kBig)) << "owner rank " << r;
    // A borrowed reference can be a task argument too, and can be waited on.
    EXPECT_EQ(rankflow::Wait(held, 1, 30000).ready.size(), 1u);
    EXPECT_EQ(*rankflow::Get(rankflow::Task(Sum).Remote(held[0])), RampSum(kBig));
  }
}

// Small objects travel inside a message at whatever offset its header
// leaves; a view of one read from another rank must still be aligned.
std::vector<DoublesRef> MakeManyRemote(std::vector<size_t> sizes) {
  std::vector<DoublesRef> out;
  for (size_t n : sizes) out.push_back(rankflow::Put(Ramp(n)));
  return out;
}
RANKFLOW_REMOTE(MakeManyRemote);

TEST(ObjectStore, SmallArraysReadFromOtherRanksAreAligned) {
  // Odd sizes, fetched together, so that answers share network messages.
  const std::vector<size_t> sizes = {1, 3, 5, 7, 100, 2, 9, 4, 11, 6, 13, 8};
  for (int r = 0; r < rankflow::Size(); ++r) {
    auto held = *rankflow::Get(rankflow::Task(MakeManyRemote).SetRank(r).Remote(sizes));
    ASSERT_EQ(held.size(), sizes.size());
    EXPECT_EQ(rankflow::Wait(held, static_cast<int>(held.size()), 30000).ready.size(), held.size());
    for (size_t i = 0; i < held.size(); ++i) {
      auto v = rankflow::GetArray(held[i]);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % alignof(double), 0u)
          << sizes[i] << " doubles owned by rank " << r;
      EXPECT_EQ(std::accumulate(v.begin(), v.end(), 0.0), RampSum(sizes[i]));
    }
  }
}

int DropRefs(std::vector<DoublesRef> refs) { return static_cast<int>(refs.size()); }
RANKFLOW_REMOTE(DropRefs);

// Three ranks: the driver borrows an object of rank 1 and passes the borrow
// to a task on rank 2, which drops it at once. Rank 2's release reaches the
// owner before the driver's announcement of the new borrow (held back here
// on purpose); the object must survive it, and be freed once all are gone.
TEST(ObjectStore, ABorrowReleasedBeforeItsAnnouncementKeepsTheObject) {
  if (rankflow::Size() < 3) GTEST_SKIP() << "needs an owner, a borrower and a third rank";
  const uint64_t before = *rankflow::Get(rankflow::Task(OwnedHere).SetRank(1).Remote(0));
  {
    auto held = *rankflow::Get(rankflow::Task(MakeRemote).SetRank(1).Remote(size_t{1000}));
    rankflow::testing::DelayBorrowAddRefs(500);
    EXPECT_EQ(*rankflow::Get(rankflow::Task(DropRefs).SetRank(2).Remote(held)), 1);
    rankflow::testing::DelayBorrowAddRefs(0);
    auto v = rankflow::GetArray(held[0], 10000);  // still there
    EXPECT_EQ(std::accumulate(v.begin(), v.end(), 0.0), RampSum(1000));
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // the late announcement lands
    rankflow::testing::DropFetchedCopies();
  }
  // Every borrow is gone: the owner frees the object (no count left over).
  EXPECT_TRUE(Eventually([&] { return *rankflow::Get(rankflow::Task(OwnedHere).SetRank(1).Remote(0)); },
                         before))
      << "rank 1 still owns more objects than before";
}

// An answer to a fetch that never arrives (dropped here on purpose) is
// asked for again: the Get succeeds instead of waiting for its deadline.
TEST(ObjectStore, ALostAnswerIsAskedForAgain) {
  if (rankflow::Size() < 2) GTEST_SKIP() << "needs an owner on another rank";
  auto held = *rankflow::Get(rankflow::Task(MakeRemote).SetRank(1).Remote(size_t{5000}));
  rankflow::testing::DropFetchedCopies();
  const uint64_t resent = rankflow::testing::GetStoreStats().fetches_resent;
  rankflow::testing::SetFetchResendMs(200);
  rankflow::testing::DropObjectData(1);
  auto v = rankflow::GetArray(held[0], 20000);
  EXPECT_EQ(std::accumulate(v.begin(), v.end(), 0.0), RampSum(5000));
  EXPECT_GE(rankflow::testing::GetStoreStats().fetches_resent, resent + 1);
  // The same for a Wait on a borrowed reference (no thread waits in Get).
  auto more = *rankflow::Get(rankflow::Task(MakeRemote).SetRank(1).Remote(size_t{3000}));
  rankflow::testing::DropObjectData(1);
  EXPECT_EQ(rankflow::Wait(more, 1, 20000).ready.size(), 1u);
  rankflow::testing::SetFetchResendMs(10000);
  EXPECT_GE(rankflow::testing::GetStoreStats().fetches_resent, resent + 2);
}

TEST(ObjectStore, StoredContainersKeepTheirReferencesAcrossDecodes) {
  // A stored object that holds references keeps them alive however often it
  // is decoded, and the decoded copies come and go on their own.
  const uint64_t owned_before = rankflow::testing::OwnedObjectCount();
  {
    auto inner = rankflow::Put(Ramp(kBig));
    auto outer = rankflow::Put(std::vector<DoublesRef>{inner});
    inner = DoublesRef();
    for (int i = 0; i < 3; ++i) {
      auto copy = rankflow::Get(outer);  // each decode takes and drops its own count
      ASSERT_EQ(copy->size(), 1u);
      EXPECT_EQ(rankflow::GetArray((*copy)[0]).size(), kBig);
    }
    // A task result holding a reference owned by another rank, read twice.
    const int r = rankflow::Size() - 1;
    auto made = rankflow::Task(MakeRemote).SetRank(r).Remote(kBig / 4);
    for (int i = 0; i < 2; ++i) {
      auto held = rankflow::Get(made);
      EXPECT_EQ(rankflow::GetArray((*held)[0]).size(), kBig / 4);
    }
    EXPECT_EQ(*rankflow::Get(rankflow::Task(SumRefs).SetRank(r).Remote(*rankflow::Get(made))),
              RampSum(kBig / 4));
  }
  rankflow::testing::DropFetchedCopies();
  EXPECT_TRUE(Eventually([&] { return rankflow::testing::OwnedObjectCount(); }, owned_before));
}

TEST(ObjectStore, ChurnReturnsEveryRankToEmpty) {
  const int n = rankflow::Size();
  std::vector<uint64_t> owned(n), blocks(n);
  rankflow::testing::DropFetchedCopies();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // earlier tests' releases land first
  for (int r = 0; r < n; ++r) {
    owned[r] = *rankflow::Get(rankflow::Task(OwnedHere).SetRank(r).Remote(0));
    blocks[r] = *rankflow::Get(rankflow::Task(LiveBlocksHere).SetRank(r).Remote(0));
  }
  for (int round = 0; round < 40; ++round) {
    int owner = round % n;
    int reader = (round * 7 + 1) % n;
    auto held = *rankflow::Get(rankflow::Task(MakeRemote).SetRank(owner).Remote(kBig / 4));
    // Pass the borrowed reference on to a third rank, and read it here.
    EXPECT_EQ(*rankflow::Get(rankflow::Task(SumRefs).SetRank(reader).Remote(held)),
              RampSum(kBig / 4));
    EXPECT_EQ(rankflow::GetArray(held[0]).size(), kBig / 4);
    auto mine = rankflow::Put(Ramp(kBig / 8));
    EXPECT_EQ(*rankflow::Get(rankflow::Task(SumRefs).SetRank(owner).Remote(std::vector<DoublesRef>{mine})),
              RampSum(kBig / 8));
  }
  rankflow::testing::DropFetchedCopies();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // earlier tests' releases land first
  for (int r = 0; r < n; ++r) {
    EXPECT_TRUE(Eventually([&] { return *rankflow::Get(rankflow::Task(OwnedHere).SetRank(r).Remote(0)); },
                           owned[r] + 0))
        << "rank " << r << " still owns objects";
    EXPECT_TRUE(Eventually([&] { return *rankflow::Get(rankflow::Task(LiveBlocksHere).SetRank(r).Remote(0)); },
                           blocks[r]))
        << "rank " << r << "'s node store still holds blocks";
  }
}

TEST(ObjectStore, FullStoreSpillsAndRestores) {
  const auto stats = rankflow::testing::GetStoreStats();
  ASSERT_GT(stats.capacity, 0u);
  // Three times the store in live objects: older ones must go to disk.
  const size_t each = stats.capacity / 8 / sizeof(double);
  std::vector<DoublesRef> refs;
  for (int i = 0; i < 24; ++i) {
    auto b = rankflow::CreateArray<double>(each);
    for (size_t k = 0; k < each; ++k) b[k] = i;
    refs.push_back(b.Seal());
  }
  EXPECT_GT(rankflow::testing::GetStoreStats().spilled, stats.spilled);
  for (int i = 0; i < 24; ++i) {
    auto v = rankflow::GetArray(refs[i]);
    ASSERT_EQ(v.size(), each);
    EXPECT_EQ(v[0], i);
    EXPECT_EQ(v[each - 1], i);
  }
  EXPECT_GT(rankflow::testing::GetStoreStats().restored, stats.restored);
}

TEST(ObjectStore, LostSpillFileIsObjectLost) {
  const auto stats = rankflow::testing::GetStoreStats();
  const size_t each = stats.capacity / 3 / sizeof(double);
  auto first = rankflow::Put(Ramp(each));
  std::vector<DoublesRef> more;
  for (int i = 0; i < 4; ++i) more.push_back(rankflow::Put(Ramp(each)));
  ASSERT_GT(rankflow::testing::GetStoreStats().spilled, stats.spilled);
  // Remove this process's spill files behind the runtime's back.
  const char* dir = std::getenv("RANKFLOW_SPILL_DIR");
  std::string spill_dir = dir ? dir : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  std::string prefix = "rankflow-" + std::to_string(getpid()) + "-";
  int removed = 0;
  if (DIR* d = opendir(spill_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (std::string(e->d_name).rfind(prefix, 0) == 0) {
        removed += std::remove((spill_dir + "/" + e->d_name).c_str()) == 0 ? 1 : 0;
      }
    }
    closedir(d);
  }
  ASSERT_GT(removed, 0);
  try {
    rankflow::GetArray(first);
    FAIL() << "expected ObjectLost";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kObjectLost) << e.what();
  }
  // Nothing else is lost: the newest object is still in memory.
  EXPECT_EQ(rankflow::GetArray(more.back()).size(), each);
}

TEST(ObjectStore, ObjectLargerThanTheStoreIsAClearError) {
  const auto stats = rankflow::testing::GetStoreStats();
  try {
    rankflow::CreateArray<double>(stats.capacity / sizeof(double) + 1);
    FAIL() << "expected kTooLarge";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kTooLarge) << e.what();
    EXPECT_NE(std::string(e.what()).find("RANKFLOW_STORE_BYTES"), std::string::npos) << e.what();
  }
  EXPECT_EQ(rankflow::GetArray(rankflow::Put(Ramp(kBig))).size(), kBig);
}

TEST(ObjectStore, VirtualNodesSplitTheRanks) {
  // Every rank agrees on every rank's node; with RANKFLOW_RANKS_PER_NODE=k
  // no node holds more than k ranks.
  const char* per = std::getenv("RANKFLOW_RANKS_PER_NODE");
  const int k = per ? std::atoi(per) : 0;
  std::map<int, int> ranks_on;
  for (int r = 0; r < rankflow::Size(); ++r) {
    const int node = *rankflow::Get(rankflow::Task(NodeHere).SetRank(r).Remote(0));
    EXPECT_EQ(node, rankflow::testing::NodeOfRank(r));
    ++ranks_on[node];
  }
  if (k > 0) {
    for (const auto& [node, count] : ranks_on) EXPECT_LE(count, k) << "node " << node;
    EXPECT_GE(static_cast<int>(ranks_on.size()), (rankflow::Size() + k - 1) / k);
  }
}

}  // namespace
