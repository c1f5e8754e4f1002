// Conformance tests for transport::Transport, written once and run against
// every implementation (loopback and UCX), plus a few implementation-specific
// cases (loopback disconnection, UCX token and size checks on receipt).
// All ranks of a "job" live in this process; UCX runs one worker per rank.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "transport/framing.h"
#include "transport/loopback_transport.h"
#include "transport/transport.h"
#include "transport/ucx_transport.h"

namespace rankflow::transport {
namespace {

// Waits expected to succeed use this deadline: long enough never to matter.
constexpr auto kGenerous = std::chrono::seconds(30);
constexpr uint64_t kMaxMessage = 1ull << 20;     // 1 MiB
constexpr uint64_t kRndvThreshold = 16 * 1024;   // UCX: rendezvous above this
constexpr size_t kLargePayload = 256 * 1024;     // well above the threshold

// ---------------------------------------------------------------------------
// What one rank received, filled in on its transport's thread.

struct Received {
  int source;
  MessageKind kind;
  std::vector<uint8_t> bytes;
};

struct Event {
  int rank;
  Status why;
};

class Inbox {
 public:
  Callbacks MakeCallbacks() {
    Callbacks cb;
    cb.on_message = [this](Incoming&& in) {
      // `in.data` may be a view valid only during this call: copy the bytes.
      Received r{in.source, in.kind, std::vector<uint8_t>(in.data.data(),
                                                          in.data.data() + in.data.size())};
      {
        std::lock_guard<std::mutex> lock(mu_);
        messages_.push_back(std::move(r));
      }
      cv_.notify_all();
    };
    cb.on_peer_failure = [this](int rank, const Status& why) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        failures_.push_back({rank, why});
      }
      cv_.notify_all();
    };
    cb.on_rejected = [this](int rank, const Status& why) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        rejected_.push_back({rank, why});
      }
      cv_.notify_all();
    };
    return cb;
  }

  // Waits until at least `n` messages arrived; false on deadline.
  bool WaitForMessages(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kGenerous, [&] { return messages_.size() >= n; });
  }
  bool WaitForFailures(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kGenerous, [&] { return failures_.size() >= n; });
  }
  bool WaitForRejected(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kGenerous, [&] { return rejected_.size() >= n; });
  }

  std::vector<Received> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  std::vector<Event> failures() {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }
  std::vector<Event> rejected() {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> messages_;
  std::vector<Event> failures_;
  std::vector<Event> rejected_;
};

// ---------------------------------------------------------------------------
// N connected transports in this process. Inboxes outlive the transports, so
// callbacks that fire while a transport stops still have somewhere to go.

struct Cluster {
  std::vector<std::unique_ptr<Inbox>> inboxes;
  std::vector<std::unique_ptr<Transport>> transports;
  std::shared_ptr<LoopbackHub> hub;                // loopback only
  std::vector<UcxTransport*> ucx;                  // UCX only (not owned)

  ~Cluster() {
    for (auto& t : transports) {
      if (t) t->Stop();
    }
    transports.clear();
  }

  int size() const { return static_cast<int>(transports.size()); }
  Transport& at(int rank) { return *transports[rank]; }
  Inbox& inbox(int rank) { return *inboxes[rank]; }

