// transport/loopback_transport.h — N ranks inside one process.
//
// A LoopbackHub connects LoopbackTransports; each has its own delivery
// thread, so ordering and threading match the UCX transport. The hub can cut
// a rank off (error injection) to exercise peer-failure handling.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "transport/transport.h"

namespace rankflow::transport {

class LoopbackTransport;

class LoopbackHub : public std::enable_shared_from_this<LoopbackHub> {
 public:
  static std::shared_ptr<LoopbackHub> Create(int size, uint64_t max_message = 1ull << 30);
  /// The transport of `rank` (created once, owned by the caller).
  std::unique_ptr<LoopbackTransport> MakeTransport(int rank);
  /// Simulates the death of `rank`: its inbox closes, peers see a failure.
  void Disconnect(int rank);

  int size() const { return size_; }
  uint64_t max_message() const { return max_message_; }

 private:
  friend class LoopbackTransport;
  LoopbackHub(int size, uint64_t max_message);
  void Attach(int rank, LoopbackTransport* t);
  void Detach(int rank);
  LoopbackTransport* Peer(int rank);

  int size_;
  uint64_t max_message_;
  std::mutex mu_;
  std::vector<LoopbackTransport*> peers_;
  std::vector<bool> dead_;
};

class LoopbackTransport : public Transport {
  friend class LoopbackHub;
 public:
  LoopbackTransport(std::shared_ptr<LoopbackHub> hub, int rank);
  ~LoopbackTransport() override;

  Status Start(Callbacks callbacks) override;
  Status Send(int dest, MessageKind kind, std::vector<uint8_t>&& payload) override;
  void Stop() override;
  int rank() const override { return rank_; }
  int size() const override { return hub_->size(); }
  std::string Name() const override { return "loopback"; }

 private:
  friend class LoopbackHub;
  struct Item {
    int source;
    MessageKind kind;
    std::vector<uint8_t> bytes;
    bool failure = false;  // a peer-failure notice, not a message
  };
  void Deliver(Item&& item);
  void Loop();

  std::shared_ptr<LoopbackHub> hub_;
  int rank_;
  Callbacks callbacks_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> inbox_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace rankflow::transport
