// graphs/graph_wire.h — a compiled graph's parts and messages.
//
// Compile() splits the recorded graph by rank (SplitGraph): each rank gets a
// plan of its own nodes, with, per node, the other ranks that take its
// value. The messages are flat, bounds-checked byte layouts (host order, as
// runtime/wire.h); every decode checks what it reads, so a malformed message
// is an error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "rankflow/graph.h"

namespace rankflow::graphs {

/// Transport message kinds (next to runtime/wire.h's).
enum GraphMessageKind : uint16_t {
  kGraphInstall = 20,    // owner -> rank: that rank's plan
  kGraphInstalled = 21,  // rank -> owner: [u64 graph][u8 ok][string why]
  kGraphRun = 22,        // owner -> rank: [u64 graph][u64 run]
  kGraphValue = 23,      // rank -> rank: a node's value (EncodeValue)
  kGraphDone = 24,       // rank -> owner: all its nodes ran; its outputs' values
  kGraphRemove = 25,     // owner -> rank: [u64 graph]
};

struct PlanNode {
  uint32_t id = 0;                 // in the whole graph
  std::string function;
  uint32_t num_args = 0;
  std::vector<uint8_t> args;       // a kRef argument's length is its index in `inputs`
  std::vector<uint32_t> inputs;    // node ids, earlier than `id`
  std::vector<uint32_t> input_ranks;  // the rank that computes each input
  std::vector<uint32_t> send_to;   // other ranks whose nodes take this value
  bool output = false;             // its value goes back to the owner
  bool input = false;              // no function: its value comes with each run (on the owner)
};

/// One rank's part of a graph.
struct RankPlan {
  uint32_t owner = 0;              // the rank that compiled it
  uint64_t graph = 0;              // numbered by the owner
  uint32_t total = 0;              // nodes in the whole graph
  std::vector<PlanNode> nodes;     // this rank's, in graph order
};

/// Splits `spec` into one plan per rank of a job of `size` ranks (empty
/// where a rank runs no node) and says where each node runs (`rank_of`).
/// Errors: a rank outside the job, an input that is not an earlier node.
Status SplitGraph(const internal::GraphSpec& spec, uint32_t owner, int size, uint64_t graph,
                  std::vector<RankPlan>* plans, std::vector<int>* rank_of);

void EncodePlan(const RankPlan& plan, std::vector<uint8_t>& out);
/// Checks structure: ids rising and below `total`, inputs earlier nodes,
/// every kRef argument naming an input, ranks below `size`.
Status DecodePlan(const uint8_t* data, size_t size, int job_size, RankPlan* plan);

/// A node's value as sent: bytes, or an error message.
struct ValueWire {
  uint64_t graph = 0;
  uint64_t run = 0;
  uint32_t node = 0;
  bool error = false;
  const uint8_t* data = nullptr;   // a view into the message
  size_t size = 0;
};
constexpr size_t kValueHeaderBytes = 25;  // graph, run, node, error flag, length
void EncodeValue(std::vector<uint8_t>& out, uint64_t graph, uint64_t run, uint32_t node, bool error,
                 const uint8_t* data, size_t size);
Status DecodeValue(const uint8_t* data, size_t size, ValueWire* out);

/// kGraphDone: [u64 graph][u64 run][u32 n] then n values as [u32 node][u8 error][u32 len][bytes].
struct DoneWire {
  uint64_t graph = 0;
  uint64_t run = 0;
  std::vector<ValueWire> outputs;  // views into the message
};
Status DecodeDone(const uint8_t* data, size_t size, DoneWire* out);
void EncodeDoneHeader(std::vector<uint8_t>& out, uint64_t graph, uint64_t run, uint32_t n);
void AppendDoneValue(std::vector<uint8_t>& out, uint32_t node, bool error, const uint8_t* data,
                     size_t size);

/// kGraphRun, kGraphRemove: [u64 graph] (+ [u64 run]).
void EncodeIds(std::vector<uint8_t>& out, uint64_t graph, uint64_t run);
Status DecodeIds(const uint8_t* data, size_t size, bool with_run, uint64_t* graph, uint64_t* run);

/// kGraphInstalled.
void EncodeInstalled(std::vector<uint8_t>& out, uint64_t graph, const Status& st);
Status DecodeInstalled(const uint8_t* data, size_t size, uint64_t* graph, Status* st);

}  // namespace rankflow::graphs
