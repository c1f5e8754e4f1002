// Unit tests for the per-task memory helpers: common/node_pool.h,
// common/recycled_allocator.h and common/scratch_bytes.h.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace rankflow
