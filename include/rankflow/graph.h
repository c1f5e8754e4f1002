// rankflow/graph.h — compiled task graphs: record a graph of tasks once,
// then run it as often as needed with no per-task submission.
//
//   rankflow::Graph g;
//   auto a = g.Task(Start).SetRank(0).Add(0);
//   auto b = g.Task(Start).SetRank(1).Add(1);
//   auto c = g.Task(Sum).SetRank(1).Add(a, b);   // a's value goes to rank 1
//   g.Output(c);
//   auto w = g.Input<double>();                  // given before each run
//   auto d = g.Task(Scale).SetRank(1).Add(c, w);
//   g.Output(d);
//   rankflow::CompiledGraph run = g.Compile();    // each rank gets its part
//   for (int i = 0; i < 1000; ++i) {
//     run.Set(w, 0.5 * i);
//     run.Run();                                  // every node runs once
//     use(run.Get(c), run.Get(d));
//   }
//
// A node's arguments are values bound when it is added, or GraphRefs to
// earlier nodes (or inputs) of the same graph: each value goes straight from the rank
// that computed it to the ranks whose nodes take it (no owner in between,
// no object table, no reference counts), as a hand-written MPI code would
// send it. Run() returns once every node has run; the outputs' values then
// come back to the rank that compiled the graph. A node whose function
// throws fails, and so do the nodes that take its value; Get() of such an
// output throws the first error. See docs/graphs.md.
//
// Thread safety: a Graph is built by one thread; a CompiledGraph runs one
// Run() at a time (calls from several threads are serialized).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rankflow/buffer.h"
#include "rankflow/errors.h"
#include "rankflow/internal/core.h"
#include "rankflow/object_ref.h"
#include "rankflow/remote.h"
#include "rankflow/serialization.h"

namespace rankflow {
namespace internal {

/// One node as recorded: the function, its encoded arguments (a kRef
/// argument's length field is its index in `inputs`) and where it runs.
struct GraphNode {
  const std::string* function = nullptr;  // registry-owned name (null: an input)
  uint32_t num_args = 0;
  int rank = -1;                          // -1: its first input's rank, else the compiling rank
  std::vector<uint8_t> args;
  std::vector<uint32_t> inputs;           // earlier nodes, by kRef index
  bool input = false;                     // a value given before each run (CompiledGraph::Set)
};
struct GraphSpec {
  uint64_t serial = 0;  // tells graphs apart
  std::vector<GraphNode> nodes;
  std::vector<uint32_t> outputs;
};
uint64_t NewGraphSerial();
[[noreturn]] void ThrowUnregistered(const char* what);
/// Refuses a node whose bound arguments hold ObjectRefs (graph values are plain).
void CheckGraphNode(const std::string& function);
class GraphExec;  // a compiled graph (src/graphs/)
std::shared_ptr<GraphExec> CompileGraph(const GraphSpec& spec);
void RunGraph(GraphExec& exec, int64_t timeout_ms);
/// The last run's value of output `node`; throws its error.
Buffer GraphOutput(const GraphExec& exec, uint32_t node);
/// Sets input `node`'s value for the next runs; throws if it is not an input.
void SetGraphInput(GraphExec& exec, uint32_t node, std::vector<uint8_t>&& bytes);

}  // namespace internal

template <typename T>
class GraphRef;
template <typename T>
struct IsGraphRef : std::false_type {};
template <typename T>
struct IsGraphRef<GraphRef<T>> : std::true_type {};

/// A node of a Graph: its value is an argument of later nodes, or an output.
template <typename T>
class GraphRef {
 public:
  using ValueType = T;
  GraphRef() = default;
  uint32_t node() const { return node_; }
  uint64_t graph() const { return serial_; }

 private:
  template <typename R, typename... P>
  friend class GraphTaskCaller;
  friend class Graph;
  GraphRef(uint64_t serial, uint32_t node) : serial_(serial), node_(node) {}
  uint64_t serial_ = 0;
  uint32_t node_ = 0;
};

/// Adds one node: Graph::Task(f).SetRank(r).Add(args...).
template <typename R, typename... Params>
class GraphTaskCaller {
 public:
  GraphTaskCaller(internal::GraphSpec* spec, R (*fn)(Params...)) : spec_(spec), fn_(fn) {}

  /// Runs the node on this rank (default: where its first input runs, or,
  /// for a node without inputs, on the rank that compiles the graph).
  GraphTaskCaller& SetRank(int rank) {
    rank_ = rank;
    return *this;
  }

  template <typename... Args>
  GraphRef<R> Add(Args&&... args) {
    static_assert(!std::is_void_v<R>, "a graph node's function returns a value");
    static_assert(sizeof...(Args) == sizeof...(Params),
                  "wrong number of arguments for this remote function");
    const std::string* name = internal::FunctionNameOf(internal::AddressOf(fn_));
    if (name == nullptr) internal::ThrowUnregistered("function passed to Graph::Task()");
    internal::GraphNode node;
    node.function = name;
    node.num_args = sizeof...(Args);
    node.rank = rank_;
    node.args.reserve(64);
    (AppendGraphArg<Params>(node, std::forward<Args>(args)), ...);
    internal::CheckGraphNode(*name);
    spec_->nodes.push_back(std::move(node));
    return GraphRef<R>(spec_->serial, static_cast<uint32_t>(spec_->nodes.size() - 1));
  }

