// Unit tests for objects/object_table: lifecycle, references, callbacks and waits.
#include "objects/object_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace rankflow::objects {
namespace {

// Deadlines for waits that are expected to succeed: long enough never to matter.
constexpr int64_t kGenerousUs = 30'000'000;

Buffer Str(const std::string& s) { return Buffer::Copy(s.data(), s.size()); }

std::string AsString(const Buffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

ObjectValue Value(const std::string& s) {
  ObjectValue v;
  v.data = Str(s);
  return v;
}

ObjectValue ErrorValue(StatusCode code, const std::string& message) {
  ObjectValue v;
  auto e = std::make_shared<ObjectError>();
  e->code = code;
  e->message = message;
  v.error = e;
  return v;
}

TEST(ObjectTableTest, SequenceNumbersAreDistinctAndNonZero) {
  ObjectTable t;
  uint64_t a = t.CreatePending();
  uint64_t b = t.CreatePending();
  uint64_t c = t.CreateReady(Str("x"));
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
  EXPECT_EQ(t.size(), 3u);
}

TEST(ObjectTableTest, CreatePendingCompleteWait) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  ObjectValue out;
  EXPECT_FALSE(t.TryGet(seq, &out));

  t.Complete(seq, Value("hello"));
  EXPECT_TRUE(t.TryGet(seq, &out));
  EXPECT_EQ(AsString(out.data), "hello");

  auto r = t.Wait(seq, -1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(AsString(r.value().data), "hello");
  EXPECT_EQ(r.value().error, nullptr);
}

TEST(ObjectTableTest, CreateReadyIsImmediatelyAvailable) {
  ObjectTable t;
  uint64_t seq = t.CreateReady(Str("ready"));
  auto r = t.Wait(seq, NowMicros());  // deadline already reached: must not matter
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(AsString(r.value().data), "ready");
}

TEST(ObjectTableTest, CompleteWithErrorIsDelivered) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  t.Complete(seq, ErrorValue(StatusCode::kTaskFailed, "boom"));
  auto r = t.Wait(seq, NowMicros() + kGenerousUs);
  ASSERT_TRUE(r.ok());
  ASSERT_NE(r.value().error, nullptr);
  EXPECT_EQ(r.value().error->code, StatusCode::kTaskFailed);
  EXPECT_EQ(r.value().error->message, "boom");
}

TEST(ObjectTableTest, SecondCompleteIsIgnored) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  t.Complete(seq, Value("first"));
  t.Complete(seq, Value("second"));
  ObjectValue out;
  ASSERT_TRUE(t.TryGet(seq, &out));
  EXPECT_EQ(AsString(out.data), "first");
}

TEST(ObjectTableTest, WaitTimesOut) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  auto r = t.Wait(seq, NowMicros() + 20'000);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout);
  // A deadline in the past times out without blocking.
  auto past = t.Wait(seq, NowMicros() - 1'000'000);
  EXPECT_EQ(past.status().code(), StatusCode::kTimeout);
  // Still pending and still usable afterwards.
  t.Complete(seq, Value("late"));
  auto r2 = t.Wait(seq, NowMicros() + kGenerousUs);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(AsString(r2.value().data), "late");
}

TEST(ObjectTableTest, WaitOnUnknownIsNotFound) {
  ObjectTable t;
  auto r = t.Wait(12345, NowMicros() + kGenerousUs);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(ObjectTableTest, ReleaseToZeroFrees) {
  ObjectTable t;
  uint64_t a = t.CreatePending();
  uint64_t b = t.CreateReady(Str("b"));
  EXPECT_EQ(t.size(), 2u);
  t.Release(a);
  EXPECT_EQ(t.size(), 1u);
  t.Release(b);
  EXPECT_EQ(t.size(), 0u);
  ObjectValue out;
  EXPECT_FALSE(t.TryGet(b, &out));
  EXPECT_EQ(t.Wait(b, NowMicros() + kGenerousUs).status().code(), StatusCode::kNotFound);
  // Releasing again (or an unknown object) is harmless.
  t.Release(b);
  t.Release(999);
  EXPECT_EQ(t.size(), 0u);
}

TEST(ObjectTableTest, AddRefKeepsObjectAlive) {
  ObjectTable t;
  uint64_t seq = t.CreateReady(Str("kept"));
  t.AddRef(seq);
  t.AddRef(seq);
  t.Release(seq);
  t.Release(seq);
  EXPECT_EQ(t.size(), 1u);
  ObjectValue out;
  ASSERT_TRUE(t.TryGet(seq, &out));
  EXPECT_EQ(AsString(out.data), "kept");
  t.Release(seq);
  EXPECT_EQ(t.size(), 0u);
  // AddRef on a freed object does not resurrect it.
  t.AddRef(seq);
  EXPECT_EQ(t.size(), 0u);
}

// A borrow's release can reach the owner before the announcement of the
// borrow (they come from different ranks): in either order the pair cancels
// out, and the object lives on the other references.
TEST(ObjectTableTest, BorrowReleasedBeforeItsAnnouncementCancelsOut) {
  ObjectTable t;
  uint64_t seq = t.CreateReady(Str("shared"));  // one reference: the sender's
  EXPECT_FALSE(t.ReleaseBorrow(seq, 42));        // early: noted, nothing freed
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.AddBorrow(seq, 42));             // late announcement: cancels
  EXPECT_EQ(t.size(), 1u);
  t.AddBorrow(seq, 7);                           // in order this time
  EXPECT_FALSE(t.ReleaseBorrow(seq, 7));
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.ReleaseBorrow(seq, 0));          // the sender's own: freed
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.AddBorrow(seq, 9));             // gone stays gone
  EXPECT_EQ(t.size(), 0u);
}

