// Unit tests for transport/framing: frame layout, frame splitting and header checks.
#include "transport/framing.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace rankflow::transport {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

struct Frame {
  MessageKind kind;
  std::vector<uint8_t> data;
};

// Splits `batch` and collects its frames (copied) into `out`.
Status Split(const std::vector<uint8_t>& batch, uint64_t max_frame, std::vector<Frame>* out) {
  Buffer b = Buffer::Copy(batch.data(), batch.size());
  return ForEachFrame(b, max_frame, [out](MessageKind kind, Buffer data) {
    out->push_back({kind, std::vector<uint8_t>(data.data(), data.data() + data.size())});
  });
}

void PutU32(std::vector<uint8_t>& v, uint32_t x) {
  size_t at = v.size();
  v.resize(at + sizeof(x));
  std::memcpy(v.data() + at, &x, sizeof(x));
}

void PutU16(std::vector<uint8_t>& v, uint16_t x) {
  size_t at = v.size();
  v.resize(at + sizeof(x));
  std::memcpy(v.data() + at, &x, sizeof(x));
}

TEST(FramingTest, FrameHeaderIsLengthThenKind) {
  std::vector<uint8_t> batch;
  auto payload = Bytes("abc");
  AppendFrame(batch, 0x1234, payload.data(), payload.size());
  ASSERT_EQ(batch.size(), kFrameHeaderBytes + 3);
  uint32_t len;
  uint16_t kind;
  std::memcpy(&len, batch.data(), sizeof(len));
  std::memcpy(&kind, batch.data() + sizeof(len), sizeof(kind));
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(kind, 0x1234);
  EXPECT_EQ(std::string(batch.begin() + kFrameHeaderBytes, batch.end()), "abc");
}

TEST(FramingTest, RoundTripSeveralFramesIncludingEmptyOnes) {
  std::vector<std::pair<MessageKind, std::vector<uint8_t>>> sent = {
      {1, Bytes("hello")},
      {2, {}},
      {3, Bytes("x")},
      {0, {}},
      {65535, std::vector<uint8_t>(1000, 0xab)},
      {7, {}},
  };
  std::vector<uint8_t> batch;
  size_t expected_size = 0;
  for (const auto& [kind, data] : sent) {
    AppendFrame(batch, kind, data.empty() ? nullptr : data.data(), data.size());
    expected_size += kFrameHeaderBytes + data.size();
  }
  EXPECT_EQ(batch.size(), expected_size);

  std::vector<Frame> got;
  Status st = Split(batch, 1 << 20, &got);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(got[i].kind, sent[i].first) << "frame " << i;
    EXPECT_EQ(got[i].data, sent[i].second) << "frame " << i;
  }
}

TEST(FramingTest, AppendKeepsExistingBytes) {
  std::vector<uint8_t> batch;
  auto a = Bytes("first");
  auto b = Bytes("second");
  AppendFrame(batch, 10, a.data(), a.size());
  std::vector<uint8_t> after_first = batch;
  AppendFrame(batch, 11, b.data(), b.size());
  ASSERT_GE(batch.size(), after_first.size());
  EXPECT_TRUE(std::equal(after_first.begin(), after_first.end(), batch.begin()));
}

TEST(FramingTest, EmptyBatchHasNoFrames) {
  std::vector<Frame> got;
  Status st = Split({}, 1024, &got);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(got.empty());
}

