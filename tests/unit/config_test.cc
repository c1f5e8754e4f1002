#include "common/config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace rankflow {
namespace {

using Env = std::map<std::string, std::string>;

EnvLookup FakeEnv(const Env& vars) {
  return [&vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

// Expects `variable`=`value` alone to be rejected, with both in the message.
void ExpectRejected(const std::string& variable, const std::string& value) {
  Env env = {{variable, value}};
  Result<RuntimeConfig> config = ParseRuntimeConfig(FakeEnv(env));
  ASSERT_FALSE(config.ok()) << variable << "=" << value << " was accepted";
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  const std::string& message = config.status().message();
  EXPECT_NE(message.find(variable), std::string::npos) << message;
  EXPECT_NE(message.find("\"" + value + "\""), std::string::npos) << message;
}

TEST(RuntimeConfigTest, DefaultsWhenUnset) {
  Env env;
  Result<RuntimeConfig> config = ParseRuntimeConfig(FakeEnv(env));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->num_executors, 0);
  EXPECT_EQ(config->driver_rank, 0);
  EXPECT_EQ(config->log_level, "info");
  EXPECT_TRUE(config->resources.empty());
  EXPECT_EQ(config->max_message_bytes, 1ull << 30);
  EXPECT_EQ(config->rndv_threshold, 64u * 1024);
  EXPECT_TRUE(config->pin_threads);
  EXPECT_EQ(config->ranks_per_virtual_node, 0);
  EXPECT_FALSE(config->keep_mpi);
  EXPECT_EQ(config->spin_us, 250);
}

TEST(RuntimeConfigTest, ReadsEveryVariable) {
  Env env = {{"RANKFLOW_NUM_EXECUTORS", "6"},
             {"RANKFLOW_DRIVER_RANK", "3"},
             {"RANKFLOW_LOG_LEVEL", "DEBUG"},
             {"RANKFLOW_RESOURCES", "GPU:2, nvme:1,accel:0.5"},
             {"RANKFLOW_MAX_MESSAGE_BYTES", "64M"},
             {"RANKFLOW_RNDV_THRESHOLD", "8k"},
             {"RANKFLOW_PIN_THREADS", "false"},
             {"RANKFLOW_RANKS_PER_NODE", "2"},
             {"RANKFLOW_KEEP_MPI", "1"},
             {"RANKFLOW_SPIN_US", "0"}};
  Result<RuntimeConfig> config = ParseRuntimeConfig(FakeEnv(env));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->num_executors, 6);
  EXPECT_EQ(config->driver_rank, 3);
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->resources,
            (std::map<std::string, double>{{"GPU", 2.0}, {"nvme", 1.0}, {"accel", 0.5}}));
  EXPECT_EQ(config->max_message_bytes, 64ull << 20);
  EXPECT_EQ(config->rndv_threshold, 8u * 1024);
  EXPECT_FALSE(config->pin_threads);
  EXPECT_EQ(config->ranks_per_virtual_node, 2);
  EXPECT_TRUE(config->keep_mpi);
  EXPECT_EQ(config->spin_us, 0);
}

TEST(RuntimeConfigTest, EmptyValueKeepsDefault) {
  Env env = {{"RANKFLOW_LOG_LEVEL", ""}, {"RANKFLOW_PIN_THREADS", ""},
             {"RANKFLOW_SPIN_US", ""}};
  Result<RuntimeConfig> config = ParseRuntimeConfig(FakeEnv(env));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->log_level, "info");
  EXPECT_TRUE(config->pin_threads);
  EXPECT_EQ(config->spin_us, 250);
}

TEST(RuntimeConfigTest, LogLevelAliases) {
  for (const auto& [input, expected] : std::map<std::string, std::string>{
           {"trace", "trace"}, {"Warning", "warn"}, {"err", "error"},
           {"critical", "critical"}, {"OFF", "off"}}) {
    Env env = {{"RANKFLOW_LOG_LEVEL", input}};
    Result<RuntimeConfig> config = ParseRuntimeConfig(FakeEnv(env));
    ASSERT_TRUE(config.ok()) << input << ": " << config.status().ToString();
    EXPECT_EQ(config->log_level, expected) << input;
  }
}

TEST(RuntimeConfigTest, EarlyDispatchModes) {
  using Mode = RuntimeConfig::EarlyDispatch;
  for (const auto& [value, want] : std::map<std::string, Mode>{
           {"auto", Mode::kOtherNodes}, {" Auto", Mode::kOtherNodes}, {"1", Mode::kOn}, {"on", Mode::kOn}, {"0", Mode::kOff},
           {"false", Mode::kOff}}) {
    Env env = {{"RANKFLOW_EARLY_DISPATCH", value}};
    Result<RuntimeConfig> config = ParseRuntimeConfig(FakeEnv(env));
    ASSERT_TRUE(config.ok()) << value << ": " << config.status().ToString();
    EXPECT_EQ(config->early_dispatch, want) << value;
  }
  Env none;
  EXPECT_EQ(ParseRuntimeConfig(FakeEnv(none))->early_dispatch, Mode::kOtherNodes);
  ExpectRejected("RANKFLOW_EARLY_DISPATCH", "sometimes");
}

