#include "actors/actor_host.h"

#include "common/logging.h"
#include "rankflow/errors.h"
#include "runtime/registry.h"
#include "runtime/runtime.h"

namespace rankflow::actors {

using runtime::FindFunction;
using runtime::FunctionEntry;

struct ActorHost::Instance {
  enum class State { kConstructing, kAlive, kDead };
  ActorKey key;
  const FunctionEntry* factory = nullptr;
  Buffer create_msg;
  CreateWire create;
  std::string display;  // name or factory, for errors
  std::mutex mu;
  std::condition_variable cv;
  State state = State::kConstructing;
  std::string death;
  void* object = nullptr;
  std::deque<Call> mailbox;
  struct CallerOrder {
    uint64_t next = 0;
    std::map<uint64_t, Call> held;
  };
  std::map<uint32_t, CallerOrder> order;
  std::vector<std::thread> threads;
  int running_threads = 0;
  bool executing = false;  // the actor's thread runs a call
  bool kept = false;       // a call is kept by another thread (run to completion)
};

// A call taken from an idle actor's mailbox to run on the thread that
// delivered it. Unrun (the thread could not keep it), it goes back.
struct ActorHost::Kept {
  ActorHost* host = nullptr;
  std::shared_ptr<Instance> inst;
  Call call;
  bool ran = true;  // false from when the call is taken until it runs

  void Run() {
    ran = true;
    {
      std::unique_lock<std::mutex> lock(inst->mu);
      if (inst->state == Instance::State::kDead) {
        const std::string death = inst->death;
        Release(lock);
        host->FailCall(call, StatusCode::kActorDied,
                       "actor '" + inst->display + "' is dead: " + death);
        return;
      }
    }
    host->Execute(*inst, call);
    std::unique_lock<std::mutex> lock(inst->mu);
    Release(lock);
  }
  // Hands the actor back to its thread (which may have calls waiting).
  void Release(std::unique_lock<std::mutex>& lock) {
    inst->kept = false;
    lock.unlock();
    inst->cv.notify_all();
  }
  ~Kept() {
    if (ran) return;
    std::unique_lock<std::mutex> lock(inst->mu);
    if (inst->state != Instance::State::kDead) {
      inst->mailbox.push_front(std::move(call));
      Release(lock);
      return;
    }
    const std::string death = inst->death;
    Release(lock);
    host->FailCall(call, StatusCode::kActorDied, "actor '" + inst->display + "' is dead: " + death);
  }
};

using objects::ErrorValue;

ActorHost::ActorHost(int rank, DeliverFn deliver, std::function<void()> thread_init,
                     std::function<void(const ActorKey&)> on_dead)
    : rank_(rank),
      deliver_(std::move(deliver)),
      thread_init_(std::move(thread_init)),
      on_dead_(std::move(on_dead)) {}

ActorHost::~ActorHost() { StopAll(); }

Status ActorHost::OnCreate(const Buffer& msg) {
  auto inst = std::make_shared<Instance>();
  inst->create_msg = msg.Persist();
  RANKFLOW_RETURN_IF_ERROR(DecodeCreate(inst->create_msg, &inst->create));
  inst->key = inst->create.key;
  inst->display = inst->create.name.empty() ? std::string(inst->create.factory)
                                            : std::string(inst->create.name);
  const FunctionEntry* f = FindFunction(inst->create.factory);
  if (f == nullptr || f->kind != FunctionEntry::Kind::kFactory) {
    inst->state = Instance::State::kDead;
    inst->death = "actor factory '" + std::string(inst->create.factory) +
                  "' is not registered on rank " + std::to_string(rank_);
    RF_ERROR("{}", inst->death);
  } else if (f->arity != inst->create.num_args) {
    inst->state = Instance::State::kDead;
    inst->death = "actor factory '" + f->name + "' takes " + std::to_string(f->arity) +
                  " arguments, the message has " + std::to_string(inst->create.num_args);
  }
  inst->factory = f;
  std::vector<Call> early;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return {StatusCode::kShutdown, "rank stopping"};
    if (actors_.count(inst->key)) return {StatusCode::kMalformed, "actor created twice"};
    actors_[inst->key] = inst;
    auto it = early_.find(inst->key);
    if (it != early_.end()) {
      early = std::move(it->second);
      early_.erase(it);
    }
    if (inst->state != Instance::State::kDead) {
      int n = inst->create.max_concurrency;
      inst->running_threads = n;
      for (int i = 0; i < n; ++i) inst->threads.emplace_back([this, inst, i] { Run(inst, i); });
    }
  }
  for (auto& c : early) Enqueue(inst, std::move(c));
  return Status::Ok();
}