TEST(FramingTest, SlicesShareTheBatchBytes) {
  std::vector<uint8_t> batch;
  auto a = Bytes("zero-copy");
  AppendFrame(batch, 4, a.data(), a.size());
  Buffer b = Buffer::Copy(batch.data(), batch.size());
  const uint8_t* seen = nullptr;
  size_t seen_size = 0;
  Status st = ForEachFrame(b, 1024, [&](MessageKind, Buffer data) {
    seen = data.data();
    seen_size = data.size();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seen, b.data() + kFrameHeaderBytes);
  EXPECT_EQ(seen_size, a.size());
}

TEST(FramingTest, TruncatedFrameHeaderIsMalformed) {
  std::vector<uint8_t> batch;
  auto a = Bytes("ok");
  AppendFrame(batch, 1, a.data(), a.size());
  // Every partial header after a good frame (1..5 bytes) must be rejected.
  for (size_t extra = 1; extra < kFrameHeaderBytes; ++extra) {
    std::vector<uint8_t> bad = batch;
    bad.insert(bad.end(), extra, 0);
    std::vector<Frame> got;
    Status st = Split(bad, 1024, &got);
    EXPECT_EQ(st.code(), StatusCode::kMalformed) << "extra=" << extra << " " << st.ToString();
    // The good frame before the damage was still delivered.
    ASSERT_EQ(got.size(), 1u) << "extra=" << extra;
    EXPECT_EQ(got[0].data, a);
  }
  // A batch that is only a partial header.
  for (size_t n = 1; n < kFrameHeaderBytes; ++n) {
    std::vector<Frame> got;
    Status st = Split(std::vector<uint8_t>(n, 0), 1024, &got);
    EXPECT_EQ(st.code(), StatusCode::kMalformed) << "n=" << n;
    EXPECT_TRUE(got.empty());
  }
}

TEST(FramingTest, FrameLongerThanMessageIsMalformed) {
  std::vector<uint8_t> batch;
  PutU32(batch, 10);
  PutU16(batch, 1);
  batch.insert(batch.end(), 9, 'x');  // one byte short
  std::vector<Frame> got;
  Status st = Split(batch, 1 << 20, &got);
  EXPECT_EQ(st.code(), StatusCode::kMalformed) << st.ToString();
  EXPECT_TRUE(got.empty());

  // A huge declared length must not wrap around or be trusted.
  std::vector<uint8_t> huge;
  PutU32(huge, 0xffffffffu);
  PutU16(huge, 1);
  huge.insert(huge.end(), 16, 'y');
  got.clear();
  st = Split(huge, ~uint64_t{0}, &got);
  EXPECT_EQ(st.code(), StatusCode::kMalformed) << st.ToString();
  EXPECT_TRUE(got.empty());
}

TEST(FramingTest, TruncatingAValidBatchAnywhereNeverSucceedsSilently) {
  std::vector<uint8_t> batch;
  auto a = Bytes("alpha");
  auto b = Bytes("beta-beta");
  AppendFrame(batch, 1, a.data(), a.size());
  AppendFrame(batch, 2, b.data(), b.size());
  const size_t first_end = kFrameHeaderBytes + a.size();
  for (size_t cut = 0; cut < batch.size(); ++cut) {
    std::vector<uint8_t> prefix(batch.begin(), batch.begin() + cut);
    std::vector<Frame> got;
    Status st = Split(prefix, 1024, &got);
    if (cut == 0 || cut == first_end) {
      EXPECT_TRUE(st.ok()) << "cut=" << cut << " " << st.ToString();
    } else {
      EXPECT_EQ(st.code(), StatusCode::kMalformed) << "cut=" << cut;
    }
    EXPECT_EQ(got.size(), cut >= first_end ? 1u : 0u) << "cut=" << cut;
  }
}

TEST(FramingTest, FrameAboveMaxFrameIsTooLarge) {
  std::vector<uint8_t> batch;
  std::vector<uint8_t> small(8, 's');
  std::vector<uint8_t> big(100, 'b');
  AppendFrame(batch, 1, small.data(), small.size());
  AppendFrame(batch, 2, big.data(), big.size());
  AppendFrame(batch, 3, small.data(), small.size());

  std::vector<Frame> got;
  Status st = Split(batch, 99, &got);
  EXPECT_EQ(st.code(), StatusCode::kTooLarge) << st.ToString();
  // Stops at the oversize frame: only the first frame was delivered.
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, 1);

  // Exactly at the limit is fine.
  got.clear();
  st = Split(batch, 100, &got);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(got.size(), 3u);
}

// --- CheckHeader ---

JobToken MakeToken(uint8_t seed) {
  JobToken t;
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<uint8_t>(seed + i * 7);
  return t;
}

WireHeader GoodHeader(const JobToken& token, int source) {
  WireHeader h;
  h.source = source;
  h.token = token;
  return h;
}