TEST(RuntimeConfigTest, BooleanSpellings) {
  for (const char* yes : {"1", "true", "TRUE", "yes", "on"}) {
    Env env = {{"RANKFLOW_KEEP_MPI", yes}, {"RANKFLOW_PIN_THREADS", yes}};
    Result<RuntimeConfig> config = ParseRuntimeConfig(FakeEnv(env));
    ASSERT_TRUE(config.ok()) << yes;
    EXPECT_TRUE(config->keep_mpi) << yes;
    EXPECT_TRUE(config->pin_threads) << yes;
  }
  for (const char* no : {"0", "false", "False", "no", "off"}) {
    Env env = {{"RANKFLOW_KEEP_MPI", no}, {"RANKFLOW_PIN_THREADS", no}};
    Result<RuntimeConfig> config = ParseRuntimeConfig(FakeEnv(env));
    ASSERT_TRUE(config.ok()) << no;
    EXPECT_FALSE(config->keep_mpi) << no;
    EXPECT_FALSE(config->pin_threads) << no;
  }
}

TEST(RuntimeConfigTest, RejectsBadValuesNamingVariableAndValue) {
  ExpectRejected("RANKFLOW_NUM_EXECUTORS", "four");
  ExpectRejected("RANKFLOW_NUM_EXECUTORS", "-1");
  ExpectRejected("RANKFLOW_NUM_EXECUTORS", "4.5");
  ExpectRejected("RANKFLOW_DRIVER_RANK", "-2");
  ExpectRejected("RANKFLOW_DRIVER_RANK", "99999999999");
  ExpectRejected("RANKFLOW_LOG_LEVEL", "verbose");
  ExpectRejected("RANKFLOW_RESOURCES", "GPU");
  ExpectRejected("RANKFLOW_RESOURCES", "GPU:two");
  ExpectRejected("RANKFLOW_RESOURCES", "GPU:-1");
  ExpectRejected("RANKFLOW_RESOURCES", ":1");
  ExpectRejected("RANKFLOW_RESOURCES", "GPU:1,GPU:2");
  ExpectRejected("RANKFLOW_RESOURCES", "GPU:1,");
  ExpectRejected("RANKFLOW_RESOURCES", "GPU:inf");
  ExpectRejected("RANKFLOW_MAX_MESSAGE_BYTES", "64X");
  ExpectRejected("RANKFLOW_MAX_MESSAGE_BYTES", "0");
  ExpectRejected("RANKFLOW_MAX_MESSAGE_BYTES", "M");
  ExpectRejected("RANKFLOW_MAX_MESSAGE_BYTES", "-5");
  ExpectRejected("RANKFLOW_MAX_MESSAGE_BYTES", "1.5G");
  ExpectRejected("RANKFLOW_MAX_MESSAGE_BYTES", "99999999999999999999");
  ExpectRejected("RANKFLOW_RNDV_THRESHOLD", "20000000000G");
  ExpectRejected("RANKFLOW_PIN_THREADS", "2");
  ExpectRejected("RANKFLOW_PIN_THREADS", "maybe");
  ExpectRejected("RANKFLOW_RANKS_PER_NODE", "-1");
  ExpectRejected("RANKFLOW_KEEP_MPI", "keep");
  ExpectRejected("RANKFLOW_SPIN_US", "50us");
  ExpectRejected("RANKFLOW_SPIN_US", "-1");
}

TEST(ByteSizeTest, Suffixes) {
  EXPECT_EQ(ParseByteSize("65536").value(), 65536u);
  EXPECT_EQ(ParseByteSize("0").value(), 0u);
  EXPECT_EQ(ParseByteSize("64K").value(), 64u << 10);
  EXPECT_EQ(ParseByteSize("64k").value(), 64u << 10);
  EXPECT_EQ(ParseByteSize("64M").value(), 64ull << 20);
  EXPECT_EQ(ParseByteSize("64MB").value(), 64ull << 20);
  EXPECT_EQ(ParseByteSize("64MiB").value(), 64ull << 20);
  EXPECT_EQ(ParseByteSize("2G").value(), 2ull << 30);
  EXPECT_EQ(ParseByteSize("512B").value(), 512u);
  EXPECT_EQ(ParseByteSize("16777215G").value(), 16777215ull << 30);
  EXPECT_FALSE(ParseByteSize("17179869184G").ok());  // 2^34 G = 2^64 bytes
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("4T").ok());
  EXPECT_FALSE(ParseByteSize("4KK").ok());
  EXPECT_FALSE(ParseByteSize("4BiB").ok());
}

TEST(ResourceListTest, Parses) {
  Result<std::map<std::string, double>> r = ParseResourceList("GPU:2,nvme:1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), (std::map<std::string, double>{{"GPU", 2.0}, {"nvme", 1.0}}));
  r = ParseResourceList("  ");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().empty());
  r = ParseResourceList("CPU:0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().at("CPU"), 0.0);
}

}  // namespace
}  // namespace rankflow
