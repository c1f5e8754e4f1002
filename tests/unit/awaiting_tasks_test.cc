// AwaitingTasks: early tasks waiting on this rank for their inputs.
#include "runtime/awaiting_tasks.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "runtime/wire.h"

namespace rankflow::runtime {
namespace {

constexpr int kOwner = 3;

void AppendValue(std::vector<uint8_t>& args, const std::string& v) {
  size_t at;
  internal::AppendArgHeader(args, internal::ArgTag::kValue, 0, &at);
  args.insert(args.end(), v.begin(), v.end());
  internal::PatchArgLength(args, at);
}

void AppendAwait(std::vector<uint8_t>& args, uint64_t seq, bool local) {
  size_t at;
  internal::AppendArgHeader(args, static_cast<internal::ArgTag>(kArgAwait), 0, &at);
  const size_t n = args.size();
  args.resize(n + 9);
  std::memcpy(args.data() + n, &seq, 8);
  args[n + 8] = local ? 1 : 0;
  internal::PatchArgLength(args, at);
}

// A task message of `seq` whose arguments are `args`; `*offset`: where they start.
Buffer Task(uint64_t seq, const std::vector<uint8_t>& args, size_t* offset) {
  std::vector<uint8_t> msg;
  EncodeTaskHeader(msg, kOwner, seq, "f", "", 3, args.size(), kTaskEarly);
  *offset = msg.size();
  msg.insert(msg.end(), args.begin(), args.end());
  return Buffer::FromVector(std::move(msg));
}

Status Add(AwaitingTasks& t, uint64_t seq, const std::vector<uint8_t>& args,
           AwaitingTasks::Outcome* out) {
  size_t offset;
  Buffer msg = Task(seq, args, &offset);
  return t.Add(kOwner, seq, msg, offset, out);
}

// Task `seq` with only awaited arguments: (input, local) each.
Status AddAwaiting(AwaitingTasks& t, uint64_t seq,
                   std::initializer_list<std::pair<uint64_t, bool>> inputs,
                   AwaitingTasks::Outcome* out) {
  std::vector<uint8_t> args;
  for (const auto& [input, local] : inputs) AppendAwait(args, input, local);
  return Add(t, seq, args, out);
}

objects::ObjectValue Value(const std::string& s) {
  objects::ObjectValue v;
  v.data = Buffer::Copy(s.data(), s.size());
  return v;
}

// The arguments of a rebuilt message, as (tag, bytes).
std::vector<std::pair<uint8_t, std::string>> Args(const Buffer& msg) {
  TaskWire w;
  EXPECT_TRUE(DecodeTask(msg, &w).ok());
  EXPECT_EQ(w.flags, kTaskEarly);
  EXPECT_EQ(w.num_args, 3u);
  std::vector<std::pair<uint8_t, std::string>> out;
  const uint8_t* p = w.args.data();
  const uint8_t* end = p + w.args.size();
  while (p < end) {
    uint32_t len;
    std::memcpy(&len, p + 1, 4);
    out.emplace_back(p[0], std::string(reinterpret_cast<const char*>(p + 5), len));
    p += 5 + len;
  }
  return out;
}

constexpr uint8_t kValue = static_cast<uint8_t>(internal::ArgTag::kValue);
constexpr uint8_t kResolved = static_cast<uint8_t>(internal::ArgTag::kResolved);

TEST(AwaitingTasksTest, LocalResultFillsWaitingTaskInPlace) {
  AwaitingTasks t;
  AwaitingTasks::Outcome out;
  // Task 1 waits for a pushed input; task 2 for task 1 (local) and it again.
  ASSERT_TRUE(AddAwaiting(t, 1, {{100, false}}, &out).ok());
  std::vector<uint8_t> a2;
  AppendValue(a2, "left");
  AppendAwait(a2, 1, true);
  AppendAwait(a2, 1, true);
  ASSERT_TRUE(Add(t, 2, a2, &out).ok());
  EXPECT_TRUE(out.ready.empty());
  EXPECT_EQ(t.waiting(), 2u);

  t.Finished(kOwner, 1, Value("one"), &out);
  ASSERT_EQ(out.ready.size(), 1u);
  EXPECT_EQ(out.ready[0].seq, 2u);
  EXPECT_EQ(out.ready[0].owner, kOwner);
  EXPECT_EQ(out.ready[0].error, nullptr);
  auto args = Args(out.ready[0].message);
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args[0], std::make_pair(kValue, std::string("left")));
  EXPECT_EQ(args[1], std::make_pair(kResolved, std::string("one")));
  EXPECT_EQ(args[2], std::make_pair(kResolved, std::string("one")));
  EXPECT_EQ(t.waiting(), 1u);  // task 1 itself still waits for its push
}

TEST(AwaitingTasksTest, TaskArrivingAfterItsInputFinishedGetsTheKeptResult) {
  AwaitingTasks t;
  AwaitingTasks::Outcome out;
  ASSERT_TRUE(Add(t, 1, {}, &out).ok());  // nothing awaited: ready at once
  ASSERT_EQ(out.ready.size(), 1u);
  t.Finished(kOwner, 1, Value("kept"), &out);
  EXPECT_EQ(t.kept_results(), 1u);
  out = {};
  ASSERT_TRUE(AddAwaiting(t, 2, {{1, true}}, &out).ok());
  ASSERT_EQ(out.ready.size(), 1u);
  EXPECT_EQ(Args(out.ready[0].message)[0], std::make_pair(kResolved, std::string("kept")));
}

TEST(AwaitingTasksTest, ForgottenLocalResultBouncesTheTask) {
  AwaitingTasks t(/*keep_results=*/1);
  AwaitingTasks::Outcome out;
  ASSERT_TRUE(Add(t, 1, {}, &out).ok());
  ASSERT_TRUE(Add(t, 2, {}, &out).ok());
  t.Finished(kOwner, 1, Value("a"), &out);
  t.Finished(kOwner, 2, Value("b"), &out);  // evicts 1
  EXPECT_EQ(t.kept_results(), 1u);
  out = {};
  ASSERT_TRUE(AddAwaiting(t, 3, {{1, true}}, &out).ok());
  EXPECT_TRUE(out.ready.empty());
  ASSERT_EQ(out.bounced.size(), 1u);
  EXPECT_EQ(out.bounced[0], std::make_pair(kOwner, uint64_t{3}));
  EXPECT_EQ(t.waiting(), 0u);
}

TEST(AwaitingTasksTest, LargeLocalResultsFeedWaitersButAreNotKept) {
  AwaitingTasks t(/*keep_results=*/16, /*keep_bytes=*/8);
  AwaitingTasks::Outcome out;
  ASSERT_TRUE(Add(t, 1, {}, &out).ok());
  ASSERT_TRUE(AddAwaiting(t, 2, {{1, true}}, &out).ok());
  out = {};
  const std::string big(64, 'x');
  t.Finished(kOwner, 1, Value(big), &out);
  ASSERT_EQ(out.ready.size(), 1u);
  EXPECT_EQ(Args(out.ready[0].message)[0], std::make_pair(kResolved, big));
  EXPECT_EQ(t.kept_results(), 0u);
}

TEST(AwaitingTasksTest, PushedValuesAndErrorsReachTheirTasks) {
  AwaitingTasks t;
  AwaitingTasks::Outcome out;
  std::vector<uint8_t> a;
  AppendAwait(a, 7, false);
  AppendValue(a, "v");
  ASSERT_TRUE(Add(t, 2, a, &out).ok());
  ASSERT_TRUE(AddAwaiting(t, 4, {{8, false}}, &out).ok());

  std::vector<uint8_t> arg;
  size_t at;
  internal::AppendArgHeader(arg, internal::ArgTag::kResolved, 0, &at);
  arg.push_back('p');
  internal::PatchArgLength(arg, at);
  t.Pushed(kOwner, 7, arg, nullptr, &out);
  ASSERT_EQ(out.ready.size(), 1u);
  auto args = Args(out.ready[0].message);
  EXPECT_EQ(args[0], std::make_pair(kResolved, std::string("p")));
  EXPECT_EQ(args[1], std::make_pair(kValue, std::string("v")));

  auto err = std::make_shared<objects::ObjectError>();
  err->code = StatusCode::kTaskFailed;
  err->message = "boom";
  t.Pushed(kOwner, 8, {}, err, &out);
  ASSERT_EQ(out.ready.size(), 2u);
  EXPECT_EQ(out.ready[1].seq, 4u);
  ASSERT_NE(out.ready[1].error, nullptr);
  EXPECT_EQ(out.ready[1].error->message, "boom");
  EXPECT_EQ(out.ready[1].failed_input, 8u);
  // A push nobody waits for is dropped.
  t.Pushed(kOwner, 7, arg, nullptr, &out);
  EXPECT_EQ(out.ready.size(), 2u);
  EXPECT_EQ(t.waiting(), 0u);
}

TEST(AwaitingTasksTest, UnpushedInputBouncesItsTaskAndTasksWaitingOnIt) {
  AwaitingTasks t;
  AwaitingTasks::Outcome out;
  ASSERT_TRUE(AddAwaiting(t, 2, {{9, false}}, &out).ok());
  ASSERT_TRUE(AddAwaiting(t, 3, {{2, true}}, &out).ok());
  ASSERT_TRUE(AddAwaiting(t, 5, {{3, true}}, &out).ok());
  t.NotPushed(kOwner, 9, &out);
  EXPECT_TRUE(out.ready.empty());
  ASSERT_EQ(out.bounced.size(), 3u);
  EXPECT_EQ(out.bounced[0].second, 2u);
  EXPECT_EQ(out.bounced[1].second, 3u);
  EXPECT_EQ(out.bounced[2].second, 5u);
  EXPECT_EQ(t.waiting(), 0u);
  // A bounced task that finished anyway (it never does) changes nothing.
  t.Finished(kOwner, 2, Value("late"), &out);
  EXPECT_TRUE(out.ready.empty());
}

TEST(AwaitingTasksTest, OwnersAreKeptApart) {
  AwaitingTasks t;
  AwaitingTasks::Outcome out;
  ASSERT_TRUE(AddAwaiting(t, 2, {{1, false}}, &out).ok());
  std::vector<uint8_t> arg = {kResolved, 0, 0, 0, 0};
  t.Pushed(kOwner + 1, 1, arg, nullptr, &out);  // same seq, other owner
  EXPECT_TRUE(out.ready.empty());
  t.DropOwner(kOwner);
  EXPECT_EQ(t.waiting(), 0u);
  t.Pushed(kOwner, 1, arg, nullptr, &out);
  EXPECT_TRUE(out.ready.empty());
}

TEST(AwaitingTasksTest, MalformedArgumentsAreRejected) {
  AwaitingTasks t;
  AwaitingTasks::Outcome out;
  std::vector<uint8_t> a;
  AppendAwait(a, 1, true);
  a.resize(a.size() - 3);  // truncated
  EXPECT_EQ(Add(t, 2, a, &out).code(), StatusCode::kMalformed);
  std::vector<uint8_t> b = {kArgAwait, 2, 0, 0, 0, 1, 2};  // wrong length for an awaited one
  EXPECT_EQ(Add(t, 3, b, &out).code(), StatusCode::kMalformed);
  // More awaited arguments than an early task may have.
  std::vector<uint8_t> c;
  for (uint64_t i = 0; i <= AwaitingTasks::kMaxAwaited; ++i) AppendAwait(c, 10 + i, false);
  EXPECT_EQ(Add(t, 4, c, &out).code(), StatusCode::kMalformed);
  // Object 0 exists nowhere: as the task or as an input.
  EXPECT_EQ(AddAwaiting(t, 0, {{1, false}}, &out).code(), StatusCode::kMalformed);
  EXPECT_EQ(AddAwaiting(t, 5, {{0, false}}, &out).code(), StatusCode::kMalformed);
  EXPECT_EQ(t.waiting(), 0u);
  EXPECT_TRUE(out.ready.empty());
  // The table still works.
  ASSERT_TRUE(AddAwaiting(t, 6, {{1, false}, {2, false}, {3, false}, {4, false}}, &out).ok());
  std::vector<uint8_t> arg = {kResolved, 0, 0, 0, 0};
  for (uint64_t i = 1; i <= 4; ++i) t.Pushed(kOwner, i, arg, nullptr, &out);
  ASSERT_EQ(out.ready.size(), 1u);
  EXPECT_EQ(Args(out.ready[0].message).size(), 4u);
}

TEST(AwaitingTasksTest, ManyTasksWaitingForOneInputAllGetIt) {
  // More waiters than are held inline (pushed and local inputs alike).
  AwaitingTasks t;
  AwaitingTasks::Outcome out;
  ASSERT_TRUE(AddAwaiting(t, 1, {{90, false}}, &out).ok());
  for (uint64_t s = 2; s < 12; ++s) ASSERT_TRUE(AddAwaiting(t, s, {{90, false}, {1, true}}, &out).ok());
  std::vector<uint8_t> arg = {kResolved, 1, 0, 0, 0, 'q'};
  t.Pushed(kOwner, 90, arg, nullptr, &out);
  ASSERT_EQ(out.ready.size(), 1u);  // task 1; the others still wait for it
  t.Finished(kOwner, 1, Value("r"), &out);
  ASSERT_EQ(out.ready.size(), 11u);
  for (size_t i = 1; i < out.ready.size(); ++i) {
    auto args = Args(out.ready[i].message);
    ASSERT_EQ(args.size(), 2u);
    EXPECT_EQ(args[0], std::make_pair(kResolved, std::string("q")));
    EXPECT_EQ(args[1], std::make_pair(kResolved, std::string("r")));
  }
  EXPECT_EQ(t.waiting(), 0u);
}

TEST(AwaitingTasksTest, InputsOfEverySizeArriveWhole) {
  // Small inputs travel inline, larger ones in their own buffer: pushed,
  // handed over locally and kept, each arrives byte for byte.
  for (size_t size : {0, 1, 42, 43, 48, 200, 3000}) {
    AwaitingTasks t;
    AwaitingTasks::Outcome out;
    std::string v(size, '\0');
    for (size_t i = 0; i < size; ++i) v[i] = static_cast<char>('a' + i % 26);
    ASSERT_TRUE(Add(t, 1, {}, &out).ok());  // runs at once, here
    ASSERT_TRUE(AddAwaiting(t, 2, {{1, true}, {50, false}}, &out).ok());
    t.Finished(kOwner, 1, Value(v), &out);  // handed over and kept
    std::vector<uint8_t> arg;
    size_t at;
    internal::AppendArgHeader(arg, internal::ArgTag::kResolved, 0, &at);
    arg.insert(arg.end(), v.rbegin(), v.rend());
    internal::PatchArgLength(arg, at);
    t.Pushed(kOwner, 50, arg, nullptr, &out);
    ASSERT_TRUE(AddAwaiting(t, 3, {{1, true}}, &out).ok());  // from the kept result
    ASSERT_EQ(out.ready.size(), 3u) << size;
    auto two = Args(out.ready[1].message);
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0], std::make_pair(kResolved, v)) << size;
    EXPECT_EQ(two[1], std::make_pair(kResolved, std::string(v.rbegin(), v.rend()))) << size;
    EXPECT_EQ(Args(out.ready[2].message)[0], std::make_pair(kResolved, v)) << size;
  }
}

}  // namespace
}  // namespace rankflow::runtime
