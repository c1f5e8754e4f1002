// runtime/runtime.h — one rank's runtime: owns the transport, object table,
// placement, executor pool and (when elected) the control service, and
// routes every message between them.
//
// One Runtime object is passed down explicitly; the public API reaches it
// through a thread-local pointer set for the driver thread and for executor
// threads, so several Runtimes can live in one process (tests over the
// loopback transport).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/config.h"
#include "common/seq_map.h"
#include "common/status.h"
#include "actors/actor_host.h"
#include "control.pb.h"
#include "control/control_service.h"
#include "objects/object_table.h"
#include "runtime/awaiting_tasks.h"
#include "runtime/collective_inbox.h"
#include "graphs/graph_host.h"
#include "rankflow/graph.h"
#include "rankflow/actor.h"
#include "rankflow/internal/core.h"
#include "scheduler/executor_pool.h"
#include "scheduler/placement.h"
#include "store/node_store.h"
#include "transport/transport.h"

namespace rankflow::runtime {

struct FunctionEntry;
struct TaskWire;

/// Times one run of a task on this thread and records it in its function's
/// estimate (with whether it waited); see inline_tasks.cc.
class RunTimer {
 public:
  RunTimer();
  ~RunTimer();
  RunTimer(const RunTimer&) = delete;
  RunTimer& operator=(const RunTimer&) = delete;
  void Record(const FunctionEntry& fn);

 private:
  bool outer_;
  std::chrono::steady_clock::time_point start_;
};

/// Executor work that is a compiled graph's node (graphs/graph_host.h).
constexpr int kGraphWorkSource = -2;

/// Whether `id` names a collective task's result (collective_tasks.cc).
bool IsCollective(const internal::ObjectId& id);

/// The error code a failed control-service reply carries (`fallback` if none).
inline StatusCode CodeOf(const proto::ActorNameReply& reply, StatusCode fallback) {
  return reply.code() != 0 ? static_cast<StatusCode>(reply.code()) : fallback;
}

/// The message of a task's failure on a failed dependency `id` (args.cc).
std::string DependencyFailure(const internal::ObjectId& id, const objects::ObjectError& error);

/// This thread's serialized-reference bookkeeping (object_transfer.cc).
/// Sets whether imports take their own counts; returns the previous setting.
bool SetImportOwn(bool own);
/// The references this thread exported since the last call.
std::vector<internal::ExportedRef> TakeExports();

/// Everything a Runtime needs, decided by bootstrap.
struct RuntimeDeps {
  RuntimeConfig config;
  int rank = 0;
  int size = 1;
  int driver_rank = 0;
  int control_rank = 0;
  int node = 0;
  std::string host;
  int num_executors = 1;
  std::vector<int> pin_pus;                            // empty: no pinning
  bool exclusive_cores = true;                         // false: cores shared with other ranks
  std::map<std::string, double> resources;             // this rank's capacity
  std::unique_ptr<transport::Transport> transport;     // null when size == 1
  std::shared_ptr<store::NodeStore> store;             // null: objects stay in the heap
  std::vector<int> rank_nodes;                         // node of every rank (empty: all on `node`)
};

/// Counters for tests and diagnostics.
struct RuntimeCounters {
  std::atomic<uint64_t> tasks_executed{0};
  std::atomic<uint64_t> tasks_inline{0};  // of those, run by the thread that received them
  std::atomic<uint64_t> actor_calls_inline{0};  // actor calls run by the thread that received them
  std::atomic<uint64_t> tasks_early{0};    // sent before their inputs were ready (owner)
  std::atomic<uint64_t> tasks_bounced{0};  // of those, given back and dispatched again (owner)
  std::atomic<uint64_t> collective_sent{0};  // inputs sent to other ranks' collective tasks
  std::atomic<uint64_t> messages_rejected{0};
  std::atomic<uint64_t> messages_malformed{0};
  std::atomic<uint64_t> objects_spilled{0};
  std::atomic<uint64_t> objects_restored{0};
  std::atomic<uint64_t> objects_evicted{0};   // cached copies dropped for space
  std::atomic<uint64_t> fetches_sent{0};      // object pulls this rank started
  std::atomic<uint64_t> fetches_resent{0};    // asked again after no answer came
  std::atomic<uint64_t> fetches_served{0};    // object pulls this rank answered with data
  std::atomic<uint64_t> checksum_failures{0};
};

class Runtime : public std::enable_shared_from_this<Runtime> {
 public:
  explicit Runtime(RuntimeDeps deps);
  ~Runtime();

