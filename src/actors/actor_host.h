// actors/actor_host.h — the actors living on this rank.
//
// Each actor has its own thread(s) (SetMaxConcurrency(n): n threads) and a
// mailbox. A call of a one-thread actor that is idle, to a method whose
// recent runs were short, may instead run on the thread that delivered it
// (SetKeep): still one call at a time and in order. Calls are queued in per-caller order: a call carries its position
// in the sequence of calls from its caller rank to this actor, and a call
// that arrives early waits for the ones before it. The constructor runs on the
// actor's first thread before any call. A killed, exited or failed actor
// answers every call with kActorDied. Thread safety: On* are called on the
// transport's progress thread (or the submitter, for local actors).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actors/actor_wire.h"
#include "objects/object_table.h"

namespace rankflow::runtime {
struct FunctionEntry;
}

namespace rankflow::actors {

/// Thrown by rankflow::ExitActor() inside a method; caught by the host.
struct ActorExitSignal {};

class ActorHost {
 public:
  using DeliverFn = std::function<void(uint32_t owner, uint64_t seq, objects::ObjectValue&&)>;
  /// Offers a call of `method` to the calling thread to run after what it
  /// is doing (run to completion, see runtime/inline_tasks.cc); true if it
  /// took `run`. `run` is called once, or destroyed unrun.
  using KeepFn = std::function<bool(const runtime::FunctionEntry& method, std::function<void()>& run)>;

  /// `thread_init` runs first on every actor thread (sets the current runtime);
  /// `on_dead` is told when an actor dies (to release its resources and name).
  ActorHost(int rank, DeliverFn deliver, std::function<void()> thread_init,
            std::function<void(const ActorKey&)> on_dead = {});
  ~ActorHost();

  /// Lets calls of idle one-thread actors run on the thread that delivers them.
  void SetKeep(KeepFn keep) { keep_ = std::move(keep); }

  Status OnCreate(const Buffer& msg);
  Status OnCall(const Buffer& msg);
  Status OnKill(const Buffer& msg);
  /// Stops every actor (after its running call) and destroys the objects.
  void StopAll();
  /// Actors created here and not dead.
  size_t LiveCount();

 private:
  struct Call {
    Buffer msg;
    CallWire wire;
  };
  struct Instance;

  struct Kept;
  void Enqueue(const std::shared_ptr<Instance>& inst, Call&& call);
  bool TryKeep(const std::shared_ptr<Instance>& inst);
  void Run(const std::shared_ptr<Instance>& inst, int index);
  void Execute(Instance& inst, Call& call);
  void Die(Instance& inst, std::unique_lock<std::mutex>& lock, const std::string& why);
  void FailCall(const Call& call, StatusCode code, const std::string& message);

  const int rank_;
  DeliverFn deliver_;
  std::function<void()> thread_init_;
  std::function<void(const ActorKey&)> on_dead_;
  KeepFn keep_;
  std::mutex mu_;
  bool stopping_ = false;
  std::unordered_map<ActorKey, std::shared_ptr<Instance>, ActorKeyHash> actors_;
  std::unordered_map<ActorKey, std::vector<Call>, ActorKeyHash> early_;  // calls before creation
};

}  // namespace rankflow::actors