  // Starts every transport with callbacks into its inbox.
  void Start() {
    for (size_t i = 0; i < transports.size(); ++i) {
      inboxes.push_back(std::make_unique<Inbox>());
    }
    for (size_t i = 0; i < transports.size(); ++i) {
      Status st = transports[i]->Start(inboxes[i]->MakeCallbacks());
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  }
};

// What every rank saw, for failure messages.
std::string Describe(Cluster& c) {
  std::string s;
  for (int r = 0; r < c.size(); ++r) {
    s += "rank " + std::to_string(r) + ": " + std::to_string(c.inbox(r).messages().size()) +
         " messages";
    for (const auto& f : c.inbox(r).failures()) {
      s += "; peer " + std::to_string(f.rank) + " failed (" + f.why.ToString() + ")";
    }
    for (const auto& f : c.inbox(r).rejected()) {
      s += "; rejected from " + std::to_string(f.rank) + " (" + f.why.ToString() + ")";
    }
    s += "\n";
  }
  return s;
}

JobToken TestToken() {
  JobToken t{};
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<uint8_t>(0xA0 + i);
  return t;
}

UcxOptions TestUcxOptions(uint64_t max_message) {
  UcxOptions opts;
  opts.max_message = max_message;
  opts.rndv_threshold = kRndvThreshold;
  opts.spin_us = 10;
  opts.token = TestToken();
  return opts;
}

std::unique_ptr<Cluster> MakeLoopback(int n, uint64_t max_message) {
  auto c = std::make_unique<Cluster>();
  c->hub = LoopbackHub::Create(n, max_message);
  for (int i = 0; i < n; ++i) c->transports.push_back(c->hub->MakeTransport(i));
  return c;
}

// Builds UCX transports whose options come from `opts_of(rank)`; connects them.
std::unique_ptr<Cluster> MakeUcxWith(int n, const std::function<UcxOptions(int)>& opts_of) {
  auto c = std::make_unique<Cluster>();
  std::vector<std::vector<uint8_t>> addresses;
  for (int i = 0; i < n; ++i) {
    auto r = UcxTransport::Create(i, n, opts_of(i));
    if (!r.ok()) {
      ADD_FAILURE() << "UcxTransport::Create(" << i << "): " << r.status().ToString();
      return nullptr;
    }
    std::unique_ptr<UcxTransport> t = std::move(r).value();
    addresses.push_back(t->LocalAddress());
    c->ucx.push_back(t.get());
    c->transports.push_back(std::move(t));
  }
  for (auto* t : c->ucx) {
    Status st = t->SetPeerAddresses(addresses);
    if (!st.ok()) {
      ADD_FAILURE() << "SetPeerAddresses: " << st.ToString();
      return nullptr;
    }
  }
  return c;
}

std::unique_ptr<Cluster> MakeUcx(int n, uint64_t max_message) {
  return MakeUcxWith(n, [&](int) { return TestUcxOptions(max_message); });
}

struct TransportKind {
  std::string name;
  std::function<std::unique_ptr<Cluster>(int n, uint64_t max_message)> make;
};

std::ostream& operator<<(std::ostream& os, const TransportKind& k) { return os << k.name; }

// ---------------------------------------------------------------------------
// Payload helpers.

void PutU64(std::vector<uint8_t>& v, uint64_t x) {
  size_t at = v.size();
  v.resize(at + sizeof(x));
  std::memcpy(v.data() + at, &x, sizeof(x));
}

uint64_t GetU64(const std::vector<uint8_t>& v, size_t at = 0) {
  uint64_t x = 0;
  if (v.size() >= at + sizeof(x)) std::memcpy(&x, v.data() + at, sizeof(x));
  return x;
}

// A small message: [u64 stream][u64 seq] plus `extra` filler bytes.
std::vector<uint8_t> Small(uint64_t stream, uint64_t seq, size_t extra = 0) {
  std::vector<uint8_t> v;
  PutU64(v, stream);
  PutU64(v, seq);
  for (size_t i = 0; i < extra; ++i) v.push_back(static_cast<uint8_t>(seq + i));
  return v;
}

// `size` bytes of a pattern that depends on `seed` and the position.
std::vector<uint8_t> Pattern(size_t size, uint64_t seed) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>((i * 131 + seed * 7 + (i >> 8)) & 0xFF);
  return v;
}

// ---------------------------------------------------------------------------
// The conformance suite.

class TransportConformance : public ::testing::TestWithParam<TransportKind> {
 protected:
  std::unique_ptr<Cluster> Make(int n, uint64_t max_message = kMaxMessage) {
    auto c = GetParam().make(n, max_message);
    if (c) c->Start();
    return c;
  }
};

TEST_P(TransportConformance, MessageArrivesWithSourceKindAndBytes) {
  auto c = Make(2);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->at(0).rank(), 0);
  EXPECT_EQ(c->at(1).rank(), 1);
  EXPECT_EQ(c->at(0).size(), 2);
  EXPECT_FALSE(c->at(0).Name().empty());

  std::vector<uint8_t> payload = {'h', 'e', 'l', 'l', 'o', 0, 255};
  ASSERT_TRUE(c->at(0).Send(1, 42, std::vector<uint8_t>(payload)).ok());
  ASSERT_TRUE(c->inbox(1).WaitForMessages(1));
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].source, 0);
  EXPECT_EQ(got[0].kind, 42);
  EXPECT_EQ(got[0].bytes, payload);
  EXPECT_TRUE(c->inbox(0).messages().empty());
  EXPECT_TRUE(c->inbox(1).rejected().empty());
}