  /// Starts threads, registers with the control service, waits for the view.
  Status Start(int64_t timeout_ms = 60000);
  /// Non-driver ranks: serve until the driver shuts the job down. Returns the exit code.
  int ServeUntilShutdown();
  /// Driver: stops every rank, then this one. SPMD mode, other ranks: tells
  /// the driver this rank's main is done, then serves until it stops all.
  void Shutdown();
  /// SPMD mode: main runs on every rank; the calling thread submits this
  /// rank's collective tasks (collective_tasks.cc).
  void EnableSpmd();
  bool spmd() const { return spmd_; }
  size_t collective_awaited() const { return inbox_.awaited(); }

  // The API (see rankflow/internal/core.h).
  /// Submits the task and empties `req` (see internal::Submit).
  std::shared_ptr<internal::RefHandle> Submit(internal::SubmitRequest& req);
  std::shared_ptr<internal::RefHandle> Put(std::vector<uint8_t>&& bytes);
  Result<objects::ObjectValue> Get(const internal::ObjectId& id, int64_t timeout_ms);
  std::vector<bool> Wait(const std::vector<internal::ObjectId>& ids, int n, int64_t timeout_ms);

  // The object store (object_memory.cc, object_transfer.cc).
  /// Room for an object of `bytes` to fill in place: in the node store when
  /// large enough, else in the heap. Throws rankflow::Error (kTooLarge).
  internal::WritableObject CreateObject(uint64_t bytes);
  std::shared_ptr<internal::RefHandle> SealObject(internal::WritableObject&& object);
  /// A serialized reference leaves this rank: count it at the owner.
  internal::ExportedRef ExportRef(const std::shared_ptr<internal::RefHandle>& handle);
  /// A serialized reference arrived: a handle that releases it when gone.
  std::shared_ptr<internal::RefHandle> ImportRef(const internal::ObjectId& id, uint64_t token);
  /// Holds one count on each of `ids` for a stored object; null if empty.
  std::shared_ptr<const objects::ContainedRefs> MakeContained(std::vector<internal::ExportedRef> ids);
  /// A view of bytes in this node's store named by an argument descriptor.
  Buffer StoredArgument(uint64_t data_off, uint64_t size);
  store::NodeStore* store() { return store_.get(); }
  int NodeOf(int rank) const;
  /// Forgets every copy fetched from another rank (tests, memory pressure).
  void DropFetchedCopies();
  uint64_t inline_bytes() const { return inline_bytes_; }
  /// Testing: hold back borrow AddRefs to other owners by `ms`.
  void DelayBorrowAddRefs(int ms) { addref_delay_ms_.store(ms); }
  /// Testing: drop the next `n` object answers this rank receives; resend after `ms`.
  void DropObjectData(int n) { drop_object_data_.store(n); }
  void SetFetchResendMs(int ms) { fetch_resend_ms_.store(ms); }

