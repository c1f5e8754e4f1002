#include "graphs/graph_wire.h"

#include <algorithm>
#include <cstring>

#include "common/bytes.h"

namespace rankflow::graphs {

namespace {
constexpr uint32_t kMaxNodes = 1u << 24;
constexpr uint32_t kMaxName = 4096;

Status Malformed(const std::string& what) {
  return Status(StatusCode::kMalformed, "graph message: " + what);
}

// Walks `args` ([u8 tag][u32 len][bytes], a kRef's len being an input
// index): false if it does not parse, holds other tags, or names a missing input.
bool ArgsValid(const std::vector<uint8_t>& args, size_t num_inputs, uint32_t num_args) {
  size_t off = 0;
  uint32_t count = 0;
  while (off < args.size()) {
    if (args.size() - off < 5) return false;
    const uint8_t tag = args[off];
    uint32_t len;
    std::memcpy(&len, args.data() + off + 1, sizeof(len));
    off += 5;
    if (tag == static_cast<uint8_t>(internal::ArgTag::kRef)) {
      if (len >= num_inputs) return false;
    } else if (tag == static_cast<uint8_t>(internal::ArgTag::kValue)) {
      if (len > args.size() - off) return false;
      off += len;
    } else {
      return false;
    }
    ++count;
  }
  return count == num_args;
}
}  // namespace

Status SplitGraph(const internal::GraphSpec& spec, uint32_t owner, int size, uint64_t graph,
                  std::vector<RankPlan>* plans, std::vector<int>* rank_of) {
  const size_t n = spec.nodes.size();
  if (n == 0) return Status(StatusCode::kInvalidArgument, "the graph has no nodes");
  if (n > kMaxNodes) return Status(StatusCode::kInvalidArgument, "the graph has too many nodes");
  plans->assign(static_cast<size_t>(size), RankPlan{});
  rank_of->assign(n, -1);
  std::vector<size_t> index(n);  // node -> its position in its rank's plan
  for (size_t i = 0; i < n; ++i) {
    const internal::GraphNode& node = spec.nodes[i];
    if (node.function == nullptr && !node.input) {
      return Status(StatusCode::kInvalidArgument, "a node has no function");
    }
    for (uint32_t in : node.inputs) {
      if (in >= i) {
        return Status(StatusCode::kInvalidArgument,
                      "node " + std::to_string(i) + " takes node " + std::to_string(in) +
                          ", which is not an earlier node");
      }
    }
    int rank = node.rank;
    if (rank < 0 || node.input) {  // (an input is given on the owner)
      rank = node.inputs.empty() ? static_cast<int>(owner) : (*rank_of)[node.inputs[0]];
    }
    if (rank >= size || node.rank < -1) {
      return Status(StatusCode::kInvalidArgument,
                    "node " + std::to_string(i) + " (" + (node.function ? *node.function : "input") +
                        ") is placed on rank " + std::to_string(node.rank < -1 ? node.rank : rank) +
                        ", outside the job (" + std::to_string(size) +
                        " ranks)");
    }
    (*rank_of)[i] = rank;
    RankPlan& plan = (*plans)[static_cast<size_t>(rank)];
    PlanNode p;
    p.id = static_cast<uint32_t>(i);
    p.input = node.input;
    if (!node.input) p.function = *node.function;
    p.num_args = node.num_args;
    p.args = node.args;
    p.inputs = node.inputs;
    for (uint32_t in : node.inputs) p.input_ranks.push_back(static_cast<uint32_t>((*rank_of)[in]));
    index[i] = plan.nodes.size();
    plan.nodes.push_back(std::move(p));
    for (uint32_t in : node.inputs) {
      const int from = (*rank_of)[in];
      if (from == rank) continue;
      auto& to = (*plans)[static_cast<size_t>(from)].nodes[index[in]].send_to;
      if (std::find(to.begin(), to.end(), static_cast<uint32_t>(rank)) == to.end()) {
        to.push_back(static_cast<uint32_t>(rank));
      }
    }
  }
  for (uint32_t out : spec.outputs) {
    if (out >= n) return Status(StatusCode::kInvalidArgument, "an output is not a node of the graph");
    (*plans)[static_cast<size_t>((*rank_of)[out])].nodes[index[out]].output = true;
  }
  for (auto& plan : *plans) {
    plan.owner = owner;
    plan.graph = graph;
    plan.total = static_cast<uint32_t>(n);
  }
  return Status::Ok();
}

void EncodePlan(const RankPlan& plan, std::vector<uint8_t>& out) {
  ByteWriter w(out);
  w.Put<uint32_t>(plan.owner);
  w.Put<uint64_t>(plan.graph);
  w.Put<uint32_t>(plan.total);
  w.Put<uint32_t>(static_cast<uint32_t>(plan.nodes.size()));
  for (const PlanNode& node : plan.nodes) {
    w.Put<uint32_t>(node.id);
    w.PutString(node.function);
    w.Put<uint32_t>(node.num_args);
    w.Put<uint32_t>(static_cast<uint32_t>(node.args.size()));
    w.PutBytes(node.args.data(), node.args.size());
    w.Put<uint32_t>(static_cast<uint32_t>(node.inputs.size()));
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      w.Put<uint32_t>(node.inputs[k]);
      w.Put<uint32_t>(k < node.input_ranks.size() ? node.input_ranks[k] : 0);
    }
    w.Put<uint32_t>(static_cast<uint32_t>(node.send_to.size()));
    for (uint32_t r : node.send_to) w.Put<uint32_t>(r);
    w.Put<uint8_t>(static_cast<uint8_t>((node.output ? 1 : 0) | (node.input ? 2 : 0)));
  }
}

