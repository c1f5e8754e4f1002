#include "transport/ucx_transport.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/logging.h"

namespace rankflow::transport {

namespace {
constexpr unsigned kAmId = 1;
constexpr size_t kBatchLimit = 32 * 1024;  // coalesce small frames up to this size
constexpr int64_t kPidCheckUs = 1000;      // how often watched peer processes are checked
constexpr int64_t kTightSpinUs = 20;       // spin without yielding this long after activity
constexpr size_t kSpareBatches = 64;       // sent batches kept for reuse
constexpr uint32_t kClockEvery = 15;       // idle polls between clock reads, minus one (2^k - 1)

Status FromUcs(ucs_status_t st, const std::string& what) {
  return {StatusCode::kLinkError, what + ": " + ucs_status_string(st)};
}

int64_t NowUs() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

// One queued network message: coalesced small frames, or one large payload
// sent zero-copy by rendezvous, its frame header riding in the AM header.
struct UcxTransport::OutMsg {
  WireHeader header;
  std::vector<uint8_t> bytes;          // small frames, or the large frame's header
  std::vector<uint8_t> large;          // large payload (zero-copy), empty otherwise
  std::vector<uint8_t> am_header;      // large: WireHeader + `bytes` (the prefix)
  Buffer body;                         // or a large payload borrowed from elsewhere
  UcxTransport* owner = nullptr;
  int dest = -1;
  bool sealed = false;                 // nothing may be appended (large or raw)
  bool is_large() const { return !large.empty() || !body.empty(); }
};

struct UcxTransport::RecvSlot {
  bool ready = false;
  Buffer data;
};

struct UcxTransport::Peer {
  UcxTransport* owner = nullptr;
  int rank = -1;
  std::vector<uint8_t> address;
  ucp_ep_h ep = nullptr;
  bool dead = false;
  bool shm = false;  // same host: no UCX error handling, watched by pidfd
  int pidfd = -1;
  std::deque<std::shared_ptr<RecvSlot>> recv_order;  // progress thread only
};

struct RecvContext {
  UcxTransport* owner;
  int source;
  std::shared_ptr<void> slot;
  size_t expected;  // bytes UCX delivers (the message minus its prefix)
};

// A large message travels as one contiguous buffer (UCX's zero-copy
// rendezvous needs a contiguous datatype); its first bytes (the frame header
// and the runtime's own header) ride in the active message's header after
// the WireHeader, and the receiver puts them back in front of the data.
constexpr size_t kMaxPrefix = 256;

UcxTransport::UcxTransport(int rank, int size, const UcxOptions& opts)
    : rank_(rank), size_(size), opts_(opts), outq_(size) {}

Result<std::unique_ptr<UcxTransport>> UcxTransport::Create(int rank, int size,
                                                           const UcxOptions& opts) {
  std::unique_ptr<UcxTransport> t(new UcxTransport(rank, size, opts));
  Status st = t->Init();
  if (!st.ok()) return st;
  return t;
}

Status UcxTransport::Init() {
  ucp_config_t* config = nullptr;
  ucs_status_t st = ucp_config_read(nullptr, nullptr, &config);
  if (st != UCS_OK) return FromUcs(st, "ucp_config_read");
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES;
  params.features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
  st = ucp_init(&params, config, &context_);
  ucp_config_release(config);
  if (st != UCS_OK) return FromUcs(st, "ucp_init");

  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_SERIALIZED;
  st = ucp_worker_create(context_, &wp, &worker_);
  if (st != UCS_OK) return FromUcs(st, "ucp_worker_create");

  ucp_address_t* addr = nullptr;
  size_t addr_len = 0;
  st = ucp_worker_get_address(worker_, &addr, &addr_len);
  if (st != UCS_OK) return FromUcs(st, "ucp_worker_get_address");
  const auto* p = reinterpret_cast<const uint8_t*>(addr);
  local_address_.assign(p, p + addr_len);
  ucp_worker_release_address(worker_, addr);

  ucp_am_handler_param_t hp{};
  hp.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB |
                  UCP_AM_HANDLER_PARAM_FIELD_ARG | UCP_AM_HANDLER_PARAM_FIELD_FLAGS;
  hp.id = kAmId;
  hp.cb = &UcxTransport::OnAm;
  hp.arg = this;
  hp.flags = UCP_AM_FLAG_WHOLE_MSG;
  st = ucp_worker_set_am_recv_handler(worker_, &hp);
  if (st != UCS_OK) return FromUcs(st, "ucp_worker_set_am_recv_handler");

  int ucx_fd = -1;
  st = ucp_worker_get_efd(worker_, &ucx_fd);
  if (st != UCS_OK) return FromUcs(st, "ucp_worker_get_efd");
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || event_fd_ < 0) return {StatusCode::kInternal, "epoll/eventfd failed"};
  pid_epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (pid_epoll_fd_ < 0) return {StatusCode::kInternal, "epoll failed"};
  for (int fd : {ucx_fd, event_fd_, pid_epoll_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return {StatusCode::kInternal, "epoll_ctl failed"};
    }
  }
  return Status::Ok();
}

UcxTransport::~UcxTransport() {
  Stop();
  for (auto& p : peers_) {
    if (p->pidfd >= 0) close(p->pidfd);
  }
  peers_.clear();
  if (worker_ != nullptr) ucp_worker_destroy(worker_);
  if (context_ != nullptr) ucp_cleanup(context_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (event_fd_ >= 0) close(event_fd_);
  if (pid_epoll_fd_ >= 0) close(pid_epoll_fd_);
}

Status UcxTransport::SetPeerAddresses(std::vector<std::vector<uint8_t>> addresses) {
  if (static_cast<int>(addresses.size()) != size_) {
    return {StatusCode::kInvalidArgument, "need one address per rank"};
  }
  peers_.clear();
  for (int r = 0; r < size_; ++r) {
    auto p = std::make_unique<Peer>();
    p->owner = this;
    p->rank = r;
    p->address = std::move(addresses[r]);
    peers_.push_back(std::move(p));
  }
  return Status::Ok();
}

bool UcxTransport::TlsAllowsSharedMemory(const char* tls) {
  if (tls == nullptr || *tls == '\0') return true;
  std::string_view list(tls);
  const bool negated = list.front() == '^';
  if (negated) list.remove_prefix(1);
  bool named = false;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    if (item == "all") return !negated;
    if (item == "sm" || item == "shm" || item == "posix" || item == "sysv" || item == "mm" ||
        item == "xpmem") {
      named = true;
    }
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return negated ? !named : named;
}

void UcxTransport::UseSharedMemoryWith(const std::vector<int>& pids) {
  if (!TlsAllowsSharedMemory(std::getenv("UCX_TLS"))) return;
  for (int r = 0; r < size_ && r < static_cast<int>(pids.size()); ++r) {
    Peer& p = *peers_[r];
    if (r == rank_ || pids[r] <= 0 || p.pidfd >= 0) continue;
    const int fd = static_cast<int>(syscall(SYS_pidfd_open, pids[r], 0));
    if (fd < 0) continue;  // gone already, or no pidfds here: error-handled link
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(r);
    if (epoll_ctl(pid_epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    p.pidfd = fd;
    p.shm = true;
    ++watched_;
  }
}

bool UcxTransport::SharedMemoryLink(int rank) const {
  return rank >= 0 && rank < static_cast<int>(peers_.size()) && peers_[rank]->shm;
}

bool UcxTransport::PeerCheckDue() const {
  return watched_ > 0 && NowUs() - last_pid_check_us_.load(std::memory_order_relaxed) >= kPidCheckUs;
}

void UcxTransport::CheckPeerProcesses() {
  last_pid_check_us_.store(NowUs());
  epoll_event events[16];
  const int n = epoll_wait(pid_epoll_fd_, events, 16, 0);
  for (int i = 0; i < n; ++i) {
    const int r = static_cast<int>(events[i].data.u32);
    Peer& p = *peers_[r];
    epoll_ctl(pid_epoll_fd_, EPOLL_CTL_DEL, p.pidfd, nullptr);
    close(p.pidfd);
    p.pidfd = -1;
    FailPeer(r, {StatusCode::kLinkError, "the process of rank " + std::to_string(r) + " exited"});
  }
}

Status UcxTransport::Start(Callbacks callbacks) {
  if (static_cast<int>(peers_.size()) != size_) {
    return {StatusCode::kInvalidArgument, "SetPeerAddresses() before Start()"};
  }
  callbacks_ = std::move(callbacks);
  thread_ = std::thread([this] {
    progress_id_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    Loop();
  });
  return Status::Ok();
}

void UcxTransport::Wake() {
  if (sleeping_.load(std::memory_order_seq_cst)) {
    uint64_t one = 1;
    ssize_t n = write(event_fd_, &one, sizeof(one));
    (void)n;
  }
}

Status UcxTransport::Send(int dest, MessageKind kind, std::vector<uint8_t>&& payload) {
  if (dest < 0 || dest >= size_) return {StatusCode::kNotFound, "no rank " + std::to_string(dest)};
  if (payload.size() > opts_.max_message) {
    return {StatusCode::kTooLarge, "message of " + std::to_string(payload.size()) +
                                       " bytes above the limit of " +
                                       std::to_string(opts_.max_message) +
                                       " (RANKFLOW_MAX_MESSAGE_BYTES)"};
  }
  if (stopping_.load()) return {StatusCode::kShutdown, "transport stopping"};
  if (dest == rank_) {
    // To this rank: no network (and no need for a UCX loopback transport);
    // still delivered on the thread that drives the worker, in order.
    {
      std::lock_guard<std::mutex> lock(out_mu_);
      self_q_.emplace_back(kind, std::move(payload));
    }
    pending_.store(true, std::memory_order_seq_cst);
    Wake();
    return Status::Ok();
  }
  {
    std::lock_guard<std::mutex> lock(out_mu_);
    if (peers_[dest]->dead) return {StatusCode::kRankDied, "rank " + std::to_string(dest) + " is gone"};
    auto& q = outq_[dest];
    if (q.empty()) dirty_.push_back(dest);
    if (payload.size() >= opts_.rndv_threshold) {
      auto m = std::make_unique<OutMsg>();
      AppendFrame(m->bytes, kind, nullptr, 0);
      uint32_t len = static_cast<uint32_t>(payload.size());
      std::memcpy(m->bytes.data(), &len, sizeof(len));
      m->large = std::move(payload);
      m->sealed = true;
      q.push_back(std::move(m));
    } else {
      if (q.empty() || q.back()->sealed || q.back()->bytes.size() >= kBatchLimit) {
        q.push_back(NewBatch());
      }
      AppendFrame(q.back()->bytes, kind, payload.data(), payload.size());
    }
  }
  pending_.store(true, std::memory_order_seq_cst);
  Wake();
  return Status::Ok();
}

Status UcxTransport::SendWithBody(int dest, MessageKind kind, std::vector<uint8_t>&& head,
                                  const Buffer& body) {
  const size_t total = head.size() + body.size();
  if (total > std::max(opts_.max_message, opts_.max_body + head.size())) {
    return {StatusCode::kTooLarge, "message of " + std::to_string(total) +
                                       " bytes above the limit of " +
                                       std::to_string(std::max(opts_.max_message, opts_.max_body)) +
                                       " (RANKFLOW_MAX_MESSAGE_BYTES / RANKFLOW_STORE_BYTES)"};
  }
  if (dest == rank_ || total < opts_.rndv_threshold) {
    return Transport::SendWithBody(dest, kind, std::move(head), body);
  }
  if (dest < 0 || dest >= size_) return {StatusCode::kNotFound, "no rank " + std::to_string(dest)};
  if (stopping_.load()) return {StatusCode::kShutdown, "transport stopping"};
  auto m = std::make_unique<OutMsg>();
  AppendFrame(m->bytes, kind, head.data(), head.size());
  uint32_t len = static_cast<uint32_t>(total);
  std::memcpy(m->bytes.data(), &len, sizeof(len));
  m->body = body.Persist();
  m->sealed = true;
  {
    std::lock_guard<std::mutex> lock(out_mu_);
    if (peers_[dest]->dead) return {StatusCode::kRankDied, "rank " + std::to_string(dest) + " is gone"};
    auto& q = outq_[dest];
    if (q.empty()) dirty_.push_back(dest);
    q.push_back(std::move(m));
  }
  pending_.store(true, std::memory_order_seq_cst);
  Wake();
  return Status::Ok();
}

Status UcxTransport::SendRawForTest(int dest, const WireHeader& header,
                                    std::vector<uint8_t>&& frames) {
  auto m = std::make_unique<OutMsg>();
  m->header = header;
  m->bytes = std::move(frames);
  m->sealed = true;
  {
    std::lock_guard<std::mutex> lock(out_mu_);
    auto& q = outq_[dest];
    if (q.empty()) dirty_.push_back(dest);
    q.push_back(std::move(m));
  }
  pending_.store(true);
  Wake();
  return Status::Ok();
}

ucp_ep_h UcxTransport::Endpoint(int dest) {
  Peer& p = *peers_[dest];
  if (p.dead) return nullptr;
  if (p.ep != nullptr) return p.ep;
  ucp_ep_params_t ep{};
  ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
  ep.address = reinterpret_cast<const ucp_address_t*>(p.address.data());
  if (p.shm) {
    ep.err_mode = UCP_ERR_HANDLING_MODE_NONE;  // the pidfd reports the peer's death
  } else {
    ep.field_mask |= UCP_EP_PARAM_FIELD_ERR_HANDLER;
    ep.err_mode = UCP_ERR_HANDLING_MODE_PEER;
    ep.err_handler.cb = &UcxTransport::OnEpError;
    ep.err_handler.arg = &p;
  }
  ucs_status_t st = ucp_ep_create(worker_, &ep, &p.ep);
  if (st != UCS_OK) {
    p.ep = nullptr;
    FailPeer(dest, FromUcs(st, "ucp_ep_create to rank " + std::to_string(dest)));
  }
  return p.ep;
}

void UcxTransport::OnEpError(void* arg, ucp_ep_h ep, ucs_status_t status) {
  auto* p = static_cast<Peer*>(arg);
  (void)ep;
  p->owner->FailPeer(p->rank, FromUcs(status, "link to rank " + std::to_string(p->rank)));
}

void UcxTransport::FailPeer(int dest, const Status& why) {
  Peer& p = *peers_[dest];
  {
    std::lock_guard<std::mutex> lock(out_mu_);
    if (p.dead) return;
    p.dead = true;
    outq_[dest].clear();
  }
  if (p.ep != nullptr && !p.shm) {
    // (A link without error handling cannot be closed by force; it is
    // flushed and closed with the others when the transport stops.)
    ucp_request_param_t param{};
    param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    param.flags = UCP_EP_CLOSE_FLAG_FORCE;
    void* req = ucp_ep_close_nbx(p.ep, &param);
    if (UCS_PTR_IS_PTR(req)) ucp_request_free(req);
    p.ep = nullptr;
  }
  if (!stopping_.load() && callbacks_.on_peer_failure) callbacks_.on_peer_failure(dest, why);
}

void UcxTransport::OnSendDone(void* request, ucs_status_t status, void* user_data) {
  auto* m = static_cast<OutMsg*>(user_data);
  UcxTransport* self = m->owner;
  if (status != UCS_OK && status != UCS_ERR_CANCELED && status != UCS_ERR_MESSAGE_TRUNCATED) {
    self->FailPeer(m->dest, FromUcs(status, "send to rank " + std::to_string(m->dest)));
  }
  self->in_flight_.fetch_sub(1);
  delete m;
  ucp_request_free(request);
}

std::unique_ptr<UcxTransport::OutMsg> UcxTransport::NewBatch() {
  if (spare_batches_.empty()) return std::make_unique<OutMsg>();
  std::unique_ptr<OutMsg> m = std::move(spare_batches_.back());
  spare_batches_.pop_back();
  return m;
}

std::unique_ptr<UcxTransport::OutMsg> UcxTransport::SendOne(int dest, std::unique_ptr<OutMsg> msg) {
  ucp_ep_h ep = Endpoint(dest);
  if (ep == nullptr) return msg;
  if (msg->header.source < 0) {
    msg->header.source = rank_;
    msg->header.token = opts_.token;
  }
  msg->owner = this;
  msg->dest = dest;
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                       UCP_OP_ATTR_FIELD_FLAGS;
  param.cb.send = &UcxTransport::OnSendDone;
  param.user_data = msg.get();
  const void* am_header = &msg->header;
  size_t am_header_size = sizeof(WireHeader);
  const void* buffer = msg->bytes.data();
  size_t count = msg->bytes.size();
  if (msg->is_large()) {
    msg->am_header.resize(sizeof(WireHeader) + msg->bytes.size());
    std::memcpy(msg->am_header.data(), &msg->header, sizeof(WireHeader));
    std::memcpy(msg->am_header.data() + sizeof(WireHeader), msg->bytes.data(), msg->bytes.size());
    am_header = msg->am_header.data();
    am_header_size = msg->am_header.size();
    if (msg->body.empty()) {
      buffer = msg->large.data();
      count = msg->large.size();
    } else {
      buffer = msg->body.data();
      count = msg->body.size();
    }
    param.flags = UCP_AM_SEND_FLAG_RNDV;
  } else {
    param.flags = 0;
  }
  void* req = ucp_am_send_nbx(ep, kAmId, am_header, am_header_size, buffer, count, &param);
  if (req == nullptr) return msg;  // completed in place
  if (UCS_PTR_IS_ERR(req)) {
    FailPeer(dest, FromUcs(UCS_PTR_STATUS(req), "send to rank " + std::to_string(dest)));
    return msg;
  }
  in_flight_.fetch_add(1);
  (void)msg.release();  // owned by the request; freed in OnSendDone
  return nullptr;
}

void UcxTransport::FlushSends() {
  std::unique_lock<std::mutex> lock(worker_mu_, std::try_to_lock);
  if (!lock.owns_lock() || stopping_.load(std::memory_order_relaxed)) return;
  FlushQueues(/*deliver_self=*/false);
}

bool UcxTransport::FlushQueues(bool deliver_self) {
  // (A plain load first: an idle poll costs no locked instruction.)
  if (!pending_.load(std::memory_order_acquire) || !pending_.exchange(false)) return false;
  flushing_.clear();
  flushing_self_.clear();
  {
    std::lock_guard<std::mutex> lock(out_mu_);
    for (auto& m : sent_) {
      if (spare_batches_.size() < kSpareBatches) spare_batches_.push_back(std::move(m));
    }
    sent_.clear();
    if (deliver_self) {
      flushing_self_.swap(self_q_);
    } else if (!self_q_.empty()) {
      pending_.store(true, std::memory_order_seq_cst);  // left for the next full flush,
      Wake();                                          // which must not sleep past them
    }
    for (int d : dirty_) {
      for (auto& m : outq_[d]) flushing_.emplace_back(d, std::move(m));
      outq_[d].clear();
    }
    dirty_.clear();
  }
  for (auto& [dest, m] : flushing_) {
    std::unique_ptr<OutMsg> done = SendOne(dest, std::move(m));
    // A batch of small frames that UCX has finished with is reused (the
    // next flush hands it back); large and raw messages are not.
    if (done && !done->sealed && done->bytes.capacity() <= 2 * kBatchLimit) {
      done->bytes.clear();
      sent_.push_back(std::move(done));
    }
  }
  for (auto& [kind, bytes] : flushing_self_) {
    if (callbacks_.on_message) {
      callbacks_.on_message(Incoming{rank_, kind, Buffer::FromVector(std::move(bytes))});
    }
  }
  return !flushing_.empty() || !flushing_self_.empty();
}

ucs_status_t UcxTransport::OnAm(void* arg, const void* header, size_t header_length, void* data,
                                size_t length, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxTransport*>(arg);
  int source = -1;
  const size_t prefix = header_length > sizeof(WireHeader) ? header_length - sizeof(WireHeader) : 0;
  Status st = CheckHeader(header, header_length - prefix, self->opts_.token, self->size_, &source);
  const bool rndv = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
  if (st.ok() && prefix > 0 && (!rndv || prefix > kMaxPrefix)) {
    st = {StatusCode::kMalformed, "header of " + std::to_string(header_length) + " bytes"};
  }
  // A network message is one large frame or a batch of small ones; each frame
  // is checked against max_message when it is parsed. This bound only stops
  // a peer from making us allocate far more than any legal message needs.
  const uint64_t bound = self->MaxFrame() + kBatchLimit + self->opts_.rndv_threshold +
                         2 * kFrameHeaderBytes;
  if (st.ok() && length > bound) {
    st = {StatusCode::kTooLarge, "message of " + std::to_string(length) + " bytes above limit"};
  }
  if (!st.ok()) {
    if (self->callbacks_.on_rejected) self->callbacks_.on_rejected(source, st);
    // UCS_OK drops a rendezvous descriptor without failing the sender's
    // request: a rejected message must not look like a broken link.
    return UCS_OK;
  }
  Peer& peer = *self->peers_[source];
  if (!rndv) {
    if (peer.recv_order.empty()) {
      // Data is valid only during this callback: view it, copy what is kept.
      self->DeliverBatch(source, Buffer::View(data, length, nullptr));
    } else {
      auto slot = std::make_shared<RecvSlot>();
      slot->ready = true;
      slot->data = Buffer::Copy(data, length);
      peer.recv_order.push_back(std::move(slot));
    }
    return UCS_OK;
  }
  const size_t total = prefix + length;
  RecvSpace space;
  if (self->callbacks_.allocate_large) space = self->callbacks_.allocate_large(total);
  if (space.data == nullptr) {
    auto heap = std::shared_ptr<uint8_t[]>(new uint8_t[total]);
    space = RecvSpace{heap.get(), heap};
  }
  uint8_t* storage = space.data;
  if (prefix > 0) {
    std::memcpy(storage, static_cast<const uint8_t*>(header) + sizeof(WireHeader), prefix);
  }
  auto slot = std::make_shared<RecvSlot>();
  slot->data = Buffer::View(storage, total, std::move(space.owner));
  peer.recv_order.push_back(slot);
  auto* ctx = new RecvContext{self, source, slot, length};
  ucp_request_param_t rp{};
  rp.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  rp.cb.recv_am = &UcxTransport::OnRecvDone;
  rp.user_data = ctx;
  void* req = ucp_am_recv_data_nbx(self->worker_, data, storage + prefix, length, &rp);
  if (req == nullptr) {
    OnRecvDone(nullptr, UCS_OK, length, ctx);
  } else if (UCS_PTR_IS_ERR(req)) {
    OnRecvDone(nullptr, UCS_PTR_STATUS(req), 0, ctx);
  }
  return UCS_OK;
}

void UcxTransport::OnRecvDone(void* request, ucs_status_t status, size_t length, void* user_data) {
  auto* ctx = static_cast<RecvContext*>(user_data);
  auto slot = std::static_pointer_cast<RecvSlot>(ctx->slot);
  UcxTransport* self = ctx->owner;
  int source = ctx->source;
  const size_t expected = ctx->expected;
  delete ctx;
  if (request != nullptr) ucp_request_free(request);
  if (status != UCS_OK || length != expected) {
    if (self->callbacks_.on_rejected) {
      self->callbacks_.on_rejected(source, FromUcs(status, "rendezvous receive failed"));
    }
    slot->data = Buffer();
  }
  slot->ready = true;
  self->DrainReady(source);
}

void UcxTransport::DrainReady(int source) {
  auto& order = peers_[source]->recv_order;
  while (!order.empty() && order.front()->ready) {
    auto slot = std::move(order.front());
    order.pop_front();
    if (!slot->data.empty()) DeliverBatch(source, slot->data);
  }
}

void UcxTransport::DeliverBatch(int source, const Buffer& batch) {
  Status st = ForEachFrame(batch, MaxFrame(), [&](MessageKind kind, Buffer frame) {
    if (callbacks_.on_message) callbacks_.on_message(Incoming{source, kind, std::move(frame)});
  });
  if (!st.ok() && callbacks_.on_rejected) callbacks_.on_rejected(source, st);
}

bool UcxTransport::PollOnce() {
  std::unique_lock<std::mutex> lock(worker_mu_, std::try_to_lock);
  if (!lock.owns_lock() || stopping_.load(std::memory_order_relaxed)) return false;
  if (PeerCheckDue()) CheckPeerProcesses();
  bool sent = FlushQueues();
  const bool active = ucp_worker_progress(worker_) > 0 || sent;
  if (active) FlushQueues();  // what the handlers sent leaves before work kept from them runs
  lock.unlock();
  if (active && callbacks_.after_delivery) callbacks_.after_delivery();
  return active;
}

void UcxTransport::BeginPolling() { external_pollers_.fetch_add(1); }

void UcxTransport::EndPolling() {
  // Hand the worker back: the progress thread may be parked without an armed fd.
  if (external_pollers_.fetch_sub(1) == 1) Wake();
}

void UcxTransport::SleepOnFds(int timeout_ms) {
  epoll_event events[3];
  const int n = epoll_wait(epoll_fd_, events, 3, timeout_ms);
  for (int i = 0; i < n; ++i) {
    if (events[i].data.fd == pid_epoll_fd_) last_pid_check_us_.store(0);  // check at once
  }
  uint64_t v;
  while (read(event_fd_, &v, sizeof(v)) > 0) {
  }
}

void UcxTransport::Loop() {
  int64_t last_active = 0;         // start of the current idle stretch
  uint32_t idle_spins = 0;         // polls without activity in a row
  uint32_t loops = 0;
  bool polite = false;             // yield between polls (idle for kTightSpinUs)
  while (!stopping_.load(std::memory_order_acquire)) {
    if (external_pollers_.load(std::memory_order_acquire) > 0) {
      // Another thread drives the worker; park until it is done (or briefly).
      sleeping_.store(true, std::memory_order_seq_cst);
      if (external_pollers_.load() > 0 && !pending_.load()) SleepOnFds(1);
      sleeping_.store(false, std::memory_order_seq_cst);
      idle_spins = 0;
      continue;
    }
    bool active;
    {
      std::lock_guard<std::mutex> lock(worker_mu_);
      if ((++loops & kClockEvery) == 0 && PeerCheckDue()) CheckPeerProcesses();
      bool sent = FlushQueues();
      active = ucp_worker_progress(worker_) > 0 || sent;
      if (active) FlushQueues();  // as in PollOnce
    }
    if (active) {
      if (callbacks_.after_delivery) callbacks_.after_delivery();
      idle_spins = 0;
      continue;
    }
    // Idle. A clock read costs about as much as a poll of the worker, so
    // the clock is read when an idle stretch starts and then now and then:
    // a message arriving meanwhile is seen a poll sooner.
    if (idle_spins++ == 0) {
      last_active = NowUs();
      polite = false;
      continue;
    }
    if ((idle_spins & kClockEvery) != 0) {
      if (polite) std::this_thread::yield();
      continue;
    }
    const int64_t idle_us = NowUs() - last_active;
    if (idle_us < opts_.spin_us) {
      // Spin tightly just after activity (a reply often follows at once),
      // then politely: a thread this one would otherwise delay (the executor
      // about to run the task just received) gets the core at once.
      polite = idle_us >= kTightSpinUs;
      if (polite) std::this_thread::yield();
      continue;
    }
    idle_spins = 0;
    sleeping_.store(true, std::memory_order_seq_cst);
    if (pending_.load(std::memory_order_seq_cst)) {
      sleeping_.store(false);
      continue;
    }
    ucs_status_t st;
    {
      std::lock_guard<std::mutex> lock(worker_mu_);
      st = ucp_worker_arm(worker_);
    }
    if (st == UCS_OK) SleepOnFds(100);
    sleeping_.store(false, std::memory_order_seq_cst);
  }
  // Deliver what is queued, then close links.
  std::lock_guard<std::mutex> lock(worker_mu_);
  pending_.store(true);
  FlushQueues();
  WaitIdle();
  CloseEndpoints();
}

void UcxTransport::WaitIdle() {
  const int64_t deadline = NowUs() + 2'000'000;
  while (in_flight_.load() > 0 && NowUs() < deadline) ucp_worker_progress(worker_);
}

void UcxTransport::CloseEndpoints() {
  std::vector<void*> reqs;
  for (auto& p : peers_) {
    if (p->ep == nullptr) continue;
    ucp_request_param_t param{};
    param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    param.flags = p->shm ? 0 : UCP_EP_CLOSE_FLAG_FORCE;  // force needs error handling
    void* req = ucp_ep_close_nbx(p->ep, &param);
    if (UCS_PTR_IS_PTR(req)) reqs.push_back(req);
    p->ep = nullptr;
  }
  const int64_t deadline = NowUs() + 1'000'000;
  for (void* req : reqs) {
    while (ucp_request_check_status(req) == UCS_INPROGRESS && NowUs() < deadline) {
      ucp_worker_progress(worker_);
    }
    ucp_request_free(req);
  }
}

void UcxTransport::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  uint64_t one = 1;
  ssize_t n = write(event_fd_, &one, sizeof(one));
  (void)n;
  if (thread_.joinable()) thread_.join();
}

}  // namespace rankflow::transport
