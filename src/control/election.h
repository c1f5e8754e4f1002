// control/election.h — which rank hosts the control service.
//
// Every rank runs the same pure function over the same candidate list (which
// bootstrap gathers from all ranks), so all agree without further messages.
// The rule: among live, willing candidates, prefer a rank that does not run
// the driver (the driver's rank is busy with user code), then the lowest
// rank. Re-election after a death reruns it over the survivors.
#pragma once

#include <vector>

namespace rankflow::control {

struct Candidate {
  int rank = 0;
  bool alive = true;
  bool runs_driver = false;  // the driver's rank is busy with user code
  bool willing = true;       // RANKFLOW_CONTROL_CANDIDATE=0 opts a rank out
};

/// The elected rank, or -1 when no candidate is alive and willing.
int ElectControlRank(const std::vector<Candidate>& candidates);

}  // namespace rankflow::control
