// A compiled graph's split into per-rank plans and its messages: what each
// rank gets, and that malformed bytes are refused, never read past.
#include "graphs/graph_wire.h"

#include <gtest/gtest.h>

#include <rankflow/rankflow.h>

namespace {

int Seven() { return 7; }
int Plus(int a, int b) { return a + b; }
RANKFLOW_REMOTE(Seven, Plus);

using rankflow::graphs::RankPlan;

// a (rank 0), b (rank 1), c = a + b (rank 1), d = c + a (default: with c)
rankflow::Graph Diamond(rankflow::GraphRef<int>* d_out) {
  rankflow::Graph g;
  auto a = g.Task(Seven).SetRank(0).Add();
  auto b = g.Task(Seven).SetRank(1).Add();
  auto c = g.Task(Plus).SetRank(1).Add(a, b);
  auto d = g.Task(Plus).Add(c, a);
  g.Output(d);
  *d_out = d;
  return g;
}

TEST(GraphWire, SplitGivesEachRankItsNodesAndWhereValuesGo) {
  rankflow::internal::GraphSpec spec;
  spec.serial = 1;
  static const std::string seven = "Seven", plus = "Plus";
  auto node = [&](const std::string* fn, int rank, std::vector<uint32_t> inputs) {
    rankflow::internal::GraphNode n;
    n.function = fn;
    n.rank = rank;
    n.num_args = static_cast<uint32_t>(inputs.size());
    for (uint32_t i = 0; i < inputs.size(); ++i) {
      size_t at;
      rankflow::internal::AppendArgHeader(n.args, rankflow::internal::ArgTag::kRef, i, &at);
    }
    n.inputs = std::move(inputs);
    spec.nodes.push_back(n);
  };
  node(&seven, 0, {});      // 0
  node(&seven, 1, {});      // 1
  node(&plus, 1, {0, 1});   // 2
  node(&plus, -1, {2, 0});  // 3: with its first input (rank 1)
  node(&seven, -1, {});     // 4: no input: the owner (rank 2)
  spec.outputs = {3, 4};
  std::vector<RankPlan> plans;
  std::vector<int> rank_of;
  ASSERT_TRUE(rankflow::graphs::SplitGraph(spec, 2, 3, 99, &plans, &rank_of).ok());
  EXPECT_EQ(rank_of, (std::vector<int>{0, 1, 1, 1, 2}));
  ASSERT_EQ(plans.size(), 3u);
  ASSERT_EQ(plans[0].nodes.size(), 1u);
  EXPECT_EQ(plans[0].nodes[0].send_to, (std::vector<uint32_t>{1}));  // once, though taken twice
  ASSERT_EQ(plans[1].nodes.size(), 3u);
  EXPECT_TRUE(plans[1].nodes[0].send_to.empty());
  EXPECT_EQ(plans[1].nodes[1].input_ranks, (std::vector<uint32_t>{0, 1}));  // node 2's inputs
  EXPECT_TRUE(plans[1].nodes[2].output);
  EXPECT_FALSE(plans[1].nodes[1].output);
  ASSERT_EQ(plans[2].nodes.size(), 1u);
  EXPECT_TRUE(plans[2].nodes[0].output);
  for (const auto& p : plans) {
    EXPECT_EQ(p.owner, 2u);
    EXPECT_EQ(p.graph, 99u);
    EXPECT_EQ(p.total, 5u);
  }
  // Round trip of each plan.
  for (const auto& p : plans) {
    std::vector<uint8_t> bytes;
    rankflow::graphs::EncodePlan(p, bytes);
    RankPlan back;
    ASSERT_TRUE(rankflow::graphs::DecodePlan(bytes.data(), bytes.size(), 3, &back).ok());
    ASSERT_EQ(back.nodes.size(), p.nodes.size());
    for (size_t i = 0; i < p.nodes.size(); ++i) {
      EXPECT_EQ(back.nodes[i].id, p.nodes[i].id);
      EXPECT_EQ(back.nodes[i].function, p.nodes[i].function);
      EXPECT_EQ(back.nodes[i].inputs, p.nodes[i].inputs);
      EXPECT_EQ(back.nodes[i].input_ranks, p.nodes[i].input_ranks);
      EXPECT_EQ(back.nodes[i].send_to, p.nodes[i].send_to);
      EXPECT_EQ(back.nodes[i].args, p.nodes[i].args);
      EXPECT_EQ(back.nodes[i].output, p.nodes[i].output);
    }
  }
  // A node placed outside the job.
  spec.nodes[1].rank = 3;
  rankflow::Status st = rankflow::graphs::SplitGraph(spec, 2, 3, 99, &plans, &rank_of);
  EXPECT_EQ(st.code(), rankflow::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("outside the job"), std::string::npos) << st.message();
}

TEST(GraphWire, TheTemplateLayerRecordsArgumentsAndInputs) {
  rankflow::GraphRef<int> d;
  rankflow::Graph g = Diamond(&d);
  EXPECT_EQ(g.size(), 4u);
  EXPECT_EQ(d.node(), 3u);
}

TEST(GraphWire, InputsLiveOnTheOwnerAndCarryNoFunction) {
  rankflow::internal::GraphSpec spec;
  static const std::string plus = "Plus";
  rankflow::internal::GraphNode in;
  in.input = true;
  in.rank = 0;  // (ignored: an input is given on the owner)
  spec.nodes.push_back(in);
  rankflow::internal::GraphNode add;
  add.function = &plus;
  add.rank = 0;
  add.num_args = 2;
  size_t at;
  rankflow::internal::AppendArgHeader(add.args, rankflow::internal::ArgTag::kRef, 0, &at);
  rankflow::internal::AppendArgHeader(add.args, rankflow::internal::ArgTag::kRef, 0, &at);
  add.inputs = {0, 0};
  spec.nodes.push_back(add);
  std::vector<RankPlan> plans;
  std::vector<int> rank_of;
  ASSERT_TRUE(rankflow::graphs::SplitGraph(spec, 1, 2, 7, &plans, &rank_of).ok());
  EXPECT_EQ(rank_of, (std::vector<int>{1, 0}));
  ASSERT_EQ(plans[1].nodes.size(), 1u);
  EXPECT_TRUE(plans[1].nodes[0].input);
  EXPECT_EQ(plans[1].nodes[0].send_to, (std::vector<uint32_t>{0}));
  std::vector<uint8_t> bytes;
  rankflow::graphs::EncodePlan(plans[1], bytes);
  RankPlan back;
  ASSERT_TRUE(rankflow::graphs::DecodePlan(bytes.data(), bytes.size(), 2, &back).ok());
  EXPECT_TRUE(back.nodes[0].input);
  EXPECT_TRUE(back.nodes[0].function.empty());
  // An input that claims a function is refused.
  plans[1].nodes[0].function = "Plus";
  bytes.clear();
  rankflow::graphs::EncodePlan(plans[1], bytes);
  EXPECT_FALSE(rankflow::graphs::DecodePlan(bytes.data(), bytes.size(), 2, &back).ok());
}

TEST(GraphWire, MalformedPlansAreRefused) {
  RankPlan p;
  p.owner = 0;
  p.graph = 5;
  p.total = 3;
  rankflow::graphs::PlanNode a;
  a.id = 1;
  a.function = "Plus";
  a.num_args = 2;
  size_t at;
  rankflow::internal::AppendArgHeader(a.args, rankflow::internal::ArgTag::kRef, 0, &at);
  rankflow::internal::AppendArgHeader(a.args, rankflow::internal::ArgTag::kRef, 1, &at);
  a.inputs = {0, 0};
  a.input_ranks = {1, 1};
  a.send_to = {1};
  p.nodes.push_back(a);
  std::vector<uint8_t> good;
  rankflow::graphs::EncodePlan(p, good);
  RankPlan out;
  ASSERT_TRUE(rankflow::graphs::DecodePlan(good.data(), good.size(), 2, &out).ok());
  // Every truncation, and trailing bytes.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(rankflow::graphs::DecodePlan(good.data(), n, 2, &out).ok()) << n;
  }
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_FALSE(rankflow::graphs::DecodePlan(longer.data(), longer.size(), 2, &out).ok());
  // Structure: a destination outside the job, an input that is not earlier,
  // an argument naming a missing input, a count of arguments that differs.
  auto refused = [&](auto change) {
    RankPlan bad = p;
    change(bad);
    std::vector<uint8_t> bytes;
    rankflow::graphs::EncodePlan(bad, bytes);
    return !rankflow::graphs::DecodePlan(bytes.data(), bytes.size(), 2, &out).ok();
  };
  EXPECT_TRUE(refused([](RankPlan& b) { b.nodes[0].send_to = {2}; }));
  EXPECT_TRUE(refused([](RankPlan& b) { b.nodes[0].input_ranks = {2, 0}; }));
  EXPECT_TRUE(refused([](RankPlan& b) { b.nodes[0].inputs = {0, 1}; }));
  EXPECT_TRUE(refused([](RankPlan& b) { b.nodes[0].inputs = {0}; }));
  EXPECT_TRUE(refused([](RankPlan& b) { b.nodes[0].num_args = 3; }));
  EXPECT_TRUE(refused([](RankPlan& b) { b.nodes[0].id = 3; }));
  EXPECT_TRUE(refused([](RankPlan& b) { b.owner = 2; }));
  EXPECT_TRUE(refused([](RankPlan& b) { b.nodes[0].args[0] = 9; }));
}

