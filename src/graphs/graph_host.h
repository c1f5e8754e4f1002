// graphs/graph_host.h — runs this rank's part of compiled graphs.
//
// Each installed graph keeps, per node of this rank, how many distinct
// inputs it still waits for in the current run, and one value slot per
// node it computes or takes from another rank. A run starts with the
// owner's kGraphRun (or with the first value of that run, whichever comes
// first); a value completes a slot and readies the nodes that take it. A
// ready node runs on the thread that readied it when its function is known
// to be short (as inline tasks, runtime/inline_tasks.cc), else on an
// executor; its value goes to the slots of this rank's nodes and, once, to
// each other rank that takes it. When all of this rank's nodes have run,
// kGraphDone carries its outputs to the owner.
//
// Thread safety: every entry point from any thread. Nodes readied by
// OnRun/OnValue are only collected; the caller runs them with RunReady() at
// a point where it may run user code (after a delivery: not under the
// network's lock).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "graphs/graph_wire.h"
#include "rankflow/buffer.h"

namespace rankflow::runtime {
struct FunctionEntry;
}

namespace rankflow::graphs {

struct HostEnv {
  int rank = 0;
  int size = 1;
  /// Sends to another rank.
  std::function<Status(int dest, uint16_t kind, std::vector<uint8_t>&& bytes)> send;
  /// kGraphDone for a graph this rank owns (the owner's side, in-process).
  std::function<void(const uint8_t* data, size_t size)> done_here;
  /// Sends what this thread queued now (before a node that takes a while:
  /// another rank may wait for a value just sent). May be null.
  std::function<void()> flush;
  /// Runs RunQueued(work) later on an executor (long nodes); null: run here.
  std::function<void(std::vector<uint8_t>&& work)> queue;
  uint64_t inline_ns = 0;         // nodes recently shorter than this run where readied
  uint64_t max_value_bytes = 64u << 20;
};

class GraphHost {
 public:
  explicit GraphHost(HostEnv env);
  ~GraphHost();

  /// Installs a plan: every function must be registered here with the
  /// plan's arity; else an error naming the node, and nothing is kept.
  Status Install(const RankPlan& plan);
  void Remove(uint64_t graph);
  /// Drops the graphs of an owner that died.
  void OwnerDied(uint32_t owner);

  /// Starts run `run`; on the owner, `inputs` holds the inputs' values (by node).
  void OnRun(uint64_t graph, uint64_t run,
             const std::unordered_map<uint32_t, std::vector<uint8_t>>* inputs = nullptr);
  /// A kGraphValue from rank `source`: false if malformed, or not an input
  /// of this rank's nodes computed by `source`.
  bool OnValue(int source, const Buffer& msg);
  /// Runs the nodes this thread readied (and those they ready in turn).
  void RunReady();
  /// Whether this thread has readied nodes to run.
  static bool HasReady();
  /// Runs a node handed to an executor (HostEnv::queue).
  void RunQueued(const Buffer& work);

  size_t installed() const;
  uint64_t values_dropped() const { return dropped_; }

  struct Installed;
  struct Ready {  // a node readied on this thread, for RunReady
    std::shared_ptr<Installed> graph;
    uint64_t run;
    uint32_t node;  // local index
  };

 private:
  std::shared_ptr<Installed> Find(uint64_t graph) const;
  // Under g.mu: starts run `run` (resetting the counts), readying its sources.
  void BeginLocked(const std::shared_ptr<Installed>& g, uint64_t run);
  void RunNode(const Ready& r);
  void Finish(Installed& g, uint64_t run);

  HostEnv env_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Installed>> graphs_;
  std::atomic<uint64_t> dropped_{0};
  // Bumped by every install and removal in the process (Find's cache).
  static std::atomic<uint64_t> generation_;
};

}  // namespace rankflow::graphs
