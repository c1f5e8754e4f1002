// Unit tests for the per-task memory helpers: common/node_pool.h,
// common/recycled_allocator.h and common/scratch_bytes.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "common/node_pool.h"
#include "common/recycled_allocator.h"
#include "common/scratch_bytes.h"

namespace rankflow {
namespace {

TEST(NodePoolTest, AnErasedNodeIsReusedByTheNextInsert) {
  NodePool pool;
  using Alloc = PoolAllocator<std::pair<const int, long>>;
  std::unordered_map<int, long, std::hash<int>, std::equal_to<int>, Alloc> m(
      8, std::hash<int>(), std::equal_to<int>(), Alloc(&pool));
  m[1] = 10;
  const void* node = &*m.find(1);
  m.erase(1);
  m[2] = 20;
  EXPECT_EQ(static_cast<const void*>(&*m.find(2)), node);
  EXPECT_EQ(m.at(2), 20);
  for (int i = 0; i < 1000; ++i) m[i] = i;  // buckets grow: other sizes go to operator new
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(m.at(i), i);
}

TEST(ScratchBytesTest, NestedScopesGetDistinctVectorsAndCapacityIsKept) {
  const uint8_t* first_data;
  {
    ScratchBytes a;
    a.get().assign(100, 1);
    first_data = a.get().data();
    ScratchBytes b;  // nested: another vector
    EXPECT_NE(&a.get(), &b.get());
    EXPECT_TRUE(b.get().empty());
    b.get().push_back(2);
    EXPECT_EQ(a.get().size(), 100u);
  }
  ScratchBytes again;
  EXPECT_TRUE(again.get().empty());              // cleared
  EXPECT_GE(again.get().capacity(), 100u);       // but not freed
  EXPECT_EQ(again.get().data(), first_data);
}

TEST(ScratchBytesTest, BeyondTheThreadsVectorsScopesGetTheirOwn) {
  ScratchBytes s1, s2, s3, s4, s5, s6;
  std::vector<uint8_t>* all[] = {&s1.get(), &s2.get(), &s3.get(), &s4.get(), &s5.get(), &s6.get()};
  for (int i = 0; i < 6; ++i) {
    for (int j = i + 1; j < 6; ++j) EXPECT_NE(all[i], all[j]);
  }
}

TEST(ScratchBytesTest, OwnedBytesCopiesSmallAndTakesLarge) {
  std::vector<uint8_t> small(10, 7);
  Buffer b = OwnedBytes(std::move(small));
  EXPECT_EQ(small.size(), 10u);  // copied: the vector is still the caller's
  ASSERT_EQ(b.size(), 10u);
  EXPECT_EQ(b.data()[9], 7);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % alignof(std::max_align_t), 0u);
  std::vector<uint8_t> large(1 << 20, 3);
  const uint8_t* data = large.data();
  Buffer l = OwnedBytes(std::move(large));
  EXPECT_EQ(l.data(), data);  // taken over, no copy
  EXPECT_EQ(l.size(), size_t{1} << 20);
}

TEST(ScratchBytesTest, CopyBytesOfEverySizeIsWholeAlignedAndOwned) {
  for (size_t size : {0, 1, 8, 63, 64, 65, 200, 256, 257, 5000}) {
    std::vector<uint8_t> src(size);
    for (size_t i = 0; i < size; ++i) src[i] = static_cast<uint8_t>(i * 13 + size);
    Buffer b = CopyBytes(src.data(), src.size());
    ASSERT_EQ(b.size(), size);
    EXPECT_TRUE(b.owned());
    if (size == 0) continue;
    EXPECT_NE(b.data(), src.data());
    EXPECT_EQ(std::memcmp(b.data(), src.data(), size), 0) << size;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % alignof(std::max_align_t), 0u) << size;
    std::fill(src.begin(), src.end(), 0);  // the copy does not depend on the source
    EXPECT_EQ(b.data()[size - 1], static_cast<uint8_t>((size - 1) * 13 + size)) << size;
  }
  // A small block freed is the next one handed out on this thread.
  const uint8_t* first;
  {
    Buffer a = CopyBytes("abc", 3);
    first = a.data();
  }
  Buffer again = CopyBytes("xyz", 3);
  EXPECT_EQ(again.data(), first);
  EXPECT_EQ(std::memcmp(again.data(), "xyz", 3), 0);
}

struct Record {
  long a[8];
};

TEST(RecycledAllocatorTest, ABlockFreedOnAnotherThreadServesTheNextAllocation) {
  auto first = std::allocate_shared<Record>(RecycledAllocator<Record>());
  const void* block = first.get();
  std::thread([moved = std::move(first)]() mutable { moved.reset(); }).join();
  auto second = std::allocate_shared<Record>(RecycledAllocator<Record>());
  EXPECT_EQ(static_cast<const void*>(second.get()), block);
  second->a[7] = 42;
  EXPECT_EQ(second->a[7], 42);
  auto third = std::allocate_shared<Record>(RecycledAllocator<Record>());  // list empty: a new block
  EXPECT_NE(third.get(), second.get());
}

struct Held {
  long a[5];
};

TEST(RecycledAllocatorTest, BlocksFreedAsAThreadEndsGoBackToTheList) {
  // A thread-local made before the thread's first allocation is destroyed
  // after the thread's own blocks went back: what it frees then must reach
  // the shared list too (and not a cache that is gone).
  const void* block = nullptr;
  std::thread([&] {
    thread_local std::vector<std::shared_ptr<Held>> holder;
    holder.reserve(1);  // made first, destroyed last
    holder.push_back(std::allocate_shared<Held>(RecycledAllocator<Held>()));
    block = holder.back().get();
  }).join();
  auto again = std::allocate_shared<Held>(RecycledAllocator<Held>());
  EXPECT_EQ(static_cast<const void*>(again.get()), block);
}

TEST(RecycledAllocatorTest, ManyBlocksMadeOnOneThreadAndFreedOnAnother) {
  // The pattern of tasks: made by the driver, freed by the thread that
  // completes them; blocks travel between the two in batches.
  std::vector<std::shared_ptr<Record>> made;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 500; ++i) {
      made.push_back(std::allocate_shared<Record>(RecycledAllocator<Record>()));
      made.back()->a[0] = i;
    }
    for (int i = 0; i < 500; ++i) ASSERT_EQ(made[i]->a[0], i);
    std::thread([moved = std::move(made)]() mutable { moved.clear(); }).join();
    made.clear();
  }
}

}  // namespace
}  // namespace rankflow
