#include "graphs/graph_host.h"

#include <cstring>
#include <exception>

#include "common/bytes.h"
#include "common/logging.h"
#include "common/scratch_bytes.h"
#include "rankflow/errors.h"
#include "runtime/registry.h"
#include "runtime/runtime.h"
#include "runtime/wire.h"

namespace rankflow::graphs {

namespace {
constexpr size_t kMaxErrorBytes = 64 << 10;  // an error message, as it travels

struct Value {
  bool set = false;
  bool error = false;
  std::vector<uint8_t> bytes;  // the value, or the error's message
};
}  // namespace

struct GraphHost::Installed {
  struct Node {
    PlanNode plan;
    const runtime::FunctionEntry* fn = nullptr;
    uint32_t slot = 0;                 // its own value
    std::vector<uint32_t> input_slots; // by kRef index
    uint32_t deps = 0;                 // distinct input slots
  };
  uint32_t owner = 0;
  uint64_t id = 0;
  std::vector<Node> nodes;
  std::unordered_map<uint32_t, uint32_t> slot_of;  // node id -> slot
  std::vector<std::vector<uint32_t>> takers;       // slot -> local nodes taking it
  std::vector<int> sender;                         // slot -> the rank that sends it (-1: computed here)
  std::vector<uint32_t> sources;                   // local nodes without inputs (and inputs)
  std::vector<std::vector<uint8_t>> given;         // per local node: an input's value

  std::mutex mu;
  uint64_t run = 0;                // 0: none yet
  std::vector<uint32_t> pending;   // per local node
  std::vector<Value> values;       // per slot
  uint32_t remaining = 0;          // local nodes still to finish this run
};

namespace {
// The thread's list of readied nodes (RunReady empties it).
std::vector<GraphHost::Ready>& ReadyList() {
  thread_local std::vector<GraphHost::Ready> list;
  return list;
}
}  // namespace

std::atomic<uint64_t> GraphHost::generation_{1};

GraphHost::GraphHost(HostEnv env) : env_(std::move(env)) {}
GraphHost::~GraphHost() = default;

Status GraphHost::Install(const RankPlan& plan) {
  auto g = std::make_shared<Installed>();
  g->owner = plan.owner;
  g->id = plan.graph;
  g->nodes.resize(plan.nodes.size());
  auto slot = [&](uint32_t id) {
    auto [it, added] = g->slot_of.emplace(id, static_cast<uint32_t>(g->takers.size()));
    if (added) g->takers.emplace_back();
    return it->second;
  };
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    Installed::Node& n = g->nodes[i];
    n.plan = plan.nodes[i];
    n.slot = slot(n.plan.id);
    const std::string where = "graph node " + std::to_string(n.plan.id) + " (" + n.plan.function +
                              ") on rank " + std::to_string(env_.rank);
    if (n.plan.input) {
      if (plan.owner != static_cast<uint32_t>(env_.rank)) {
        return Status(StatusCode::kInvalidArgument, where + ": an input away from its graph's owner");
      }
      continue;
    }
    n.fn = runtime::FindFunction(n.plan.function);
    if (n.fn == nullptr || n.fn->kind != runtime::FunctionEntry::Kind::kFunction) {
      return Status(StatusCode::kNotFound, where + ": no such function is registered here "
                                                   "(RANKFLOW_REMOTE missing in this binary?)");
    }
    if (n.fn->arity != n.plan.num_args) {
      return Status(StatusCode::kTypeMismatch,
                    where + ": the function takes " + std::to_string(n.fn->arity) +
                        " arguments, the node has " + std::to_string(n.plan.num_args));
    }
  }
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    Installed::Node& n = g->nodes[i];
    for (uint32_t in : n.plan.inputs) {
      const uint32_t s = slot(in);
      n.input_slots.push_back(s);
      auto& t = g->takers[s];
      bool seen = false;  // (a node counts each input once)
      for (uint32_t k : t) seen = seen || k == i;
      if (!seen) {
        t.push_back(static_cast<uint32_t>(i));
        ++n.deps;
      }
    }
    if (n.deps == 0) g->sources.push_back(static_cast<uint32_t>(i));
  }
  g->pending.resize(g->nodes.size());
  g->given.resize(g->nodes.size());
  g->values.resize(g->takers.size());
  g->sender.assign(g->takers.size(), -1);
  for (const auto& n : g->nodes) {
    for (size_t k = 0; k < n.input_slots.size() && k < n.plan.input_ranks.size(); ++k) {
      if (static_cast<int>(n.plan.input_ranks[k]) != env_.rank) {
        g->sender[n.input_slots[k]] = static_cast<int>(n.plan.input_ranks[k]);
      }
    }
  }
  for (const auto& n : g->nodes) g->sender[n.slot] = -1;  // (computed here, whatever a plan says)
  std::lock_guard<std::mutex> lock(mu_);
  graphs_[g->id] = std::move(g);
  generation_.fetch_add(1, std::memory_order_release);
  return Status::Ok();
}

