// transport/ucx_transport.h — the Transport over UCX UCP active messages.
//
// One UCP worker per rank, driven by this transport's progress thread or,
// while they wait, by threads that poll it themselves (PollOnce).
// Other threads queue frames under a short lock; the progress thread packs
// everything queued for one peer into one active message (batching), sends
// payloads above the rendezvous threshold by zero-copy rendezvous, and keeps
// per-peer order on receipt. Endpoints are created on first use with peer
// error handling. When idle, the thread spins for a configured time, then
// blocks on the worker's wakeup fd (and an eventfd that Send() signals).
#pragma once

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <ucp/api/ucp.h>

#include "transport/framing.h"
#include "transport/transport.h"

namespace rankflow::transport {

struct UcxOptions {
  uint64_t max_message = 1ull << 30;
  // SendWithBody may carry bodies up to this size (objects: the store's
  // capacity), above max_message; receivers accept frames that large.
  uint64_t max_body = 0;
  uint64_t rndv_threshold = 64 * 1024;
  int spin_us = 250;
  JobToken token{};
};

class UcxTransport : public Transport {
 public:
  /// Creates the UCP context and worker; the progress thread starts in Start().
  static Result<std::unique_ptr<UcxTransport>> Create(int rank, int size, const UcxOptions& opts);
  ~UcxTransport() override;

  /// This worker's address, to be exchanged with every rank at bootstrap.
  const std::vector<uint8_t>& LocalAddress() const { return local_address_; }
  /// Every rank's worker address, indexed by rank. Call before Start().
  Status SetPeerAddresses(std::vector<std::vector<uint8_t>> addresses);

  /// Ranks whose pid is given (> 0) share this host and pid namespace: their
  /// links use UCX without peer error handling, so that UCX may pick shared
  /// memory (its shared-memory transports cannot report a peer's failure),
  /// and each such process is watched through a pidfd instead; its exit
  /// fails the peer as a link error would. A pid that cannot be watched
  /// keeps the peer on error-handled links. Call before Start().
  void UseSharedMemoryWith(const std::vector<int>& pids);
  /// Whether the link to `rank` is one of those (watched by pidfd).
  bool SharedMemoryLink(int rank) const;
  /// Whether a UCX_TLS value leaves UCX a shared-memory transport.
  static bool TlsAllowsSharedMemory(const char* tls);

  Status Start(Callbacks callbacks) override;
  Status Send(int dest, MessageKind kind, std::vector<uint8_t>&& payload) override;
  /// The largest frame a peer may send: a message, or a body with its header.
  uint64_t MaxFrame() const { return std::max(opts_.max_message, opts_.max_body + 4096); }
  Status SendWithBody(int dest, MessageKind kind, std::vector<uint8_t>&& head,
                      const Buffer& body) override;
  void Stop() override;
  bool PollOnce() override;
  bool OnProgressThread() const override {
    return std::this_thread::get_id() == progress_id_.load(std::memory_order_relaxed);
  }
  void FlushSends() override;
  void BeginPolling() override;
  void EndPolling() override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string Name() const override { return "ucx"; }

  /// Test hook: sends raw frames under a chosen header (e.g. a wrong token).
  Status SendRawForTest(int dest, const WireHeader& header, std::vector<uint8_t>&& frames);

 private:
  struct OutMsg;
  struct Peer;
  struct RecvSlot;
  UcxTransport(int rank, int size, const UcxOptions& opts);
  Status Init();
  void Loop();
  /// Sends what is queued (under worker_mu_); `deliver_self`: also hands
  /// this rank's messages to itself to their handler.
  bool FlushQueues(bool deliver_self = true);
  /// Hands `msg` to UCX; returns it if UCX is done with it already (or it
  /// could not be sent), so that its memory can be reused.
  std::unique_ptr<OutMsg> SendOne(int dest, std::unique_ptr<OutMsg> msg);
  /// A batch to append small frames to (a reused one when there is). Under out_mu_.
  std::unique_ptr<OutMsg> NewBatch();
  ucp_ep_h Endpoint(int dest);
  void FailPeer(int dest, const Status& why);
  void WaitIdle();
  void CloseEndpoints();
  void DeliverBatch(int source, const Buffer& batch);
  void DrainReady(int source);
  void Wake();
  /// Blocks on the worker's fd and the eventfd (up to timeout_ms), then drains the eventfd.
  void SleepOnFds(int timeout_ms);
  /// Fails the watched peers whose process has exited (never blocks; called
  /// with worker_mu_ held, at most every kPidCheckUs or when one is signalled).
  void CheckPeerProcesses();
  /// Whether a check of the watched processes is due (none watched: never).
  bool PeerCheckDue() const;

  static ucs_status_t OnAm(void* arg, const void* header, size_t header_length, void* data,
                           size_t length, const ucp_am_recv_param_t* param);
  static void OnSendDone(void* request, ucs_status_t status, void* user_data);
  static void OnRecvDone(void* request, ucs_status_t status, size_t length, void* user_data);
  static void OnEpError(void* arg, ucp_ep_h ep, ucs_status_t status);

  const int rank_;
  const int size_;
  const UcxOptions opts_;
  Callbacks callbacks_;
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  int pid_epoll_fd_ = -1;  // pidfds of same-host peers; itself in epoll_fd_
  std::atomic<int64_t> last_pid_check_us_{0};  // checks run under worker_mu_
  int watched_ = 0;                            // peers with a pidfd (set before Start)
  std::vector<uint8_t> local_address_;
  std::vector<std::unique_ptr<Peer>> peers_;

  std::mutex out_mu_;
  std::vector<std::deque<std::unique_ptr<OutMsg>>> outq_;  // guarded by out_mu_
  std::vector<int> dirty_;                                 // peers with queued messages
  std::vector<std::pair<MessageKind, std::vector<uint8_t>>> self_q_;  // to this rank
  std::vector<std::unique_ptr<OutMsg>> spare_batches_;                // sent, reusable
  // FlushQueues' working lists, reused (under worker_mu_).
  std::vector<std::pair<int, std::unique_ptr<OutMsg>>> flushing_;
  std::vector<std::pair<MessageKind, std::vector<uint8_t>>> flushing_self_;
  std::vector<std::unique_ptr<OutMsg>> sent_;
  std::atomic<bool> pending_{false};
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
  std::mutex worker_mu_;                 // whoever holds it drives the worker
  std::atomic<int> external_pollers_{0};
  std::thread thread_;
  std::atomic<std::thread::id> progress_id_{};  // the progress thread, once started
  bool stopped_ = false;
};

}  // namespace rankflow::transport
