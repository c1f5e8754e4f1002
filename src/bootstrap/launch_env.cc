#include "bootstrap/launch_env.h"

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>

namespace rankflow::bootstrap {
namespace {

// Slurm reserves the top of the 32-bit step id range for pseudo steps
// (batch script, extern container, interactive step, pending step); a
// process in one of those was not started by srun as part of a task set.
constexpr uint64_t kFirstSlurmPseudoStep = 0xFFFFFFF0u;

// Upper bound on the nodes a tasks-per-node list may expand to, so garbage
// such as "1(x4000000000)" fails cleanly instead of exhausting memory.
constexpr int64_t kMaxSlurmNodes = 1 << 20;

// Returns the value of `name`, or nullptr when it is unset or empty.
const char* Get(const EnvLookup& env, const char* name) {
  const char* value = env(name);
  return (value != nullptr && value[0] != '\0') ? value : nullptr;
}

// Returns the first of `names` that is set, storing its name in *which.
const char* GetFirst(const EnvLookup& env, std::initializer_list<const char*> names,
                     const char** which) {
  for (const char* name : names) {
    if (const char* value = Get(env, name)) {
      *which = name;
      return value;
    }
  }
  *which = nullptr;
  return nullptr;
}

// Parses a plain unsigned decimal (no sign, no spaces) not above `max`.
bool ParseUnsigned(std::string_view text, uint64_t max, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > max) return false;
  *out = value;
  return true;
}

Status BadValue(const char* name, const char* value, const std::string& why) {
  return Status(StatusCode::kInvalidArgument,
                std::string(name) + "=\"" + value + "\": " + why);
}

Status Missing(const char* name, const char* launcher) {
  return Status(StatusCode::kInvalidArgument,
                std::string(name) + " is not set, but the environment looks like " +
                    launcher + " launched this process");
}

// Parses a set variable as a non-negative int; `min` of 1 rejects zero.
Status ParseCount(const char* name, const char* value, int min, int* out) {
  uint64_t parsed = 0;
  if (!ParseUnsigned(value, std::numeric_limits<int>::max(), &parsed)) {
    return BadValue(name, value, "expected a non-negative integer");
  }
  if (static_cast<int64_t>(parsed) < min) {
    return BadValue(name, value, "must be at least " + std::to_string(min));
  }
  *out = static_cast<int>(parsed);
  return Status::Ok();
}

// Reads a required integer variable of launcher `launcher`.
Status RequireInt(const EnvLookup& env, const char* name, const char* launcher, int min,
                  int* out) {
  const char* value = Get(env, name);
  if (value == nullptr) return Missing(name, launcher);
  return ParseCount(name, value, min, out);
}

// Reads an optional integer variable; leaves *out untouched when unset.
Status OptionalInt(const EnvLookup& env, const char* name, int min, int* out) {
  const char* value = Get(env, name);
  if (value == nullptr) return Status::Ok();
  return ParseCount(name, value, min, out);
}

Status Inconsistent(const std::string& what) {
  return Status(StatusCode::kInvalidArgument, "inconsistent launcher environment: " + what);
}

// Names of the variables a launcher's values came from, for error messages.
struct VarNames {
  const char* rank;
  const char* size;
  const char* local_rank;
  const char* local_size;
  const char* node_index;
  const char* num_nodes;
};

std::string Show(const char* name, int value) {
  return std::string(name) + "=" + std::to_string(value);
}

// Checks that indices fall inside their counts; a count of 0 means unknown.
Status CheckConsistent(const LaunchInfo& info, const VarNames& names) {
  if (info.size > 0 && info.rank >= info.size) {
    return Inconsistent(Show(names.rank, info.rank) + " is not below " +
                        Show(names.size, info.size));
  }
  if (info.local_size > 0 && info.local_rank >= info.local_size) {
    return Inconsistent(Show(names.local_rank, info.local_rank) + " is not below " +
                        Show(names.local_size, info.local_size));
  }
  if (info.size > 0 && info.local_size > info.size) {
    return Inconsistent(Show(names.local_size, info.local_size) + " exceeds " +
                        Show(names.size, info.size));
  }
  if (info.num_nodes > 0 && info.node_index >= info.num_nodes) {
    return Inconsistent(Show(names.node_index, info.node_index) + " is not below " +
                        Show(names.num_nodes, info.num_nodes));
  }
  if (info.size > 0 && info.num_nodes > info.size) {
    return Inconsistent(Show(names.num_nodes, info.num_nodes) + " exceeds " +
                        Show(names.size, info.size));
  }
  return Status::Ok();
}

Result<LaunchInfo> ParseOpenMpi(const EnvLookup& env) {
  constexpr const char* kName = "Open MPI";
  LaunchInfo info;
  info.launcher = Launcher::kOpenMpi;
  RANKFLOW_RETURN_IF_ERROR(RequireInt(env, "OMPI_COMM_WORLD_RANK", kName, 0, &info.rank));
  RANKFLOW_RETURN_IF_ERROR(RequireInt(env, "OMPI_COMM_WORLD_SIZE", kName, 1, &info.size));
  // mpirun always sets the local pair; without it the local layout is unknown.
  info.local_size = 0;
  RANKFLOW_RETURN_IF_ERROR(
      OptionalInt(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0, &info.local_rank));
  RANKFLOW_RETURN_IF_ERROR(
      OptionalInt(env, "OMPI_COMM_WORLD_LOCAL_SIZE", 1, &info.local_size));
  // OMPI_COMM_WORLD_NODE_RANK numbers processes within a node (across all
  // jobs on it), not nodes within the job; it is only validated here.
  int node_rank = 0;
  RANKFLOW_RETURN_IF_ERROR(OptionalInt(env, "OMPI_COMM_WORLD_NODE_RANK", 0, &node_rank));
  // Open MPI does not export this node's index; the node count comes from
  // ORTE (up to Open MPI 4) or is implied when all ranks are local.
  info.num_nodes = 0;
  RANKFLOW_RETURN_IF_ERROR(OptionalInt(env, "OMPI_MCA_orte_num_nodes", 1, &info.num_nodes));
  if (info.num_nodes == 0 && info.local_size == info.size) info.num_nodes = 1;
  const char* which = nullptr;
  if (const char* job = GetFirst(env,
                                 {"OMPI_MCA_ess_base_jobid", "OMPI_MCA_orte_ess_jobid",
                                  "PMIX_NAMESPACE"},
                                 &which)) {
    info.job_id = job;
  }
  RANKFLOW_RETURN_IF_ERROR(CheckConsistent(
      info, {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
             "OMPI_COMM_WORLD_LOCAL_SIZE", "node index", "OMPI_MCA_orte_num_nodes"}));
  return info;
}

Result<LaunchInfo> ParseSlurm(const EnvLookup& env, const char* step_value) {
  constexpr const char* kName = "a Slurm srun step";
  LaunchInfo info;
  info.launcher = Launcher::kSlurm;
  RANKFLOW_RETURN_IF_ERROR(RequireInt(env, "SLURM_PROCID", kName, 0, &info.rank));

  const char* size_name = nullptr;
  const char* size_value =
      GetFirst(env, {"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS"}, &size_name);
  if (size_value == nullptr) return Missing("SLURM_NTASKS", kName);
  RANKFLOW_RETURN_IF_ERROR(ParseCount(size_name, size_value, 1, &info.size));

  RANKFLOW_RETURN_IF_ERROR(RequireInt(env, "SLURM_LOCALID", kName, 0, &info.local_rank));
  RANKFLOW_RETURN_IF_ERROR(RequireInt(env, "SLURM_NODEID", kName, 0, &info.node_index));

  const char* tpn_name = nullptr;
  const char* tpn_value =
      GetFirst(env, {"SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"}, &tpn_name);
  if (tpn_value == nullptr) return Missing("SLURM_STEP_TASKS_PER_NODE", kName);
  Result<std::vector<int>> tasks = ParseSlurmTasksPerNode(tpn_value);
  if (!tasks.ok()) return BadValue(tpn_name, tpn_value, tasks.status().message());
  const std::vector<int>& per_node = tasks.value();

  const char* nodes_name = nullptr;
  const char* nodes_value =
      GetFirst(env, {"SLURM_STEP_NUM_NODES", "SLURM_NNODES", "SLURM_JOB_NUM_NODES"},
               &nodes_name);
  info.num_nodes = static_cast<int>(per_node.size());
  if (nodes_value != nullptr) {
    int declared = 0;
    RANKFLOW_RETURN_IF_ERROR(ParseCount(nodes_name, nodes_value, 1, &declared));
    if (declared != info.num_nodes) {
      return Inconsistent(Show(nodes_name, declared) + " but " + tpn_name + "=\"" +
                          tpn_value + "\" lists " + std::to_string(info.num_nodes) +
                          " nodes");
    }
  } else {
    nodes_name = tpn_name;
  }

  int64_t total = 0;
  for (int n : per_node) total += n;
  if (total != info.size) {
    return Inconsistent(Show(size_name, info.size) + " but " + tpn_name + "=\"" + tpn_value +
                        "\" adds up to " + std::to_string(total) + " tasks");
  }
  if (info.node_index >= info.num_nodes) {
    return Inconsistent(Show("SLURM_NODEID", info.node_index) + " is not below the " +
                        std::to_string(info.num_nodes) + " nodes of " + nodes_name);
  }
  info.local_size = per_node[info.node_index];
  if (info.local_rank >= info.local_size) {
    return Inconsistent(Show("SLURM_LOCALID", info.local_rank) + " is not below the " +
                        std::to_string(info.local_size) + " tasks that " + tpn_name + "=\"" +
                        tpn_value + "\" gives node " + Show("SLURM_NODEID", info.node_index));
  }

  const char* job_name = nullptr;
  if (const char* job = GetFirst(env, {"SLURM_JOB_ID", "SLURM_JOBID"}, &job_name)) {
    info.job_id = std::string(job) + "." + step_value;
  }
  if (const char* node = Get(env, "SLURMD_NODENAME")) info.node_name = node;

  RANKFLOW_RETURN_IF_ERROR(CheckConsistent(
      info, {"SLURM_PROCID", size_name, "SLURM_LOCALID", tpn_name, "SLURM_NODEID",
             nodes_name}));
  return info;
}

Result<LaunchInfo> ParsePmix(const EnvLookup& env) {
  LaunchInfo info;
  info.launcher = Launcher::kPmix;
  RANKFLOW_RETURN_IF_ERROR(RequireInt(env, "PMIX_RANK", "PMIx", 0, &info.rank));
  // PMIx publishes sizes through its client API, not the environment.
  info.size = 0;
  info.local_size = 0;
  info.num_nodes = 0;
  if (const char* ns = Get(env, "PMIX_NAMESPACE")) info.job_id = ns;
  return info;
}

}  // namespace