Status ActorHost::OnCall(const Buffer& msg) {
  Call call;
  call.msg = msg.Persist();
  RANKFLOW_RETURN_IF_ERROR(DecodeCall(call.msg, &call.wire));
  std::shared_ptr<Instance> inst;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = actors_.find(call.wire.actor);
    if (it == actors_.end()) {
      // The creation message may still be on its way from the actor's owner.
      early_[call.wire.actor].push_back(std::move(call));
      return Status::Ok();
    }
    inst = it->second;
  }
  Enqueue(inst, std::move(call));
  return Status::Ok();
}

void ActorHost::Enqueue(const std::shared_ptr<Instance>& inst, Call&& call) {
  std::vector<Call> refused;
  std::string death;
  {
    std::unique_lock<std::mutex> lock(inst->mu);
    auto& o = inst->order[call.wire.caller];
    if (call.wire.call_seq < o.next) return;  // a duplicate
    o.held.emplace(call.wire.call_seq, std::move(call));
    while (!o.held.empty() && o.held.begin()->first == o.next) {
      Call c = std::move(o.held.begin()->second);
      o.held.erase(o.held.begin());
      ++o.next;
      if (c.wire.skip) continue;
      if (inst->state == Instance::State::kDead) {
        refused.push_back(std::move(c));
      } else {
        inst->mailbox.push_back(std::move(c));
      }
    }
    death = inst->death;
  }
  if (!TryKeep(inst)) inst->cv.notify_one();
  for (auto& c : refused) FailCall(c, StatusCode::kActorDied, "actor '" + inst->display + "' is dead: " + death);
}

bool ActorHost::TryKeep(const std::shared_ptr<Instance>& inst) {
  if (!keep_ || !inst->create.inline_calls || inst->create.max_concurrency != 1) return false;
  Call call;
  {
    std::lock_guard<std::mutex> lock(inst->mu);
    if (inst->state != Instance::State::kAlive || inst->executing || inst->kept ||
        inst->mailbox.size() != 1) {
      return false;  // (the common refusal costs no allocation)
    }
    call = std::move(inst->mailbox.front());
    inst->mailbox.pop_front();
    inst->kept = true;
  }
  auto kept = std::make_shared<Kept>();
  kept->host = this;
  kept->inst = inst;
  kept->call = std::move(call);
  kept->ran = false;
  const FunctionEntry* m = FindFunction(kept->call.wire.method);
  std::function<void()> run = [kept] { kept->Run(); };
  if (m != nullptr && m->kind == FunctionEntry::Kind::kMethod && keep_(*m, run)) return true;
  // Not kept: the call goes back in front (kept's destructor, once `run`
  // and `kept` go), and the actor's thread is woken by the caller.
  return false;
}

Status ActorHost::OnKill(const Buffer& msg) {
  ActorKey key;
  RANKFLOW_RETURN_IF_ERROR(DecodeKill(msg, &key));
  std::shared_ptr<Instance> inst;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = actors_.find(key);
    if (it == actors_.end()) return {StatusCode::kNotFound, "kill of an unknown actor"};
    inst = it->second;
  }
  std::unique_lock<std::mutex> lock(inst->mu);
  Die(*inst, lock, "killed");
  return Status::Ok();
}

void ActorHost::Die(Instance& inst, std::unique_lock<std::mutex>& lock, const std::string& why) {
  if (inst.state == Instance::State::kDead) return;
  inst.state = Instance::State::kDead;
  inst.death = why;
  std::deque<Call> queued;
  queued.swap(inst.mailbox);
  lock.unlock();
  inst.cv.notify_all();
  bool ending;
  {
    std::lock_guard<std::mutex> host_lock(mu_);
    ending = stopping_;
  }
  if (on_dead_ && !ending) on_dead_(inst.key);
  for (auto& c : queued) {
    FailCall(c, StatusCode::kActorDied, "actor '" + inst.display + "' is dead: " + why);
  }
  lock.lock();
}

void ActorHost::FailCall(const Call& call, StatusCode code, const std::string& message) {
  std::string display(call.wire.display.empty() ? call.wire.method : call.wire.display);
  deliver_(call.wire.caller, call.wire.result_seq, ErrorValue(code, message, display, rank_));
}

