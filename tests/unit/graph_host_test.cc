// GraphHost: two ranks' hosts in one process, their messages carried by a
// fake network pumped by the test (a fake is right here: this is the unit
// test of one component; tests/integration/graph_test.cc runs the real one).
#include "graphs/graph_host.h"

#include <gtest/gtest.h>

#include <rankflow/rankflow.h>

#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>

namespace {

int Seven() { return 7; }
int Plus(int a, int b) { return a + b; }
int Boom(int) { throw std::runtime_error("boom"); }
RANKFLOW_REMOTE(Seven, Plus, Boom);

using namespace rankflow;
using graphs::GraphHost;

// A node of `fn` on `rank` whose arguments are the values of `in`.
void AddNode(internal::GraphSpec& spec, const std::string* fn, int rank, std::vector<uint32_t> in) {
  internal::GraphNode n;
  n.function = fn;
  n.rank = rank;
  n.num_args = static_cast<uint32_t>(in.size());
  for (uint32_t i = 0; i < in.size(); ++i) {
    size_t at;
    internal::AppendArgHeader(n.args, internal::ArgTag::kRef, i, &at);
  }
  n.inputs = std::move(in);
  spec.nodes.push_back(std::move(n));
}

struct Sent {
  int from, to;
  uint16_t kind;
  std::vector<uint8_t> bytes;
};

class GraphHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int r = 0; r < 2; ++r) {
      graphs::HostEnv env;
      env.rank = r;
      env.size = 2;
      env.send = [this, r](int dest, uint16_t kind, std::vector<uint8_t>&& b) {
        wire_.push_back(Sent{r, dest, kind, std::move(b)});
        return Status::Ok();
      };
      env.done_here = [this](const uint8_t* d, size_t n) { done_.emplace_back(d, d + n); };
      env.inline_ns = 50'000;
      hosts_[r] = std::make_unique<GraphHost>(std::move(env));
    }
  }
  // Delivers every message in flight (and what that sends), running what is readied.
  void Pump() {
    while (!wire_.empty()) {
      Sent s = std::move(wire_.front());
      wire_.pop_front();
      if (s.kind == graphs::kGraphValue) {
        EXPECT_TRUE(hosts_[s.to]->OnValue(s.from, Buffer::Copy(s.bytes.data(), s.bytes.size())));
        hosts_[s.to]->RunReady();
      } else if (s.kind == graphs::kGraphDone) {
        done_.push_back(std::move(s.bytes));
      }
    }
  }
  void Start(uint64_t run) {
    for (auto& h : hosts_) {
      h->OnRun(1, run);
      h->RunReady();
    }
  }
  // The node-3 output of each done message.
  std::vector<graphs::ValueWire> Outputs() {
    std::vector<graphs::ValueWire> out;
    for (const auto& d : done_) {
      graphs::DoneWire w;
      EXPECT_TRUE(graphs::DecodeDone(d.data(), d.size(), &w).ok());
      for (const auto& v : w.outputs) out.push_back(v);
    }
    return out;
  }
  std::unique_ptr<GraphHost> hosts_[2];
  std::deque<Sent> wire_;
  std::vector<std::vector<uint8_t>> done_;
};

