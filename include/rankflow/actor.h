// rankflow/actor.h — stateful remote objects.
//
//   class Env { public: explicit Env(int seed); Obs Step(Action a); };
//   Env* MakeEnv(int seed) { return new Env(seed); }
//   RANKFLOW_REMOTE(MakeEnv, &Env::Step);
//
//   auto env = rankflow::Actor(MakeEnv).SetName("env-0").Remote(42);
//   auto obs = env.Task(&Env::Step).Remote(action);      // ObjectRef<Obs>
//   auto same = rankflow::GetActor<Env>("env-0");         // from any rank
//
// An actor lives on one rank chosen like a task's; calls from one caller run
// in the order submitted (SetMaxConcurrency(n) lets n run at once). Handles
// are values: copy them, pass them to tasks and actors. An actor lives until
// Kill(), ExitActor() from inside, or the end of the job; calls to a dead
// actor fail with ErrorCode::kActorDied. Thread safety: handles may be used
// from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "rankflow/object_ref.h"
#include "rankflow/placement_group.h"
#include "rankflow/remote.h"
#include "rankflow/task.h"

namespace rankflow {

namespace internal {

/// Where an actor lives: the rank that created it, a sequence there, its rank.
struct ActorId {
  uint32_t owner = 0;
  uint32_t rank = 0;
  uint64_t seq = 0;
  bool operator==(const ActorId&) const = default;
};

struct ActorOptions {
  std::string name;
  std::string ns;
  std::map<std::string, double> resources;
  int rank = -1;
  int max_concurrency = 1;
  bool inline_calls = false;  // SetInlineCalls
  uint32_t group_owner = 0;  // placement group (id 0: none) and bundle
  uint64_t group_id = 0;
  int bundle = -1;
};

ActorId CreateActor(const std::string* factory, const ActorOptions& options, uint32_t num_args,
                    std::vector<uint8_t>&& args, std::vector<std::shared_ptr<RefHandle>>&& refs);
std::shared_ptr<RefHandle> CallActor(const ActorId& actor, const std::string* method,
                                     const std::string& display_name, uint32_t num_args,
                                     std::vector<uint8_t>&& args,
                                     std::vector<std::shared_ptr<RefHandle>>&& refs);
void KillActor(const ActorId& actor);
ActorId LookupActor(const std::string& name, const std::string& ns, const char* type_name);
[[noreturn]] void ThrowActorExit();

}  // namespace internal

template <typename T>
class ActorHandle;

/// Builds one method call: handle.Task(&T::Method).Remote(args...).
template <typename R, typename T, typename... Params>
class ActorTaskCaller {
 public:
  ActorTaskCaller(internal::ActorId id, R (T::*method)(Params...)) : id_(id), method_(method) {}

  /// Name shown in errors (default: the registered method name).
  ActorTaskCaller& SetName(std::string name) {
    name_ = std::move(name);
    return *this;
  }

  template <typename... Args>
  ObjectRef<R> Remote(Args&&... args) {
    static_assert(sizeof...(Args) == sizeof...(Params),
                  "wrong number of arguments for this actor method");
    using M = R (T::*)(Params...);
    const std::string* name = internal::MethodNameOf(&method_, sizeof(M));
    if (name == nullptr) internal::ThrowUnregistered("actor method passed to Task()");
    internal::SubmitRequest req;
    if constexpr (sizeof...(Args) > 0) req.args.reserve(64);  // one allocation for small arguments
    if constexpr ((IsObjectRef<std::decay_t<Args>>::value || ...)) {
      req.refs.reserve(sizeof...(Args));
    }
    (internal::AppendArg<Params>(req, std::forward<Args>(args)), ...);
    return ObjectRef<R>(internal::CallActor(id_, name, name_, sizeof...(Args), std::move(req.args),
                                            std::move(req.refs)));
  }

 private:
  internal::ActorId id_;
  R (T::*method_)(Params...);
  std::string name_;
};

/// A reference to a live actor of type T. A value: copy it, send it.
template <typename T>
class ActorHandle {
 public:
  ActorHandle() = default;
  explicit ActorHandle(internal::ActorId id) : id_(id) {}

