// Unit tests for common/seq_map.h: the object table's index by number.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

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
  m.emplace(64).text = "x";
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

TEST(SeqMapTest, ErasesInsideProbeRunsKeepTheRestReachable) {
  // 31 scattered keys in the first array (64 slots): some share a home slot
  // and sit further on; erasing keys in the middle of such runs shifts the
  // rest back, and every key left must still be found.
  SeqMap<Record> m;
  std::vector<uint64_t> keys;
  std::mt19937_64 rng(7);
  while (keys.size() < 31) keys.push_back(1 + rng() % 1000000);
  for (uint64_t k : keys) m.emplace(k).text = std::to_string(k);
  ASSERT_GT(m.max_distance(), 0u) << "no two keys collided: the test would test nothing";
  for (size_t i = keys.size(); i-- > 0;) {
    if (i % 2 == 1) EXPECT_TRUE(m.erase(keys[i]));
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i % 2 == 1) {
      EXPECT_EQ(m.find(keys[i]), nullptr) << keys[i];
    } else {
      ASSERT_NE(m.find(keys[i]), nullptr) << keys[i];
      EXPECT_EQ(m.find(keys[i])->text, std::to_string(keys[i]));
    }
  }
  EXPECT_EQ(m.size(), 16u);
}

TEST(SeqMapTest, RegularlyKeptKeysDoNotPileUp) {
  // A program that keeps every 8th result (or every 2nd) while the rest come
  // and go: the kept keys must not crowd into one part of the array (they
  // would with the low bits of the key as its slot), so no search is long.
  for (uint64_t stride : {2, 8, 64}) {
    SeqMap<Record> m;
    std::vector<uint64_t> window;
    for (uint64_t k = 1; k <= 200000; ++k) {
      m.emplace(k);
      if (k % stride == 0) continue;  // kept
      window.push_back(k);
      if (window.size() > 1000) {
        ASSERT_TRUE(m.erase(window[window.size() - 1001]));
      }
    }
    EXPECT_LT(m.max_distance(), 64u) << "stride " << stride;
    for (uint64_t k = stride; k <= 200000; k += stride) ASSERT_NE(m.find(k), nullptr) << k;
  }
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
