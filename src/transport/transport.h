// transport/transport.h — the seam between the runtime and the network.
//
// A Transport moves framed messages between ranks of one job. Send() may be
// called from any thread and never blocks on the network; messages to the
// same destination are delivered in order and may be coalesced into one
// network message. Received messages are handed to the Handler on the
// transport's own progress thread. Implementations: UcxTransport (real) and
// LoopbackTransport (in-process, for tests).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "rankflow/buffer.h"

namespace rankflow::transport {

/// Application-level message kinds; the transport treats them as opaque.
using MessageKind = uint16_t;

/// One received message. `data` stays valid after the handler returns only
/// if the handler copies the Buffer (it shares ownership of the bytes).
struct Incoming {
  int source = -1;
  MessageKind kind = 0;
  Buffer data;
};

/// Memory a large incoming message may land in (e.g. the node's object store).
struct RecvSpace {
  uint8_t* data = nullptr;  // null: the transport allocates from the heap
  std::shared_ptr<const void> owner;
};

struct Callbacks {
  std::function<void(Incoming&&)> on_message;
  /// A peer became unreachable (connection error); called once per peer.
  std::function<void(int rank, const Status& why)> on_peer_failure;
  /// Bytes arrived that were dropped (bad token, malformed framing, too large).
  std::function<void(int rank, const Status& why)> on_rejected;
  /// Optional: where a rendezvous message of `bytes` (frame included) is received.
  std::function<RecvSpace(size_t bytes)> allocate_large;
  /// Optional: called on a thread that delivered messages, once it has let
  /// go of the network (so work taken from them may run and even poll).
  std::function<void()> after_delivery;
};

class Transport {
 public:
  virtual ~Transport() = default;

  /// Starts the progress thread; callbacks must be set before.
  virtual Status Start(Callbacks callbacks) = 0;
  /// Queues `payload` for `dest`. Returns an error if dest is unknown, dead,
  /// or the message exceeds the configured maximum.
  virtual Status Send(int dest, MessageKind kind, std::vector<uint8_t>&& payload) = 0;
  /// Sends `head` followed by `body` as one message; a large body goes from
  /// its own memory without a copy where the transport can (the receiver
  /// sees one contiguous message). Keeps `body` alive until sent.
  virtual Status SendWithBody(int dest, MessageKind kind, std::vector<uint8_t>&& head,
                              const Buffer& body) {
    head.insert(head.end(), body.data(), body.data() + body.size());
    return Send(dest, kind, std::move(head));
  }
  /// Delivers queued messages, then stops the progress thread and closes links.
  virtual void Stop() = 0;

  /// Caller-driven progress: a thread that is about to wait (a driver in
  /// Get, an idle executor) may poll the network itself instead of waking the
  /// progress thread, which removes thread hand-offs from a round trip.
  /// Handlers then run on the polling thread, still one at a time.
  /// Returns true if anything was sent or received. Never blocks.
  virtual bool PollOnce() { return false; }
  /// Sends what is queued for other ranks now, if no other thread is
  /// driving the network (then that one will). For a thread about to run
  /// more work kept from a delivery: what the last work sent leaves first.
  virtual void FlushSends() {}
  /// Whether the calling thread is the transport's own progress thread.
  virtual bool OnProgressThread() const { return false; }
  /// Brackets a run of PollOnce calls; the progress thread stays out of the
  /// way in between.
  virtual void BeginPolling() {}
  virtual void EndPolling() {}

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string Name() const = 0;
};

}  // namespace rankflow::transport
