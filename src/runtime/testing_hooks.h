// runtime/testing_hooks.h — entry points for tests that must misbehave on
// purpose (send garbage, forge a token) or look inside a rank. Not part of
// the public API; tests include it from src/.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace rankflow::testing {

/// Sends `bytes` as a message of `kind` to `dest` through this rank's transport.
Status SendRaw(int dest, uint16_t kind, std::vector<uint8_t> bytes);
/// Sends a well-framed task message under a wrong job token (UCX transport only).
Status SendWithWrongToken(int dest);
/// Messages this rank dropped: rejected by the transport / malformed at the runtime.
uint64_t RejectedCount();
uint64_t MalformedCount();
/// Tasks this rank ran on the thread that received them (run to completion).
uint64_t TasksRunInline();
/// Tasks this rank sent ahead of their inputs (early dispatch), and of
/// those, tasks given back to it and dispatched again.
uint64_t TasksSentEarly();
uint64_t TasksBounced();
/// SPMD mode: values this rank sent to other ranks' collective tasks, and
/// inputs of its own collective tasks still on their way.
uint64_t CollectiveInputsSent();
uint64_t CollectiveInputsAwaited();
/// Actor calls this rank ran on the thread that received them.
uint64_t ActorCallsRunInline();
/// Whether this rank's link to `rank` is a same-host, shared-memory one.
bool SharedMemoryLinkTo(int rank);
/// Objects this rank owns right now (pending or ready).
uint64_t OwnedObjectCount();

/// This rank's view of its node's object store.
struct StoreStats {
  uint64_t capacity = 0;
  uint64_t used = 0;
  uint64_t live_blocks = 0;
  uint64_t spilled = 0;   // objects this rank spilled so far
  uint64_t restored = 0;
  uint64_t fetches_sent = 0;
  uint64_t fetches_resent = 0;  // asked again after no answer came
  uint64_t fetches_served = 0;
  int node = 0;
};
StoreStats GetStoreStats();
/// Node of `rank` as this rank sees it.
int NodeOfRank(int rank);
/// Drops the copies this rank fetched from other ranks (its cache).
void DropFetchedCopies();
/// Holds back this rank's borrow announcements (the AddRef it sends an
/// object's owner when it passes a borrowed reference on) by `ms`, so that
/// another rank's release can overtake them. 0 sends them at once again.
void DelayBorrowAddRefs(int ms);
/// Drops the next `n` object answers (kObjectData) this rank receives, as if
/// they were lost, and sets how long a Get waits before asking again.
void DropObjectData(int n);
void SetFetchResendMs(int ms);

}  // namespace rankflow::testing
