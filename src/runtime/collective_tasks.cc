// Collective tasks (SPMD mode). Every rank runs main() and submits every
// collective task, in the same order, so every rank numbers it alike: the
// n-th collective task is object kNamedSeqBit | n of its owner. The owner
// submits it as its own task, run where it is owned; another rank only
// makes a reference to it and, for each argument that is one of its own
// objects, sends that value to the owner once it is ready. The owner finds
// such arguments in its inbox (runtime/collective_inbox.h). A step of a
// stencil then costs each rank its own tasks and one message per
// neighbour, as a hand-written MPI code would, and no rank does the
// bookkeeping of all the others' tasks.
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "common/recycled_allocator.h"
#include "objects/ref_handle.h"
#include "runtime/runtime.h"
#include "runtime/wire.h"

namespace rankflow::runtime {

namespace {
// A value to send to a collective task's owner once it is ready: the hook
// waits on the object; `keep` holds the object until it has gone.
struct CollectivePush {
  objects::ReadyHook hook;
  std::shared_ptr<internal::RefHandle> keep;
  Runtime* runtime = nullptr;
  int dest = -1;
  struct Free {
    void operator()(CollectivePush* p) const {
      p->~CollectivePush();
      RecycledAllocator<CollectivePush>().deallocate(p, 1);
    }
  };
};
}  // namespace

bool IsCollective(const internal::ObjectId& id) {
  return (id.seq & objects::ObjectTable::kNamedSeqBit) != 0;
}

std::string Runtime::NotHere(const internal::ObjectId& id) const {
  return "object " + id.ToString() + " is a collective task's result owned by rank " +
         std::to_string(id.owner) + ": read it there (or pass it to collective tasks), not on rank " +
         std::to_string(rank_);
}

void Runtime::EnableSpmd() {
  spmd_ = true;
  spmd_thread_ = std::this_thread::get_id();
  std::lock_guard<std::mutex> lock(state_mu_);
  spmd_main_running_ = true;
}

std::shared_ptr<internal::RefHandle> Runtime::SubmitCollective(internal::SubmitRequest& req) {
  const int owner = req.options->owner;
  const std::string& display = req.options->name.empty() ? *req.function : req.options->name;
  // References nested in the arguments were counted for the task's message:
  // its decode adopts them on the owner; where it is never sent (another
  // rank's task, a refusal) the counts go back.
  std::vector<internal::ExportedRef> exports = TakeExports();
  auto refuse = [&](const std::string& why) {
    MakeContained(std::move(exports));
    throw Error(ErrorCode::kInvalidArgument, "task " + display + ": " + why);
  };
  if (!spmd_) {
    refuse("SetOwner() makes a collective task, which needs "
           "rankflow::Init(argc, argv, rankflow::InitMode::kSpmd)");
  }
  // (The Init thread runs tasks too while it waits: not those calls either.)
  if (std::this_thread::get_id() != spmd_thread_ || RunningInline()) {
    refuse("collective tasks are submitted by the thread that called Init (every rank in the "
           "same order), not from tasks or other threads");
  }
  if (owner < 0 || owner >= size_) {
    refuse("SetOwner(" + std::to_string(owner) + ") is not a rank of this job (" +
           std::to_string(size_) + " ranks)");
  }
  const uint64_t seq = objects::ObjectTable::kNamedSeqBit | next_collective_++;
  if (owner != rank_) {
    for (const auto& ref : req.refs) {
      if (ref != nullptr && IsCollective(ref->id()) && static_cast<int>(ref->id().owner) == rank_) {
        PushWhenReady(ref, owner);
      }
    }
    MakeContained(std::move(exports));
    req.refs.clear();
    req.args.clear();
    // A name only: nothing here to release.
    return std::allocate_shared<internal::RefHandle>(
        RecycledAllocator<internal::RefHandle>(),
        internal::ObjectId{static_cast<uint32_t>(owner), 0, seq}, std::weak_ptr<objects::RefSink>());
  }
  for (auto& ref : req.refs) {
    if (ref != nullptr && IsCollective(ref->id()) && static_cast<int>(ref->id().owner) != rank_) {
      ref = inbox_.Consume(ref->id().owner, ref->id().seq);
    }
  }
  return SubmitNumbered(req, seq);
}

void Runtime::PushWhenReady(std::shared_ptr<internal::RefHandle> ref, int dest) {
  // (One per value sent: a recycled block, freed by the hook.)
  auto* push = new (RecycledAllocator<CollectivePush>().allocate(1)) CollectivePush;
  push->hook.seq = ref->id().seq;
  push->hook.owner = push;
  push->keep = std::move(ref);
  push->runtime = this;
  push->dest = dest;
  push->hook.ready = [](objects::ReadyHook* hook) {
    std::unique_ptr<CollectivePush, CollectivePush::Free> p(static_cast<CollectivePush*>(hook->owner));
    Runtime& rt = *p->runtime;
    objects::ObjectValue v;
    if (!rt.objects_->TryGet(hook->seq, &v)) {
      v = objects::ErrorValue(StatusCode::kObjectLost, "the object was freed before it was sent", "",
                              rt.rank_);
    } else if (!v.error && v.spilled) {
      Status st = rt.Materialize(hook->seq, &v);
      if (!st.ok()) v = objects::ErrorValue(st.code(), st.message(), "", rt.rank_);
    }
    if (!v.error && v.contained != nullptr && !v.contained->ids.empty()) {
      v = objects::ErrorValue(StatusCode::kInvalidArgument,
                              "a value that holds ObjectRefs cannot be an input of a collective task "
                              "on another rank",
                              "", rt.rank_);
    }
    rt.SendValue(p->dest, kCollectiveValue, hook->seq, v, {});
    rt.counters_.collective_sent.fetch_add(1, std::memory_order_relaxed);
  };
  objects_->OnReadyAll(&push->hook, 1);
}

void Runtime::OnCollectiveValue(int source, const Buffer& msg) {
  uint64_t seq = 0;
  objects::ObjectValue value;
  Status st = ReceiveValue(source, msg, &seq, &value);
  if (st.ok() && !IsCollective(internal::ObjectId{0, 0, seq})) {
    st = Status(StatusCode::kMalformed, "not a collective task's object");
  }
  if (!st.ok()) {
    counters_.messages_malformed.fetch_add(1);
    RF_WARN("dropped a collective task's input from rank {}: {}", source, st.ToString());
    return;
  }
  inbox_.Arrive(static_cast<uint32_t>(source), seq, std::move(value));
}

}  // namespace rankflow::runtime
