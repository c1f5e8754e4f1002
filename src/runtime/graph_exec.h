// runtime/graph_exec.h — the owner's side of a compiled graph
// (rankflow/graph.h): which ranks run its nodes, the current run, and the
// outputs' values that the ranks' kGraphDone messages bring back.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace rankflow::runtime {
class Runtime;
}

namespace rankflow::internal {

class GraphExec {
 public:
  GraphExec() = default;
  GraphExec(const GraphExec&) = delete;
  GraphExec& operator=(const GraphExec&) = delete;
  ~GraphExec();  // removes the graph from its ranks

  struct Output {
    bool set = false;
    bool error = false;
    std::vector<uint8_t> bytes;  // the value, or the error's message
  };

  std::weak_ptr<runtime::Runtime> runtime;
  uint64_t id = 0;
  std::vector<int> ranks;  // those that run nodes

  std::mutex run_mu;  // one Run() at a time
  std::mutex mu;      // the rest
  std::condition_variable cv;
  int acks = 0;             // install answers
  std::vector<bool> acked;  // per rank of `ranks`: answered
  Status install_status;    // the first refusal
  uint64_t run = 0;         // the current (or last) run
  int done = 0;             // ranks done with it
  std::vector<uint64_t> done_run;  // per rank of `ranks`: the last run it reported
  /// The index of `rank` in `ranks`, or -1.
  int IndexOf(int rank) const;
  Status failure;           // a rank of the graph died (for good)
  std::unordered_map<uint32_t, Output> outputs;  // by node
  std::vector<uint32_t> input_nodes;             // Graph::Input nodes
  std::unordered_map<uint32_t, std::vector<uint8_t>> inputs;  // their values (CompiledGraph::Set)
};

}  // namespace rankflow::internal
