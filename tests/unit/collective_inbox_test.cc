// CollectiveInbox: each value another rank sends pairs with one argument
// occurrence here, whichever comes first; records go once the two match.
#include "runtime/collective_inbox.h"

#include <gtest/gtest.h>

#include <cstring>

namespace rankflow::runtime {
namespace {

objects::ObjectValue Value(uint8_t byte) {
  std::vector<uint8_t> bytes(8, byte);
  return objects::ValueOf(Buffer::Copy(bytes.data(), bytes.size()));
}

// The stand-in's value, if it is complete.
bool ValueOf(objects::ObjectTable& table, const std::shared_ptr<internal::RefHandle>& h,
             objects::ObjectValue* out) {
  return table.TryGet(h->id().seq, out);
}

class CollectiveInboxTest : public ::testing::Test {
 protected:
  std::shared_ptr<objects::ObjectTable> table_ = std::make_shared<objects::ObjectTable>();
  CollectiveInbox inbox_{table_, 3};
};

TEST_F(CollectiveInboxTest, ValueAfterTheOccurrenceCompletesTheStandIn) {
  auto h = inbox_.Consume(1, 77);
  EXPECT_EQ(h->id().owner, 3u);  // a local object
  objects::ObjectValue v;
  EXPECT_FALSE(ValueOf(*table_, h, &v));
  EXPECT_EQ(inbox_.awaited(), 1u);
  inbox_.Arrive(1, 77, Value(5));
  ASSERT_TRUE(ValueOf(*table_, h, &v));
  EXPECT_EQ(v.data.data()[0], 5);
  EXPECT_EQ(inbox_.awaited(), 0u);
  EXPECT_EQ(inbox_.early(), 0u);
}

TEST_F(CollectiveInboxTest, ValueBeforeTheOccurrenceIsKeptForIt) {
  inbox_.Arrive(2, 9, Value(6));
  EXPECT_EQ(inbox_.early(), 1u);
  auto h = inbox_.Consume(2, 9);
  objects::ObjectValue v;
  ASSERT_TRUE(ValueOf(*table_, h, &v));
  EXPECT_EQ(v.data.data()[0], 6);
  EXPECT_EQ(inbox_.early(), 0u);
  EXPECT_EQ(inbox_.awaited(), 0u);
}

TEST_F(CollectiveInboxTest, EachOccurrencePairsWithOneArrival) {
  // Two occurrences, one arrival: the second still waits for its own copy
  // (the sender sends one per occurrence) but shares the completed value.
  auto a = inbox_.Consume(1, 4);
  auto b = inbox_.Consume(1, 4);
  EXPECT_EQ(inbox_.awaited(), 2u);
  inbox_.Arrive(1, 4, Value(1));
  objects::ObjectValue v;
  EXPECT_TRUE(ValueOf(*table_, a, &v));
  EXPECT_TRUE(ValueOf(*table_, b, &v));
  EXPECT_EQ(inbox_.awaited(), 1u);
  inbox_.Arrive(1, 4, Value(1));
  EXPECT_EQ(inbox_.awaited(), 0u);
  EXPECT_EQ(inbox_.early(), 0u);
  // Then the same object again, value first: a fresh record, completed by it.
  inbox_.Arrive(1, 4, Value(2));
  auto c = inbox_.Consume(1, 4);
  ASSERT_TRUE(ValueOf(*table_, c, &v));
  EXPECT_EQ(v.data.data()[0], 2);
  // Different owners' objects of the same number are different objects.
  auto d = inbox_.Consume(2, 4);
  EXPECT_FALSE(ValueOf(*table_, d, &v));
  EXPECT_EQ(inbox_.awaited(), 1u);
}

TEST_F(CollectiveInboxTest, DeadOwnerFailsWhatWaitsAndWhatComesLater) {
  auto waiting = inbox_.Consume(1, 1);
  inbox_.Arrive(1, 2, Value(3));  // came before its death: still good
  auto other = inbox_.Consume(2, 1);
  inbox_.OwnerDied(1, objects::ErrorValue(StatusCode::kRankDied, "rank 1 died"));
  objects::ObjectValue v;
  ASSERT_TRUE(ValueOf(*table_, waiting, &v));
  ASSERT_NE(v.error, nullptr);
  EXPECT_EQ(v.error->code, StatusCode::kRankDied);
  auto kept = inbox_.Consume(1, 2);
  ASSERT_TRUE(ValueOf(*table_, kept, &v));
  EXPECT_EQ(v.error, nullptr);
  auto later = inbox_.Consume(1, 3);
  ASSERT_TRUE(ValueOf(*table_, later, &v));
  ASSERT_NE(v.error, nullptr);
  EXPECT_NE(v.error->message.find("rank 1 died"), std::string::npos);
  EXPECT_FALSE(ValueOf(*table_, other, &v));  // another owner's input still waits
  EXPECT_EQ(inbox_.awaited(), 1u);
}

TEST_F(CollectiveInboxTest, StandInsAreFreedWithTheirLastReference) {
  const size_t before = table_->size();
  {
    auto h = inbox_.Consume(1, 8);
    inbox_.Arrive(1, 8, Value(0));
    EXPECT_EQ(table_->size(), before + 1);
  }
  EXPECT_EQ(table_->size(), before);
  inbox_.Arrive(1, 9, Value(0));  // early: its record holds it
  EXPECT_EQ(table_->size(), before + 1);
  inbox_.Clear();
  EXPECT_EQ(table_->size(), before);
}

}  // namespace
}  // namespace rankflow::runtime
