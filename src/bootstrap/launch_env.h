// Detection of the process launcher (Open MPI mpirun, Slurm srun, generic
// PMIx) and of this process's place in the job, from environment variables.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/env_lookup.h"
#include "common/status.h"

namespace rankflow::bootstrap {

enum class Launcher { kNone, kOpenMpi, kSlurm, kPmix };

// Returns a short lowercase name for `launcher` ("none", "openmpi", ...).
const char* LauncherName(Launcher launcher);

// Where this process sits in the job, as far as the launcher tells.
// A count of 0 (size, local_size, num_nodes) means "the launcher did not say;
// ask MPI"; indices are then 0. Without a launcher the process is a singleton.
struct LaunchInfo {
  Launcher launcher = Launcher::kNone;
  int rank = 0, size = 1;              // world rank/size
  int local_rank = 0, local_size = 1;  // ranks on this node
  int node_index = 0;                  // index of this node in the job if known, else 0
  int num_nodes = 1;
  std::string job_id;     // SLURM_JOB_ID.SLURM_STEP_ID / OMPI jobid / PMIX_NAMESPACE, "" if none
  std::string node_name;  // SLURMD_NODENAME or "" (caller fills hostname)
};

using rankflow::EnvLookup;

// Parses the launcher's variables through `env`. Precedence: Open MPI
// (OMPI_COMM_WORLD_*), then a real Slurm step (SLURM_PROCID and SLURM_STEP_ID
// both set), then PMIx (PMIX_RANK), else kNone. Returns kInvalidArgument,
// naming the variable and its value, for non-numeric or inconsistent values.
Result<LaunchInfo> ParseLaunchEnv(const EnvLookup& env);

// ParseLaunchEnv over the environment of the current process.
Result<LaunchInfo> ParseProcessLaunchEnv();

// Expands a Slurm tasks-per-node list such as "2(x3),1" into one count per
// node ({2, 2, 2, 1}). Returns kInvalidArgument on malformed input.
Result<std::vector<int>> ParseSlurmTasksPerNode(std::string_view spec);

}  // namespace rankflow::bootstrap
