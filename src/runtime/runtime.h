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
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "actors/actor_host.h"
#include "control.pb.h"
#include "control/control_service.h"
#include "objects/object_table.h"
#include "rankflow/actor.h"
#include "rankflow/internal/core.h"
#include "scheduler/executor_pool.h"
#include "scheduler/placement.h"
#include "transport/transport.h"

namespace rankflow::runtime {

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
};

/// Counters for tests and diagnostics.
struct RuntimeCounters {
  std::atomic<uint64_t> tasks_executed{0};
  std::atomic<uint64_t> messages_rejected{0};
  std::atomic<uint64_t> messages_malformed{0};
};

class Runtime : public std::enable_shared_from_this<Runtime> {
 public:
  explicit Runtime(RuntimeDeps deps);
  ~Runtime();

  /// Starts threads, registers with the control service, waits for the view.
  Status Start(int64_t timeout_ms = 60000);
  /// Non-driver ranks: serve until the driver shuts the job down. Returns the exit code.
  int ServeUntilShutdown();
  /// Driver: stops every rank, then this one.
  void Shutdown();

  // The API (see rankflow/internal/core.h).
  std::shared_ptr<internal::RefHandle> Submit(internal::SubmitRequest&& req);
  std::shared_ptr<internal::RefHandle> Put(std::vector<uint8_t>&& bytes);
  Result<objects::ObjectValue> Get(const internal::ObjectId& id, int64_t timeout_ms);
  std::vector<bool> Wait(const std::vector<internal::ObjectId>& ids, int n, int64_t timeout_ms);

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
  void Place(const TaskView& task);
  void DispatchEncoded(uint64_t seq, int target, std::vector<uint8_t>&& msg);
  void FailObject(uint64_t seq, StatusCode code, const std::string& message,
                  const std::string& task_name);
  void OnResult(int source, const Buffer& msg);
  void FailTasksOn(int rank);

  // Object access (object_access.cc).
  bool SpinPoll(uint64_t seq, objects::ObjectValue* out);

  // Execution (task_executor.cc).
  void RunTask(scheduler::Work& work);
  void DeliverResult(uint32_t owner, uint64_t seq, objects::ObjectValue&& value, bool placed);

  // Actors (actor_submitter.cc).
  void SendCall(const std::shared_ptr<PendingCall>& call);
  Status SendOrHandleLocally(int target, uint16_t kind, std::vector<uint8_t>&& msg);
  void OnActorMessage(int source, uint16_t kind, const Buffer& msg);
  proto::ActorNameReply NameRequest(proto::ActorName req);
  proto::ActorNameReply ControlCall(proto::ControlMessage msg, int64_t id);
  void OnNameReply(const proto::ActorNameReply& reply);

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
  std::vector<int> pin_pus_;
  std::unique_ptr<control::ControlService> control_;  // on the control rank only
  std::mutex control_mu_;                              // one rank: serializes the local service
  std::unique_ptr<actors::ActorHost> actors_;
  std::atomic<uint64_t> next_actor_seq_{1};
  std::mutex actor_mu_;
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> call_seq_;  // per actor: next call position
  std::atomic<int64_t> next_request_{1};
  std::map<int64_t, std::shared_ptr<std::promise<proto::ActorNameReply>>> name_requests_;
  RuntimeCounters counters_;

  std::mutex inflight_mu_;
  std::unordered_map<uint64_t, InFlight> inflight_;  // remote tasks by result seq

  std::mutex state_mu_;
  std::condition_variable state_cv_;
  int64_t view_version_ = 0;
  bool stop_requested_ = false;
  bool final_received_ = false;
  Status startup_error_;  // set when the control rank is unreachable before the view
  int exit_code_ = 0;
  int acks_ = 0;
  std::vector<bool> dead_;
  bool stopped_ = false;
};

}  // namespace rankflow::runtime