  // Actors (actor_submitter.cc); errors are thrown as rankflow::Error.
  internal::ActorId CreateActor(const std::string* factory, const internal::ActorOptions& options,
                                uint32_t num_args, std::vector<uint8_t>&& args,
                                std::vector<std::shared_ptr<internal::RefHandle>>&& refs);
  std::shared_ptr<internal::RefHandle> CallActor(const internal::ActorId& actor,
                                                 const std::string* method,
                                                 const std::string& display, uint32_t num_args,
                                                 std::vector<uint8_t>&& args,
                                                 std::vector<std::shared_ptr<internal::RefHandle>>&& refs);
  void KillActor(const internal::ActorId& actor);
  internal::ActorId LookupActor(const std::string& name, const std::string& ns,
                                const char* type_name);
  actors::ActorHost& actor_host() { return *actors_; }
  // Placement groups (placement_groups.cc); errors are thrown as rankflow::Error.
  PlacementGroup CreatePlacementGroup(const std::vector<Bundle>& bundles, PlacementStrategy strategy);
  void RemovePlacementGroup(const PlacementGroup& group);
  // Compiled graphs (graph_owner.cc; graphs/graph_host.h runs each rank's part).
  std::shared_ptr<internal::GraphExec> CompileGraph(const internal::GraphSpec& spec);
  void RunGraph(internal::GraphExec& exec, int64_t timeout_ms);
  /// Uninstalls the graph on its ranks (the owner's handle is gone).
  void RemoveGraph(internal::GraphExec& exec);

  int rank() const { return rank_; }
  int size() const { return size_; }
  int control_rank() const { return control_rank_; }
  const RuntimeConfig& config() const { return config_; }
  RuntimeCounters& counters() { return counters_; }
  objects::ObjectTable& objects() { return *objects_; }
  transport::Transport* transport() { return transport_.get(); }

  /// The runtime the calling thread works for (driver or executor), or null.
  static Runtime* Current();
  static void SetCurrent(Runtime* rt);
  /// The process's default runtime, for threads without a current one.
  static void SetGlobal(Runtime* rt);
  /// Current() or the global one; throws rankflow::Error if neither exists.
  static Runtime& CurrentOrThrow();

 private:
  struct PendingTask;
  struct PendingCall;
  struct InFlight {
    int rank;
    bool placed;  // a task counted in placement (not an actor call)
    std::shared_ptr<const void> keep;  // store objects its arguments point at (early: the task)
    bool early = false;           // sent before its inputs were ready: tracked on `rank`
    uint8_t early_children = 0;   // early tasks sent to `rank` on this one's account
  };

  // Submission (task_submitter.cc).
  /// A task ready to place: everything borrowed from its submitter.
  struct TaskView {
    uint64_t seq;
    const std::string* function;
    const std::string& name;
    const scheduler::ResourceMap& demand;
    int affinity;
    uint32_t num_args;
    const std::vector<uint8_t>& args;  // values only
  };
  void Dispatch(std::shared_ptr<PendingTask> task);  // once its dependencies are ready
  static void DependencyReady(objects::ReadyHook* hook);  // a PendingTask's
  // One dependency fewer outstanding: the last one dispatches the task.
  static void Resolved(PendingTask* task);

  // Early dispatch (early_dispatch.cc; runtime/awaiting_tasks.h). Owner side:
  /// The rank most of the task's pending dependencies are computed on, if
  /// it should go there now; `local[i]`: dependency i is tracked there.
  int EarlyTarget(const PendingTask& task, bool* local);
  /// Sends the task ahead of its inputs; false (nothing sent) to wait here instead.
  bool SendEarly(const std::shared_ptr<PendingTask>& task, int target, const bool* local);
  /// Encodes the arguments of an early task: ready ones as values, the
  /// rest as awaited; false if a ready one is not a small value in memory.
  bool EncodeEarlyArgs(const PendingTask& task, const bool* local, std::vector<uint8_t>& out,
                       bool* awaited);
  void PushInput(const PendingTask& task, size_t i);
  void OnBounce(int source, const Buffer& msg);
  // Executing side:
  void OnEarlyTask(int source, const Buffer& message, const TaskWire& task);
  void OnTaskInput(int source, const Buffer& msg);
  /// Starts what became ready, fails what lost an input, bounces the rest.
  void RunAwaited(AwaitingTasks::Outcome& out);
  void DispatchTo(const PendingTask& task, int target);
  /// Submit, with the result numbered `named` (!= 0: a collective task's, run here).
  std::shared_ptr<internal::RefHandle> SubmitNumbered(internal::SubmitRequest& req, uint64_t named);

