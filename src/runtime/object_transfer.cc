// Objects between ranks: references borrowed by other ranks (counted at the
// owner), Gets by non-owners (one fetch per object at a time, answered with
// a store location on the same node or the bytes by rendezvous straight into
// the reader's store), copies cached where they were fetched, and readers
// sent to those copies instead of the owner.
#include <algorithm>
#include <chrono>
#include <thread>

#include "common/logging.h"
#include "objects/ref_handle.h"
#include "runtime/object_wire.h"
#include "runtime/runtime.h"
#include "runtime/wire.h"

namespace rankflow::runtime {

struct Runtime::Fetch {
  bool done = false;
  objects::ObjectValue value;
  int asked = -1;        // rank the request went to (set with Ask)
  int retries = 0;       // after a miss or a bad checksum
  uint64_t last_use = 0; // for eviction, in fetch ticks
  int64_t asked_us = 0;  // when the request went out (steady clock)
  int64_t wait_us = 0;   // how long to wait for the answer before asking again

  /// Records a request about to go to `rank` (under fetch_mu_).
  void Ask(int rank) {
    asked = rank;
    asked_us = objects::NowMicros();
  }
  std::vector<std::function<void(const objects::ObjectValue&)>> then;  // run once done
};

class Runtime::BorrowSink : public objects::RefSink {
 public:
  explicit BorrowSink(Runtime* rt) : rt_(rt) {}
  void ReleaseRef(const internal::ObjectId& id, uint64_t token) override {
    rt_->ReleaseBorrowed(id, token);
  }

