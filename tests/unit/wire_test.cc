// Unit tests for runtime/wire: the flat task and result messages.
#include "runtime/wire.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace rankflow::runtime {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

Buffer ToBuffer(const std::vector<uint8_t>& v) { return Buffer::Copy(v.data(), v.size()); }

std::string Str(const Buffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Size of everything in a task message before the argument bytes.
size_t TaskHeaderSize(std::string_view function, std::string_view name) {
  return 4 + 8 + 4 + function.size() + 4 + name.size() + 4;
}

TEST(WireTaskTest, RoundTrip) {
  std::vector<uint8_t> args = Bytes(std::string("\x00\x01\x02payload\xff", 11));
  std::vector<uint8_t> msg;
  EncodeTask(msg, 3, 0x0123456789abcdefULL, "my_function", "display", 2, args.data(), args.size());
  EXPECT_EQ(msg.size(), TaskHeaderSize("my_function", "display") + args.size());

  Buffer b = ToBuffer(msg);
  TaskWire t;
  Status st = DecodeTask(b, &t);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(t.owner, 3u);
  EXPECT_EQ(t.seq, 0x0123456789abcdefULL);
  EXPECT_EQ(t.function, "my_function");
  EXPECT_EQ(t.name, "display");
  EXPECT_EQ(t.num_args, 2u);
  ASSERT_EQ(t.args.size(), args.size());
  EXPECT_EQ(std::vector<uint8_t>(t.args.data(), t.args.data() + t.args.size()), args);
  // Views point into the message, no copies.
  EXPECT_GE(t.function.data(), reinterpret_cast<const char*>(b.data()));
  EXPECT_LT(t.function.data(), reinterpret_cast<const char*>(b.data() + b.size()));
  EXPECT_EQ(t.args.data(), b.data() + b.size() - args.size());
}

TEST(WireTaskTest, RoundTripEmptyNameAndNoArgs) {
  std::vector<uint8_t> msg;
  EncodeTask(msg, 0, 1, "f", "", 0, nullptr, 0);
  TaskWire t;
  Status st = DecodeTask(ToBuffer(msg), &t);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(t.owner, 0u);
  EXPECT_EQ(t.seq, 1u);
  EXPECT_EQ(t.function, "f");
  EXPECT_EQ(t.name, "");
  EXPECT_EQ(t.num_args, 0u);
  EXPECT_EQ(t.args.size(), 0u);
}

TEST(WireTaskTest, EncodeAppendsToExistingBytes) {
  std::vector<uint8_t> msg = Bytes("prefix");
  auto args = Bytes("a");
  EncodeTask(msg, 1, 2, "fn", "nm", 1, args.data(), args.size());
  ASSERT_GT(msg.size(), 6u);
  EXPECT_EQ(std::string(msg.begin(), msg.begin() + 6), "prefix");
  Buffer b = ToBuffer(msg);
  TaskWire t;
  ASSERT_TRUE(DecodeTask(b.Slice(6, b.size() - 6), &t).ok());
  EXPECT_EQ(t.function, "fn");
  EXPECT_EQ(Str(t.args), "a");
}

TEST(WireTaskTest, EmptyFunctionNameIsMalformed) {
  std::vector<uint8_t> msg;
  EncodeTask(msg, 0, 1, "", "name", 0, nullptr, 0);
  TaskWire t;
  EXPECT_EQ(DecodeTask(ToBuffer(msg), &t).code(), StatusCode::kMalformed);
}

TEST(WireTaskTest, EveryTruncationIsHandled) {
  auto args = Bytes("argument-bytes");
  std::vector<uint8_t> msg;
  EncodeTask(msg, 5, 77, "function_name", "task_name", 3, args.data(), args.size());
  const size_t header = TaskHeaderSize("function_name", "task_name");
  ASSERT_EQ(msg.size(), header + args.size());

  for (size_t len = 0; len <= msg.size(); ++len) {
    // Copy exactly `len` bytes so a read past the end is visible to sanitizers.
    std::vector<uint8_t> prefix(msg.begin(), msg.begin() + len);
    Buffer b = ToBuffer(prefix);
    TaskWire t;
    Status st = DecodeTask(b, &t);
    if (len < header) {
      EXPECT_EQ(st.code(), StatusCode::kMalformed) << "len=" << len;
    } else {
      // Only argument bytes were cut: the fields parse, args shrink.
      ASSERT_TRUE(st.ok()) << "len=" << len << " " << st.ToString();
      EXPECT_EQ(t.function, "function_name");
      EXPECT_EQ(t.name, "task_name");
      EXPECT_EQ(t.num_args, 3u);
      EXPECT_EQ(t.args.size(), len - header);
    }
  }
}

TEST(WireTaskTest, LyingStringLengthIsMalformed) {
  std::vector<uint8_t> msg;
  EncodeTask(msg, 1, 2, "fn", "nm", 0, nullptr, 0);
  // Function length field sits after owner (4) and seq (8).
  for (uint32_t bad : {3u, 100u, 4097u, 0xffffffffu}) {
    std::vector<uint8_t> m = msg;
    std::memcpy(m.data() + 12, &bad, sizeof(bad));
    TaskWire t;
    EXPECT_EQ(DecodeTask(ToBuffer(m), &t).code(), StatusCode::kMalformed) << "len=" << bad;
  }
}

TEST(WireTaskTest, FunctionNameAboveLimitIsMalformed) {
  std::string long_name(5000, 'f');
  std::vector<uint8_t> msg;
  EncodeTask(msg, 1, 2, long_name, "", 0, nullptr, 0);
  TaskWire t;
  EXPECT_EQ(DecodeTask(ToBuffer(msg), &t).code(), StatusCode::kMalformed);
}

// --- results ---

TEST(WireResultTest, OkValueRoundTrip) {
  objects::ObjectValue v;
  v.data = ToBuffer(Bytes(std::string("result\0bytes", 12)));
  std::vector<uint8_t> msg;
  EncodeResult(msg, 42, 7, v);

  uint64_t seq = 0;
  objects::ObjectValue out;
  out.error = std::make_shared<objects::ObjectError>();  // must be cleared
  Status st = DecodeResult(ToBuffer(msg), &seq, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seq, 42u);
  EXPECT_EQ(out.error, nullptr);
  EXPECT_EQ(Str(out.data), std::string("result\0bytes", 12));
}

TEST(WireResultTest, EmptyOkValueRoundTrip) {
  objects::ObjectValue v;
  std::vector<uint8_t> msg;
  EncodeResult(msg, 9, 0, v);
  uint64_t seq = 0;
  objects::ObjectValue out;
  Status st = DecodeResult(ToBuffer(msg), &seq, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seq, 9u);
  EXPECT_EQ(out.error, nullptr);
  EXPECT_EQ(out.data.size(), 0u);
}

TEST(WireResultTest, OkValueOutlivesAViewedMessage) {
  objects::ObjectValue v;
  v.data = ToBuffer(Bytes("persist me"));
  std::vector<uint8_t> msg;
  EncodeResult(msg, 1, 2, v);
  uint64_t seq = 0;
  objects::ObjectValue out;
  {
    // A non-owning view, as a transport receive buffer would be.
    std::vector<uint8_t> transient = msg;
    Buffer view = Buffer::View(transient.data(), transient.size(), nullptr);
    ASSERT_TRUE(DecodeResult(view, &seq, &out).ok());
    std::fill(transient.begin(), transient.end(), 0);
  }
  EXPECT_TRUE(out.data.owned());
  EXPECT_EQ(Str(out.data), "persist me");
}

TEST(WireResultTest, ErrorValueRoundTrip) {
  objects::ObjectValue v;
  auto err = std::make_shared<objects::ObjectError>();
  err->code = StatusCode::kTaskFailed;
  err->rank = 5;
  err->message = "division by zero";
  err->task_name = "divide";
  v.error = err;
  std::vector<uint8_t> msg;
  EncodeResult(msg, 1234, 5, v);

  uint64_t seq = 0;
  objects::ObjectValue out;
  Status st = DecodeResult(ToBuffer(msg), &seq, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seq, 1234u);
  ASSERT_NE(out.error, nullptr);
  EXPECT_EQ(out.error->code, StatusCode::kTaskFailed);
  EXPECT_EQ(out.error->rank, 5);
  EXPECT_EQ(out.error->message, "division by zero");
  EXPECT_EQ(out.error->task_name, "divide");
}

TEST(WireResultTest, EveryErrorCodeRoundTrips) {
  for (int c = static_cast<int>(StatusCode::kInvalidArgument);
       c <= static_cast<int>(StatusCode::kInternal); ++c) {
    objects::ObjectValue v;
    auto err = std::make_shared<objects::ObjectError>();
    err->code = static_cast<StatusCode>(c);
    err->rank = c * 3;
    err->message = "m" + std::to_string(c);
    v.error = err;
    std::vector<uint8_t> msg;
    EncodeResult(msg, c, 0, v);
    uint64_t seq = 0;
    objects::ObjectValue out;
    ASSERT_TRUE(DecodeResult(ToBuffer(msg), &seq, &out).ok()) << "code " << c;
    ASSERT_NE(out.error, nullptr);
    EXPECT_EQ(static_cast<int>(out.error->code), c);
    EXPECT_EQ(out.error->rank, c * 3);
    EXPECT_EQ(out.error->message, "m" + std::to_string(c));
    EXPECT_EQ(out.error->task_name, "");
  }
}

std::vector<uint8_t> ErrorMessageWithCode(int32_t code) {
  objects::ObjectValue v;
  auto err = std::make_shared<objects::ObjectError>();
  err->code = StatusCode::kTaskFailed;
  err->message = "msg";
  err->task_name = "task";
  v.error = err;
  std::vector<uint8_t> msg;
  EncodeResult(msg, 1, 0, v);
  // The code follows seq (8), rank (4) and kind (1).
  std::memcpy(msg.data() + 13, &code, sizeof(code));
  return msg;
}

TEST(WireResultTest, GarbageErrorCodeIsMalformed) {
  for (int32_t code : {0, -1, static_cast<int32_t>(StatusCode::kObjectLost) + 1, 1000,
                       INT32_MIN, INT32_MAX}) {
    uint64_t seq = 0;
    objects::ObjectValue out;
    EXPECT_EQ(DecodeResult(ToBuffer(ErrorMessageWithCode(code)), &seq, &out).code(),
              StatusCode::kMalformed)
        << "code " << code;
  }
  // Sanity: the patched position really is the code.
  uint64_t seq = 0;
  objects::ObjectValue out;
  ASSERT_TRUE(DecodeResult(ToBuffer(ErrorMessageWithCode(
                               static_cast<int32_t>(StatusCode::kRankDied))),
                           &seq, &out)
                  .ok());
  ASSERT_NE(out.error, nullptr);
  EXPECT_EQ(out.error->code, StatusCode::kRankDied);
}

TEST(WireResultTest, UnknownKindIsMalformed) {
  objects::ObjectValue v;
  std::vector<uint8_t> msg;
  EncodeResult(msg, 1, 0, v);
  for (uint8_t kind : {0, 3, 255}) {
    std::vector<uint8_t> m = msg;
    m[12] = kind;
    uint64_t seq = 0;
    objects::ObjectValue out;
    EXPECT_EQ(DecodeResult(ToBuffer(m), &seq, &out).code(), StatusCode::kMalformed)
        << "kind " << int(kind);
  }
}

TEST(WireResultTest, TruncatedResultsAreMalformed) {
  // Error results: any cut loses part of a field.
  objects::ObjectValue v;
  auto err = std::make_shared<objects::ObjectError>();
  err->code = StatusCode::kTaskFailed;
  err->rank = 1;
  err->message = "boom";
  err->task_name = "t";
  v.error = err;
  std::vector<uint8_t> msg;
  EncodeResult(msg, 3, 1, v);
  for (size_t len = 0; len < msg.size(); ++len) {
    std::vector<uint8_t> prefix(msg.begin(), msg.begin() + len);
    uint64_t seq = 0;
    objects::ObjectValue out;
    EXPECT_EQ(DecodeResult(ToBuffer(prefix), &seq, &out).code(), StatusCode::kMalformed)
        << "len=" << len;
  }
  // Ok results: cuts inside seq/rank/kind/padding are malformed, later cuts shorten the value.
  objects::ObjectValue okv;
  okv.data = ToBuffer(Bytes("value"));
  std::vector<uint8_t> okmsg;
  EncodeResult(okmsg, 3, 1, okv);
  for (size_t len = 0; len <= okmsg.size(); ++len) {
    std::vector<uint8_t> prefix(okmsg.begin(), okmsg.begin() + len);
    uint64_t seq = 0;
    objects::ObjectValue out;
    Status st = DecodeResult(ToBuffer(prefix), &seq, &out);
    if (len < 18) {
      EXPECT_EQ(st.code(), StatusCode::kMalformed) << "len=" << len;
    } else {
      ASSERT_TRUE(st.ok()) << "len=" << len;
      EXPECT_EQ(out.data.size(), len - 18);
    }
  }
}

TEST(WireFuzzTest, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> len_dist(0, 96);
  std::uniform_int_distribution<int> byte_dist(0, 255);
  int task_ok = 0, result_ok = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> bytes(static_cast<size_t>(len_dist(rng)));
    for (auto& b : bytes) b = static_cast<uint8_t>(byte_dist(rng));
    // Bias some inputs toward plausible shapes: small string lengths and valid kinds.
    if (i % 3 == 0 && bytes.size() >= 16) {
      uint32_t small = static_cast<uint32_t>(bytes[12] % 8);
      std::memcpy(bytes.data() + 12, &small, sizeof(small));
    }
    if (i % 4 == 0 && bytes.size() >= 13) bytes[12] = static_cast<uint8_t>(1 + (bytes[12] & 1));
    Buffer b = ToBuffer(bytes);

    TaskWire t;
    Status st = DecodeTask(b, &t);
    if (st.ok()) {
      ++task_ok;
      EXPECT_FALSE(t.function.empty());
      // Everything decoded lies within the message.
      EXPECT_LE(t.args.size(), b.size());
      if (t.args.size() > 0) {
        EXPECT_GE(t.args.data(), b.data());
        EXPECT_LE(t.args.data() + t.args.size(), b.data() + b.size());
      }
    } else {
      EXPECT_EQ(st.code(), StatusCode::kMalformed);
    }

    uint64_t seq = 0;
    objects::ObjectValue out;
    Status rs = DecodeResult(b, &seq, &out);
    if (rs.ok()) {
      ++result_ok;
      if (out.error == nullptr) {
        EXPECT_EQ(out.data.size(), b.size() - 18);
      } else {
        EXPECT_GT(static_cast<int>(out.error->code), 0);
        EXPECT_LE(out.error->code, StatusCode::kObjectLost);
      }
    } else {
      EXPECT_EQ(rs.code(), StatusCode::kMalformed);
    }
  }
  // The biased inputs make some of each decode.
  EXPECT_GT(result_ok, 0);
  SUCCEED() << task_ok << " task / " << result_ok << " result messages decoded";
}