  // Collective tasks, SPMD mode (collective_tasks.cc; runtime/collective_inbox.h).
  std::shared_ptr<internal::RefHandle> SubmitCollective(internal::SubmitRequest& req);
  /// Sends this rank's object `ref` to rank `dest` once it is ready.
  void PushWhenReady(std::shared_ptr<internal::RefHandle> ref, int dest);
  void OnCollectiveValue(int source, const Buffer& msg);
  /// Why collective object `id` (another rank's) cannot be used here.
  std::string NotHere(const internal::ObjectId& id) const;

  // Tasks for this rank made ready while this thread delivers messages: their
  // arguments are resolved once what the delivery sends has left (a remote
  // task made ready by the same result is not held up by a local one).
  // Likewise, tasks sent during a delivery are freed (and with them perhaps
  // their inputs) only after it.
  static thread_local std::vector<std::shared_ptr<PendingTask>> deferred_;
  static thread_local std::vector<std::shared_ptr<PendingTask>> retired_;
  static thread_local bool delivering_;
  void RunDeferred();
  // Whether this thread may keep one piece of work to run after its delivery.
  bool CanKeepHere() const;
  // Keeps an actor's call on this thread like a short task (ActorHost::KeepFn).
  bool KeepActorCall(const FunctionEntry& method, std::function<void()>& run);
  void Place(const TaskView& task);  // a task without dependencies
  // Checks an encoded task against the message limit, then dispatches it.
  void SendTask(uint64_t seq, int target, std::vector<uint8_t>&& msg,
                std::shared_ptr<const void> keep, const std::string& display);
  void DispatchEncoded(uint64_t seq, int target, std::vector<uint8_t>&& msg,
                       std::shared_ptr<const void> keep);
  void FailObject(uint64_t seq, StatusCode code, const std::string& message,
                  const std::string& task_name);
  void OnResult(int source, const Buffer& msg);
  /// Decodes a value message (a result, a collective input), adopting a
  /// same-node store location; an error only if the message is malformed.
  Status ReceiveValue(int source, const Buffer& msg, uint64_t* seq, objects::ObjectValue* value);
  /// Sends a value to `dest` as message `kind`: a store location on this
  /// node, else the bytes; `contained` are the references inside it.
  void SendValue(int dest, uint16_t kind, uint64_t seq, const objects::ObjectValue& value,
                 std::vector<internal::ExportedRef> contained);
  void FailTasksOn(int rank);

  // Object access (object_access.cc).
  bool SpinPoll(uint64_t seq, objects::ObjectValue* out);
  Result<objects::ObjectValue> GetOwned(uint64_t seq, int64_t deadline);

  // Arguments (args.cc): kRef arguments become values, or store locations
  // (kept alive in `keep` until the task ends) when `by_location`.
  Status ResolveArgs(std::span<const uint8_t> in,
                     std::span<const std::shared_ptr<internal::RefHandle>> refs,
                     bool by_location, std::vector<uint8_t>& out, std::vector<Buffer>* keep);
  // (`keep` may be null only when `by_location` is false.)
  bool SameNode(int rank) const;

  // Store memory (object_memory.cc).
  /// Space in the store, evicting cached copies and spilling owned objects
  /// when full; kTooLarge when it cannot be found.
  Result<store::NodeStore::Writable> AllocateInStore(uint64_t bytes);
  /// One step each: drop the least recently used cached copy / spill the
  /// least recently used owned object nobody reads. False when none is left.
  bool EvictCached();
  bool SpillOwned();
  /// Brings a spilled value back (into the store if it fits, else the heap).
  Status Materialize(uint64_t seq, objects::ObjectValue* value);
  /// A large value moved into the store (for results sent to a same-node owner).
  bool CopyIntoStore(const Buffer& data, Buffer* out);

