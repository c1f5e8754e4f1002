#include "transport/loopback_transport.h"

#include <string>

namespace rankflow::transport {

std::shared_ptr<LoopbackHub> LoopbackHub::Create(int size, uint64_t max_message) {
  return std::shared_ptr<LoopbackHub>(new LoopbackHub(size, max_message));
}

LoopbackHub::LoopbackHub(int size, uint64_t max_message)
    : size_(size), max_message_(max_message), peers_(size, nullptr), dead_(size, false) {}

std::unique_ptr<LoopbackTransport> LoopbackHub::MakeTransport(int rank) {
  return std::make_unique<LoopbackTransport>(shared_from_this(), rank);
}

void LoopbackHub::Attach(int rank, LoopbackTransport* t) {
  std::lock_guard<std::mutex> lock(mu_);
  peers_[rank] = t;
}

void LoopbackHub::Detach(int rank) {
  std::lock_guard<std::mutex> lock(mu_);
  peers_[rank] = nullptr;
}

LoopbackTransport* LoopbackHub::Peer(int rank) {
  std::lock_guard<std::mutex> lock(mu_);
  return dead_[rank] ? nullptr : peers_[rank];
}

void LoopbackHub::Disconnect(int rank) {
  std::vector<LoopbackTransport*> others;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dead_[rank]) return;
    dead_[rank] = true;
    for (int r = 0; r < size_; ++r) {
      if (r != rank && peers_[r] != nullptr && !dead_[r]) others.push_back(peers_[r]);
    }
  }
  for (auto* t : others) t->Deliver(LoopbackTransport::Item{rank, 0, {}, true});
}

LoopbackTransport::LoopbackTransport(std::shared_ptr<LoopbackHub> hub, int rank)
    : hub_(std::move(hub)), rank_(rank) {
  hub_->Attach(rank_, this);
}

LoopbackTransport::~LoopbackTransport() {
  Stop();
  hub_->Detach(rank_);
}

Status LoopbackTransport::Start(Callbacks callbacks) {
  callbacks_ = std::move(callbacks);
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

Status LoopbackTransport::Send(int dest, MessageKind kind, std::vector<uint8_t>&& payload) {
  if (dest < 0 || dest >= hub_->size()) {
    return {StatusCode::kNotFound, "no rank " + std::to_string(dest)};
  }
  if (payload.size() > hub_->max_message()) {
    return {StatusCode::kTooLarge, "message of " + std::to_string(payload.size()) +
                                       " bytes above the limit of " +
                                       std::to_string(hub_->max_message())};
  }
  LoopbackTransport* peer = hub_->Peer(dest);
  if (peer == nullptr) return {StatusCode::kRankDied, "rank " + std::to_string(dest) + " is gone"};
  peer->Deliver(Item{rank_, kind, std::move(payload)});
  return Status::Ok();
}

void LoopbackTransport::Deliver(Item&& item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    inbox_.push_back(std::move(item));
  }
  cv_.notify_one();
}

void LoopbackTransport::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !inbox_.empty(); });
    if (inbox_.empty() && stopping_) return;
    std::deque<Item> batch;
    batch.swap(inbox_);
    lock.unlock();
    for (auto& item : batch) {
      if (item.failure) {
        if (callbacks_.on_peer_failure) {
          callbacks_.on_peer_failure(item.source, {StatusCode::kRankDied, "peer disconnected"});
        }
        continue;
      }
      Incoming in{item.source, item.kind, Buffer::FromVector(std::move(item.bytes))};
      if (callbacks_.on_message) callbacks_.on_message(std::move(in));
    }
    if (callbacks_.after_delivery) callbacks_.after_delivery();
    lock.lock();
  }
}

void LoopbackTransport::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace rankflow::transport
