#include "bootstrap/launch_env.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace rankflow::bootstrap {
namespace {

using Env = std::map<std::string, std::string>;

EnvLookup FakeEnv(const Env& vars) {
  return [&vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

Env SrunEnv() {
  // Rank 7 of 7 tasks spread "2(x3),1": nodes 0..2 hold two tasks, node 3 one.
  return {{"SLURM_JOB_ID", "4242"},
          {"SLURM_STEP_ID", "3"},
          {"SLURM_PROCID", "5"},
          {"SLURM_NTASKS", "7"},
          {"SLURM_LOCALID", "1"},
          {"SLURM_NODEID", "2"},
          {"SLURM_NNODES", "4"},
          {"SLURM_STEP_TASKS_PER_NODE", "2(x3),1"},
          {"SLURMD_NODENAME", "gpu-node-03"}};
}

Env MpirunEnv() {
  return {{"OMPI_COMM_WORLD_RANK", "5"},
          {"OMPI_COMM_WORLD_SIZE", "8"},
          {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
          {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"},
          {"OMPI_COMM_WORLD_NODE_RANK", "1"},
          {"OMPI_MCA_orte_num_nodes", "2"},
          {"OMPI_MCA_ess_base_jobid", "3107061761"}};
}

// Expects a parse failure whose message names `variable`.
void ExpectErrorNaming(const Env& env, const std::string& variable) {
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_FALSE(info.ok()) << "expected an error naming " << variable;
  EXPECT_EQ(info.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(info.status().message().find(variable), std::string::npos)
      << info.status().message();
}

TEST(LaunchEnvTest, NoVariablesIsSingleton) {
  Env env;
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->launcher, Launcher::kNone);
  EXPECT_EQ(info->rank, 0);
  EXPECT_EQ(info->size, 1);
  EXPECT_EQ(info->local_rank, 0);
  EXPECT_EQ(info->local_size, 1);
  EXPECT_EQ(info->node_index, 0);
  EXPECT_EQ(info->num_nodes, 1);
  EXPECT_EQ(info->job_id, "");
  EXPECT_EQ(info->node_name, "");
}

TEST(LaunchEnvTest, LauncherNames) {
  EXPECT_STREQ(LauncherName(Launcher::kNone), "none");
  EXPECT_STREQ(LauncherName(Launcher::kOpenMpi), "openmpi");
  EXPECT_STREQ(LauncherName(Launcher::kSlurm), "slurm");
  EXPECT_STREQ(LauncherName(Launcher::kPmix), "pmix");
}

TEST(LaunchEnvTest, Mpirun) {
  Env env = MpirunEnv();
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->launcher, Launcher::kOpenMpi);
  EXPECT_EQ(info->rank, 5);
  EXPECT_EQ(info->size, 8);
  EXPECT_EQ(info->local_rank, 1);
  EXPECT_EQ(info->local_size, 4);
  EXPECT_EQ(info->num_nodes, 2);
  EXPECT_EQ(info->node_index, 0);  // not exported by Open MPI
  EXPECT_EQ(info->job_id, "3107061761");
  EXPECT_EQ(info->node_name, "");
}

TEST(LaunchEnvTest, MpirunWithoutNodeCountOnOneNode) {
  Env env = MpirunEnv();
  env.erase("OMPI_MCA_orte_num_nodes");
  env.erase("OMPI_MCA_ess_base_jobid");
  env["OMPI_COMM_WORLD_LOCAL_SIZE"] = "8";
  env["PMIX_NAMESPACE"] = "prterun-host-1234@1";
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->num_nodes, 1);  // all ranks are local
  EXPECT_EQ(info->job_id, "prterun-host-1234@1");
}

TEST(LaunchEnvTest, MpirunWithoutNodeCountAcrossNodesIsUnknown) {
  Env env = MpirunEnv();
  env.erase("OMPI_MCA_orte_num_nodes");
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->num_nodes, 0);
}

TEST(LaunchEnvTest, MpirunInsideSlurmAllocationPrefersOpenMpi) {
  Env env = MpirunEnv();
  Env slurm = SrunEnv();
  env.insert(slurm.begin(), slurm.end());
  env["PMIX_RANK"] = "5";
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->launcher, Launcher::kOpenMpi);
  EXPECT_EQ(info->size, 8);
  EXPECT_EQ(info->node_name, "");  // SLURMD_NODENAME belongs to the batch host
}

TEST(LaunchEnvTest, SrunWithCompressedTasksPerNode) {
  Env env = SrunEnv();
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->launcher, Launcher::kSlurm);
  EXPECT_EQ(info->rank, 5);
  EXPECT_EQ(info->size, 7);
  EXPECT_EQ(info->local_rank, 1);
  EXPECT_EQ(info->local_size, 2);
  EXPECT_EQ(info->node_index, 2);
  EXPECT_EQ(info->num_nodes, 4);
  EXPECT_EQ(info->job_id, "4242.3");
  EXPECT_EQ(info->node_name, "gpu-node-03");
}

