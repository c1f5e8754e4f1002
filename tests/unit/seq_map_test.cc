// Unit tests for common/seq_map.h: the object table's index by number.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>

#include "common/seq_map.h"

namespace rankflow {
namespace {

struct Record {
  std::string text;
  std::unique_ptr<int> owned;
};

TEST(SeqMapTest, FindsWhatWasInsertedAndNothingElse) {
  SeqMap<Record> m;
  m.emplace(1).text = "one";
  m.emplace(2).text = "two";
  ASSERT_NE(m.find(1), nullptr);
  EXPECT_EQ(m.find(1)->text, "one");
  EXPECT_EQ(m.find(2)->text, "two");
  EXPECT_EQ(m.find(3), nullptr);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.erase(1));
  EXPECT_FALSE(m.erase(1));
  EXPECT_EQ(m.find(1), nullptr);
  EXPECT_EQ(m.find(2)->text, "two");
  EXPECT_EQ(m.size(), 1u);
}

TEST(SeqMapTest, KeyZeroIsNeverFound) {
  // (0 marks an empty slot; a malformed message may still ask for it.)
  SeqMap<Record> m;
  EXPECT_EQ(m.find(0), nullptr);
  EXPECT_FALSE(m.erase(0));
  m.emplace(64).text = "x";  // home slot 0
  EXPECT_EQ(m.find(0), nullptr);
  EXPECT_FALSE(m.erase(0));
  EXPECT_EQ(m[64].text, "x");  // found, not inserted
  m[65].text = "y";
  EXPECT_EQ(m.find(65)->text, "y");
  EXPECT_EQ(m.size(), 2u);
}

TEST(SeqMapTest, RecordsKeepTheirAddressWhileTheIndexGrows) {
  SeqMap<Record> m;
  Record* first = &m.emplace(1);
  first->owned = std::make_unique<int>(7);
  for (uint64_t k = 2; k < 5000; ++k) m.emplace(k).text = std::to_string(k);
  EXPECT_EQ(m.find(1), first);
  EXPECT_EQ(*m.find(1)->owned, 7);
  EXPECT_EQ(m.find(4999)->text, "4999");
}

TEST(SeqMapTest, KeysThatShareAHomeSlotSurviveErasesInAnyOrder) {
  // An old key left behind while newer ones wrap around the array: keys
  // 64 apart share a home slot in the first array size.
  SeqMap<Record> m;
  for (uint64_t k : {3, 67, 131, 4, 68}) m.emplace(k).text = std::to_string(k);
  EXPECT_TRUE(m.erase(67));  // the middle of a probe run
  for (uint64_t k : {3, 131, 4, 68}) {
    ASSERT_NE(m.find(k), nullptr) << k;
    EXPECT_EQ(m.find(k)->text, std::to_string(k));
  }
  EXPECT_TRUE(m.erase(3));
  EXPECT_EQ(m.find(131)->text, "131");
  EXPECT_EQ(m.find(68)->text, "68");
  EXPECT_EQ(m.find(67), nullptr);
}

TEST(SeqMapTest, AgreesWithAnOrderedMapUnderRandomUse) {
  // Keys mostly increase (as object numbers do) with some long-lived ones,
  // erased at random: the index must agree with a plain map throughout.
  SeqMap<Record> m;
  std::map<uint64_t, std::string> model;
  std::mt19937_64 rng(42);
  uint64_t next = 1;
  for (int step = 0; step < 100000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5 || model.empty()) {
      const uint64_t k = next++;
      m.emplace(k).text = std::to_string(k * 3);
      model[k] = std::to_string(k * 3);
    } else if (op < 9) {
      // Erase one of the oldest live keys mostly, sometimes any key.
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % std::min<size_t>(model.size(), op == 8 ? model.size() : 8)));
      ASSERT_TRUE(m.erase(it->first));
      model.erase(it);
    } else {
      const uint64_t k = 1 + rng() % next;
      Record* r = m.find(k);
      auto it = model.find(k);
      ASSERT_EQ(r != nullptr, it != model.end()) << k;
      if (r != nullptr) EXPECT_EQ(r->text, it->second);
    }
    ASSERT_EQ(m.size(), model.size());
  }
  size_t seen = 0;
  m.for_each([&](uint64_t k, const Record& r) {
    ++seen;
    EXPECT_EQ(r.text, model.at(k));
  });
  EXPECT_EQ(seen, model.size());
}

}  // namespace
}  // namespace rankflow
