#include "bootstrap/mpi_bootstrap.h"

#include <mpi.h>
#include <sys/random.h>
#include <unistd.h>

#include <string>

#include "topology/topology.h"

namespace rankflow::bootstrap {

namespace {
bool g_we_initialized = false;

Status MpiError(int rc, const char* what) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  return {StatusCode::kInternal, std::string(what) + ": " + std::string(msg, len)};
}

#define MPI_CHECK(call)                              \
  do {                                               \
    int _rc = (call);                                \
    if (_rc != MPI_SUCCESS) return MpiError(_rc, #call); \
  } while (0)

std::string HostName() {
  char buf[256] = {0};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}
}  // namespace

Result<BootstrapInfo> MpiBootstrap::Start(const RuntimeConfig& config) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided));
    g_we_initialized = true;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  BootstrapInfo info;
  info.host = HostName();
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &info.rank));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &info.size));

  // Ranks sharing memory form a node; virtual nodes split them further.
  MPI_Comm shm;
  MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, info.rank, MPI_INFO_NULL, &shm));
  int shm_rank = 0, shm_size = 1;
  MPI_Comm_rank(shm, &shm_rank);
  MPI_Comm_size(shm, &shm_size);
  MPI_Comm node_comm = shm;
  if (config.ranks_per_virtual_node > 0) {
    MPI_CHECK(MPI_Comm_split(shm, shm_rank / config.ranks_per_virtual_node, shm_rank, &node_comm));
  }
  MPI_Comm_rank(node_comm, &info.local_rank);
  MPI_Comm_size(node_comm, &info.local_size);
  int leader = info.local_rank == 0 ? 1 : 0;
  int before = 0;
  MPI_CHECK(MPI_Exscan(&leader, &before, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
  if (info.rank == 0) before = 0;
  info.node = before;
  MPI_CHECK(MPI_Bcast(&info.node, 1, MPI_INT, 0, node_comm));
  MPI_CHECK(MPI_Allreduce(&leader, &info.num_nodes, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));

  // Ranks of a node bound to the same cpuset split its cores between them.
  std::string cpuset = topology::ProcessCpusetString();
  int len = static_cast<int>(cpuset.size());
  std::vector<int> lens(info.local_size);
  MPI_CHECK(MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, node_comm));
  std::vector<int> displs(info.local_size, 0);
  int total = 0;
  for (int i = 0; i < info.local_size; ++i) {
    displs[i] = total;
    total += lens[i];
  }
  std::vector<char> all(total + 1);
  MPI_CHECK(MPI_Allgatherv(cpuset.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(),
                           MPI_CHAR, node_comm));
  info.cpu_share_count = 0;
  for (int i = 0; i < info.local_size; ++i) {
    if (std::string(all.data() + displs[i], lens[i]) == cpuset) {
      if (i < info.local_rank) ++info.cpu_share_index;
      ++info.cpu_share_count;
    }
  }
  if (node_comm != shm) MPI_Comm_free(&node_comm);
  MPI_Comm_free(&shm);

  if (info.rank == 0 && getrandom(info.token.data(), info.token.size(), 0) !=
                            static_cast<ssize_t>(info.token.size())) {
    return Status(StatusCode::kInternal, "getrandom failed for the job token");
  }
  MPI_CHECK(MPI_Bcast(info.token.data(), static_cast<int>(info.token.size()), MPI_BYTE, 0,
                      MPI_COMM_WORLD));
  return info;
}

Result<std::vector<std::vector<uint8_t>>> MpiBootstrap::ExchangeAddresses(
    const std::vector<uint8_t>& mine) {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(size);
  MPI_CHECK(MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD));
  std::vector<int> displs(size, 0);
  int total = 0;
  for (int i = 0; i < size; ++i) {
    displs[i] = total;
    total += lens[i];
  }
  std::vector<uint8_t> all(total);
  MPI_CHECK(MPI_Allgatherv(mine.data(), len, MPI_BYTE, all.data(), lens.data(), displs.data(),
                           MPI_BYTE, MPI_COMM_WORLD));
  std::vector<std::vector<uint8_t>> out(size);
  for (int i = 0; i < size; ++i) out[i].assign(all.begin() + displs[i], all.begin() + displs[i] + lens[i]);
  return out;
}

Result<std::vector<int>> MpiBootstrap::AllGatherInt(int mine) {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<int> out(size);
  MPI_CHECK(MPI_Allgather(&mine, 1, MPI_INT, out.data(), 1, MPI_INT, MPI_COMM_WORLD));
  return out;
}

void MpiBootstrap::Finish(const RuntimeConfig& config) {
  MPI_Barrier(MPI_COMM_WORLD);
  if (g_we_initialized && !config.keep_mpi) {
    MPI_Finalize();
    g_we_initialized = false;
  }
}

void MpiBootstrap::FinalizeIfKept() {
  if (g_we_initialized) {
    MPI_Finalize();
    g_we_initialized = false;
  }
}

}  // namespace rankflow::bootstrap