void ActorHost::Run(const std::shared_ptr<Instance>& inst, int index) {
  if (thread_init_) thread_init_();
  if (index == 0) {
    void* obj = nullptr;
    std::string error;
    try {
      internal::ArgReader reader(inst->create.args.data(), inst->create.args.size());
      obj = inst->factory->factory(inst->factory->fn, reader, inst->create.args);
      if (obj == nullptr) error = "the factory returned null";
    } catch (const std::exception& e) {
      error = std::string("the constructor threw: ") + e.what();
    } catch (...) {
      error = "the constructor threw";
    }
    std::unique_lock<std::mutex> lock(inst->mu);
    inst->object = obj;
    if (error.empty()) {
      if (inst->state == Instance::State::kConstructing) inst->state = Instance::State::kAlive;
    } else {
      RF_WARN("actor '{}': {}", inst->display, error);
      Die(*inst, lock, error);
    }
    inst->cv.notify_all();
  }
  std::unique_lock<std::mutex> lock(inst->mu);
  for (;;) {
    inst->cv.wait(lock, [&] {
      return inst->state == Instance::State::kDead ||
             (inst->state == Instance::State::kAlive && !inst->mailbox.empty() && !inst->kept);
    });
    if (inst->state == Instance::State::kDead) break;
    Call call = std::move(inst->mailbox.front());
    inst->mailbox.pop_front();
    inst->executing = true;
    lock.unlock();
    Execute(*inst, call);
    lock.lock();
    inst->executing = false;
  }
  inst->cv.wait(lock, [&] { return !inst->kept; });  // a call run elsewhere still uses the object
  if (--inst->running_threads == 0 && inst->object != nullptr) {
    inst->factory->deleter(inst->object);
    inst->object = nullptr;
  }
}

void ActorHost::Execute(Instance& inst, Call& call) {
  const auto& w = call.wire;
  std::string display(w.display.empty() ? w.method : w.display);
  const FunctionEntry* m = FindFunction(w.method);
  objects::ObjectValue value;
  if (m == nullptr || m->kind != FunctionEntry::Kind::kMethod) {
    value = ErrorValue(StatusCode::kNotFound, "actor method '" + std::string(w.method) +
                                                  "' is not registered on rank " + std::to_string(rank_),
                       display, rank_);
  } else if (m->type_name != inst.factory->type_name) {
    value = ErrorValue(StatusCode::kTypeMismatch, "method '" + m->name + "' does not belong to actor '" +
                                                      inst.display + "'", display, rank_);
  } else if (m->arity != w.num_args) {
    value = ErrorValue(StatusCode::kTypeMismatch, "method '" + m->name + "' takes " +
                                                      std::to_string(m->arity) + " arguments",
                       display, rank_);
  } else {
    std::vector<uint8_t> out;
    try {
      internal::ArgReader reader(w.args.data(), w.args.size());
      runtime::RunTimer timer;  // whether calls of this method are short and never wait
      m->method(m->method_bytes.data(), inst.object, reader, w.args, out);
      timer.Record(*m);
      value.data = Buffer::FromVector(std::move(out));
    } catch (const ActorExitSignal&) {
      value = ErrorValue(StatusCode::kActorDied, "the actor exited (ExitActor) during this call",
                         display, rank_);
      std::unique_lock<std::mutex> lock(inst.mu);
      Die(inst, lock, "the actor called ExitActor");
    } catch (const Error& e) {
      value = ErrorValue(e.code() == ErrorCode::kTypeMismatch ? StatusCode::kTypeMismatch
                                                              : StatusCode::kTaskFailed,
                         e.what(), display, rank_);
    } catch (const std::exception& e) {
      value = ErrorValue(StatusCode::kTaskFailed, e.what(), display, rank_);
    } catch (...) {
      value = ErrorValue(StatusCode::kTaskFailed, "unknown exception", display, rank_);
    }
  }
  deliver_(w.caller, w.result_seq, std::move(value));
}

void ActorHost::StopAll() {
  std::vector<std::shared_ptr<Instance>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [k, v] : actors_) all.push_back(v);
  }
  for (auto& inst : all) {
    std::unique_lock<std::mutex> lock(inst->mu);
    Die(*inst, lock, "the job is ending");
  }
  for (auto& inst : all) {
    for (auto& t : inst->threads) {
      if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  actors_.clear();
  early_.clear();
}

size_t ActorHost::LiveCount() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto& [k, inst] : actors_) {
    std::lock_guard<std::mutex> l(inst->mu);
    n += inst->state != Instance::State::kDead ? 1 : 0;
  }
  return n;
}

}  // namespace rankflow::actors
