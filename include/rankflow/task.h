// rankflow/task.h — Task(f).SetName(..).SetResource(..).Remote(args...).
//
// Arguments are converted to the function's parameter types on the caller
// (so type mismatches fail to compile); an ObjectRef<T> may stand for a T and
// is resolved before the task runs, without holding an executor thread.
//
//   auto ref = rankflow::Task(Simulate).SetResource("CPU", 1).Remote(7, params);
//
// Thread safety: a TaskCaller is used by one thread; Remote() may be called
// from any thread, including from inside tasks (nested tasks).
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "rankflow/object_ref.h"
#include "rankflow/placement_group.h"
#include "rankflow/remote.h"

namespace rankflow {
namespace internal {

[[noreturn]] void ThrowUnregistered(const char* what);

template <typename Param, typename Arg>
void AppendArg(SubmitRequest& req, Arg&& arg) {
  using P = std::decay_t<Param>;
  using A = std::decay_t<Arg>;
  if constexpr (IsObjectRef<A>::value) {
    static_assert(std::is_same_v<typename A::ValueType, P>,
                  "ObjectRef<T> argument: T must match the parameter type");
    size_t at;
    AppendArgHeader(req.args, ArgTag::kRef, static_cast<uint32_t>(req.refs.size()), &at);
    req.refs.push_back(arg.handle());
  } else {
    static_assert(std::is_convertible_v<Arg&&, P>,
                  "argument is not convertible to the function's parameter type");
    size_t at;
    AppendArgHeader(req.args, ArgTag::kValue, 0, &at);
    if constexpr (std::is_same_v<A, P>) {
      EncodeTo<P>(arg, req.args);
    } else {
      EncodeTo<P>(static_cast<P>(std::forward<Arg>(arg)), req.args);
    }
    PatchArgLength(req.args, at);
  }
}

}  // namespace internal

template <typename R, typename... Params>
class TaskCaller {
 public:
  explicit TaskCaller(R (*fn)(Params...)) : fn_(fn) {}

  /// Name shown in errors and logs (default: the registered function name).
  TaskCaller& SetName(std::string name) {
    options_.name = std::move(name);
    return *this;
  }
  /// Requires `amount` of resource `name` ("CPU", "GPU", or a custom one).
  TaskCaller& SetResource(const std::string& name, double amount) {
    options_.resources[name] = amount;
    return *this;
  }
  /// Runs the task on exactly this rank (affinity); fails if the rank cannot.
  TaskCaller& SetRank(int rank) {
    options_.rank = rank;
    return *this;
  }
  /// A collective task (SPMD mode, see rankflow::InitMode): every rank makes
  /// this same call, in the same order, from the thread that called Init;
  /// rank `owner` owns and runs the task. Its ObjectRef arguments that are
  /// other collective tasks' results come straight from their owners, one
  /// message each; its result can be read on `owner` or passed to further
  /// collective tasks (docs/spmd.md).
  TaskCaller& SetOwner(int owner) {
    options_.collective = true;
    options_.owner = owner;
    return *this;
  }
  /// Runs the task on the rank of bundle `bundle` of `group`.
  TaskCaller& SetPlacementGroup(const PlacementGroup& group, int bundle = 0) {
    options_.rank = group.rank(static_cast<size_t>(bundle));
    return *this;
  }

  /// Submits the task; returns at once with a reference to its result.
  template <typename... Args>
  ObjectRef<R> Remote(Args&&... args) {
    static_assert(sizeof...(Args) == sizeof...(Params),
                  "wrong number of arguments for this remote function");
    const std::string* name = internal::FunctionNameOf(internal::AddressOf(fn_));
    if (name == nullptr) internal::ThrowUnregistered("function passed to Task()");
    internal::RequestLease lease;  // buffers reused from the last submission
    internal::SubmitRequest& req = lease.request();
    req.function = name;
    req.options = &options_;
    req.num_args = sizeof...(Args);
    req.args.reserve(64);
    if constexpr ((IsObjectRef<std::decay_t<Args>>::value || ...)) {
      req.refs.reserve(sizeof...(Args));  // one allocation, not one per doubling
    }
    (internal::AppendArg<Params>(req, std::forward<Args>(args)), ...);
    return ObjectRef<R>(internal::Submit(req));
  }

 private:
  R (*fn_)(Params...);
  internal::TaskOptions options_;
};

/// Starts building a call of registered function `fn`.
template <typename R, typename... Params>
TaskCaller<R, Params...> Task(R (*fn)(Params...)) {
  return TaskCaller<R, Params...>(fn);
}

}  // namespace rankflow
