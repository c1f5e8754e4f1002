// Object-store messages: round trips, truncation and garbage are malformed
// (never a crash or an out-of-bounds view), and the checksum sees changes.
#include <random>

#include <gtest/gtest.h>

#include "runtime/object_wire.h"

namespace rankflow::runtime {
namespace {

Buffer ToBuffer(std::vector<uint8_t> v) { return Buffer::FromVector(std::move(v)); }

TEST(ObjectWire, FetchRoundTripAndGarbage) {
  std::vector<uint8_t> out;
  EncodeFetch(out, FetchWire{3, 77, true});
  FetchWire f;
  ASSERT_TRUE(DecodeFetch(ToBuffer(out), &f).ok());
  EXPECT_EQ(f.owner, 3u);
  EXPECT_EQ(f.seq, 77u);
  EXPECT_TRUE(f.direct);
  for (size_t len = 0; len < out.size(); ++len) {
    std::vector<uint8_t> cut(out.begin(), out.begin() + len);
    EXPECT_EQ(DecodeFetch(ToBuffer(cut), &f).code(), StatusCode::kMalformed) << len;
  }
  out.back() = 9;  // "direct" must be 0 or 1
  EXPECT_EQ(DecodeFetch(ToBuffer(out), &f).code(), StatusCode::kMalformed);
}

TEST(ObjectWire, BorrowRoundTripAndTruncation) {
  std::vector<uint8_t> out;
  EncodeBorrow(out, 77, (uint64_t{5} << 44) | 3);
  uint64_t seq = 0, token = 0;
  ASSERT_TRUE(DecodeBorrow(ToBuffer(out), &seq, &token).ok());
  EXPECT_EQ(seq, 77u);
  EXPECT_EQ(token, (uint64_t{5} << 44) | 3);
  for (size_t len = 0; len < out.size(); ++len) {
    std::vector<uint8_t> cut(out.begin(), out.begin() + len);
    EXPECT_EQ(DecodeBorrow(ToBuffer(cut), &seq, &token).code(), StatusCode::kMalformed) << len;
  }
  out.push_back(0);
  EXPECT_EQ(DecodeBorrow(ToBuffer(out), &seq, &token).code(), StatusCode::kMalformed);
}

TEST(ObjectWire, BytesCarryTheirSizeAndTruncationIsCaught) {
  std::vector<uint8_t> payload(1000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 13);
  DataWire d;
  d.owner = 1;
  d.seq = 5;
  d.form = DataForm::kBytes;
  d.size = payload.size();
  d.has_checksum = true;
  d.checksum = Checksum64(payload.data(), payload.size());
  std::vector<uint8_t> msg;
  EncodeDataHeader(msg, d);
  // Behind a 6-byte frame header the object starts 8-byte aligned.
  EXPECT_EQ((6 + msg.size()) % 8, 0u);
  msg.insert(msg.end(), payload.begin(), payload.end());
  DataWire got;
  ASSERT_TRUE(DecodeData(ToBuffer(msg), &got).ok());
  EXPECT_EQ(got.form, DataForm::kBytes);
  ASSERT_EQ(got.bytes.size(), payload.size());
  EXPECT_EQ(Checksum64(got.bytes.data(), got.bytes.size()), got.checksum);
  for (size_t len : {size_t{0}, size_t{5}, size_t{20}, msg.size() - 1}) {
    std::vector<uint8_t> cut(msg.begin(), msg.begin() + static_cast<long>(len));
    EXPECT_EQ(DecodeData(ToBuffer(cut), &got).code(), StatusCode::kMalformed) << len;
  }
}

TEST(ObjectWire, EveryFormRoundTrips) {
  DataWire d;
  d.owner = 2;
  d.seq = 9;
  d.form = DataForm::kStored;
  d.stored = {4096, 4160, 123};
  std::vector<uint8_t> msg;
  EncodeDataHeader(msg, d);
  DataWire got;
  ASSERT_TRUE(DecodeData(ToBuffer(msg), &got).ok());
  EXPECT_EQ(got.stored.block, 4096u);
  EXPECT_EQ(got.stored.data_off, 4160u);
  EXPECT_EQ(got.stored.size, 123u);

  d.form = DataForm::kError;
  d.code = static_cast<int32_t>(StatusCode::kObjectLost);
  d.message = "gone";
  msg.clear();
  EncodeDataHeader(msg, d);
  ASSERT_TRUE(DecodeData(ToBuffer(msg), &got).ok());
  EXPECT_EQ(got.message, "gone");
  d.code = 999;  // out of range
  msg.clear();
  EncodeDataHeader(msg, d);
  EXPECT_EQ(DecodeData(ToBuffer(msg), &got).code(), StatusCode::kMalformed);

  d.form = DataForm::kRedirect;
  d.holder = 3;
  msg.clear();
  EncodeDataHeader(msg, d);
  ASSERT_TRUE(DecodeData(ToBuffer(msg), &got).ok());
  EXPECT_EQ(got.holder, 3);
  msg.push_back(0);  // trailing garbage
  EXPECT_EQ(DecodeData(ToBuffer(msg), &got).code(), StatusCode::kMalformed);
}

TEST(ObjectWire, RandomBytesNeverCrash) {
  std::mt19937 rng(99);
  int ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> b(rng() % 64);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    if (b.size() > 12 && i % 2 == 0) b[12] = static_cast<uint8_t>(1 + rng() % 5);
    DataWire d;
    Status st = DecodeData(ToBuffer(b), &d);
    if (st.ok()) {
      ++ok;
      if (d.form == DataForm::kBytes) {
        EXPECT_EQ(d.bytes.size(), d.size);
      }
    } else {
      EXPECT_EQ(st.code(), StatusCode::kMalformed);
    }
  }
  EXPECT_GT(ok, 0);  // some random inputs do form valid (e.g. kMiss) messages
}

TEST(ObjectWire, ChecksumSeesAnyOneByteChange) {
  std::vector<uint8_t> data(4099);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  const uint64_t sum = Checksum64(data.data(), data.size());
  for (size_t i = 0; i < data.size(); i += 97) {
    data[i] ^= 0x10;
    EXPECT_NE(Checksum64(data.data(), data.size()), sum) << i;
    data[i] ^= 0x10;
  }
  EXPECT_NE(Checksum64(data.data(), data.size() - 1), sum);  // truncation too
  EXPECT_EQ(Checksum64(data.data(), data.size()), sum);
}

}  // namespace
}  // namespace rankflow::runtime