TEST(ObjectTableTest, CompleteAfterFreeIsIgnored) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  t.Release(seq);
  ASSERT_EQ(t.size(), 0u);
  t.Complete(seq, Value("orphan"));
  EXPECT_EQ(t.size(), 0u);
  ObjectValue out;
  EXPECT_FALSE(t.TryGet(seq, &out));
  // A later object is unaffected and gets a fresh sequence number.
  uint64_t next = t.CreatePending();
  EXPECT_NE(next, seq);
  EXPECT_FALSE(t.TryGet(next, &out));
}

TEST(ObjectTableTest, OnReadyBeforeCompletionRunsOnceWithValue) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  int calls = 0;
  std::string seen;
  t.OnReady(seq, [&](const ObjectValue& v) {
    ++calls;
    seen = AsString(v.data);
  });
  EXPECT_EQ(calls, 0);
  t.Complete(seq, Value("value"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, "value");
  t.Complete(seq, Value("again"));  // ignored, no second call
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, "value");
}

TEST(ObjectTableTest, OnReadyAfterCompletionRunsImmediately) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  t.Complete(seq, Value("done"));
  int calls = 0;
  std::string seen;
  t.OnReady(seq, [&](const ObjectValue& v) {
    ++calls;
    seen = AsString(v.data);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, "done");
}

TEST(ObjectTableTest, SeveralCallbacksAllRunOnce) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  std::vector<int> calls(3, 0);
  for (int i = 0; i < 3; ++i) {
    t.OnReady(seq, [&calls, i](const ObjectValue& v) {
      EXPECT_EQ(AsString(v.data), "v");
      ++calls[i];
    });
  }
  t.Complete(seq, Value("v"));
  EXPECT_EQ(calls, (std::vector<int>{1, 1, 1}));
}

TEST(ObjectTableTest, CallbackMayReenterTheTable) {
  // Callbacks run unlocked: touching the table from one must not deadlock.
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  uint64_t other = 0;
  bool ran = false;
  t.OnReady(seq, [&](const ObjectValue&) {
    other = t.CreateReady(Str("inner"));
    ObjectValue out;
    ran = t.TryGet(seq, &out);
    t.Release(seq);
  });
  t.Complete(seq, Value("outer"));
  EXPECT_TRUE(ran);
  EXPECT_NE(other, 0u);
  EXPECT_EQ(t.size(), 1u);
}

TEST(ObjectTableTest, OnReadyErrorValueIsPassed) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  StatusCode code = StatusCode::kOk;
  t.OnReady(seq, [&](const ObjectValue& v) {
    ASSERT_NE(v.error, nullptr);
    code = v.error->code;
  });
  t.Complete(seq, ErrorValue(StatusCode::kRankDied, "rank 3 died"));
  EXPECT_EQ(code, StatusCode::kRankDied);
}

TEST(ObjectTableTest, OnReadyUnknownGivesNotFound) {
  ObjectTable t;
  int calls = 0;
  std::shared_ptr<const ObjectError> err;
  t.OnReady(777, [&](const ObjectValue& v) {
    ++calls;
    err = v.error;
  });
  EXPECT_EQ(calls, 1);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code, StatusCode::kNotFound);

  // Also for an object that existed and was freed.
  uint64_t seq = t.CreatePending();
  t.Release(seq);
  calls = 0;
  err.reset();
  t.OnReady(seq, [&](const ObjectValue& v) {
    ++calls;
    err = v.error;
  });
  EXPECT_EQ(calls, 1);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code, StatusCode::kNotFound);
}