Status DecodePlan(const uint8_t* data, size_t size, int job_size, RankPlan* plan) {
  ByteReader r(data, size);
  plan->owner = r.Get<uint32_t>();
  plan->graph = r.Get<uint64_t>();
  plan->total = r.Get<uint32_t>();
  const uint32_t count = r.Get<uint32_t>();
  // (25 bytes: the smallest node, so a short message cannot ask for much memory.)
  if (!r.ok() || plan->total > kMaxNodes || count > plan->total || count > r.remaining() / 25 ||
      plan->owner >= static_cast<uint32_t>(job_size)) {
    return Malformed("bad plan header");
  }
  plan->nodes.clear();
  plan->nodes.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    PlanNode node;
    node.id = r.Get<uint32_t>();
    node.function = std::string(r.GetString(kMaxName));
    node.num_args = r.Get<uint32_t>();
    const uint32_t args = r.Get<uint32_t>();
    if (!r.ok() || args > r.remaining()) return Malformed("bad node");
    node.args.assign(r.pos(), r.pos() + args);
    r.Skip(args);
    const uint32_t inputs = r.Get<uint32_t>();
    if (!r.ok() || inputs > r.remaining() / 8) return Malformed("bad inputs");
    for (uint32_t k = 0; k < inputs; ++k) {
      node.inputs.push_back(r.Get<uint32_t>());
      node.input_ranks.push_back(r.Get<uint32_t>());
    }
    const uint32_t sends = r.Get<uint32_t>();
    if (!r.ok() || sends > r.remaining() / 4) return Malformed("bad destinations");
    for (uint32_t k = 0; k < sends; ++k) node.send_to.push_back(r.Get<uint32_t>());
    const uint8_t flags = r.Get<uint8_t>();
    node.output = (flags & 1) != 0;
    node.input = (flags & 2) != 0;
    if (!r.ok() || flags > 3) return Malformed("truncated node");
    if (node.input && (!node.function.empty() || !node.args.empty() || !node.inputs.empty() ||
                       node.num_args != 0)) {
      return Malformed("an input with a function or arguments");
    }
    const bool rising = plan->nodes.empty() || node.id > plan->nodes.back().id;
    if (!rising || node.id >= plan->total) return Malformed("node ids out of order");
    for (uint32_t in : node.inputs) {
      if (in >= node.id) return Malformed("an input that is not an earlier node");
    }
    for (uint32_t dest : node.send_to) {
      if (dest >= static_cast<uint32_t>(job_size)) return Malformed("a destination outside the job");
    }
    for (uint32_t from : node.input_ranks) {
      if (from >= static_cast<uint32_t>(job_size)) return Malformed("an input from outside the job");
    }
    if (!ArgsValid(node.args, node.inputs.size(), node.num_args)) return Malformed("bad arguments");
    plan->nodes.push_back(std::move(node));
  }
  if (r.remaining() != 0) return Malformed("trailing bytes");
  return Status::Ok();
}