TEST(LaunchEnvTest, SrunLastNodeOfCompressedList) {
  Env env = SrunEnv();
  env["SLURM_PROCID"] = "6";
  env["SLURM_LOCALID"] = "0";
  env["SLURM_NODEID"] = "3";
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->local_size, 1);
  EXPECT_EQ(info->node_index, 3);
}

TEST(LaunchEnvTest, SrunAlternateVariableNames) {
  Env env = SrunEnv();
  env.erase("SLURM_NTASKS");
  env.erase("SLURM_NNODES");
  env.erase("SLURM_STEP_TASKS_PER_NODE");
  env["SLURM_NPROCS"] = "7";
  env["SLURM_STEP_NUM_NODES"] = "4";
  env["SLURM_TASKS_PER_NODE"] = "2(x3),1";
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 7);
  EXPECT_EQ(info->num_nodes, 4);
  EXPECT_EQ(info->local_size, 2);
}

TEST(LaunchEnvTest, StepVariablesWinOverAllocationVariables) {
  // srun -n 3 -N 2 inside an allocation of 8 tasks on 4 nodes.
  Env env = SrunEnv();
  env["SLURM_NTASKS"] = "8";
  env["SLURM_NNODES"] = "4";
  env["SLURM_TASKS_PER_NODE"] = "2(x4)";
  env["SLURM_STEP_NUM_TASKS"] = "3";
  env["SLURM_STEP_NUM_NODES"] = "2";
  env["SLURM_STEP_TASKS_PER_NODE"] = "2,1";
  env["SLURM_PROCID"] = "2";
  env["SLURM_LOCALID"] = "0";
  env["SLURM_NODEID"] = "1";
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 3);
  EXPECT_EQ(info->num_nodes, 2);
  EXPECT_EQ(info->local_size, 1);
}

TEST(LaunchEnvTest, SbatchWithoutSrunIsNone) {
  Env env = {{"SLURM_JOB_ID", "4242"},
             {"SLURM_NTASKS", "8"},
             {"SLURM_NNODES", "4"},
             {"SLURM_TASKS_PER_NODE", "2(x4)"},
             {"SLURMD_NODENAME", "gpu-node-01"}};
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->launcher, Launcher::kNone);
  EXPECT_EQ(info->rank, 0);
  EXPECT_EQ(info->size, 1);
  EXPECT_EQ(info->job_id, "");
}

TEST(LaunchEnvTest, ProcIdWithoutStepIsNone) {
  Env env = {{"SLURM_JOB_ID", "4242"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}};
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->launcher, Launcher::kNone);
}

TEST(LaunchEnvTest, BatchPseudoStepIsNone) {
  // 0xfffffffb is Slurm's id for the batch script step.
  Env env = {{"SLURM_JOB_ID", "4242"}, {"SLURM_STEP_ID", "4294967291"},
             {"SLURM_PROCID", "0"},    {"SLURM_NTASKS", "8"},
             {"SLURM_NNODES", "4"},    {"SLURM_TASKS_PER_NODE", "2(x4)"}};
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->launcher, Launcher::kNone);
}

TEST(LaunchEnvTest, Pmix) {
  Env env = {{"PMIX_RANK", "3"}, {"PMIX_NAMESPACE", "spawn-77"}};
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->launcher, Launcher::kPmix);
  EXPECT_EQ(info->rank, 3);
  EXPECT_EQ(info->size, 0);  // unknown: ask MPI
  EXPECT_EQ(info->job_id, "spawn-77");
}

TEST(LaunchEnvTest, SrunWithPmixPluginIsSlurm) {
  Env env = SrunEnv();
  env["PMIX_RANK"] = "5";
  env["PMIX_NAMESPACE"] = "slurm.pmix.4242.3";
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->launcher, Launcher::kSlurm);
  EXPECT_EQ(info->job_id, "4242.3");
}

TEST(LaunchEnvTest, EmptyValueCountsAsUnset) {
  Env env = {{"OMPI_COMM_WORLD_RANK", ""}, {"PMIX_RANK", ""}};
  Result<LaunchInfo> info = ParseLaunchEnv(FakeEnv(env));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->launcher, Launcher::kNone);
}