 private:
  Runtime* rt_;
};

namespace {
constexpr int kMaxRetries = 2;
using Key = std::pair<uint32_t, uint64_t>;
using objects::ErrorValue;
}  // namespace

namespace {
thread_local std::vector<internal::ExportedRef> tls_exports;
thread_local bool tls_import_own = false;
}  // namespace

bool SetImportOwn(bool own) {
  bool was = tls_import_own;
  tls_import_own = own;
  return was;
}

std::vector<internal::ExportedRef> TakeExports() {
  std::vector<internal::ExportedRef> out;
  out.swap(tls_exports);
  return out;
}

std::shared_ptr<const objects::ContainedRefs> Runtime::MakeContained(
    std::vector<internal::ExportedRef> ids) {
  if (ids.empty()) return nullptr;
  auto c = std::make_shared<objects::ContainedRefs>();
  c->ids = std::move(ids);
  std::weak_ptr<objects::RefSink> local = objects_;
  std::weak_ptr<objects::RefSink> remote = borrow_sink_;
  const uint32_t self = static_cast<uint32_t>(rank_);
  c->release = [local, remote, self](const std::vector<internal::ExportedRef>& ids) {
    for (const auto& e : ids) {
      auto sink = (e.id.owner == self ? local : remote).lock();
      if (sink) sink->ReleaseRef(e.id, e.token);
    }
  };
  return c;
}

void Runtime::InitObjectTransfer() { borrow_sink_ = std::make_shared<BorrowSink>(this); }

internal::ExportedRef Runtime::ExportRef(const std::shared_ptr<internal::RefHandle>& handle) {
  if (handle == nullptr) return {};
  internal::ExportedRef e{handle->id(), 0};
  if (IsCollective(e.id)) {
    // Only a name on the other ranks: it cannot travel inside a value. The
    // value being encoded is abandoned; the counts it took so far go back.
    MakeContained(TakeExports());
    throw Error(ErrorCode::kInvalidArgument,
                "object " + e.id.ToString() + " is a collective task's result: it cannot be nested "
                "in a value (pass it to tasks as an argument)");
  }
  if (static_cast<int>(e.id.owner) == rank_) {
    objects_->AddRef(e.id.seq);  // counted before the bytes can leave
  } else if (transport_) {
    // The new borrow's release may come from a third rank and overtake this
    // announcement; the token lets the owner pair the two in any order.
    e.token = (static_cast<uint64_t>(rank_) << 44) | (next_borrow_token_.fetch_add(1) & ((1ull << 44) - 1));
    std::vector<uint8_t> msg;
    EncodeBorrow(msg, e.id.seq, e.token);
    if (const int delay = addref_delay_ms_.load(); delay > 0) {
      // Testing only: the announcement arrives late (the test outlives it).
      std::thread([this, id = e.id, delay, msg = std::move(msg)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        if (!stopped_) (void)transport_->Send(static_cast<int>(id.owner), kObjectAddRef, std::move(msg));
      }).detach();
    } else {
      Status st = transport_->Send(static_cast<int>(e.id.owner), kObjectAddRef, std::move(msg));
      if (!st.ok()) RF_WARN("borrowing object {}: {}", e.id.ToString(), st.ToString());
    }
  }
  tls_exports.push_back(e);
  return e;
}

std::shared_ptr<internal::RefHandle> Runtime::ImportRef(const internal::ObjectId& id, uint64_t token) {
  if (id.seq == 0) return nullptr;
  if (id.owner >= static_cast<uint32_t>(size_)) {
    throw Error(ErrorCode::kMalformed, "object reference " + id.ToString() + " names no rank of this job");
  }
  if (tls_import_own) {
    // Decoding a stored object: it keeps its counts; this copy takes one of
    // its own, announced and later released by this rank, in order.
    token = 0;
    if (static_cast<int>(id.owner) == rank_) {
      objects_->AddRef(id.seq);
    } else if (transport_) {
      std::vector<uint8_t> msg;
      EncodeBorrow(msg, id.seq, 0);
      (void)transport_->Send(static_cast<int>(id.owner), kObjectAddRef, std::move(msg));
    }
  }
  if (static_cast<int>(id.owner) == rank_) {
    return std::make_shared<internal::RefHandle>(id, objects_, token);
  }
  return std::make_shared<internal::RefHandle>(id, borrow_sink_, token);
}

void Runtime::ReleaseBorrowed(const internal::ObjectId& id, uint64_t token) {
  {
    std::lock_guard<std::mutex> lock(fetch_mu_);
    auto it = fetches_.find({id.owner, id.seq});
    if (it != fetches_.end() && it->second->done) fetches_.erase(it);  // the cached copy goes
  }
  if (!transport_ || stopped_) return;
  std::vector<uint8_t> msg;
  EncodeBorrow(msg, id.seq, token);
  (void)transport_->Send(static_cast<int>(id.owner), kObjectRelease, std::move(msg));
}

void Runtime::SendFetch(const internal::ObjectId& id, int to, bool direct) {
  std::vector<uint8_t> msg;
  EncodeFetch(msg, FetchWire{id.owner, id.seq, direct});
  counters_.fetches_sent.fetch_add(1, std::memory_order_relaxed);
  Status st = transport_ ? transport_->Send(to, kObjectFetch, std::move(msg))
                         : Status(StatusCode::kNotFound, "no transport");
  if (!st.ok() && to != static_cast<int>(id.owner)) {
    {
      std::lock_guard<std::mutex> lock(fetch_mu_);
      auto it = fetches_.find({id.owner, id.seq});
      if (it != fetches_.end() && !it->second->done) it->second->Ask(static_cast<int>(id.owner));
    }
    SendFetch(id, static_cast<int>(id.owner), true);
    return;
  }
  if (!st.ok()) {
    FinishFetch(id, ErrorValue(StatusCode::kObjectLost, "object " + id.ToString() +
                                                            " cannot be fetched from rank " +
                                                            std::to_string(to) + ": " + st.message()));
  }
}

std::shared_ptr<Runtime::Fetch> Runtime::StartFetch(const internal::ObjectId& id) {
  std::shared_ptr<Fetch> f;
  {
    std::lock_guard<std::mutex> lock(fetch_mu_);
    auto& slot = fetches_[{id.owner, id.seq}];
    if (slot) {
      slot->last_use = ++fetch_tick_;
      return slot;  // in flight already (merged) or cached
    }
    slot = std::make_shared<Fetch>();
    slot->Ask(static_cast<int>(id.owner));
    slot->last_use = ++fetch_tick_;
    f = slot;
  }
  SendFetch(id, static_cast<int>(id.owner), false);
  return f;
}

std::shared_ptr<internal::RefHandle> Runtime::LocalizeRef(
    const std::shared_ptr<internal::RefHandle>& ref) {
  if (ref == nullptr || static_cast<int>(ref->id().owner) == rank_) return ref;
  // A borrowed reference as a dependency: a local object that completes
  // with the fetched value, so dependency tracking stays owner-local.
  const uint64_t seq = objects_->CreatePending();
  auto local = std::make_shared<internal::RefHandle>(
      internal::ObjectId{static_cast<uint32_t>(rank_), 0, seq}, objects_);
  if (IsCollective(ref->id())) {
    // Another rank's collective result is only a name here (an actor call's argument).
    objects_->Complete(seq, objects::ErrorValue(StatusCode::kInvalidArgument, NotHere(ref->id()), "", rank_));
    return local;
  }
  std::shared_ptr<Fetch> f = StartFetch(ref->id());
  auto complete = [this, seq, ref](const objects::ObjectValue& v) { objects_->Complete(seq, v); };
  objects::ObjectValue now;
  {
    std::lock_guard<std::mutex> lock(fetch_mu_);
    if (!f->done) {
      f->then.push_back(std::move(complete));
      return local;
    }
    now = f->value;
  }
  complete(now);
  return local;
}

void Runtime::FinishFetch(const internal::ObjectId& id, objects::ObjectValue value) {
  std::vector<std::function<void(const objects::ObjectValue&)>> then;
  objects::ObjectValue result;
  {
    std::lock_guard<std::mutex> lock(fetch_mu_);
    auto it = fetches_.find({id.owner, id.seq});
    if (it == fetches_.end() || it->second->done) return;
    it->second->done = true;
    it->second->value = std::move(value);
    then.swap(it->second->then);
    if (!then.empty()) result = it->second->value;
    // Failures are not cached: a later Get asks again.
    if (it->second->value.error) {
      auto keep = it->second;
      fetches_.erase(it);
    }
  }
  fetch_cv_.notify_all();
  for (auto& fn : then) fn(result);
}

Result<objects::ObjectValue> Runtime::GetRemote(const internal::ObjectId& id, int64_t deadline) {
  if (id.owner >= static_cast<uint32_t>(size_)) {
    return Status(StatusCode::kNotFound, "object " + id.ToString() + " names no rank of this job");
  }
  std::shared_ptr<Fetch> f = StartFetch(id);
  auto done = [&] {
    std::lock_guard<std::mutex> l(fetch_mu_);
    return f->done;
  };
  if (!done()) {
    NoteWait();
    if (RunningInline() && !PollUntil(done, deadline)) {
      return Status(StatusCode::kTimeout, "object not fetched before the timeout");
    }
  }
  std::unique_lock<std::mutex> lock(fetch_mu_);
  for (;;) {
    if (f->done) return f->value;
    if (deadline < 0) {
      fetch_cv_.wait(lock);
    } else {
      int64_t left = deadline - objects::NowMicros();
      if (left <= 0) return Status(StatusCode::kTimeout, "object not fetched before the timeout");
      fetch_cv_.wait_for(lock, std::chrono::microseconds(left));
    }
  }
}

void Runtime::StartFetchWatchdog() {
  if (!transport_ || fetch_resend_ms_.load() <= 0) return;
  fetch_watchdog_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(fetch_mu_);
    while (!watchdog_stop_) {
      // Wake a few times per resend interval (at least every 10 ms, at most every second).
      const int64_t period =
          std::clamp<int64_t>(int64_t{fetch_resend_ms_.load()} * 1000 / 4, 10'000, 1'000'000);
      watchdog_cv_.wait_for(lock, std::chrono::microseconds(period));
      const int64_t resend_us = int64_t{fetch_resend_ms_.load()} * 1000;
      if (watchdog_stop_ || resend_us <= 0) continue;
      // An answer that never came (dropped as malformed, a failed receive):
      // ask the owner again, waiting twice as long each time.
      const int64_t now = objects::NowMicros();
      std::vector<internal::ObjectId> overdue;
      for (auto& [key, f] : fetches_) {
        if (f->done || f->asked_us == 0) continue;
        if (f->wait_us == 0) f->wait_us = resend_us;
        if (now - f->asked_us < f->wait_us) continue;
        f->wait_us *= 2;
        f->Ask(static_cast<int>(key.first));
        overdue.push_back(internal::ObjectId{key.first, 0, key.second});
      }
      if (overdue.empty()) continue;
      lock.unlock();
      for (const auto& id : overdue) {
        counters_.fetches_resent.fetch_add(1, std::memory_order_relaxed);
        RF_DEBUG("object {}: no answer yet; asking its owner again", id.ToString());
        SendFetch(id, static_cast<int>(id.owner), true);
      }
      lock.lock();
    }
  });
}

