// Compiled graphs, the owner's side (rankflow/graph.h): Compile splits the
// recorded graph by rank and installs each part (graphs/graph_host.h),
// waiting for every rank's answer; Run starts a run on every rank of the
// graph and waits for each one's kGraphDone, which carries its outputs.
// Values never pass through the owner: ranks send them to each other.
#include <algorithm>
#include <atomic>

#include "common/logging.h"
#include "graphs/graph_wire.h"
#include "objects/object_table.h"
#include "runtime/graph_exec.h"
#include "runtime/runtime.h"

namespace rankflow::runtime {

namespace {
constexpr int64_t kInstallTimeoutUs = 60'000'000;

[[noreturn]] void Throw(const Status& st, const std::string& what) {
  throw Error(static_cast<ErrorCode>(st.code()), what + ": " + st.message());
}
}  // namespace

void Runtime::InitGraphs() {
  graphs::HostEnv env;
  env.rank = rank_;
  env.size = size_;
  env.send = [this](int dest, uint16_t kind, std::vector<uint8_t>&& bytes) {
    if (!transport_) return Status(StatusCode::kInternal, "no transport");
    return transport_->Send(dest, kind, std::move(bytes));
  };
  env.flush = [this] {
    if (transport_) transport_->FlushSends();
  };
  env.done_here = [this](const uint8_t* data, size_t size) { OnGraphDone(rank_, data, size); };
  env.queue = [this](std::vector<uint8_t>&& work) {
    executors_->Push(scheduler::Work{kGraphWorkSource, Buffer::FromVector(std::move(work))});
  };
  env.inline_ns = inline_task_ns_;
  env.max_value_bytes = config_.max_message_bytes > 64 ? config_.max_message_bytes - 64 : 0;
  graphs_ = std::make_unique<graphs::GraphHost>(std::move(env));
}

bool Runtime::RankDead(int rank) {
  std::lock_guard<std::mutex> lock(state_mu_);
  return rank >= 0 && rank < static_cast<int>(dead_.size()) && dead_[rank];
}

bool Runtime::WaitGraph(internal::GraphExec& exec, const std::function<bool()>& done,
                        int64_t deadline_us) {
  if (RunningInline() || (transport_ && transport_->OnProgressThread())) {
    // This thread may be the one that drives the network: no sleeping.
    return PollUntil([&] {
      std::lock_guard<std::mutex> lock(exec.mu);
      return done();
    }, deadline_us);
  }
  std::unique_lock<std::mutex> lock(exec.mu);
  if (deadline_us < 0) {
    exec.cv.wait(lock, done);
    return true;
  }
  const int64_t left = deadline_us - objects::NowMicros();
  return exec.cv.wait_for(lock, std::chrono::microseconds(std::max<int64_t>(left, 0)), done);
}

std::shared_ptr<internal::GraphExec> Runtime::CompileGraph(const internal::GraphSpec& spec) {
  auto exec = std::make_shared<internal::GraphExec>();
  exec->runtime = weak_from_this();
  {
    std::lock_guard<std::mutex> lock(graphs_mu_);
    exec->id = (static_cast<uint64_t>(rank_) << 32) | ++next_graph_;
  }
  std::vector<graphs::RankPlan> plans;
  std::vector<int> rank_of;
  Status st = graphs::SplitGraph(spec, static_cast<uint32_t>(rank_), size_, exec->id, &plans, &rank_of);
  if (!st.ok()) Throw(st, "Graph::Compile");
  for (uint32_t out : spec.outputs) exec->outputs[out];
  for (size_t i = 0; i < spec.nodes.size(); ++i) {
    if (spec.nodes[i].input) exec->input_nodes.push_back(static_cast<uint32_t>(i));
  }
  for (int r = 0; r < size_; ++r) {
    if (!plans[static_cast<size_t>(r)].nodes.empty()) exec->ranks.push_back(r);
  }
  exec->acked.assign(exec->ranks.size(), false);
  exec->done_run.assign(exec->ranks.size(), 0);
  {
    // (Known before the deaths are checked: one noticed meanwhile fails it.)
    std::lock_guard<std::mutex> lock(graphs_mu_);
    owned_graphs_[exec->id] = exec;
  }
  for (int r : exec->ranks) {
    if (RankDead(r)) {
      Throw(Status(StatusCode::kRankDied, "rank " + std::to_string(r) + " is dead"), "Graph::Compile");
    }
  }
  for (int r : exec->ranks) {
    const graphs::RankPlan& plan = plans[static_cast<size_t>(r)];
    Status sent;
    if (r == rank_) {
      sent = graphs_->Install(plan);
    } else {
      std::vector<uint8_t> msg;
      graphs::EncodePlan(plan, msg);
      if (msg.size() > config_.max_message_bytes) {
        sent = Status(StatusCode::kTooLarge,
                      "rank " + std::to_string(r) + "'s part is " + std::to_string(msg.size()) +
                          " bytes, above the limit of " + std::to_string(config_.max_message_bytes) +
                          " (RANKFLOW_MAX_MESSAGE_BYTES)");
      } else {
        sent = transport_->Send(r, graphs::kGraphInstall, std::move(msg));
        if (sent.ok()) continue;  // answered by kGraphInstalled
      }
    }
    std::lock_guard<std::mutex> lock(exec->mu);
    const int i = exec->IndexOf(r);
    if (!exec->acked[static_cast<size_t>(i)]) {
      exec->acked[static_cast<size_t>(i)] = true;
      ++exec->acks;
    }
    if (!sent.ok() && exec->install_status.ok()) exec->install_status = sent;
  }
  const int n = static_cast<int>(exec->ranks.size());
  const bool answered = WaitGraph(*exec, [&] {
    return exec->acks == n || !exec->failure.ok();
  }, objects::NowMicros() + kInstallTimeoutUs);
  std::lock_guard<std::mutex> lock(exec->mu);
  if (!exec->failure.ok()) Throw(exec->failure, "Graph::Compile");
  if (!answered) Throw(Status(StatusCode::kTimeout, "not every rank answered within 60 s"), "Graph::Compile");
  if (!exec->install_status.ok()) Throw(exec->install_status, "Graph::Compile");
  return exec;  // (on a throw, its destructor removes what was installed)
}

void Runtime::RunGraph(internal::GraphExec& exec, int64_t timeout_ms) {
  std::lock_guard<std::mutex> serial(exec.run_mu);
  const int64_t deadline = timeout_ms < 0 ? -1 : objects::NowMicros() + timeout_ms * 1000;
  uint64_t run;
  std::unordered_map<uint32_t, std::vector<uint8_t>> inputs;
  {
    std::lock_guard<std::mutex> lock(exec.mu);
    if (!exec.failure.ok()) Throw(exec.failure, "CompiledGraph::Run");
    for (uint32_t node : exec.input_nodes) {
      if (exec.inputs.count(node) == 0) {
        throw Error(ErrorCode::kInvalidArgument, "CompiledGraph::Run: input node " +
                                                     std::to_string(node) +
                                                     " has no value (CompiledGraph::Set)");
      }
    }
    inputs = exec.inputs;
    run = ++exec.run;
    exec.done = 0;
    for (auto& [node, out] : exec.outputs) out.set = false;
  }
  // This rank's part starts first (with the inputs): another rank's value of
  // this run cannot start it without them.
  const bool here = std::find(exec.ranks.begin(), exec.ranks.end(), rank_) != exec.ranks.end();
  if (here) graphs_->OnRun(exec.id, run, &inputs);
  Status failed_send;
  for (int r : exec.ranks) {
    if (r == rank_) continue;
    std::vector<uint8_t> msg;
    graphs::EncodeIds(msg, exec.id, run);
    Status st = transport_->Send(r, graphs::kGraphRun, std::move(msg));
    if (!st.ok()) {
      failed_send = Status(st.code(), "rank " + std::to_string(r) + ": " + st.message());
      break;
    }
  }
  // (Also when a start could not be sent: what this thread readied runs
  // now, not inside some later call.)
  if (here) graphs_->RunReady();
  if (!failed_send.ok()) Throw(failed_send, "CompiledGraph::Run");
  const int n = static_cast<int>(exec.ranks.size());
  const bool finished = WaitGraph(exec, [&] { return exec.done == n || !exec.failure.ok(); }, deadline);
  std::lock_guard<std::mutex> lock(exec.mu);
  if (!exec.failure.ok()) Throw(exec.failure, "CompiledGraph::Run");
  if (!finished) {
    Throw(Status(StatusCode::kTimeout, "not finished within " + std::to_string(timeout_ms) + " ms"),
          "CompiledGraph::Run");
  }
}

void Runtime::RemoveGraph(internal::GraphExec& exec) {
  {
    std::lock_guard<std::mutex> lock(graphs_mu_);
    owned_graphs_.erase(exec.id);
  }
  for (int r : exec.ranks) {
    if (r == rank_) {
      graphs_->Remove(exec.id);
    } else if (transport_ && !RankDead(r)) {
      std::vector<uint8_t> msg;
      graphs::EncodeIds(msg, exec.id, 0);
      Status st = transport_->Send(r, graphs::kGraphRemove, std::move(msg));
      if (!st.ok()) RF_DEBUG("graph {}: remove on rank {}: {}", exec.id, r, st.ToString());
    }
  }
}

void Runtime::OnGraphMessage(int source, uint16_t kind, const Buffer& msg) {
  Status st;
  const auto owned_by_source = [&](uint64_t graph) { return (graph >> 32) == static_cast<uint64_t>(source); };
  switch (kind) {
    case graphs::kGraphInstall: {
      graphs::RankPlan plan;
      st = graphs::DecodePlan(msg.data(), msg.size(), size_, &plan);
      if (st.ok() && (plan.owner != static_cast<uint32_t>(source) || !owned_by_source(plan.graph))) {
        st = Status(StatusCode::kMalformed, "a graph plan not from its owner");
      }
      if (!st.ok()) break;
      std::vector<uint8_t> answer;
      graphs::EncodeInstalled(answer, plan.graph, graphs_->Install(plan));
      Status sent = transport_->Send(source, graphs::kGraphInstalled, std::move(answer));
      if (!sent.ok()) RF_WARN("graph {}: could not answer rank {}: {}", plan.graph, source, sent.ToString());
      return;
    }
    case graphs::kGraphInstalled: {
      uint64_t graph = 0;
      Status answer;
      st = graphs::DecodeInstalled(msg.data(), msg.size(), &graph, &answer);
      if (!st.ok()) break;
      std::shared_ptr<internal::GraphExec> exec;
      {
        std::lock_guard<std::mutex> lock(graphs_mu_);
        auto it = owned_graphs_.find(graph);
        if (it != owned_graphs_.end()) exec = it->second.lock();
      }
      if (exec == nullptr) return;  // given up meanwhile
      {
        std::lock_guard<std::mutex> lock(exec->mu);
        const int i = exec->IndexOf(source);
        if (i < 0 || exec->acked[static_cast<size_t>(i)]) {
          st = Status(StatusCode::kMalformed, "an install answer not asked for");
        } else {
          exec->acked[static_cast<size_t>(i)] = true;
          ++exec->acks;
          if (!answer.ok() && exec->install_status.ok()) exec->install_status = answer;
        }
      }
      exec->cv.notify_all();
      if (st.ok()) return;
      break;
    }
    case graphs::kGraphRun:
    case graphs::kGraphRemove: {
      uint64_t graph = 0, run = 0;
      st = graphs::DecodeIds(msg.data(), msg.size(), kind == graphs::kGraphRun, &graph, &run);
      if (st.ok() && !owned_by_source(graph)) st = Status(StatusCode::kMalformed, "not from the graph's owner");
      if (!st.ok()) break;
      if (kind == graphs::kGraphRun) {
        graphs_->OnRun(graph, run);  // (its sources run after this delivery)
      } else {
        graphs_->Remove(graph);
      }
      return;
    }
    case graphs::kGraphValue:
      if (graphs_->OnValue(source, msg)) return;
      st = Status(StatusCode::kMalformed, "a graph value that is not an input here");
      break;
    case graphs::kGraphDone:
      OnGraphDone(source, msg.data(), msg.size());
      return;
  }
  counters_.messages_malformed.fetch_add(1);
  RF_WARN("dropped a graph message from rank {}: {}", source, st.ToString());
}

void Runtime::OnGraphDone(int source, const uint8_t* data, size_t size) {
  graphs::DoneWire done;
  Status st = graphs::DecodeDone(data, size, &done);
  std::shared_ptr<internal::GraphExec> exec;
  if (st.ok()) {
    std::lock_guard<std::mutex> lock(graphs_mu_);
    auto it = owned_graphs_.find(done.graph);
    if (it != owned_graphs_.end()) exec = it->second.lock();
  }
  if (exec == nullptr) {
    if (!st.ok()) {
      counters_.messages_malformed.fetch_add(1);
      RF_WARN("dropped a graph message from rank {}: {}", source, st.ToString());
    }
    return;  // (or a graph given up meanwhile)
  }
  {
    std::lock_guard<std::mutex> lock(exec->mu);
    if (done.run != exec->run) return;  // a run given up
    const int i = exec->IndexOf(source);
    if (i < 0 || exec->done_run[static_cast<size_t>(i)] == done.run) {
      counters_.messages_malformed.fetch_add(1);
      RF_WARN("dropped a graph report from rank {}: not one of its ranks, or twice", source);
      return;
    }
    exec->done_run[static_cast<size_t>(i)] = done.run;
    for (const auto& v : done.outputs) {
      auto it = exec->outputs.find(v.node);
      if (it == exec->outputs.end()) continue;
      it->second.set = true;
      it->second.error = v.error;
      it->second.bytes.assign(v.data, v.data + v.size);
    }
    ++exec->done;
  }
  exec->cv.notify_all();
}

void Runtime::GraphRankDied(int rank) {
  if (!graphs_) return;
  graphs_->OwnerDied(static_cast<uint32_t>(rank));
  // (Handles are taken outside graphs_mu_: the last one's destructor removes
  // its graph, which takes that lock.)
  std::vector<std::weak_ptr<internal::GraphExec>> all;
  {
    std::lock_guard<std::mutex> lock(graphs_mu_);
    for (auto& [id, weak] : owned_graphs_) all.push_back(weak);
  }
  for (auto& weak : all) {
    auto exec = weak.lock();
    if (!exec || exec->IndexOf(rank) < 0) continue;
    {
      std::lock_guard<std::mutex> lock(exec->mu);
      if (exec->failure.ok()) {
        exec->failure = Status(StatusCode::kRankDied, "rank " + std::to_string(rank) +
                                                          ", which runs nodes of the graph, died");
      }
    }
    exec->cv.notify_all();
  }
}

}  // namespace rankflow::runtime