 private:
  template <typename Param, typename Arg>
  void AppendGraphArg(internal::GraphNode& node, Arg&& arg) {
    using P = std::decay_t<Param>;
    using A = std::decay_t<Arg>;
    static_assert(!IsObjectRef<A>::value,
                  "an ObjectRef is not a graph argument: pass a GraphRef, or the value itself");
    if constexpr (IsGraphRef<A>::value) {
      static_assert(std::is_same_v<typename A::ValueType, P>,
                    "GraphRef<T> argument: T must match the parameter type");
      if (arg.graph() != spec_->serial || arg.node() >= spec_->nodes.size()) {
        throw Error(ErrorCode::kInvalidArgument, "a GraphRef argument is not a node of this graph");
      }
      size_t at;
      internal::AppendArgHeader(node.args, internal::ArgTag::kRef,
                                static_cast<uint32_t>(node.inputs.size()), &at);
      node.inputs.push_back(arg.node());
    } else {
      static_assert(std::is_convertible_v<Arg&&, P>,
                    "argument is not convertible to the function's parameter type");
      size_t at;
      internal::AppendArgHeader(node.args, internal::ArgTag::kValue, 0, &at);
      if constexpr (std::is_same_v<A, P>) {
        EncodeTo<P>(arg, node.args);
      } else {
        EncodeTo<P>(static_cast<P>(std::forward<Arg>(arg)), node.args);
      }
      internal::PatchArgLength(node.args, at);
    }
  }

  internal::GraphSpec* spec_;
  R (*fn_)(Params...);
  int rank_ = -1;
};

/// A graph compiled onto the ranks: Run() it, then Get() its outputs.
class CompiledGraph {
 public:
  CompiledGraph() = default;
  /// Runs every node once; returns when all have run (throws
  /// Error(kRankDied) if a rank of the graph dies, kTimeout after
  /// `timeout_ms` if given). A node's failure does not throw here: Get does.
  void Run(int64_t timeout_ms = -1) {
    if (!exec_) throw Error(ErrorCode::kInvalidArgument, "Run() of an empty CompiledGraph");
    internal::RunGraph(*exec_, timeout_ms);
  }
  /// Gives input `ref` (Graph::Input) its value for the next runs (kept
  /// until set again); every input needs one before the first Run().
  template <typename T>
  void Set(const GraphRef<T>& ref, const T& value) {
    if (!exec_ || ref.graph() != serial_) {
      throw Error(ErrorCode::kInvalidArgument, "Set() of a GraphRef that is not of this graph");
    }
    std::vector<uint8_t> bytes;
    EncodeTo<T>(value, bytes);
    internal::SetGraphInput(*exec_, ref.node(), std::move(bytes));
  }
  /// The value of output `ref` in the last Run().
  template <typename T>
  T Get(const GraphRef<T>& ref) const {
    if (!exec_ || ref.graph() != serial_) {
      throw Error(ErrorCode::kInvalidArgument, "Get() of a GraphRef that is not of this graph");
    }
    return Decode<T>(internal::GraphOutput(*exec_, ref.node()));
  }

 private:
  friend class Graph;
  std::shared_ptr<internal::GraphExec> exec_;
  uint64_t serial_ = 0;
};

/// Records nodes; Compile() sends each rank its part (on the calling rank,
/// which then owns the compiled graph).
class Graph {
 public:
  Graph() : spec_(std::make_shared<internal::GraphSpec>()) { spec_->serial = internal::NewGraphSerial(); }

  template <typename R, typename... Params>
  GraphTaskCaller<R, Params...> Task(R (*fn)(Params...)) {
    return GraphTaskCaller<R, Params...>(&spec(), fn);
  }
  /// An input: a value of type T given before each run (CompiledGraph::Set),
  /// on the compiling rank, and sent from there to the ranks whose nodes
  /// take it.
  template <typename T>
  GraphRef<T> Input() {
    static_assert(!IsObjectRef<T>::value && !IsGraphRef<T>::value, "a graph input is a plain value");
    internal::GraphNode node;
    node.input = true;
    spec().nodes.push_back(std::move(node));
    return GraphRef<T>(spec_->serial, static_cast<uint32_t>(spec_->nodes.size() - 1));
  }
  /// Brings `ref`'s value back to the compiling rank after each Run().
  template <typename T>
  void Output(const GraphRef<T>& ref) {
    if (ref.graph() != spec().serial || ref.node() >= spec_->nodes.size()) {
      throw Error(ErrorCode::kInvalidArgument, "Output() of a GraphRef that is not of this graph");
    }
    spec_->outputs.push_back(ref.node());
  }
  size_t size() const { return spec().nodes.size(); }

  /// Checks every node on the rank that runs it (function registered there,
  /// arity) and installs the graph; throws rankflow::Error with the reason.
  CompiledGraph Compile() const {
    CompiledGraph out;
    out.exec_ = internal::CompileGraph(spec());
    out.serial_ = spec_->serial;
    return out;
  }

 private:
  internal::GraphSpec& spec() const {
    if (!spec_) throw Error(ErrorCode::kInvalidArgument, "use of a moved-from rankflow::Graph");
    return *spec_;
  }
  std::shared_ptr<internal::GraphSpec> spec_;
};

}  // namespace rankflow