void Runtime::StopFetchWatchdog() {
  {
    std::lock_guard<std::mutex> lock(fetch_mu_);
    watchdog_stop_ = true;
  }
  watchdog_cv_.notify_all();
  if (fetch_watchdog_.joinable()) fetch_watchdog_.join();
}

bool Runtime::EvictCached() {
  std::shared_ptr<Fetch> victim;
  {
    std::lock_guard<std::mutex> lock(fetch_mu_);
    auto best = fetches_.end();
    for (auto it = fetches_.begin(); it != fetches_.end(); ++it) {
      const auto& v = it->second->value;
      if (!it->second->done || v.error || v.data.size() < inline_bytes_) continue;
      if (store_->SharedRefs(v.data) == 0) continue;  // not in the store
      if (best == fetches_.end() || it->second->last_use < best->second->last_use) best = it;
    }
    if (best == fetches_.end()) return false;
    victim = best->second;
    fetches_.erase(best);
  }
  counters_.objects_evicted.fetch_add(1);
  return true;  // freed when the last reader's view goes
}

void Runtime::DropFetchedCopies() {
  std::vector<std::shared_ptr<Fetch>> dropped;  // released outside the lock
  std::lock_guard<std::mutex> lock(fetch_mu_);
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    if (it->second->done) {
      dropped.push_back(std::move(it->second));
      it = fetches_.erase(it);
    } else {
      ++it;
    }
  }
}

