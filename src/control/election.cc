#include "control/election.h"

namespace rankflow::control {

int ElectControlRank(const std::vector<Candidate>& candidates) {
  int best = -1;
  bool best_is_driver = true;
  for (const auto& c : candidates) {
    if (!c.alive || !c.willing) continue;
    bool better = best < 0 || (best_is_driver && !c.runs_driver) ||
                  (best_is_driver == c.runs_driver && c.rank < best);
    if (better) {
      best = c.rank;
      best_is_driver = c.runs_driver;
    }
  }
  return best;
}

}  // namespace rankflow::control