  // Transfers between ranks (object_transfer.cc).
  struct Fetch;
  class BorrowSink;
  void InitObjectTransfer();
  std::shared_ptr<Fetch> StartFetch(const internal::ObjectId& id);
  /// An owned stand-in for a borrowed reference, completed when fetched.
  std::shared_ptr<internal::RefHandle> LocalizeRef(const std::shared_ptr<internal::RefHandle>& ref);
  void SendFetch(const internal::ObjectId& id, int to, bool direct);
  Result<objects::ObjectValue> GetRemote(const internal::ObjectId& id, int64_t deadline);
  void ReleaseBorrowed(const internal::ObjectId& id, uint64_t token);
  /// Asks owners again for fetch answers that are overdue (RANKFLOW_FETCH_RESEND_MS).
  void StartFetchWatchdog();
  void StopFetchWatchdog();
  void OnObjectMessage(int source, uint16_t kind, const Buffer& msg);
  void OnFetch(int source, const Buffer& msg);
  void OnData(int source, const Buffer& msg);
  void Serve(int dest, uint32_t owner, uint64_t seq, objects::ObjectValue value, bool direct);
  /// Tells `dest` this rank holds no copy of owner:seq (it should ask the owner).
  void SendMiss(int dest, uint32_t owner, uint64_t seq);
  void FinishFetch(const internal::ObjectId& id, objects::ObjectValue value);
  void FailFetchesFrom(int rank);

  // Execution (task_executor.cc).
  void RunTask(scheduler::Work& work);
  /// Runs a decoded task; `fn` is its registered function (null: not one).
  void RunDecoded(int source, const TaskWire& task, const FunctionEntry* fn);
  // Run to completion (inline_tasks.cc): a short task is kept by the thread
  // that received it and run once that thread lets go of the network.
  /// Keeps a task message (persistent bytes) for this thread to run; false
  /// when it should go to the executors.
  bool TakeInline(int source, const Buffer& data);
  bool TakeInline(int source, const Buffer& data, const TaskWire& task);  // already decoded
  void RunTakenInline();
  /// True on a thread running a task inline: it must never sleep while
  /// waiting, since it may be the only one driving the network.
  static bool RunningInline();
  /// A task waits for something (its function will not run inline again).
  static void NoteWait();

  /// Polls the network on this thread until `done()` or the deadline (< 0: none).
  bool PollUntil(const std::function<bool()>& done, int64_t deadline_us);
  void DeliverResult(uint32_t owner, uint64_t seq, objects::ObjectValue&& value, bool placed);

  // Actors (actor_submitter.cc).
  void SendCall(const std::shared_ptr<PendingCall>& call);
  Status SendOrHandleLocally(int target, uint16_t kind, std::vector<uint8_t>&& msg);
  void OnActorMessage(int source, uint16_t kind, const Buffer& msg);
  proto::ActorNameReply NameRequest(proto::ActorName req);
  proto::ActorNameReply ControlCall(proto::ControlMessage msg, int64_t id);
  void OnNameReply(const proto::ActorNameReply& reply);

  // Compiled graphs (graph_owner.cc).
  void InitGraphs();
  void OnGraphMessage(int source, uint16_t kind, const Buffer& msg);
  void OnGraphDone(int source, const uint8_t* data, size_t size);
  void GraphRankDied(int rank);
  /// Waits (polling the network on a thread that must not sleep) until
  /// `done()` holds under exec.mu or the deadline (< 0: none) passes.
  bool WaitGraph(internal::GraphExec& exec, const std::function<bool()>& done, int64_t deadline_us);
  bool RankDead(int rank);

  // Messaging and control (runtime.cc).
  void OnMessage(transport::Incoming&& in);
  void OnControl(int source, const Buffer& bytes);
  void OnPeerFailure(int rank, const Status& why);
  void OnRejected(int rank, const Status& why);
  Status SendControl(int dest, const proto::ControlMessage& msg);
  /// To the control service: over the transport, or called in place with one rank.
  Status ToControlService(const proto::ControlMessage& msg);
  void ApplyView(const proto::ClusterView& view);
  void RequestStop(int exit_code);