void GraphHost::Remove(uint64_t graph) {
  std::shared_ptr<Installed> dead;  // freed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto it = graphs_.find(graph);
  if (it == graphs_.end()) return;
  dead = std::move(it->second);
  graphs_.erase(it);
  generation_.fetch_add(1, std::memory_order_release);
}

void GraphHost::OwnerDied(uint32_t owner) {
  std::vector<std::shared_ptr<Installed>> dead;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = graphs_.begin(); it != graphs_.end();) {
    if (it->second->owner == owner) {
      dead.push_back(std::move(it->second));
      it = graphs_.erase(it);
      generation_.fetch_add(1, std::memory_order_release);
    } else {
      ++it;
    }
  }
}

size_t GraphHost::installed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return graphs_.size();
}

std::shared_ptr<GraphHost::Installed> GraphHost::Find(uint64_t graph) const {
  // The last graph this thread found, while nothing was installed or removed
  // since (values of one graph come in runs).
  thread_local const GraphHost* cached_host = nullptr;
  thread_local uint64_t cached_id = 0, cached_generation = 0;
  thread_local std::weak_ptr<Installed> cached;
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (cached_host == this && cached_id == graph && cached_generation == generation) {
    if (auto g = cached.lock()) return g;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = graphs_.find(graph);
  if (it == graphs_.end()) return nullptr;
  cached_host = this;
  cached_id = graph;
  cached_generation = generation_.load(std::memory_order_relaxed);
  cached = it->second;
  return it->second;
}

void GraphHost::BeginLocked(const std::shared_ptr<Installed>& g, uint64_t run) {
  g->run = run;
  for (size_t i = 0; i < g->nodes.size(); ++i) g->pending[i] = g->nodes[i].deps;
  for (auto& v : g->values) v.set = false;
  g->remaining = static_cast<uint32_t>(g->nodes.size());
  auto& ready = ReadyList();
  for (uint32_t s : g->sources) ready.push_back(Ready{g, run, s});
}

void GraphHost::OnRun(uint64_t graph, uint64_t run,
                      const std::unordered_map<uint32_t, std::vector<uint8_t>>* inputs) {
  std::shared_ptr<Installed> g = Find(graph);
  if (g == nullptr) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard<std::mutex> lock(g->mu);
  if (inputs != nullptr) {
    for (size_t i = 0; i < g->nodes.size(); ++i) {
      if (!g->nodes[i].plan.input) continue;
      auto it = inputs->find(g->nodes[i].plan.id);
      if (it != inputs->end()) g->given[i] = it->second;
    }
  }
  if (run > g->run) BeginLocked(g, run);  // (else begun by an early value)
}

bool GraphHost::OnValue(int source, const Buffer& msg) {
  ValueWire v;
  if (!DecodeValue(msg.data(), msg.size(), &v).ok()) return false;
  std::shared_ptr<Installed> g = Find(v.graph);
  if (g == nullptr) {
    dropped_.fetch_add(1, std::memory_order_relaxed);  // removed meanwhile
    return true;
  }
  std::lock_guard<std::mutex> lock(g->mu);
  auto it = g->slot_of.find(v.node);
  // Only an input this rank takes, from the rank that computes it.
  if (it == g->slot_of.end() || g->sender[it->second] != source) return false;
  if (v.run < g->run) {
    dropped_.fetch_add(1, std::memory_order_relaxed);  // of a run given up
    return true;
  }
  if (v.run > g->run) BeginLocked(g, v.run);
  Value& slot = g->values[it->second];
  if (slot.set) return false;  // twice in one run
  slot.set = true;
  slot.error = v.error;
  slot.bytes.assign(v.data, v.data + v.size);
  auto& ready = ReadyList();
  for (uint32_t k : g->takers[it->second]) {
    if (--g->pending[k] == 0) ready.push_back(Ready{g, v.run, k});
  }
  return true;
}

bool GraphHost::HasReady() { return !ReadyList().empty(); }

namespace {
thread_local bool tls_unflushed = false;  // a value sent and not flushed yet
constexpr uint64_t kFlushBeforeNs = 1000;  // as for kept tasks (runtime/inline_tasks.cc)
}  // namespace

void GraphHost::RunReady() {
  auto& ready = ReadyList();
  while (!ready.empty()) {
    Ready r = std::move(ready.back());
    ready.pop_back();
    const Installed::Node& n = r.graph->nodes[r.node];
    if (n.fn != nullptr && env_.queue && !n.fn->run_time.ShorterThan(env_.inline_ns)) {
      std::vector<uint8_t> work;
      EncodeIds(work, r.graph->id, r.run);
      ByteWriter(work).Put<uint32_t>(r.node);
      env_.queue(std::move(work));
      continue;
    }
    // A node that takes a while does not hold back what the previous one sent.
    if (tls_unflushed && env_.flush && n.fn != nullptr && !n.fn->run_time.ShorterThan(kFlushBeforeNs)) {
      env_.flush();
      tls_unflushed = false;
    }
    RunNode(r);
  }
}

void GraphHost::RunQueued(const Buffer& work) {
  ByteReader rd(work.data(), work.size());
  const uint64_t graph = rd.Get<uint64_t>();
  const uint64_t run = rd.Get<uint64_t>();
  const uint32_t node = rd.Get<uint32_t>();
  std::shared_ptr<Installed> g = Find(graph);
  if (!rd.ok() || g == nullptr || node >= g->nodes.size()) return;
  RunNode(Ready{std::move(g), run, node});
  RunReady();
}

void GraphHost::RunNode(const Ready& r) {
  Installed& g = *r.graph;
  const Installed::Node& n = g.nodes[r.node];
  ScratchBytes args_scratch, out_scratch;
  std::vector<uint8_t>& args = args_scratch.get();
  std::vector<uint8_t>& out = out_scratch.get();
  bool error = false;
  {
    // The inputs' bytes are copied into the arguments under the graph's
    // lock: a run given up (a failure, a timeout) may be replaced meanwhile.
    std::lock_guard<std::mutex> lock(g.mu);
    if (g.run != r.run) return;
    if (n.plan.input) out = g.given[r.node];  // its value, as given for this run
    for (uint32_t s : n.input_slots) {
      if (g.values[s].error) {
        error = true;
        out = g.values[s].bytes;  // the first failed input's error, passed on
        break;
      }
    }
    if (!error && !n.plan.input) {
      // (The plan was checked when installed: every kRef names an input.)
      runtime::AppendArgs(n.plan.args, n.input_slots.size(), args, [&](uint32_t i) {
        const std::vector<uint8_t>& v = g.values[n.input_slots[i]].bytes;
        runtime::AppendResolvedArgument(args, v.data(), v.size());
        return Status::Ok();
      });
    }
  }
  if (!error && !n.plan.input) {
    std::string why;
    try {
      internal::ArgReader reader(args.data(), args.size());
      const Buffer owner = Buffer::View(args.data(), args.size(), nullptr);
      runtime::TakeExports();
      runtime::RunTimer timer;
      n.fn->thunk(n.fn->fn, reader, owner, out);
      timer.Record(*n.fn);
      if (!runtime::TakeExports().empty()) {
        why = "its value holds ObjectRefs; a graph node's value must be plain data";
      } else if (out.size() > env_.max_value_bytes) {
        why = "its value of " + std::to_string(out.size()) + " bytes is above the limit of " +
              std::to_string(env_.max_value_bytes) + " (RANKFLOW_MAX_MESSAGE_BYTES)";
      }
    } catch (const std::exception& e) {
      why = e.what();
    } catch (...) {
      why = "unknown exception";
    }
    if (!why.empty()) {
      error = true;
      if (why.size() > kMaxErrorBytes) why.resize(kMaxErrorBytes);  // (it travels as a value)
      why = "task '" + n.plan.function + "' (graph node " + std::to_string(n.plan.id) +
            ", rank " + std::to_string(env_.rank) + "): " + why;
      out.assign(why.begin(), why.end());
    }
  }
  bool finished;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    if (g.run != r.run) return;
    Value& v = g.values[n.slot];
    v.set = true;
    v.error = error;
    v.bytes.assign(out.begin(), out.end());
    auto& ready = ReadyList();
    for (uint32_t k : g.takers[n.slot]) {
      if (--g.pending[k] == 0) ready.push_back(Ready{r.graph, r.run, k});
    }
    finished = --g.remaining == 0;
  }
  // Sent to each rank that takes it, encoded in a thread's scratch vector
  // (copied into the transport's batch), as task results are.
  for (uint32_t dest : n.plan.send_to) {
    ScratchBytes msg_scratch;
    std::vector<uint8_t>& msg = msg_scratch.get();
    EncodeValue(msg, g.id, r.run, n.plan.id, error, out.data(), out.size());
    Status st = env_.send(static_cast<int>(dest), kGraphValue, std::move(msg));
    if (!st.ok()) RF_WARN("graph {}: could not send a value to rank {}: {}", g.id, dest, st.ToString());
    tls_unflushed = true;
  }
  if (finished) Finish(g, r.run);
}