TEST_P(TransportConformance, EmptyPayloadAndExtremeKindsArrive) {
  auto c = Make(2);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->at(1).Send(0, 0, {}).ok());
  ASSERT_TRUE(c->at(1).Send(0, 0xFFFF, {7}).ok());
  ASSERT_TRUE(c->inbox(0).WaitForMessages(2));
  auto got = c->inbox(0).messages();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].source, 1);
  EXPECT_EQ(got[0].kind, 0);
  EXPECT_TRUE(got[0].bytes.empty());
  EXPECT_EQ(got[1].kind, 0xFFFF);
  EXPECT_EQ(got[1].bytes, std::vector<uint8_t>{7});
}

TEST_P(TransportConformance, ManySmallMessagesArriveCompleteAndInOrder) {
  constexpr uint64_t kCount = 10000;
  auto c = Make(2);
  ASSERT_TRUE(c);
  for (uint64_t i = 0; i < kCount; ++i) {
    // Vary size and kind so coalesced batches mix frames of different shapes.
    Status st = c->at(0).Send(1, static_cast<MessageKind>(1 + i % 3), Small(0, i, i % 40));
    ASSERT_TRUE(st.ok()) << "message " << i << ": " << st.ToString();
  }
  ASSERT_TRUE(c->inbox(1).WaitForMessages(kCount))
      << "got " << c->inbox(1).messages().size() << " of " << kCount;
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), kCount);
  for (uint64_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(got[i].source, 0) << i;
    ASSERT_EQ(got[i].kind, 1 + i % 3) << i;
    ASSERT_EQ(got[i].bytes, Small(0, i, i % 40)) << "message " << i << " out of order or damaged";
  }
  EXPECT_TRUE(c->inbox(1).rejected().empty());
}

TEST_P(TransportConformance, LargePayloadArrivesIntact) {
  auto c = Make(2);
  ASSERT_TRUE(c);
  std::vector<uint8_t> big = Pattern(kLargePayload, 1);
  ASSERT_TRUE(c->at(0).Send(1, 9, std::vector<uint8_t>(big)).ok());
  ASSERT_TRUE(c->inbox(1).WaitForMessages(1));
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].source, 0);
  EXPECT_EQ(got[0].kind, 9);
  ASSERT_EQ(got[0].bytes.size(), big.size());
  EXPECT_TRUE(got[0].bytes == big) << "large payload damaged";
}

TEST_P(TransportConformance, SizesAroundTheRendezvousThresholdArriveIntact) {
  auto c = Make(2);
  ASSERT_TRUE(c);
  const std::vector<size_t> sizes = {kRndvThreshold - 1, kRndvThreshold, kRndvThreshold + 1,
                                     2 * kRndvThreshold, kMaxMessage};
  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(c->at(0).Send(1, 3, Pattern(sizes[i], i)).ok()) << sizes[i];
  }
  ASSERT_TRUE(c->inbox(1).WaitForMessages(sizes.size()));
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_EQ(got[i].bytes.size(), sizes[i]) << "message " << i;
    EXPECT_TRUE(got[i].bytes == Pattern(sizes[i], i)) << "message of " << sizes[i] << " bytes";
  }
}