const char* LauncherName(Launcher launcher) {
  switch (launcher) {
    case Launcher::kNone: return "none";
    case Launcher::kOpenMpi: return "openmpi";
    case Launcher::kSlurm: return "slurm";
    case Launcher::kPmix: return "pmix";
  }
  return "unknown";
}

Result<std::vector<int>> ParseSlurmTasksPerNode(std::string_view spec) {
  std::vector<int> counts;
  if (spec.empty()) return Status(StatusCode::kInvalidArgument, "empty tasks-per-node list");
  int64_t expanded = 0;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string_view::npos) comma = spec.size();
    std::string_view item = spec.substr(pos, comma - pos);
    std::string_view count_text = item;
    std::string_view repeat_text = "1";
    if (size_t paren = item.find('('); paren != std::string_view::npos) {
      count_text = item.substr(0, paren);
      std::string_view rest = item.substr(paren);
      if (rest.size() < 4 || rest.substr(0, 2) != "(x" || rest.back() != ')') {
        return Status(StatusCode::kInvalidArgument,
                      "malformed entry \"" + std::string(item) + "\", expected N or N(xM)");
      }
      repeat_text = rest.substr(2, rest.size() - 3);
    }
    uint64_t count = 0;
    uint64_t repeat = 0;
    if (!ParseUnsigned(count_text, std::numeric_limits<int>::max(), &count) || count == 0 ||
        !ParseUnsigned(repeat_text, kMaxSlurmNodes, &repeat) || repeat == 0) {
      return Status(StatusCode::kInvalidArgument,
                    "malformed entry \"" + std::string(item) + "\", expected N or N(xM)");
    }
    expanded += static_cast<int64_t>(repeat);
    if (expanded > kMaxSlurmNodes) {
      return Status(StatusCode::kInvalidArgument, "more than " +
                                                      std::to_string(kMaxSlurmNodes) +
                                                      " nodes listed");
    }
    counts.insert(counts.end(), repeat, static_cast<int>(count));
    pos = comma + 1;
  }
  return counts;
}

Result<LaunchInfo> ParseLaunchEnv(const EnvLookup& env) {
  if (Get(env, "OMPI_COMM_WORLD_RANK") != nullptr ||
      Get(env, "OMPI_COMM_WORLD_SIZE") != nullptr) {
    return ParseOpenMpi(env);
  }

  const char* step_name = nullptr;
  const char* step_value = GetFirst(env, {"SLURM_STEP_ID", "SLURM_STEPID"}, &step_name);
  if (step_value != nullptr && Get(env, "SLURM_PROCID") != nullptr) {
    uint64_t step = 0;
    if (!ParseUnsigned(step_value, std::numeric_limits<uint32_t>::max(), &step)) {
      return BadValue(step_name, step_value, "expected a Slurm step id");
    }
    if (step < kFirstSlurmPseudoStep) return ParseSlurm(env, step_value);
  }

  if (Get(env, "PMIX_RANK") != nullptr) return ParsePmix(env);
  return LaunchInfo{};
}

Result<LaunchInfo> ParseProcessLaunchEnv() { return ParseLaunchEnv(ProcessEnv()); }

}  // namespace rankflow::bootstrap