TEST(ObjectTableTest, WaitSomeNOfM) {
  ObjectTable t;
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 5; ++i) seqs.push_back(t.CreatePending());
  t.Complete(seqs[1], Value("1"));
  t.Complete(seqs[3], Value("3"));

  auto ready = t.WaitSome(seqs, 2, NowMicros() + kGenerousUs);
  EXPECT_EQ(ready, (std::vector<bool>{false, true, false, true, false}));

  // Asking for more than are ready times out with the current picture.
  auto partial = t.WaitSome(seqs, 3, NowMicros() + 20'000);
  EXPECT_EQ(partial, (std::vector<bool>{false, true, false, true, false}));

  // n = 0 returns at once.
  auto none = t.WaitSome(seqs, 0, NowMicros() + kGenerousUs);
  EXPECT_EQ(none.size(), 5u);

  for (uint64_t s : seqs) t.Complete(s, Value("x"));
  auto all = t.WaitSome(seqs, 5, NowMicros() + kGenerousUs);
  EXPECT_EQ(all, std::vector<bool>(5, true));
}

TEST(ObjectTableTest, WaitSomeCountsFreedObjectsAsReady) {
  ObjectTable t;
  uint64_t a = t.CreatePending();
  uint64_t b = t.CreatePending();
  t.Release(a);
  auto ready = t.WaitSome({a, b}, 1, NowMicros() + kGenerousUs);
  EXPECT_EQ(ready, (std::vector<bool>{true, false}));
}

TEST(ObjectTableTest, CompletionFromAnotherThreadWakesWait) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  std::atomic<bool> waiting{false};
  std::thread completer([&] {
    // Bounded wait for the main thread to be about to block; completes either way.
    for (int i = 0; i < 2000 && !waiting.load(); ++i) std::this_thread::yield();
    t.Complete(seq, Value("from thread"));
  });
  waiting.store(true);
  auto r = t.Wait(seq, NowMicros() + kGenerousUs);
  completer.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(AsString(r.value().data), "from thread");
}

TEST(ObjectTableTest, CompletionFromAnotherThreadWakesForeverWait) {
  ObjectTable t;
  uint64_t seq = t.CreatePending();
  std::atomic<int> callback_runs{0};
  t.OnReady(seq, [&](const ObjectValue&) { callback_runs.fetch_add(1); });
  std::thread completer([&] { t.Complete(seq, Value("forever")); });
  auto r = t.Wait(seq, -1);
  completer.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(AsString(r.value().data), "forever");
  EXPECT_EQ(callback_runs.load(), 1);
}

TEST(ObjectTableTest, WaitSomeWokenByOtherThreads) {
  ObjectTable t;
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 4; ++i) seqs.push_back(t.CreatePending());
  std::vector<std::thread> threads;
  for (int i : {0, 2}) threads.emplace_back([&t, &seqs, i] { t.Complete(seqs[i], Value("v")); });
  auto ready = t.WaitSome(seqs, 2, NowMicros() + kGenerousUs);
  for (auto& th : threads) th.join();
  EXPECT_EQ(ready, (std::vector<bool>{true, false, true, false}));
}

TEST(ObjectTableTest, ConcurrentCompletesAndWaits) {
  ObjectTable t;
  constexpr int kObjects = 200;
  std::vector<uint64_t> seqs;
  for (int i = 0; i < kObjects; ++i) seqs.push_back(t.CreatePending());
  std::atomic<int> callbacks{0};
  for (uint64_t s : seqs) t.OnReady(s, [&](const ObjectValue&) { callbacks.fetch_add(1); });
  std::thread a([&] {
    for (int i = 0; i < kObjects; i += 2) t.Complete(seqs[i], Value(std::to_string(i)));
  });
  std::thread b([&] {
    for (int i = 1; i < kObjects; i += 2) t.Complete(seqs[i], Value(std::to_string(i)));
  });
  for (int i = 0; i < kObjects; ++i) {
    auto r = t.Wait(seqs[i], NowMicros() + kGenerousUs);
    EXPECT_TRUE(r.ok()) << i;  // not ASSERT: the threads must still be joined
    if (r.ok()) {
      EXPECT_EQ(AsString(r.value().data), std::to_string(i));
    }
  }
  a.join();
  b.join();
  EXPECT_EQ(callbacks.load(), kObjects);
}