TEST(CheckHeaderTest, GoodHeaderGivesSource) {
  JobToken token = MakeToken(3);
  for (int src : {0, 1, 7}) {
    WireHeader h = GoodHeader(token, src);
    int source = -1;
    Status st = CheckHeader(&h, sizeof(h), token, 8, &source);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(source, src);
  }
}

TEST(CheckHeaderTest, DefaultHeaderHasMagicAndVersion) {
  WireHeader h;
  EXPECT_EQ(h.magic, WireHeader::kMagic);
  EXPECT_EQ(h.version, WireHeader::kVersion);
}

TEST(CheckHeaderTest, WrongTokenIsUnauthenticated) {
  JobToken token = MakeToken(3);
  // Any single differing byte, in any position, must be caught.
  for (size_t i = 0; i < token.size(); ++i) {
    WireHeader h = GoodHeader(token, 1);
    h.token[i] ^= 0x01;
    int source = -42;
    Status st = CheckHeader(&h, sizeof(h), token, 4, &source);
    EXPECT_EQ(st.code(), StatusCode::kUnauthenticated) << "byte " << i;
    EXPECT_EQ(source, -42) << "source must not be set on failure";
  }
  WireHeader zero = GoodHeader(JobToken{}, 1);
  int source = -42;
  EXPECT_EQ(CheckHeader(&zero, sizeof(zero), token, 4, &source).code(),
            StatusCode::kUnauthenticated);
}

TEST(CheckHeaderTest, WrongMagicIsMalformed) {
  JobToken token = MakeToken(9);
  WireHeader h = GoodHeader(token, 0);
  h.magic = 0xdeadbeef;
  int source = -42;
  EXPECT_EQ(CheckHeader(&h, sizeof(h), token, 2, &source).code(), StatusCode::kMalformed);
  EXPECT_EQ(source, -42);
}

TEST(CheckHeaderTest, WrongVersionIsMalformed) {
  JobToken token = MakeToken(9);
  WireHeader h = GoodHeader(token, 0);
  h.version = WireHeader::kVersion + 1;
  int source = -42;
  EXPECT_EQ(CheckHeader(&h, sizeof(h), token, 2, &source).code(), StatusCode::kMalformed);
  h.version = 0;
  EXPECT_EQ(CheckHeader(&h, sizeof(h), token, 2, &source).code(), StatusCode::kMalformed);
  EXPECT_EQ(source, -42);
}

TEST(CheckHeaderTest, WrongSizeIsMalformed) {
  JobToken token = MakeToken(9);
  WireHeader h = GoodHeader(token, 0);
  std::vector<uint8_t> bytes(sizeof(h) + 8, 0);
  std::memcpy(bytes.data(), &h, sizeof(h));
  int source = -42;
  EXPECT_EQ(CheckHeader(bytes.data(), sizeof(h) - 1, token, 2, &source).code(),
            StatusCode::kMalformed);
  EXPECT_EQ(CheckHeader(bytes.data(), sizeof(h) + 1, token, 2, &source).code(),
            StatusCode::kMalformed);
  EXPECT_EQ(CheckHeader(bytes.data(), 0, token, 2, &source).code(), StatusCode::kMalformed);
  EXPECT_EQ(source, -42);
}

TEST(CheckHeaderTest, SourceOutOfRangeIsRejected) {
  JobToken token = MakeToken(1);
  for (int src : {-1, 4, 5, 1 << 30}) {
    WireHeader h = GoodHeader(token, src);
    int source = -42;
    Status st = CheckHeader(&h, sizeof(h), token, 4, &source);
    EXPECT_FALSE(st.ok()) << "src=" << src;
    EXPECT_EQ(st.code(), StatusCode::kMalformed) << "src=" << src;
    EXPECT_EQ(source, -42) << "src=" << src;
  }
  // The last valid rank is accepted.
  WireHeader h = GoodHeader(token, 3);
  int source = -1;
  EXPECT_TRUE(CheckHeader(&h, sizeof(h), token, 4, &source).ok());
  EXPECT_EQ(source, 3);
}

}  // namespace
}  // namespace rankflow::transport