void EncodeValue(std::vector<uint8_t>& out, uint64_t graph, uint64_t run, uint32_t node, bool error,
                 const uint8_t* data, size_t size) {
  // (One resize: a value goes out per node of every run.)
  const size_t at = out.size();
  out.resize(at + kValueHeaderBytes + size);
  uint8_t* p = out.data() + at;
  const uint8_t flag = error ? 1 : 0;
  const uint32_t len = static_cast<uint32_t>(size);
  std::memcpy(p, &graph, 8);
  std::memcpy(p + 8, &run, 8);
  std::memcpy(p + 16, &node, 4);
  std::memcpy(p + 20, &flag, 1);
  std::memcpy(p + 21, &len, 4);
  if (size > 0) std::memcpy(p + kValueHeaderBytes, data, size);
}

namespace {
bool ReadValue(ByteReader& r, ValueWire* v) {
  v->node = r.Get<uint32_t>();
  const uint8_t error = r.Get<uint8_t>();
  const uint32_t len = r.Get<uint32_t>();
  if (!r.ok() || error > 1 || len > r.remaining()) return false;
  v->error = error != 0;
  v->data = r.pos();
  v->size = len;
  r.Skip(len);
  return true;
}
}  // namespace

Status DecodeValue(const uint8_t* data, size_t size, ValueWire* out) {
  ByteReader r(data, size);
  out->graph = r.Get<uint64_t>();
  out->run = r.Get<uint64_t>();
  if (!r.ok() || !ReadValue(r, out) || r.remaining() != 0) return Malformed("bad value");
  return Status::Ok();
}

void EncodeDoneHeader(std::vector<uint8_t>& out, uint64_t graph, uint64_t run, uint32_t n) {
  ByteWriter w(out);
  w.Put<uint64_t>(graph);
  w.Put<uint64_t>(run);
  w.Put<uint32_t>(n);
}

void AppendDoneValue(std::vector<uint8_t>& out, uint32_t node, bool error, const uint8_t* data,
                     size_t size) {
  ByteWriter w(out);
  w.Put<uint32_t>(node);
  w.Put<uint8_t>(error ? 1 : 0);
  w.Put<uint32_t>(static_cast<uint32_t>(size));
  w.PutBytes(data, size);
}

Status DecodeDone(const uint8_t* data, size_t size, DoneWire* out) {
  ByteReader r(data, size);
  out->graph = r.Get<uint64_t>();
  out->run = r.Get<uint64_t>();
  const uint32_t n = r.Get<uint32_t>();
  if (!r.ok() || n > r.remaining() / 9) return Malformed("bad done");
  out->outputs.resize(n);
  for (auto& v : out->outputs) {
    v.graph = out->graph;
    v.run = out->run;
    if (!ReadValue(r, &v)) return Malformed("bad output");
  }
  if (r.remaining() != 0) return Malformed("trailing bytes");
  return Status::Ok();
}

void EncodeIds(std::vector<uint8_t>& out, uint64_t graph, uint64_t run) {
  ByteWriter w(out);
  w.Put<uint64_t>(graph);
  w.Put<uint64_t>(run);
}

Status DecodeIds(const uint8_t* data, size_t size, bool with_run, uint64_t* graph, uint64_t* run) {
  ByteReader r(data, size);
  *graph = r.Get<uint64_t>();
  *run = r.Get<uint64_t>();
  if (!r.ok() || r.remaining() != 0) return Malformed("bad ids");
  if (!with_run) *run = 0;
  return Status::Ok();
}

void EncodeInstalled(std::vector<uint8_t>& out, uint64_t graph, const Status& st) {
  ByteWriter w(out);
  w.Put<uint64_t>(graph);
  w.Put<uint32_t>(static_cast<uint32_t>(st.code()));
  w.PutString(st.message());
}

Status DecodeInstalled(const uint8_t* data, size_t size, uint64_t* graph, Status* st) {
  ByteReader r(data, size);
  *graph = r.Get<uint64_t>();
  const uint32_t code = r.Get<uint32_t>();
  const std::string why(r.GetString(kMaxName * 4));
  if (!r.ok() || r.remaining() != 0 || code > static_cast<uint32_t>(StatusCode::kObjectLost)) {
    return Malformed("bad install answer");
  }
  *st = code == 0 ? Status::Ok() : Status(static_cast<StatusCode>(code), why);
  return Status::Ok();
}

}  // namespace rankflow::graphs