namespace rankflow::internal {

GraphExec::~GraphExec() {
  if (auto rt = runtime.lock()) rt->RemoveGraph(*this);
}

int GraphExec::IndexOf(int rank) const {
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (ranks[i] == rank) return static_cast<int>(i);
  }
  return -1;
}

uint64_t NewGraphSerial() {
  static std::atomic<uint64_t> next{0};
  return ++next;
}

void CheckGraphNode(const std::string& function) {
  std::vector<ExportedRef> exports = runtime::TakeExports();
  if (exports.empty()) return;
  if (runtime::Runtime* rt = runtime::Runtime::Current()) rt->MakeContained(std::move(exports));
  throw Error(ErrorCode::kInvalidArgument,
              "graph node of '" + function +
                  "': its arguments hold ObjectRefs; a graph's bound arguments are plain values");
}

std::shared_ptr<GraphExec> CompileGraph(const GraphSpec& spec) {
  return runtime::Runtime::CurrentOrThrow().CompileGraph(spec);
}

void RunGraph(GraphExec& exec, int64_t timeout_ms) {
  auto rt = exec.runtime.lock();
  if (!rt) throw Error(ErrorCode::kShutdown, "CompiledGraph::Run after rankflow::Shutdown");
  rt->RunGraph(exec, timeout_ms);
}