TEST(LaunchEnvTest, GarbageOpenMpiValues) {
  Env env = MpirunEnv();
  env["OMPI_COMM_WORLD_RANK"] = "five";
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_RANK");
  env["OMPI_COMM_WORLD_RANK"] = "-1";
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_RANK");
  env["OMPI_COMM_WORLD_RANK"] = " 5";
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_RANK");
  env["OMPI_COMM_WORLD_RANK"] = "99999999999";
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_RANK");

  env = MpirunEnv();
  env["OMPI_COMM_WORLD_SIZE"] = "0";
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_SIZE");
  env = MpirunEnv();
  env.erase("OMPI_COMM_WORLD_SIZE");
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_SIZE");
  env = MpirunEnv();
  env["OMPI_COMM_WORLD_LOCAL_SIZE"] = "4x";
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_LOCAL_SIZE");
  env = MpirunEnv();
  env["OMPI_COMM_WORLD_NODE_RANK"] = "node1";
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_NODE_RANK");
}

TEST(LaunchEnvTest, InconsistentOpenMpiValues) {
  Env env = MpirunEnv();
  env["OMPI_COMM_WORLD_RANK"] = "8";
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_RANK=8");
  env = MpirunEnv();
  env["OMPI_COMM_WORLD_LOCAL_RANK"] = "4";
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_LOCAL_RANK=4");
  env = MpirunEnv();
  env["OMPI_COMM_WORLD_LOCAL_SIZE"] = "9";
  ExpectErrorNaming(env, "OMPI_COMM_WORLD_LOCAL_SIZE=9");
  env = MpirunEnv();
  env["OMPI_MCA_orte_num_nodes"] = "9";
  ExpectErrorNaming(env, "OMPI_MCA_orte_num_nodes=9");
}

TEST(LaunchEnvTest, GarbageSlurmValues) {
  Env env = SrunEnv();
  env["SLURM_PROCID"] = "abc";
  ExpectErrorNaming(env, "SLURM_PROCID");
  env = SrunEnv();
  env["SLURM_STEP_ID"] = "batch";
  ExpectErrorNaming(env, "SLURM_STEP_ID");
  env = SrunEnv();
  env["SLURM_NODEID"] = "1.5";
  ExpectErrorNaming(env, "SLURM_NODEID");
  env = SrunEnv();
  env.erase("SLURM_LOCALID");
  ExpectErrorNaming(env, "SLURM_LOCALID");
  for (const char* bad : {"2(x3", "2(3),1", "(x3)", "2(x0),1", "0,7", "2,,5", "2(x3),1,",
                          "1(x4000000000)"}) {
    env = SrunEnv();
    env["SLURM_STEP_TASKS_PER_NODE"] = bad;
    ExpectErrorNaming(env, "SLURM_STEP_TASKS_PER_NODE");
  }
}

TEST(LaunchEnvTest, InconsistentSlurmValues) {
  Env env = SrunEnv();
  env["SLURM_PROCID"] = "7";
  ExpectErrorNaming(env, "SLURM_PROCID=7");
  env = SrunEnv();
  env["SLURM_NNODES"] = "5";
  ExpectErrorNaming(env, "SLURM_NNODES=5");
  env = SrunEnv();
  env["SLURM_NTASKS"] = "8";
  ExpectErrorNaming(env, "SLURM_NTASKS=8");
  env = SrunEnv();
  env["SLURM_NODEID"] = "4";
  ExpectErrorNaming(env, "SLURM_NODEID=4");
  env = SrunEnv();
  env["SLURM_NODEID"] = "3";  // node 3 holds a single task, LOCALID is 1
  ExpectErrorNaming(env, "SLURM_LOCALID=1");
}

TEST(LaunchEnvTest, GarbagePmixRank) {
  Env env = {{"PMIX_RANK", "r3"}, {"PMIX_NAMESPACE", "spawn-77"}};
  ExpectErrorNaming(env, "PMIX_RANK");
}

TEST(SlurmTasksPerNodeTest, Expands) {
  Result<std::vector<int>> counts = ParseSlurmTasksPerNode("2(x3),1");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts.value(), (std::vector<int>{2, 2, 2, 1}));
  counts = ParseSlurmTasksPerNode("4");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts.value(), (std::vector<int>{4}));
  counts = ParseSlurmTasksPerNode("1,3(x2),16(x1)");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts.value(), (std::vector<int>{1, 3, 3, 16}));
  EXPECT_FALSE(ParseSlurmTasksPerNode("").ok());
}

TEST(LaunchEnvTest, ProcessEnvironmentParses) {
  // Whatever launched this test, the real environment must parse.
  Result<LaunchInfo> info = ParseProcessLaunchEnv();
  EXPECT_TRUE(info.ok()) << info.status().ToString();
}

}  // namespace
}  // namespace rankflow::bootstrap