void GraphHost::Finish(Installed& g, uint64_t run) {
  std::vector<uint8_t> msg;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    if (g.run != run) return;
    uint32_t n = 0;
    for (const auto& node : g.nodes) n += node.plan.output ? 1 : 0;
    EncodeDoneHeader(msg, g.id, run, n);
    // The outputs go back in one message: those that no longer fit under
    // the limit come back as errors (a report must always arrive). (On the
    // owner itself they are handed over in place.)
    const bool here = static_cast<int>(g.owner) == env_.rank;
    for (const auto& node : g.nodes) {
      if (!node.plan.output) continue;
      const Value& v = g.values[node.slot];
      if (here || msg.size() + 9 + v.bytes.size() + 4096 <= env_.max_value_bytes) {
        AppendDoneValue(msg, node.plan.id, v.error, v.bytes.data(), v.bytes.size());
        continue;
      }
      const std::string why = "output of graph node " + std::to_string(node.plan.id) + " (" +
                              std::to_string(v.bytes.size()) + " bytes) cannot come back from rank " +
                              std::to_string(env_.rank) + ": this rank's outputs together are above "
                              "the message limit (RANKFLOW_MAX_MESSAGE_BYTES)";
      AppendDoneValue(msg, node.plan.id, true, reinterpret_cast<const uint8_t*>(why.data()), why.size());
    }
  }
  if (static_cast<int>(g.owner) == env_.rank) {
    env_.done_here(msg.data(), msg.size());
    return;
  }
  Status st = env_.send(static_cast<int>(g.owner), kGraphDone, std::move(msg));
  if (!st.ok()) RF_WARN("graph {}: could not report to rank {}: {}", g.id, g.owner, st.ToString());
}

}  // namespace rankflow::graphs