  /// Starts a call of method `m` of T.
  template <typename R, typename U, typename... Params>
  ActorTaskCaller<R, T, Params...> Task(R (U::*m)(Params...)) const {
    static_assert(std::is_base_of_v<U, T>, "method does not belong to this actor's type");
    return ActorTaskCaller<R, T, Params...>(id_, static_cast<R (T::*)(Params...)>(m));
  }
  /// Kills the actor: calls queued or running fail with kActorDied.
  void Kill() const { internal::KillActor(id_); }
  /// The rank the actor lives on.
  int rank() const { return static_cast<int>(id_.rank); }
  const internal::ActorId& id() const { return id_; }
  bool operator==(const ActorHandle& o) const { return id_ == o.id_; }

 private:
  internal::ActorId id_;
};

/// Builds an actor: Actor(factory).SetName(..).SetResource(..).Remote(args...).
template <typename T, typename... Params>
class ActorCreator {
 public:
  explicit ActorCreator(T* (*factory)(Params...)) : factory_(factory) {}

  /// A job-wide unique name, for GetActor<T>(name) from any rank.
  ActorCreator& SetName(std::string name, std::string ns = "") {
    options_.name = std::move(name);
    options_.ns = std::move(ns);
    return *this;
  }
  ActorCreator& SetResource(const std::string& name, double amount) {
    options_.resources[name] = amount;
    return *this;
  }
  /// Up to `n` calls run at once (threaded actor); default 1, strictly serial.
  ActorCreator& SetMaxConcurrency(int n) {
    options_.max_concurrency = n;
    return *this;
  }
  ActorCreator& SetRank(int rank) {
    options_.rank = rank;
    return *this;
  }
  /// Lets short calls (recent runs under RANKFLOW_INLINE_TASK_US, none of
  /// which waited) run on the thread of the actor's rank that receives them
  /// instead of waking the actor's own thread, as short tasks do: still one
  /// call at a time, in order. Only for actors with no thread-affine state
  /// (thread-locals, a CUDA device, MPI under MPI_THREAD_FUNNELED); ignored
  /// for actors that hold a GPU or run several calls at once.
  ActorCreator& SetInlineCalls(bool on = true) {
    options_.inline_calls = on;
    return *this;
  }
  /// Places the actor in bundle `bundle` of `group`: on the bundle's rank,
  /// its resources taken from the bundle's reservation.
  ActorCreator& SetPlacementGroup(const PlacementGroup& group, int bundle = 0) {
    options_.rank = group.rank(static_cast<size_t>(bundle));
    options_.group_owner = group.owner();
    options_.group_id = group.id();
    options_.bundle = bundle;
    return *this;
  }

  template <typename... Args>
  ActorHandle<T> Remote(Args&&... args) {
    static_assert(sizeof...(Args) == sizeof...(Params),
                  "wrong number of arguments for this actor factory");
    const std::string* name = internal::FunctionNameOf(internal::AddressOf(factory_));
    if (name == nullptr) internal::ThrowUnregistered("actor factory passed to Actor()");
    internal::SubmitRequest req;
    (internal::AppendArg<Params>(req, std::forward<Args>(args)), ...);
    return ActorHandle<T>(internal::CreateActor(name, options_, sizeof...(Args),
                                                std::move(req.args), std::move(req.refs)));
  }

 private:
  T* (*factory_)(Params...);
  internal::ActorOptions options_;
};

/// Starts building an actor from a registered factory `T* f(args...)`.
template <typename T, typename... Params>
ActorCreator<T, Params...> Actor(T* (*factory)(Params...)) {
  return ActorCreator<T, Params...>(factory);
}

/// The actor registered under `name` (and namespace `ns`); throws
/// rankflow::Error(kNotFound) if there is none, kTypeMismatch if it is not a T.
template <typename T>
ActorHandle<T> GetActor(const std::string& name, const std::string& ns = "") {
  return ActorHandle<T>(internal::LookupActor(name, ns, typeid(T).name()));
}

/// Ends the calling actor after the current method (call from inside one).
[[noreturn]] inline void ExitActor() { internal::ThrowActorExit(); }

}  // namespace rankflow
