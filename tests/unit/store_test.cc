// The shared-memory arena and the node store: allocation, coalescing, the
// full/never-fits distinction, reference counts, and sharing between processes.
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "store/arena.h"
#include "store/node_store.h"
#include "store/shm_segment.h"

namespace rankflow::store {
namespace {

std::shared_ptr<NodeStore> MakeStore(size_t bytes) {
  auto seg = ShmSegment::CreatePrivate(bytes, false);
  EXPECT_TRUE(seg.ok()) << seg.status().ToString();
  auto st = NodeStore::Create(*seg, true, 0);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  return *st;
}

TEST(Arena, AllocatesFreesAndCoalescesBackToOneBlock) {
  std::vector<uint8_t> region(1 << 20);
  ASSERT_TRUE(Arena::Format(region.data(), region.size()).ok());
  auto arena = Arena::Attach(region.data(), region.size());
  ASSERT_TRUE(arena.ok());
  const uint64_t whole = arena->LargestFree();
  bool full = false;
  std::vector<uint64_t> blocks;
  for (int i = 0; i < 50; ++i) {
    auto a = arena->Allocate(1000 + i * 37, 0, &full);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    std::memset(a->data, i, 1000 + i * 37);
    blocks.push_back(a->block);
  }
  EXPECT_EQ(arena->live_blocks(), 50u);
  // Free in a scrambled order: every neighbour pair must merge again.
  std::mt19937 rng(7);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  for (uint64_t b : blocks) EXPECT_TRUE(arena->Unref(b));
  EXPECT_EQ(arena->live_blocks(), 0u);
  EXPECT_EQ(arena->used(), 0u);
  EXPECT_EQ(arena->LargestFree(), whole);
}

TEST(Arena, TellsFullFromNeverFits) {
  std::vector<uint8_t> region(64 * 1024);
  ASSERT_TRUE(Arena::Format(region.data(), region.size()).ok());
  auto arena = Arena::Attach(region.data(), region.size());
  bool full = true;
  auto huge = arena->Allocate(1 << 20, 0, &full);
  EXPECT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kTooLarge);
  EXPECT_FALSE(full);
  auto a = arena->Allocate(40 * 1024, 0, &full);
  ASSERT_TRUE(a.ok());
  auto b = arena->Allocate(40 * 1024, 0, &full);
  EXPECT_FALSE(b.ok());
  EXPECT_TRUE(full);
  arena->Unref(a->block);
  EXPECT_TRUE(arena->Allocate(40 * 1024, 0, &full).ok());
}

TEST(Arena, ReferencesKeepABlockUntilTheLastUnref) {
  std::vector<uint8_t> region(64 * 1024);
  ASSERT_TRUE(Arena::Format(region.data(), region.size()).ok());
  auto arena = Arena::Attach(region.data(), region.size());
  bool full;
  auto a = arena->Allocate(100, 0, &full);
  ASSERT_TRUE(a.ok());
  arena->Ref(a->block);
  EXPECT_EQ(arena->RefCount(a->block), 2);
  EXPECT_FALSE(arena->Unref(a->block));
  EXPECT_TRUE(arena->IsLiveBlock(a->block));
  EXPECT_TRUE(arena->Unref(a->block));
  EXPECT_FALSE(arena->IsLiveBlock(a->block));
  EXPECT_FALSE(arena->IsLiveBlock(a->block + 8));  // not a block boundary
}

TEST(Arena, RejectsAnUnformattedRegion) {
  std::vector<uint8_t> region(64 * 1024, 0);
  EXPECT_FALSE(Arena::Attach(region.data(), region.size()).ok());
}

TEST(NodeStore, ViewsFreeTheirBlockWithTheLastCopy) {
  auto store = MakeStore(1 << 20);
  bool full;
  auto w = store->Allocate(5000, &full);
  ASSERT_TRUE(w.ok());
  std::memset(w->data, 0xab, 5000);
  Buffer view = NodeStore::View(*w);
  *w = {};
  Descriptor d;
  ASSERT_TRUE(store->Describe(view, &d));
  EXPECT_EQ(d.size, 5000u);
  EXPECT_EQ(store->live_blocks(), 1u);
  Buffer copy = view.Slice(10, 100);
  view = Buffer();
  EXPECT_EQ(store->live_blocks(), 1u);
  EXPECT_EQ(copy.data()[0], 0xab);
  copy = Buffer();
  EXPECT_EQ(store->live_blocks(), 0u);
}

TEST(NodeStore, AdoptChecksTheDescriptor) {
  auto store = MakeStore(1 << 20);
  bool full;
  auto w = store->Allocate(4096, &full);
  ASSERT_TRUE(w.ok());
  Buffer view = NodeStore::View(*w);
  Descriptor d;
  ASSERT_TRUE(store->Describe(view, &d));
  Descriptor bad = d;
  bad.size = 1 << 19;
  EXPECT_EQ(store->Adopt(bad).status().code(), StatusCode::kMalformed);
  bad = d;
  bad.block += 64;
  EXPECT_EQ(store->Adopt(bad).status().code(), StatusCode::kMalformed);
  store->AddRef(d);
  auto other = store->Adopt(d);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->data(), view.data());
  EXPECT_EQ(store->SharedRefs(view), 2);
  *w = {};
  view = Buffer();
  EXPECT_EQ(store->live_blocks(), 1u);  // the adopted reference still holds it
  *other = Buffer();
  EXPECT_EQ(store->live_blocks(), 0u);
}

TEST(NodeStore, TwoProcessesShareBlocksThroughANamedSegment) {
  std::string name = "/rankflow-test-" + std::to_string(getpid());
  auto seg = ShmSegment::Create(name, 1 << 20, false);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  auto store = NodeStore::Create(*seg, true, 0);
  ASSERT_TRUE(store.ok());
  bool full;
  auto w = (*store)->Allocate(1000, &full);
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 1000; ++i) w->data[i] = static_cast<uint8_t>(i);
  Buffer view = NodeStore::View(*w);
  Descriptor d;
  ASSERT_TRUE((*store)->Describe(view, &d));
  (*store)->AddRef(d);  // for the child
  pid_t pid = fork();
  if (pid == 0) {
    // The child maps the segment by name, reads the object, frees its reference.
    auto s2 = ShmSegment::Open(name);
    if (!s2.ok()) _exit(2);
    auto st2 = NodeStore::Create(*s2, false, 1);
    if (!st2.ok()) _exit(3);
    auto b = (*st2)->Adopt(d);
    if (!b.ok()) _exit(4);
    for (int i = 0; i < 1000; ++i) {
      if (b->data()[i] != static_cast<uint8_t>(i)) _exit(5);
    }
    *b = Buffer();
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  (*seg)->Unlink();
  EXPECT_EQ((*store)->SharedRefs(view), 1);
  *w = {};
  view = Buffer();
  EXPECT_EQ((*store)->live_blocks(), 0u);
}

TEST(ShmSegment, ReportsASegmentThatCannotBeReserved) {
  auto seg = ShmSegment::Create("/rankflow-test-huge-" + std::to_string(getpid()),
                                ShmAvailableBytes() + (1ull << 40), true);
  EXPECT_FALSE(seg.ok());
  EXPECT_EQ(seg.status().code(), StatusCode::kTooLarge);
}

}  // namespace
}  // namespace rankflow::store