TEST_P(TransportConformance, InterleavedSmallAndLargeKeepOrder) {
  constexpr uint64_t kPairs = 24;
  auto c = Make(2);
  ASSERT_TRUE(c);
  for (uint64_t i = 0; i < kPairs; ++i) {
    ASSERT_TRUE(c->at(0).Send(1, 1, Small(0, 2 * i)).ok());
    std::vector<uint8_t> big = Pattern(kLargePayload, 2 * i + 1);
    std::memcpy(big.data(), &i, sizeof(i));  // the pair number leads the payload
    ASSERT_TRUE(c->at(0).Send(1, 2, std::move(big)).ok());
  }
  ASSERT_TRUE(c->inbox(1).WaitForMessages(2 * kPairs));
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), 2 * kPairs);
  for (uint64_t i = 0; i < kPairs; ++i) {
    const auto& small = got[2 * i];
    const auto& large = got[2 * i + 1];
    ASSERT_EQ(small.kind, 1) << "position " << 2 * i << " should hold a small message";
    ASSERT_EQ(small.bytes, Small(0, 2 * i)) << "pair " << i;
    ASSERT_EQ(large.kind, 2) << "position " << 2 * i + 1 << " should hold a large message";
    std::vector<uint8_t> want = Pattern(kLargePayload, 2 * i + 1);
    std::memcpy(want.data(), &i, sizeof(i));
    ASSERT_TRUE(large.bytes == want) << "large message of pair " << i << " out of order or damaged";
  }
}

