// Unit tests for rankflow/serialization.h: value encoding and checked decoding.
#include "rankflow/serialization.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "rankflow/errors.h"

namespace {

struct Pod {
  int32_t a;
  double b;
  char tag[4];
  bool operator==(const Pod& o) const {
    return a == o.a && b == o.b && std::memcmp(tag, o.tag, sizeof(tag)) == 0;
  }
};
static_assert(std::is_trivially_copyable_v<Pod>);

struct Particle {
  std::string name;
  std::vector<double> position;
  std::map<std::string, int> counts;
  int id = 0;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, position, counts, id);
  }
  bool operator==(const Particle& o) const {
    return name == o.name && position == o.position && counts == o.counts && id == o.id;
  }
};
static_assert(!std::is_trivially_copyable_v<Particle>);

template <typename T>
T RoundTrip(const T& v) {
  std::vector<uint8_t> bytes = rankflow::Encode(v);
  return rankflow::Decode<T>(bytes.data(), bytes.size());
}

// Runs `fn` and checks that it throws rankflow::Error with kTypeMismatch.
template <typename Fn>
void ExpectTypeMismatch(Fn&& fn, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << what << ": no exception";
  } catch (const rankflow::Error& e) {
    EXPECT_EQ(e.code(), rankflow::ErrorCode::kTypeMismatch) << what << ": " << e.what();
    EXPECT_NE(std::string(e.what()), "") << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": wrong exception type: " << e.what();
  } catch (...) {
    ADD_FAILURE() << what << ": unknown exception";
  }
}

template <typename T>
void ExpectDecodeFails(const std::vector<uint8_t>& bytes, const std::string& what) {
  ExpectTypeMismatch([&] { (void)rankflow::Decode<T>(bytes.data(), bytes.size()); }, what);
}

// --- round trips ---

TEST(SerializationTest, IntRoundTrip) {
  for (int v : {0, 1, -1, 42, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()}) {
    std::vector<uint8_t> bytes = rankflow::Encode(v);
    EXPECT_EQ(bytes.size(), sizeof(int));
    EXPECT_EQ(rankflow::Decode<int>(bytes.data(), bytes.size()), v);
  }
}

TEST(SerializationTest, DoubleRoundTrip) {
  for (double v : {0.0, -0.5, 3.141592653589793, 1e300, std::numeric_limits<double>::denorm_min()}) {
    EXPECT_EQ(RoundTrip(v), v);
  }
  EXPECT_EQ(rankflow::Encode(1.0).size(), sizeof(double));
}

TEST(SerializationTest, TriviallyCopyableStructRoundTrip) {
  Pod p{};
  p.a = -17;
  p.b = 2.5;
  std::memcpy(p.tag, "abc", 4);
  std::vector<uint8_t> bytes = rankflow::Encode(p);
  EXPECT_EQ(bytes.size(), sizeof(Pod));
  EXPECT_EQ(rankflow::Decode<Pod>(bytes.data(), bytes.size()), p);

  std::array<int, 3> arr = {1, 2, 3};
  EXPECT_EQ(RoundTrip(arr), arr);
}