TEST(GraphWire, ValuesAndDoneMessagesRoundTripAndRefuseGarbage) {
  const uint8_t bytes[] = {1, 2, 3};
  std::vector<uint8_t> msg;
  rankflow::graphs::EncodeValue(msg, 7, 3, 11, false, bytes, sizeof(bytes));
  rankflow::graphs::ValueWire v;
  ASSERT_TRUE(rankflow::graphs::DecodeValue(msg.data(), msg.size(), &v).ok());
  EXPECT_EQ(v.graph, 7u);
  EXPECT_EQ(v.run, 3u);
  EXPECT_EQ(v.node, 11u);
  EXPECT_FALSE(v.error);
  ASSERT_EQ(v.size, 3u);
  EXPECT_EQ(v.data[2], 3);
  for (size_t n = 0; n < msg.size(); ++n) {
    EXPECT_FALSE(rankflow::graphs::DecodeValue(msg.data(), n, &v).ok()) << n;
  }
  std::vector<uint8_t> done;
  rankflow::graphs::EncodeDoneHeader(done, 7, 3, 2);
  rankflow::graphs::AppendDoneValue(done, 4, false, bytes, 3);
  rankflow::graphs::AppendDoneValue(done, 5, true, bytes, 1);
  rankflow::graphs::DoneWire d;
  ASSERT_TRUE(rankflow::graphs::DecodeDone(done.data(), done.size(), &d).ok());
  ASSERT_EQ(d.outputs.size(), 2u);
  EXPECT_EQ(d.outputs[1].node, 5u);
  EXPECT_TRUE(d.outputs[1].error);
  for (size_t n = 0; n < done.size(); ++n) {
    EXPECT_FALSE(rankflow::graphs::DecodeDone(done.data(), n, &d).ok()) << n;
  }
  std::vector<uint8_t> ans;
  rankflow::graphs::EncodeInstalled(ans, 9, rankflow::Status(rankflow::StatusCode::kNotFound, "no f"));
  uint64_t graph = 0;
  rankflow::Status st;
  ASSERT_TRUE(rankflow::graphs::DecodeInstalled(ans.data(), ans.size(), &graph, &st).ok());
  EXPECT_EQ(graph, 9u);
  EXPECT_EQ(st.code(), rankflow::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "no f");
  ans[8] = 200;  // no such status code
  EXPECT_FALSE(rankflow::graphs::DecodeInstalled(ans.data(), ans.size(), &graph, &st).ok());
}

}  // namespace
