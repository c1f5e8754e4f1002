// runtime/pending_task.h — a submitted task waiting for its dependencies at
// its owner (task_submitter.cc), or sent ahead of them (early_dispatch.cc).
#pragma once

#include <atomic>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "objects/object_table.h"
#include "objects/ref_handle.h"
#include "rankflow/internal/core.h"
#include "runtime/runtime.h"
#include "scheduler/placement.h"

namespace rankflow::runtime {

struct Runtime::PendingTask {
  uint64_t seq = 0;
  const std::string* function = nullptr;
  std::string name;
  scheduler::ResourceMap demand;
  int affinity = -1;
  uint32_t num_args = 0;
  std::atomic<int> unresolved{0};
  // Held while dependencies are outstanding, so that each dependency's
  // hook carries a plain pointer; the hook that resolves the last one takes
  // it over. (Dependencies always complete, with a value or an error, while
  // the runtime runs.)
  std::shared_ptr<PendingTask> self;
  Runtime* runtime = nullptr;

  // Arguments, dependencies (kept alive) and one hook per dependency: in
  // the task itself when they are few and small, the common case, so that a
  // task is one allocation.
  static constexpr size_t kInlineArgs = 96;
  static constexpr size_t kInlineDeps = 4;  // (also the most an early task may have)

  // Early dispatch: the rank the task was sent to before its inputs were
  // ready (-1: none), which dependencies to push there when they complete,
  // and the hand-back (a bounce) that makes it dispatch the ordinary way.
  int early_target = -1;
  bool push[kInlineDeps] = {};
  std::atomic<bool> bounced{false};
  std::atomic<bool> dispatched{false};

  size_t args_size = 0;
  uint8_t inline_args[kInlineArgs];
  std::vector<uint8_t> more_args;
  size_t num_refs = 0;
  std::shared_ptr<internal::RefHandle> inline_refs[kInlineDeps];
  std::vector<std::shared_ptr<internal::RefHandle>> more_refs;
  objects::ReadyHook inline_deps[kInlineDeps];
  std::unique_ptr<objects::ReadyHook[]> more_deps;

  std::span<const uint8_t> args() const {
    return {args_size <= kInlineArgs ? inline_args : more_args.data(), args_size};
  }
  std::span<const std::shared_ptr<internal::RefHandle>> refs() const {
    return {num_refs <= kInlineDeps ? inline_refs : more_refs.data(), num_refs};
  }
  objects::ReadyHook* hooks() { return num_refs <= kInlineDeps ? inline_deps : more_deps.get(); }

  // Takes the request's arguments and dependencies (copying the small).
  void Take(internal::SubmitRequest& req) {
    args_size = req.args.size();
    if (args_size <= kInlineArgs) {
      std::memcpy(inline_args, req.args.data(), args_size);
    } else {
      more_args = std::move(req.args);
    }
    num_refs = req.refs.size();
    if (num_refs <= kInlineDeps) {
      for (size_t i = 0; i < num_refs; ++i) inline_refs[i] = std::move(req.refs[i]);
    } else {
      more_refs = std::move(req.refs);
      more_deps = std::make_unique<objects::ReadyHook[]>(num_refs);
    }
  }
};

}  // namespace rankflow::runtime