TEST(WireTaskTest, FlagsTravelBesideTheArgumentCount) {
  std::vector<uint8_t> msg;
  EncodeTask(msg, 1, 2, "fn", "", 5, nullptr, 0, kTaskEarly);
  EXPECT_EQ(msg.size(), TaskHeaderSize("fn", ""));
  TaskWire t;
  ASSERT_TRUE(DecodeTask(ToBuffer(msg), &t).ok());
  EXPECT_EQ(t.num_args, 5u);
  EXPECT_EQ(t.flags, kTaskEarly);
  msg.clear();
  EncodeTask(msg, 1, 2, "fn", "", 5, nullptr, 0);
  ASSERT_TRUE(DecodeTask(ToBuffer(msg), &t).ok());
  EXPECT_EQ(t.flags, 0);
}

TEST(WireInputTest, ValueErrorAndNotPushedRoundTrip) {
  objects::ObjectValue v;
  v.data = Buffer::Copy("abc", 3);
  std::vector<uint8_t> msg;
  EncodeInput(msg, 42, &v);
  InputWire in;
  const Buffer b = ToBuffer(msg);  // (the argument is a view into it)
  ASSERT_TRUE(DecodeInput(b, &in).ok());
  EXPECT_EQ(in.seq, 42u);
  EXPECT_EQ(in.kind, InputKind::kArgument);
  ASSERT_EQ(in.argument.size(), 5u + 3u);  // an argument: tag, length, bytes
  EXPECT_EQ(in.argument[0], static_cast<uint8_t>(internal::ArgTag::kResolved));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(in.argument.data() + 5), 3), "abc");

  msg.clear();
  objects::ObjectValue e = objects::ErrorValue(StatusCode::kTaskFailed, "boom", "task", 3);
  EncodeInput(msg, 43, &e);
  InputWire err;
  ASSERT_TRUE(DecodeInput(ToBuffer(msg), &err).ok());
  EXPECT_EQ(err.kind, InputKind::kError);
  ASSERT_NE(err.error, nullptr);
  EXPECT_EQ(err.error->code, StatusCode::kTaskFailed);
  EXPECT_EQ(err.error->message, "boom");
  EXPECT_EQ(err.error->task_name, "task");
  EXPECT_EQ(err.error->rank, 3);

  msg.clear();
  EncodeInput(msg, 44, nullptr);
  InputWire none;
  ASSERT_TRUE(DecodeInput(ToBuffer(msg), &none).ok());
  EXPECT_EQ(none.kind, InputKind::kNotPushed);
  EXPECT_EQ(none.seq, 44u);
}

TEST(WireInputTest, MalformedInputsAreRejected) {
  objects::ObjectValue v;
  v.data = Buffer::Copy("abcdef", 6);
  std::vector<uint8_t> msg;
  EncodeInput(msg, 1, &v);
  InputWire in;
  for (size_t n = 0; n < msg.size(); ++n) {  // every truncation
    std::vector<uint8_t> cut(msg.begin(), msg.begin() + static_cast<long>(n));
    EXPECT_EQ(DecodeInput(ToBuffer(cut), &in).code(), StatusCode::kMalformed) << n;
  }
  std::vector<uint8_t> bad = msg;
  bad[8] = 9;  // unknown kind
  EXPECT_EQ(DecodeInput(ToBuffer(bad), &in).code(), StatusCode::kMalformed);
  bad = msg;
  bad[9] = static_cast<uint8_t>(internal::ArgTag::kStored);  // only values are pushed
  EXPECT_EQ(DecodeInput(ToBuffer(bad), &in).code(), StatusCode::kMalformed);
}

}  // namespace
}  // namespace rankflow::runtime