// Hooks record the order they ran in.
struct OrderHook : ReadyHook {
  std::vector<int>* order = nullptr;
  int id = 0;
};
void RecordHook(ReadyHook* h) {
  auto* o = static_cast<OrderHook*>(h->owner);
  o->order->push_back(o->id);
}
// Three hooks, numbered 0..2, on the objects `seqs`: each records its number.
struct ThreeHooks {
  std::vector<int> order;
  OrderHook hooks[3];
  ReadyHook plain[3];
  explicit ThreeHooks(const uint64_t (&seqs)[3]) {
    for (int i = 0; i < 3; ++i) {
      hooks[i].order = &order;
      hooks[i].id = i;
      plain[i].seq = seqs[i];
      plain[i].ready = &RecordHook;
      plain[i].owner = &hooks[i];
    }
  }
};

TEST(ObjectTableTest, HooksRunOnCompletionInRegistrationOrder) {
  ObjectTable t;
  uint64_t a = t.CreatePending();
  std::vector<int> order;
  OrderHook hooks[3];
  ReadyHook plain[3];
  for (int i = 0; i < 3; ++i) {
    hooks[i].order = &order;
    hooks[i].id = i;
    plain[i].seq = a;
    plain[i].ready = &RecordHook;
    plain[i].owner = &hooks[i];
  }
  t.OnReadyAll(plain, 2);
  t.OnReadyAll(plain + 2, 1);
  EXPECT_TRUE(order.empty());
  t.Complete(a, Value("x"));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  t.Complete(a, Value("again"));  // a second completion runs nothing
  EXPECT_EQ(order.size(), 3u);
}

TEST(ObjectTableTest, HooksOfDoneOrUnknownObjectsRunAtOnce) {
  ObjectTable t;
  uint64_t done = t.CreateReady(Str("v"));
  uint64_t pending = t.CreatePending();
  ThreeHooks h({done, pending, 987654});
  t.OnReadyAll(h.plain, 3);
  EXPECT_EQ(h.order, (std::vector<int>{0, 2}));
  t.Complete(pending, Value("p"));
  EXPECT_EQ(h.order, (std::vector<int>{0, 2, 1}));
}

TEST(ObjectTableTest, CreatePendingWatchingNumbersTheObjectAndRegistersItsHooks) {
  ObjectTable t;
  uint64_t done = t.CreateReady(Str("v"));
  uint64_t pending = t.CreatePending();
  ThreeHooks h({done, pending, 987654});
  const uint64_t made = t.CreatePendingWatching(h.plain, 3);
  EXPECT_GT(made, pending);  // a new number
  EXPECT_EQ(h.order, (std::vector<int>{0, 2}));  // done or unknown: at once
  ObjectValue v;
  EXPECT_FALSE(t.TryGet(made, &v));  // the new object is pending, with one reference
  t.Complete(pending, Value("p"));
  EXPECT_EQ(h.order, (std::vector<int>{0, 2, 1}));
  t.Complete(made, Value("m"));
  ASSERT_TRUE(t.TryGet(made, &v));
  EXPECT_TRUE(t.Release(made));
}

TEST(ObjectTableTest, HookMayFreeWhatHoldsItAndTheNextHookOfTheSameOwner) {
  // A task that depends on one object twice holds two hooks on it; the
  // second to run frees the task (and both hooks).
  struct Task {
    ReadyHook deps[2];
    int left = 2;
    int* freed;
  };
  ObjectTable t;
  uint64_t a = t.CreatePending();
  int freed = 0;
  auto* task = new Task{{}, 2, &freed};
  for (auto& d : task->deps) {
    d.seq = a;
    d.owner = task;
    d.ready = [](ReadyHook* h) {
      auto* owner = static_cast<Task*>(h->owner);
      if (--owner->left == 0) {
        ++*owner->freed;
        delete owner;
      }
    };
  }
  t.OnReadyAll(task->deps, 2);
  t.Complete(a, Value("x"));
  EXPECT_EQ(freed, 1);
}

TEST(ObjectTableTest, ManyObjectsComeAndGoThroughRecycledEntries) {
  ObjectTable t;
  for (int round = 0; round < 3; ++round) {
    std::vector<uint64_t> seqs;
    for (int i = 0; i < 5000; ++i) seqs.push_back(t.CreatePending());
    for (size_t i = 0; i < seqs.size(); ++i) t.Complete(seqs[i], Value(std::to_string(i)));
    ObjectValue v;
    ASSERT_TRUE(t.TryGet(seqs[4321], &v));
    EXPECT_EQ(AsString(v.data), "4321");
    for (uint64_t s : seqs) EXPECT_TRUE(t.Release(s));
    EXPECT_EQ(t.size(), 0u);
  }
}

}  // namespace
}  // namespace rankflow::objects