void SetGraphInput(GraphExec& exec, uint32_t node, std::vector<uint8_t>&& bytes) {
  if (auto rt = exec.runtime.lock()) {
    const uint64_t limit = rt->config().max_message_bytes;
    if (bytes.size() + graphs::kValueHeaderBytes + 64 > limit) {
      throw Error(ErrorCode::kTooLarge, "input of " + std::to_string(bytes.size()) +
                                            " bytes is above the limit of " + std::to_string(limit) +
                                            " (RANKFLOW_MAX_MESSAGE_BYTES)");
    }
  }
  std::lock_guard<std::mutex> lock(exec.mu);
  if (std::find(exec.input_nodes.begin(), exec.input_nodes.end(), node) == exec.input_nodes.end()) {
    throw Error(ErrorCode::kInvalidArgument,
                "node " + std::to_string(node) + " is not an input of this graph (Graph::Input)");
  }
  exec.inputs[node] = std::move(bytes);
}

Buffer GraphOutput(const GraphExec& exec, uint32_t node) {
  auto& e = const_cast<GraphExec&>(exec);  // (its lock)
  std::lock_guard<std::mutex> lock(e.mu);
  auto it = e.outputs.find(node);
  if (it == e.outputs.end()) {
    throw Error(ErrorCode::kInvalidArgument,
                "node " + std::to_string(node) + " is not an output of this graph (Graph::Output)");
  }
  if (!it->second.set) {
    throw Error(ErrorCode::kInvalidArgument, "no Run() of this graph has finished yet");
  }
  if (it->second.error) {
    throw Error(ErrorCode::kTaskFailed,
                std::string(it->second.bytes.begin(), it->second.bytes.end()));
  }
  return Buffer::Copy(it->second.bytes.data(), it->second.bytes.size());
}

}  // namespace rankflow::internal