TEST(SerializationTest, VectorOfDoubleRoundTrip) {
  std::vector<double> v = {1.0, -2.0, 3.5, 1e-9};
  std::vector<uint8_t> bytes = rankflow::Encode(v);
  EXPECT_EQ(bytes.size(), sizeof(uint64_t) + v.size() * sizeof(double));
  EXPECT_EQ(rankflow::Decode<std::vector<double>>(bytes.data(), bytes.size()), v);

  EXPECT_EQ(RoundTrip(std::vector<double>{}), std::vector<double>{});
  std::vector<double> big(10000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<double>(i) * 0.25;
  EXPECT_EQ(RoundTrip(big), big);
}

TEST(SerializationTest, StringRoundTrip) {
  std::string s = "hello, world";
  std::vector<uint8_t> bytes = rankflow::Encode(s);
  EXPECT_EQ(bytes.size(), sizeof(uint64_t) + s.size());
  EXPECT_EQ(rankflow::Decode<std::string>(bytes.data(), bytes.size()), s);
  EXPECT_EQ(RoundTrip(std::string()), "");
  std::string binary("a\0b\xff", 4);
  EXPECT_EQ(RoundTrip(binary), binary);
}

TEST(SerializationTest, MapRoundTrip) {
  std::map<std::string, int> m = {{"one", 1}, {"two", 2}, {"", -3}, {"many", 1 << 30}};
  EXPECT_EQ(RoundTrip(m), m);
  EXPECT_EQ(RoundTrip(std::map<std::string, int>{}), (std::map<std::string, int>{}));
}

TEST(SerializationTest, VectorOfStringRoundTrip) {
  std::vector<std::string> v = {"alpha", "", "gamma", std::string(1000, 'z')};
  EXPECT_EQ(RoundTrip(v), v);
  EXPECT_EQ(RoundTrip(std::vector<std::string>{}), std::vector<std::string>{});
}

TEST(SerializationTest, UserStructWithSerializeRoundTrip) {
  Particle p;
  p.name = "electron";
  p.position = {0.1, 0.2, 0.3};
  p.counts = {{"hits", 12}, {"misses", 3}};
  p.id = 99;
  EXPECT_EQ(RoundTrip(p), p);
  EXPECT_EQ(RoundTrip(Particle{}), Particle{});
}

TEST(SerializationTest, EncodeToAppends) {
  std::vector<uint8_t> out = {0xaa, 0xbb};
  rankflow::EncodeTo(7, out);
  ASSERT_EQ(out.size(), 2 + sizeof(int));
  EXPECT_EQ(out[0], 0xaa);
  EXPECT_EQ(out[1], 0xbb);
  EXPECT_EQ(rankflow::Decode<int>(out.data() + 2, sizeof(int)), 7);
}

TEST(SerializationTest, DecodeFromBuffer) {
  std::vector<double> v = {4.0, 5.0};
  std::vector<uint8_t> bytes = rankflow::Encode(v);
  rankflow::Buffer b = rankflow::Buffer::FromVector(std::move(bytes));
  EXPECT_EQ(rankflow::Decode<std::vector<double>>(b), v);
}

// --- decode failures ---

TEST(SerializationTest, RawValueWrongSizeThrows) {
  std::vector<uint8_t> four = rankflow::Encode(int32_t{5});
  ExpectDecodeFails<double>(four, "double from 4 bytes");
  ExpectDecodeFails<int64_t>(four, "int64 from 4 bytes");
  ExpectDecodeFails<int16_t>(four, "int16 from 4 bytes");
  ExpectDecodeFails<int>({}, "int from 0 bytes");
  ExpectDecodeFails<int>({1, 2, 3}, "int from 3 bytes");
  ExpectDecodeFails<int>({1, 2, 3, 4, 5}, "int from 5 bytes");
  ExpectDecodeFails<Pod>(four, "Pod from 4 bytes");
  std::vector<uint8_t> pod = rankflow::Encode(Pod{});
  pod.push_back(0);
  ExpectDecodeFails<Pod>(pod, "Pod with a trailing byte");
}

std::vector<uint8_t> RawVectorBytes(uint64_t claimed, size_t elements, size_t elem_size) {
  std::vector<uint8_t> b(sizeof(uint64_t) + elements * elem_size, 0x11);
  std::memcpy(b.data(), &claimed, sizeof(claimed));
  return b;
}

TEST(SerializationTest, RawVectorWithLyingLengthThrows) {
  // Length says more elements than there are bytes.
  ExpectDecodeFails<std::vector<double>>(RawVectorBytes(3, 2, 8), "3 claimed, 2 present");
  // Length says fewer: leftover bytes.
  ExpectDecodeFails<std::vector<double>>(RawVectorBytes(1, 2, 8), "1 claimed, 2 present");
  // Bytes that are not a whole number of elements.
  {
    auto b = RawVectorBytes(2, 2, 8);
    b.push_back(0);
    ExpectDecodeFails<std::vector<double>>(b, "partial element");
  }
  // Huge claimed lengths, including ones whose byte count wraps around 2^64.
  for (uint64_t claimed : {uint64_t{1} << 40, (uint64_t{1} << 61) + 2, (uint64_t{1} << 62),
                           std::numeric_limits<uint64_t>::max()}) {
    ExpectDecodeFails<std::vector<double>>(RawVectorBytes(claimed, 2, 8),
                                           "claimed " + std::to_string(claimed));
    ExpectDecodeFails<std::vector<int32_t>>(RawVectorBytes(claimed, 4, 4),
                                            "int32 claimed " + std::to_string(claimed));
  }
  // Fewer bytes than the length field itself.
  ExpectDecodeFails<std::vector<double>>({}, "empty");
  ExpectDecodeFails<std::vector<double>>({1, 0, 0}, "3 bytes");
  // A valid encoding of another element size.
  ExpectDecodeFails<std::vector<double>>(rankflow::Encode(std::vector<int32_t>{1, 2, 3}),
                                         "vector<int32> as vector<double>");
}

TEST(SerializationTest, StringWithLyingLengthThrows) {
  ExpectDecodeFails<std::string>(RawVectorBytes(10, 4, 1), "10 claimed, 4 present");
  ExpectDecodeFails<std::string>(RawVectorBytes(2, 4, 1), "2 claimed, 4 present");
  ExpectDecodeFails<std::string>(RawVectorBytes(std::numeric_limits<uint64_t>::max(), 4, 1),
                                 "max claimed");
  ExpectDecodeFails<std::string>({0, 0}, "short length");
}

TEST(SerializationTest, CerealTypesTruncatedThrow) {
  std::map<std::string, int> m = {{"one", 1}, {"two", 2}, {"three", 3}};
  std::vector<uint8_t> mb = rankflow::Encode(m);
  for (size_t len = 0; len < mb.size(); ++len) {
    std::vector<uint8_t> prefix(mb.begin(), mb.begin() + len);
    ExpectDecodeFails<std::map<std::string, int>>(prefix, "map prefix " + std::to_string(len));
  }

  std::vector<std::string> v = {"ab", "cde", ""};
  std::vector<uint8_t> vb = rankflow::Encode(v);
  for (size_t len = 0; len < vb.size(); ++len) {
    std::vector<uint8_t> prefix(vb.begin(), vb.begin() + len);
    ExpectDecodeFails<std::vector<std::string>>(prefix,
                                                "vector<string> prefix " + std::to_string(len));
  }

  Particle p;
  p.name = "muon";
  p.position = {1, 2};
  p.counts = {{"k", 1}};
  p.id = 5;
  std::vector<uint8_t> pb = rankflow::Encode(p);
  for (size_t len = 0; len < pb.size(); ++len) {
    std::vector<uint8_t> prefix(pb.begin(), pb.begin() + len);
    ExpectDecodeFails<Particle>(prefix, "Particle prefix " + std::to_string(len));
  }
}

TEST(SerializationTest, CerealTypesWithTrailingBytesThrow) {
  std::map<std::string, int> m = {{"a", 1}};
  std::vector<uint8_t> mb = rankflow::Encode(m);
  mb.push_back(0);
  ExpectDecodeFails<std::map<std::string, int>>(mb, "map + 1 byte");

  std::vector<uint8_t> vb = rankflow::Encode(std::vector<std::string>{"x"});
  vb.insert(vb.end(), {1, 2, 3, 4, 5, 6, 7, 8});
  ExpectDecodeFails<std::vector<std::string>>(vb, "vector<string> + 8 bytes");

  Particle p;
  p.name = "tau";
  std::vector<uint8_t> pb = rankflow::Encode(p);
  pb.push_back(0xff);
  ExpectDecodeFails<Particle>(pb, "Particle + 1 byte");

  // Two encodings back to back are not one value.
  std::vector<uint8_t> twice = rankflow::Encode(m);
  rankflow::EncodeTo(m, twice);
  ExpectDecodeFails<std::map<std::string, int>>(twice, "two maps");
}

TEST(SerializationTest, CerealTypeWithHugeElementCountThrows) {
  // A vector<string> whose element count is absurd (above max_size) must fail cleanly.
  std::vector<uint8_t> b(sizeof(uint64_t) + 4, 0);
  uint64_t n = std::numeric_limits<uint64_t>::max();
  std::memcpy(b.data(), &n, sizeof(n));
  ExpectDecodeFails<std::vector<std::string>>(b, "huge count");
}

}  // namespace