void Runtime::FailFetchesFrom(int rank) {
  std::vector<Key> lost;
  {
    std::lock_guard<std::mutex> lock(fetch_mu_);
    for (const auto& [key, f] : fetches_) {
      if (!f->done && f->asked == rank) lost.push_back(key);
    }
  }
  for (const auto& [owner, seq] : lost) {
    internal::ObjectId id{owner, 0, seq};
    if (static_cast<int>(owner) != rank) {
      // A holder died, not the owner: ask the owner itself.
      {
        std::lock_guard<std::mutex> lock(fetch_mu_);
        auto it = fetches_.find({owner, seq});
        if (it == fetches_.end() || it->second->done) continue;
        it->second->Ask(static_cast<int>(owner));
      }
      SendFetch(id, static_cast<int>(owner), true);
      continue;
    }
    FinishFetch(id, ErrorValue(StatusCode::kObjectLost,
                               "object " + id.ToString() + " is lost: its owner, rank " +
                                   std::to_string(rank) + ", died"));
  }
}

void Runtime::OnObjectMessage(int source, uint16_t kind, const Buffer& msg) {
  if (kind == kObjectFetch) return OnFetch(source, msg);
  if (kind == kObjectData) return OnData(source, msg);
  uint64_t seq = 0, token = 0;
  Status st = kind == kObjectHave ? DecodeObjectSeq(msg, &seq) : DecodeBorrow(msg, &seq, &token);
  if (!st.ok()) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped an object message from rank {}: {}", source, st.ToString());
    return;
  }
  if (kind == kObjectAddRef) {
    objects_->AddBorrow(seq, token);
  } else if (kind == kObjectRelease) {
    if (objects_->ReleaseBorrow(seq, token)) {
      std::lock_guard<std::mutex> lock(holders_mu_);
      holders_.erase(seq);
      serve_turn_.erase(seq);
    }
  } else if (kind == kObjectHave) {
    std::lock_guard<std::mutex> lock(holders_mu_);
    auto& h = holders_[seq];
    if (std::find(h.begin(), h.end(), source) == h.end()) h.push_back(source);
  }
}

void Runtime::OnFetch(int source, const Buffer& msg) {
  FetchWire f;
  Status st = DecodeFetch(msg, &f);
  if (!st.ok() || f.owner >= static_cast<uint32_t>(size_)) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped a fetch from rank {}: {}", source, st.ok() ? "bad owner" : st.ToString());
    return;
  }
  if (static_cast<int>(f.owner) == rank_) {
    objects_->OnReady(f.seq, [this, source, f](const objects::ObjectValue& v) {
      Serve(source, f.owner, f.seq, v, f.direct);
    });
    return;
  }
  // A copy held here on the owner's behalf, or one on its way here (then
  // the reader is answered when it arrives).
  objects::ObjectValue v;
  {
    std::lock_guard<std::mutex> lock(fetch_mu_);
    auto it = fetches_.find({f.owner, f.seq});
    if (it != fetches_.end() && !it->second->done && it->second->asked == static_cast<int>(f.owner)) {
      it->second->then.push_back([this, source, f](const objects::ObjectValue& got) {
        if (got.error) return SendMiss(source, f.owner, f.seq);
        Serve(source, f.owner, f.seq, got, true);
      });
      return;
    }
    if (it != fetches_.end() && it->second->done && !it->second->value.error) {
      v = it->second->value;
      it->second->last_use = ++fetch_tick_;
    }
  }
  if (v.data.empty()) return SendMiss(source, f.owner, f.seq);
  Serve(source, f.owner, f.seq, std::move(v), true);
}

