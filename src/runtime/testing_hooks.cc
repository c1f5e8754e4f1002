#include "runtime/testing_hooks.h"

#include "runtime/runtime.h"
#include "runtime/wire.h"
#include "transport/ucx_transport.h"

namespace rankflow::testing {

Status SendRaw(int dest, uint16_t kind, std::vector<uint8_t> bytes) {
  auto& rt = runtime::Runtime::CurrentOrThrow();
  if (rt.transport() == nullptr) return {StatusCode::kInvalidArgument, "no transport (one rank)"};
  return rt.transport()->Send(dest, kind, std::move(bytes));
}

Status SendWithWrongToken(int dest) {
  auto& rt = runtime::Runtime::CurrentOrThrow();
  auto* ucx = dynamic_cast<transport::UcxTransport*>(rt.transport());
  if (ucx == nullptr) return {StatusCode::kInvalidArgument, "not the UCX transport"};
  transport::WireHeader h;
  h.source = rt.rank();
  h.token.fill(0x5a);
  std::vector<uint8_t> task;
  runtime::EncodeTask(task, static_cast<uint32_t>(rt.rank()), 1, "forged", "", 0, nullptr, 0);
  std::vector<uint8_t> frames;
  transport::AppendFrame(frames, runtime::kTaskSubmit, task.data(), task.size());
  return ucx->SendRawForTest(dest, h, std::move(frames));
}

uint64_t RejectedCount() {
  return runtime::Runtime::CurrentOrThrow().counters().messages_rejected.load();
}

uint64_t MalformedCount() {
  return runtime::Runtime::CurrentOrThrow().counters().messages_malformed.load();
}

uint64_t TasksRunInline() {
  return runtime::Runtime::CurrentOrThrow().counters().tasks_inline.load();
}

uint64_t TasksSentEarly() {
  return runtime::Runtime::CurrentOrThrow().counters().tasks_early.load();
}

uint64_t CollectiveInputsSent() {
  return runtime::Runtime::CurrentOrThrow().counters().collective_sent.load();
}

uint64_t CollectiveInputsAwaited() { return runtime::Runtime::CurrentOrThrow().collective_awaited(); }

uint64_t TasksBounced() {
  return runtime::Runtime::CurrentOrThrow().counters().tasks_bounced.load();
}

uint64_t ActorCallsRunInline() {
  return runtime::Runtime::CurrentOrThrow().counters().actor_calls_inline.load();
}

bool SharedMemoryLinkTo(int rank) {
  auto* ucx = dynamic_cast<transport::UcxTransport*>(runtime::Runtime::CurrentOrThrow().transport());
  return ucx != nullptr && ucx->SharedMemoryLink(rank);
}

uint64_t OwnedObjectCount() { return runtime::Runtime::CurrentOrThrow().objects().size(); }

StoreStats GetStoreStats() {
  auto& rt = runtime::Runtime::CurrentOrThrow();
  StoreStats s;
  if (rt.store() != nullptr) {
    s.capacity = rt.store()->capacity();
    s.used = rt.store()->used();
    s.live_blocks = rt.store()->live_blocks();
  }
  s.spilled = rt.counters().objects_spilled.load();
  s.restored = rt.counters().objects_restored.load();
  s.fetches_sent = rt.counters().fetches_sent.load();
  s.fetches_resent = rt.counters().fetches_resent.load();
  s.fetches_served = rt.counters().fetches_served.load();
  s.node = rt.NodeOf(rt.rank());
  return s;
}

int NodeOfRank(int rank) { return runtime::Runtime::CurrentOrThrow().NodeOf(rank); }

void DropFetchedCopies() { runtime::Runtime::CurrentOrThrow().DropFetchedCopies(); }

void DelayBorrowAddRefs(int ms) { runtime::Runtime::CurrentOrThrow().DelayBorrowAddRefs(ms); }
void DropObjectData(int n) { runtime::Runtime::CurrentOrThrow().DropObjectData(n); }
void SetFetchResendMs(int ms) { runtime::Runtime::CurrentOrThrow().SetFetchResendMs(ms); }

}  // namespace rankflow::testing