TEST_F(GraphHostTest, ValuesFlowBetweenRanksAndDoneCarriesTheOutput) {
  // Built by hand: the spec of the diamond above.
  internal::GraphSpec spec;
  static const std::string seven = "Seven", plus = "Plus";
  AddNode(spec, &seven, 0, {});
  AddNode(spec, &seven, 1, {});
  AddNode(spec, &plus, 1, {0, 1});
  AddNode(spec, &plus, 0, {2, 0});
  spec.outputs = {3};
  std::vector<graphs::RankPlan> plans;
  std::vector<int> rank_of;
  ASSERT_TRUE(graphs::SplitGraph(spec, 0, 2, 1, &plans, &rank_of).ok());
  ASSERT_TRUE(hosts_[0]->Install(plans[0]).ok());
  ASSERT_TRUE(hosts_[1]->Install(plans[1]).ok());
  for (uint64_t run = 1; run <= 3; ++run) {
    done_.clear();
    Start(run);
    Pump();
    ASSERT_EQ(done_.size(), 2u) << "both ranks report";
    auto outs = Outputs();
    ASSERT_EQ(outs.size(), 1u);
    EXPECT_EQ(outs[0].node, 3u);
    EXPECT_EQ(outs[0].run, run);
    ASSERT_EQ(outs[0].size, sizeof(int));
    int v;
    std::memcpy(&v, outs[0].data, sizeof(v));
    EXPECT_EQ(v, 21);  // (7 + 7) + 7
  }
  // A value for a node this rank computes itself, a second one in a run,
  // and garbage: refused. A value of an earlier run: dropped.
  std::vector<uint8_t> msg;
  const int seven_v = 7;
  graphs::EncodeValue(msg, 1, 3, 3, false, reinterpret_cast<const uint8_t*>(&seven_v), 4);
  EXPECT_FALSE(hosts_[0]->OnValue(1, Buffer::Copy(msg.data(), msg.size())));
  msg.clear();
  graphs::EncodeValue(msg, 1, 3, 2, false, reinterpret_cast<const uint8_t*>(&seven_v), 4);
  EXPECT_FALSE(hosts_[0]->OnValue(1, Buffer::Copy(msg.data(), msg.size())));  // node 2 of run 3: had it
  EXPECT_FALSE(hosts_[0]->OnValue(0, Buffer::Copy(msg.data(), msg.size())));  // not from its rank
  msg.clear();
  graphs::EncodeValue(msg, 1, 2, 2, false, reinterpret_cast<const uint8_t*>(&seven_v), 4);
  EXPECT_TRUE(hosts_[0]->OnValue(1, Buffer::Copy(msg.data(), msg.size())));
  EXPECT_EQ(hosts_[0]->values_dropped(), 1u);
  const uint8_t junk[] = {1, 2, 3};
  EXPECT_FALSE(hosts_[0]->OnValue(1, Buffer::Copy(junk, sizeof(junk))));
  // Removed: later messages for it are dropped, not run.
  hosts_[1]->Remove(1);
  EXPECT_EQ(hosts_[1]->installed(), 0u);
  hosts_[1]->OnRun(1, 4);
  hosts_[1]->RunReady();
  EXPECT_TRUE(wire_.empty());
}

TEST_F(GraphHostTest, AFailureTravelsAsAnErrorValue) {
  internal::GraphSpec spec;
  static const std::string seven = "Seven", boom = "Boom", plus = "Plus";
  AddNode(spec, &seven, 1, {});
  AddNode(spec, &boom, 1, {0});
  AddNode(spec, &plus, 0, {1, 1});
  spec.outputs = {2};
  std::vector<graphs::RankPlan> plans;
  std::vector<int> rank_of;
  ASSERT_TRUE(graphs::SplitGraph(spec, 0, 2, 1, &plans, &rank_of).ok());
  ASSERT_TRUE(hosts_[0]->Install(plans[0]).ok());
  ASSERT_TRUE(hosts_[1]->Install(plans[1]).ok());
  Start(1);
  Pump();
  auto outs = Outputs();
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_TRUE(outs[0].error);
  const std::string why(reinterpret_cast<const char*>(outs[0].data), outs[0].size);
  EXPECT_NE(why.find("boom"), std::string::npos) << why;
  EXPECT_NE(why.find("Boom"), std::string::npos) << why;
}

TEST_F(GraphHostTest, InstallRefusesUnknownFunctionsAndWrongArity) {
  graphs::RankPlan plan;
  plan.owner = 0;
  plan.graph = 2;
  plan.total = 1;
  graphs::PlanNode n;
  n.function = "NoSuchFunction";
  plan.nodes.push_back(n);
  Status st = hosts_[0]->Install(plan);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("NoSuchFunction"), std::string::npos) << st.message();
  plan.nodes[0].function = "Plus";
  plan.nodes[0].num_args = 0;
  st = hosts_[0]->Install(plan);
  EXPECT_EQ(st.code(), StatusCode::kTypeMismatch);
  EXPECT_EQ(hosts_[0]->installed(), 0u);
}

}  // namespace