void Runtime::SendMiss(int dest, uint32_t owner, uint64_t seq) {
  std::vector<uint8_t> out;
  DataWire d;
  d.owner = owner;
  d.seq = seq;
  d.form = DataForm::kMiss;
  EncodeDataHeader(out, d);
  (void)transport_->Send(dest, kObjectData, std::move(out));
}

void Runtime::Serve(int dest, uint32_t owner, uint64_t seq, objects::ObjectValue value,
                    bool direct) {
  DataWire d;
  d.owner = owner;
  d.seq = seq;
  std::vector<uint8_t> out;
  if (!value.error && value.spilled) {
    Status st = Materialize(seq, &value);
    if (!st.ok()) value = ErrorValue(st.code(), st.message());
  }
  if (value.error) {
    d.form = DataForm::kError;
    // A freed object is lost to the reader (the owner dropped it).
    d.code = static_cast<int32_t>(value.error->code == StatusCode::kNotFound ? StatusCode::kObjectLost
                                                                             : value.error->code);
    d.message = (value.error->task_name.empty() ? "" : "task '" + value.error->task_name + "': ") +
                value.error->message;
    EncodeDataHeader(out, d);
    (void)transport_->Send(dest, kObjectData, std::move(out));
    return;
  }
  const Buffer& data = value.data;
  const bool large = data.size() >= inline_bytes_;
  store::Descriptor where;
  if (large && store_ && SameNode(dest) && store_->Describe(data, &where)) {
    store_->AddRef(where);  // adopted by the reader
    d.form = DataForm::kStored;
    d.stored = where;
    EncodeDataHeader(out, d);
    Status st = transport_->Send(dest, kObjectData, std::move(out));
    if (!st.ok()) {
      store_->Release(where);
      RF_WARN("object {}:{} to rank {}: {}", owner, seq, dest, st.ToString());
    }
    counters_.fetches_served.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (large && static_cast<int>(owner) == rank_) {
    // A rank that asks holds no copy (any more).
    std::lock_guard<std::mutex> lock(holders_mu_);
    auto it = holders_.find(seq);
    if (it != holders_.end()) it->second.erase(std::remove(it->second.begin(), it->second.end(), dest), it->second.end());
  }
  if (large && !direct && static_cast<int>(owner) == rank_) {
    // Spread readers over the copies: one on the reader's node if there is
    // one, else take turns between this rank and the holders elsewhere.
    int to = -1;
    {
      std::lock_guard<std::mutex> lock(holders_mu_);
      auto it = holders_.find(seq);
      if (it != holders_.end() && !it->second.empty()) {
        for (int h : it->second) {
          if (h != dest && !rank_nodes_.empty() && rank_nodes_[h] == rank_nodes_[dest]) to = h;
        }
        if (to < 0) {
          uint64_t turn = serve_turn_[seq]++;
          size_t pick = turn % (it->second.size() + 1);
          if (pick > 0 && it->second[pick - 1] != dest) to = it->second[pick - 1];
        }
      }
    }
    if (to >= 0) {
      d.form = DataForm::kRedirect;
      d.holder = to;
      EncodeDataHeader(out, d);
      (void)transport_->Send(dest, kObjectData, std::move(out));
      return;
    }
  }
  d.form = DataForm::kBytes;
  d.size = data.size();
  d.has_checksum = config_.checksum;
  if (d.has_checksum) d.checksum = Checksum64(data.data(), data.size());
  EncodeDataHeader(out, d);
  Status st = transport_->SendWithBody(dest, kObjectData, std::move(out), data);
  if (st.ok() && large && static_cast<int>(owner) == rank_) {
    // `dest` will hold a copy: later readers may be sent there (it answers
    // them once its copy has arrived).
    std::lock_guard<std::mutex> lock(holders_mu_);
    auto& h = holders_[seq];
    if (std::find(h.begin(), h.end(), dest) == h.end()) h.push_back(dest);
  }
  if (!st.ok()) {
    std::vector<uint8_t> err;
    DataWire e;
    e.owner = owner;
    e.seq = seq;
    e.form = DataForm::kError;
    e.code = static_cast<int32_t>(st.code());
    e.message = "object " + std::to_string(owner) + ":" + std::to_string(seq) + " cannot be sent: " +
                st.message();
    EncodeDataHeader(err, e);
    (void)transport_->Send(dest, kObjectData, std::move(err));
    return;
  }
  counters_.fetches_served.fetch_add(1, std::memory_order_relaxed);
}

void Runtime::OnData(int source, const Buffer& msg) {
  DataWire d;
  Status st = DecodeData(msg, &d);
  if (!st.ok()) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped object data from rank {}: {}", source, st.ToString());
    return;
  }
  if (drop_object_data_.load() > 0 && drop_object_data_.fetch_sub(1) > 0) return;  // testing only
  const internal::ObjectId id{d.owner, 0, d.seq};
  std::shared_ptr<Fetch> f;
  {
    std::lock_guard<std::mutex> lock(fetch_mu_);
    auto it = fetches_.find({d.owner, d.seq});
    if (it != fetches_.end() && !it->second->done && it->second->asked == source) f = it->second;
  }
  if (d.form == DataForm::kStored) {
    auto view = store_ ? store_->Adopt(d.stored)
                       : Result<Buffer>(Status(StatusCode::kMalformed, "no store on this rank"));
    if (!view.ok()) {
      counters_.messages_malformed.fetch_add(1);
      RF_WARN("object {} from rank {}: {}", id.ToString(), source, view.status().ToString());
      if (f) FinishFetch(id, ErrorValue(StatusCode::kObjectLost, view.status().message()));
      return;
    }
    if (f) FinishFetch(id, objects::ValueOf(*view));
    return;  // unrequested: the adopted reference goes with `view`
  }
  if (!f) return;  // late or duplicate answer
  auto retry = [&](const std::string& why) {
    bool again;
    {
      std::lock_guard<std::mutex> lock(fetch_mu_);
      again = ++f->retries <= kMaxRetries;
      if (again) f->Ask(static_cast<int>(d.owner));
    }
    if (again) {
      RF_DEBUG("object {}: {}; asking its owner again", id.ToString(), why);
      SendFetch(id, static_cast<int>(d.owner), true);
    } else {
      FinishFetch(id, ErrorValue(StatusCode::kObjectLost, "object " + id.ToString() + ": " + why));
    }
  };
  switch (d.form) {
    case DataForm::kBytes: {
      if (d.has_checksum && Checksum64(d.bytes.data(), d.bytes.size()) != d.checksum) {
        counters_.checksum_failures.fetch_add(1);
        retry("checksum mismatch in the copy from rank " + std::to_string(source));
        return;
      }
      Buffer data;
      if (!CopyIntoStore(d.bytes, &data)) {
        // Kept in the message when it lies 8-byte aligned (the header is
        // padded for that); copied when a batch left it unaligned, so views
        // of it (ArrayView<double>) stay aligned.
        const bool aligned = reinterpret_cast<uintptr_t>(d.bytes.data()) % 8 == 0;
        data = aligned ? d.bytes.Persist() : Buffer::Copy(d.bytes.data(), d.bytes.size());
      }
      store::Descriptor where;
      const bool held = store_ && store_->Describe(data, &where);
      FinishFetch(id, objects::ValueOf(data));
      if (held && source != static_cast<int>(d.owner)) {
        // Got it from another holder: tell the owner there is one more copy.
        std::vector<uint8_t> have;
        EncodeObjectSeq(have, d.seq);
        (void)transport_->Send(static_cast<int>(d.owner), kObjectHave, std::move(have));
      }
      return;
    }
    case DataForm::kError:
      FinishFetch(id, ErrorValue(static_cast<StatusCode>(d.code), d.message));
      return;
    case DataForm::kRedirect:
      if (d.holder < 0 || d.holder >= size_ || d.holder == rank_) {
        retry("bad redirect");
        return;
      }
      {
        std::lock_guard<std::mutex> lock(fetch_mu_);
        f->Ask(d.holder);
      }
      SendFetch(id, d.holder, true);
      return;
    case DataForm::kMiss:
      retry("rank " + std::to_string(source) + " no longer holds a copy");
      return;
    case DataForm::kStored:
      return;
  }
}

}  // namespace rankflow::runtime