  const RuntimeConfig config_;
  const int rank_;
  const int size_;
  const int driver_rank_;
  int control_rank_;
  const int node_;
  const std::string host_;
  std::map<std::string, double> resources_;
  std::unique_ptr<transport::Transport> transport_;
  std::shared_ptr<objects::ObjectTable> objects_;
  scheduler::Placement placement_;
  std::unique_ptr<scheduler::ExecutorPool> executors_;
  int num_executors_;
  int wait_spin_us_;  // how long waiting threads poll before sleeping (0 when cores are shared)
  uint64_t inline_task_ns_;  // RANKFLOW_INLINE_TASK_US in ns; 0: never inline
  std::vector<int> pin_pus_;
  std::unique_ptr<control::ControlService> control_;  // on the control rank only
  std::mutex control_mu_;                              // one rank: serializes the local service
  std::unique_ptr<actors::ActorHost> actors_;
  std::atomic<uint64_t> next_actor_seq_{1};
  std::atomic<uint64_t> next_group_id_{1};
  std::atomic<int> addref_delay_ms_{0};  // testing only
  std::atomic<int> drop_object_data_{0};  // testing only
  std::atomic<int> fetch_resend_ms_{10'000};
  std::thread fetch_watchdog_;
  std::condition_variable watchdog_cv_;  // with fetch_mu_
  bool watchdog_stop_ = false;           // under fetch_mu_
  std::atomic<uint64_t> next_borrow_token_{1};
  std::mutex actor_mu_;
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> call_seq_;  // per actor: next call position
  std::atomic<int64_t> next_request_{1};
  std::map<int64_t, std::shared_ptr<std::promise<proto::ActorNameReply>>> name_requests_;
  RuntimeCounters counters_;

  std::shared_ptr<store::NodeStore> store_;
  std::vector<int> rank_nodes_;
  const uint64_t inline_bytes_;
  std::shared_ptr<BorrowSink> borrow_sink_;
  std::mutex fetch_mu_;
  std::condition_variable fetch_cv_;
  std::map<std::pair<uint32_t, uint64_t>, std::shared_ptr<Fetch>> fetches_;  // in flight and cached
  uint64_t fetch_tick_ = 0;
  std::mutex holders_mu_;
  std::unordered_map<uint64_t, std::vector<int>> holders_;  // owned object -> ranks with a copy
  std::unordered_map<uint64_t, uint64_t> serve_turn_;       // owned object -> fetches answered
  std::mutex spill_mu_;
  std::atomic<uint64_t> spill_files_{0};

  const RuntimeConfig::EarlyDispatch early_dispatch_;
  bool early_possible_ = false;  // some rank may get early tasks (set in the constructor)
  AwaitingTasks awaiting_;  // early tasks sent here

  bool spmd_ = false;
  std::thread::id spmd_thread_;   // the thread that submits collective tasks
  uint64_t next_collective_ = 1;  // (that thread's only)
  CollectiveInbox inbox_;         // collective tasks' inputs from other ranks

  std::unique_ptr<graphs::GraphHost> graphs_;  // this rank's parts of compiled graphs
  std::mutex graphs_mu_;
  std::unordered_map<uint64_t, std::weak_ptr<internal::GraphExec>> owned_graphs_;  // compiled here
  uint32_t next_graph_ = 0;  // under graphs_mu_

  std::mutex inflight_mu_;
  SeqMap<InFlight> inflight_;  // remote tasks by result seq (records recycled)

  std::mutex state_mu_;
  std::condition_variable state_cv_;
  int64_t view_version_ = 0;
  bool stop_requested_ = false;
  bool final_received_ = false;
  Status startup_error_;  // set when the control rank is unreachable before the view
  int exit_code_ = 0;
  int acks_ = 0;
  // SPMD mode: which ranks' main called Shutdown (driver), and whether this
  // rank's main still runs (rank failures are handled until it is done).
  std::vector<bool> main_done_;
  bool spmd_main_running_ = false;
  std::vector<bool> dead_;
  bool stopped_ = false;
};

}  // namespace rankflow::runtime