TEST_P(TransportConformance, ConcurrentSendersKeepPerSenderOrder) {
  // Ranks 1..3 each send from two threads to rank 0; every (rank, thread)
  // stream must arrive complete and in order. Some messages are large.
  constexpr int kRanks = 4;
  constexpr int kThreadsPerRank = 2;
  constexpr uint64_t kPerThread = 1500;
  auto c = Make(kRanks);
  ASSERT_TRUE(c);
  std::vector<std::thread> threads;
  std::mutex err_mu;
  std::vector<std::string> errors;
  for (int r = 1; r < kRanks; ++r) {
    for (int t = 0; t < kThreadsPerRank; ++t) {
      threads.emplace_back([&, r, t] {
        const uint64_t stream = static_cast<uint64_t>(r * 100 + t);
        for (uint64_t i = 0; i < kPerThread; ++i) {
          size_t extra = (i % 500 == 499) ? kLargePayload : i % 64;
          Status st = c->at(r).Send(0, 5, Small(stream, i, extra));
          if (!st.ok()) {
            std::lock_guard<std::mutex> lock(err_mu);
            errors.push_back(st.ToString());
            return;
          }
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(errors.empty()) << errors.front();
  const size_t total = (kRanks - 1) * kThreadsPerRank * kPerThread;
  ASSERT_TRUE(c->inbox(0).WaitForMessages(total))
      << "got " << c->inbox(0).messages().size() << " of " << total;
  auto got = c->inbox(0).messages();
  EXPECT_EQ(got.size(), total);
  std::map<uint64_t, uint64_t> next;  // stream -> next expected seq
  for (const auto& m : got) {
    uint64_t stream = GetU64(m.bytes, 0);
    uint64_t seq = GetU64(m.bytes, 8);
    ASSERT_EQ(static_cast<int>(stream / 100), m.source) << "stream tagged with the wrong source";
    ASSERT_EQ(seq, next[stream]) << "stream " << stream << " out of order";
    size_t extra = (seq % 500 == 499) ? kLargePayload : seq % 64;
    ASSERT_EQ(m.bytes, Small(stream, seq, extra)) << "stream " << stream << " seq " << seq;
    ++next[stream];
  }
  EXPECT_EQ(next.size(), static_cast<size_t>((kRanks - 1) * kThreadsPerRank));
  for (const auto& [stream, n] : next) EXPECT_EQ(n, kPerThread) << "stream " << stream;
}

TEST_P(TransportConformance, AllToAllTrafficArrives) {
  // Every rank sends to every rank (itself included) at the same time.
  constexpr int kRanks = 3;
  constexpr uint64_t kPerPair = 400;
  auto c = Make(kRanks);
  ASSERT_TRUE(c);
  std::vector<std::thread> threads;
  for (int r = 0; r < kRanks; ++r) {
    threads.emplace_back([&, r] {
      for (uint64_t i = 0; i < kPerPair; ++i) {
        for (int d = 0; d < kRanks; ++d) {
          size_t extra = (i % 100 == 50) ? 3 * kRndvThreshold : i % 16;
          EXPECT_TRUE(c->at(r).Send(d, 4, Small(static_cast<uint64_t>(r), i, extra)).ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int d = 0; d < kRanks; ++d) {
    ASSERT_TRUE(c->inbox(d).WaitForMessages(kRanks * kPerPair)) << "rank " << d;
    std::map<int, uint64_t> next;
    for (const auto& m : c->inbox(d).messages()) {
      uint64_t seq = GetU64(m.bytes, 8);
      ASSERT_EQ(GetU64(m.bytes, 0), static_cast<uint64_t>(m.source));
      ASSERT_EQ(seq, next[m.source]) << "from " << m.source << " to " << d;
      ++next[m.source];
    }
    for (int s = 0; s < kRanks; ++s) EXPECT_EQ(next[s], kPerPair) << s << " -> " << d;
  }
}

TEST_P(TransportConformance, SendToSelf) {
  auto c = Make(2);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->at(1).Send(1, 11, Small(1, 0)).ok());
  ASSERT_TRUE(c->at(1).Send(1, 12, Pattern(kLargePayload, 5)).ok());
  ASSERT_TRUE(c->at(1).Send(1, 13, Small(1, 2)).ok());
  ASSERT_TRUE(c->inbox(1).WaitForMessages(3));
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& m : got) EXPECT_EQ(m.source, 1);
  EXPECT_EQ(got[0].kind, 11);
  EXPECT_EQ(got[0].bytes, Small(1, 0));
  EXPECT_EQ(got[1].kind, 12);
  EXPECT_TRUE(got[1].bytes == Pattern(kLargePayload, 5));
  EXPECT_EQ(got[2].kind, 13);
  EXPECT_EQ(got[2].bytes, Small(1, 2));
  EXPECT_TRUE(c->inbox(0).messages().empty());
}

TEST_P(TransportConformance, TooLargeIsRefusedAndLaterSendsWork) {
  auto c = Make(2);
  ASSERT_TRUE(c);
  Status st = c->at(0).Send(1, 1, std::vector<uint8_t>(kMaxMessage + 1, 0x5A));
  EXPECT_EQ(st.code(), StatusCode::kTooLarge) << st.ToString();
  ASSERT_TRUE(c->at(0).Send(1, 2, Small(0, 1)).ok());
  ASSERT_TRUE(c->at(0).Send(1, 3, Pattern(kMaxMessage, 3)).ok()) << "exactly the limit is allowed";
  ASSERT_TRUE(c->inbox(1).WaitForMessages(2));
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), 2u) << "the refused message must not arrive";
  EXPECT_EQ(got[0].kind, 2);
  EXPECT_EQ(got[0].bytes, Small(0, 1));
  EXPECT_EQ(got[1].kind, 3);
  EXPECT_TRUE(got[1].bytes == Pattern(kMaxMessage, 3));
}

TEST_P(TransportConformance, ManyMessagesUnderASmallLimitArrive) {
  // Each message is within the limit; whatever batching a transport does
  // internally must not make the receiver see them as one oversize message.
  constexpr uint64_t kSmallLimit = 4096;
  constexpr uint64_t kCount = 2000;
  auto c = Make(2, kSmallLimit);
  ASSERT_TRUE(c);
  for (uint64_t i = 0; i < kCount; ++i) {
    Status st = c->at(0).Send(1, 1, Small(0, i, kSmallLimit - 16));
    ASSERT_TRUE(st.ok()) << "message " << i << ": " << st.ToString() << "; receiver rejections: "
                         << c->inbox(1).rejected().size();
  }
  ASSERT_TRUE(c->inbox(1).WaitForMessages(kCount))
      << "got " << c->inbox(1).messages().size() << " of " << kCount << ", "
      << c->inbox(1).rejected().size() << " rejections"
      << (c->inbox(1).rejected().empty() ? "" : ": " + c->inbox(1).rejected()[0].why.ToString());
  auto got = c->inbox(1).messages();
  for (uint64_t i = 0; i < kCount; ++i) ASSERT_EQ(GetU64(got[i].bytes, 8), i);
  EXPECT_TRUE(c->inbox(1).rejected().empty());
}

TEST_P(TransportConformance, OutOfRangeRankIsNotFound) {
  auto c = Make(2);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->at(0).Send(2, 1, {1}).code(), StatusCode::kNotFound);
  EXPECT_EQ(c->at(0).Send(-1, 1, {1}).code(), StatusCode::kNotFound);
  EXPECT_EQ(c->at(1).Send(1000, 1, {1}).code(), StatusCode::kNotFound);
  ASSERT_TRUE(c->at(0).Send(1, 1, {1}).ok());
  ASSERT_TRUE(c->inbox(1).WaitForMessages(1));
  EXPECT_EQ(c->inbox(1).messages().size(), 1u);
}

TEST_P(TransportConformance, QueuedMessagesAreDeliveredBeforeStop) {
  constexpr uint64_t kCount = 300;
  auto c = Make(2);
  ASSERT_TRUE(c);
  for (uint64_t i = 0; i < kCount; ++i) {
    size_t extra = (i == kCount - 1) ? kLargePayload : 0;
    ASSERT_TRUE(c->at(0).Send(1, 1, Small(0, i, extra)).ok());
  }
  c->at(0).Stop();  // the sender stops at once; its queue must still go out
  ASSERT_TRUE(c->inbox(1).WaitForMessages(kCount))
      << "got " << c->inbox(1).messages().size() << " of " << kCount;
  auto got = c->inbox(1).messages();
  for (uint64_t i = 0; i < kCount; ++i) ASSERT_EQ(GetU64(got[i].bytes, 8), i);
}

TEST_P(TransportConformance, StopThenDestroyIsClean) {
  auto c = Make(3);
  ASSERT_TRUE(c);
  // Traffic in both directions, so every link has been used.
  for (int s = 0; s < 3; ++s) {
    for (int d = 0; d < 3; ++d) ASSERT_TRUE(c->at(s).Send(d, 1, Small(s, 0)).ok());
  }
  for (int d = 0; d < 3; ++d) ASSERT_TRUE(c->inbox(d).WaitForMessages(3));
  for (int r = 0; r < 3; ++r) c->at(r).Stop();
  c->at(0).Stop();  // stopping twice is harmless
  c->transports.clear();  // destructors must return
  SUCCEED();
}

TEST_P(TransportConformance, DestroyWithoutExplicitStopIsClean) {
  auto c = Make(2);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->at(0).Send(1, 1, Pattern(kLargePayload, 2)).ok());
  ASSERT_TRUE(c->inbox(1).WaitForMessages(1));
  c->transports.clear();
  SUCCEED();
}

INSTANTIATE_TEST_SUITE_P(Transports, TransportConformance,
                         ::testing::Values(TransportKind{"Loopback", &MakeLoopback},
                                           TransportKind{"Ucx", &MakeUcx}),
                         [](const ::testing::TestParamInfo<TransportKind>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------
// Loopback only: simulated rank death.

TEST(LoopbackTransport, DisconnectNotifiesPeersAndRefusesSends) {
  auto c = MakeLoopback(3, kMaxMessage);
  c->Start();
  ASSERT_TRUE(c->at(0).Send(2, 1, {1}).ok());
  ASSERT_TRUE(c->inbox(2).WaitForMessages(1));

  c->hub->Disconnect(2);
  ASSERT_TRUE(c->inbox(0).WaitForFailures(1));
  ASSERT_TRUE(c->inbox(1).WaitForFailures(1));
  for (int r : {0, 1}) {
    auto f = c->inbox(r).failures();
    ASSERT_EQ(f.size(), 1u) << "rank " << r;
    EXPECT_EQ(f[0].rank, 2);
    EXPECT_EQ(f[0].why.code(), StatusCode::kRankDied);
  }
  EXPECT_EQ(c->at(0).Send(2, 1, {1}).code(), StatusCode::kRankDied);
  EXPECT_EQ(c->at(1).Send(2, 1, {1}).code(), StatusCode::kRankDied);

  // Disconnecting again does not notify again; survivors still talk.
  c->hub->Disconnect(2);
  ASSERT_TRUE(c->at(0).Send(1, 7, {9}).ok());
  ASSERT_TRUE(c->inbox(1).WaitForMessages(1));
  EXPECT_EQ(c->inbox(1).messages()[0].kind, 7);
  EXPECT_EQ(c->inbox(0).failures().size(), 1u);
  EXPECT_EQ(c->inbox(1).failures().size(), 1u);
  EXPECT_TRUE(c->inbox(2).failures().empty());
}

// ---------------------------------------------------------------------------
// UCX only: what the receiver checks.

std::vector<uint8_t> OneFrame(MessageKind kind, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> frames;
  AppendFrame(frames, kind, data.data(), data.size());
  return frames;
}

// A header from `source` whose job token differs from this job's in byte `byte`.
WireHeader ForgedHeader(int source, size_t byte, uint8_t flip) {
  WireHeader h;
  h.source = source;
  h.token = TestToken();
  h.token[byte] ^= flip;
  return h;
}

TEST(UcxTransport, WrongTokenIsRejectedAndNotDelivered) {
  auto c = MakeUcx(2, kMaxMessage);
  ASSERT_TRUE(c);
  c->Start();
  ASSERT_TRUE(c->ucx[0]->SendRawForTest(1, ForgedHeader(0, 3, 0x01), OneFrame(66, {6, 6, 6})).ok());
  ASSERT_TRUE(c->at(0).Send(1, 7, {7}).ok());
  // Same sender and destination: the genuine message is handled after the forged one.
  ASSERT_TRUE(c->inbox(1).WaitForMessages(1));
  ASSERT_TRUE(c->inbox(1).WaitForRejected(1));
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), 1u) << "the forged message was delivered";
  EXPECT_EQ(got[0].kind, 7);
  EXPECT_EQ(got[0].bytes, std::vector<uint8_t>{7});
  auto rej = c->inbox(1).rejected();
  ASSERT_EQ(rej.size(), 1u);
  EXPECT_EQ(rej[0].why.code(), StatusCode::kUnauthenticated) << rej[0].why.ToString();
}

TEST(UcxTransport, LargeWrongTokenMessageIsRejectedAndOtherLinksKeepWorking) {
  // Rank 2 stands in for a process of another job: its message is big enough
  // that UCX moves it by rendezvous. Rank 1 must refuse the data and keep
  // taking rank 0's traffic, without declaring anyone dead.
  auto c = MakeUcx(3, kMaxMessage);
  ASSERT_TRUE(c);
  c->Start();
  ASSERT_TRUE(c->ucx[2]->SendRawForTest(1, ForgedHeader(2, 0, 0xFF),
                                        OneFrame(66, Pattern(512 * 1024, 1))).ok());
  ASSERT_TRUE(c->inbox(1).WaitForRejected(1)) << Describe(*c);
  ASSERT_TRUE(c->at(0).Send(1, 7, Small(0, 1)).ok());
  ASSERT_TRUE(c->at(0).Send(1, 8, Pattern(kLargePayload, 2)).ok());
  ASSERT_TRUE(c->inbox(1).WaitForMessages(2)) << Describe(*c);
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), 2u) << Describe(*c);
  EXPECT_EQ(got[0].source, 0);
  EXPECT_EQ(got[0].kind, 7);
  EXPECT_EQ(got[1].kind, 8);
  EXPECT_TRUE(got[1].bytes == Pattern(kLargePayload, 2));
  auto rej = c->inbox(1).rejected();
  ASSERT_EQ(rej.size(), 1u) << Describe(*c);
  EXPECT_EQ(rej[0].why.code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(c->inbox(0).failures().empty()) << Describe(*c);
  EXPECT_TRUE(c->inbox(1).failures().empty()) << Describe(*c);
}

TEST(UcxTransport, RejectedRendezvousMessageDoesNotBreakTheLink) {
  auto c = MakeUcx(2, kMaxMessage);
  ASSERT_TRUE(c);
  c->Start();
  ASSERT_TRUE(c->ucx[0]->SendRawForTest(1, ForgedHeader(0, 0, 0xFF),
                                        OneFrame(66, Pattern(512 * 1024, 1))).ok());
  ASSERT_TRUE(c->inbox(1).WaitForRejected(1)) << Describe(*c);
  Status st = c->at(0).Send(1, 8, Pattern(kLargePayload, 2));
  ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << Describe(*c);
  ASSERT_TRUE(c->inbox(1).WaitForMessages(1)) << Describe(*c);
  EXPECT_TRUE(c->inbox(1).messages()[0].bytes == Pattern(kLargePayload, 2));
  EXPECT_TRUE(c->inbox(0).failures().empty()) << Describe(*c);
}

TEST(UcxTransport, ForgedSourceRankIsRejected) {
  auto c = MakeUcx(2, kMaxMessage);
  ASSERT_TRUE(c);
  c->Start();
  WireHeader forged;
  forged.source = 5;  // not a rank of this job
  forged.token = TestToken();
  ASSERT_TRUE(c->ucx[0]->SendRawForTest(1, forged, OneFrame(66, {1})).ok());
  WireHeader bad_magic;
  bad_magic.magic = 0x12345678;
  bad_magic.source = 0;
  bad_magic.token = TestToken();
  ASSERT_TRUE(c->ucx[0]->SendRawForTest(1, bad_magic, OneFrame(66, {2})).ok());
  ASSERT_TRUE(c->at(0).Send(1, 7, {7}).ok());
  ASSERT_TRUE(c->inbox(1).WaitForMessages(1));
  ASSERT_TRUE(c->inbox(1).WaitForRejected(2));
  EXPECT_EQ(c->inbox(1).messages().size(), 1u);
  for (const auto& r : c->inbox(1).rejected()) {
    EXPECT_EQ(r.why.code(), StatusCode::kMalformed) << r.why.ToString();
  }
}

TEST(UcxTransport, MalformedFramesAreRejected) {
  auto c = MakeUcx(2, kMaxMessage);
  ASSERT_TRUE(c);
  c->Start();
  WireHeader h;
  h.source = 0;
  h.token = TestToken();
  std::vector<uint8_t> frames = OneFrame(66, {1, 2, 3, 4});
  frames.resize(frames.size() - 2);  // the frame claims more bytes than there are
  ASSERT_TRUE(c->ucx[0]->SendRawForTest(1, h, std::move(frames)).ok());
  ASSERT_TRUE(c->at(0).Send(1, 7, {7}).ok());
  ASSERT_TRUE(c->inbox(1).WaitForMessages(1));
  ASSERT_TRUE(c->inbox(1).WaitForRejected(1));
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, 7);
  EXPECT_EQ(c->inbox(1).rejected()[0].why.code(), StatusCode::kMalformed);
}

TEST(UcxTransport, ReceiverEnforcesItsOwnLimit) {
  // Rank 0 may send up to 1 MiB; rank 1 accepts at most 64 KiB.
  constexpr uint64_t kReceiverLimit = 64 * 1024;
  auto c = MakeUcxWith(2, [&](int rank) {
    return TestUcxOptions(rank == 1 ? kReceiverLimit : kMaxMessage);
  });
  ASSERT_TRUE(c);
  c->Start();
  // The small message goes first: after the rejection the sender's link to
  // rank 1 is not usable (see RejectedRendezvousMessageDoesNotBreakTheLink).
  ASSERT_TRUE(c->at(0).Send(1, 2, Small(0, 2)).ok());
  ASSERT_TRUE(c->at(0).Send(1, 1, Pattern(kLargePayload, 1)).ok());
  ASSERT_TRUE(c->inbox(1).WaitForMessages(1)) << Describe(*c);
  ASSERT_TRUE(c->inbox(1).WaitForRejected(1)) << Describe(*c);
  auto got = c->inbox(1).messages();
  ASSERT_EQ(got.size(), 1u) << "the oversize message was delivered";
  EXPECT_EQ(got[0].kind, 2);
  EXPECT_EQ(c->inbox(1).rejected()[0].why.code(), StatusCode::kTooLarge);
}

TEST(UcxTransport, SendAfterStopIsRefused) {
  auto c = MakeUcx(2, kMaxMessage);
  ASSERT_TRUE(c);
  c->Start();
  c->at(0).Stop();
  EXPECT_EQ(c->at(0).Send(1, 1, {1}).code(), StatusCode::kShutdown);
}

TEST(UcxTransport, StartWithoutPeerAddressesFails) {
  auto r = UcxTransport::Create(0, 2, TestUcxOptions(kMaxMessage));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r.value()->LocalAddress().empty());
  Inbox inbox;
  EXPECT_EQ(r.value()->Start(inbox.MakeCallbacks()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.value()->SetPeerAddresses({{1}}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rankflow::transport
