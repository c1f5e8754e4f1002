// bootstrap/mpi_bootstrap.h — using MPI only to start: rank and size, which
// ranks share a node, a per-job random token, the exchange of transport
// addresses, and the inputs of the control-rank election. Afterwards MPI is
// finalized (unless RANKFLOW_KEEP_MPI=1 or the program initialized MPI
// itself), so a rank's death does not take the whole step down.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace rankflow::bootstrap {

struct BootstrapInfo {
  int rank = 0;
  int size = 1;
  int local_rank = 0;     // among ranks of this (possibly virtual) node
  int local_size = 1;
  int node = 0;           // node index in the job
  int num_nodes = 1;
  std::string host;
  std::array<uint8_t, 16> token{};
  int cpu_share_index = 0;  // among local ranks bound to the same cpuset
  int cpu_share_count = 1;
};

class MpiBootstrap {
 public:
  /// MPI_Init (if needed), rank/size/node/token/cpuset sharing.
  static Result<BootstrapInfo> Start(const RuntimeConfig& config);
  /// Allgathers every rank's transport address.
  static Result<std::vector<std::vector<uint8_t>>> ExchangeAddresses(
      const std::vector<uint8_t>& mine);
  /// Allgathers one int per rank (election inputs and the like).
  static Result<std::vector<int>> AllGatherInt(int mine);
  /// Finalizes MPI unless kept; a barrier first, so every rank is done with it.
  static void Finish(const RuntimeConfig& config);
  /// At the end of the job: finalizes MPI if it was kept and we initialized it.
  static void FinalizeIfKept();
};

}  // namespace rankflow::bootstrap
