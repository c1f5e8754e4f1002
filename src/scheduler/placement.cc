#include "scheduler/placement.h"

#include <limits>

namespace rankflow::scheduler {

namespace {
const ResourceMap kDefaultDemand = {{"CPU", 1.0}};
}

Placement::Placement(int world_size)
    : world_size_(world_size), outstanding_(new std::atomic<int>[world_size]) {
  for (int i = 0; i < world_size; ++i) outstanding_[i].store(0);
}

bool Placement::Fits(const RankCapacity& r, const ResourceMap& demand) {
  if (!r.alive) return false;
  for (const auto& [name, amount] : demand) {
    auto it = r.resources.find(name);
    double have = it == r.resources.end() ? 0.0 : it->second;
    if (have + 1e-9 < amount) return false;
  }
  return true;
}

std::string Placement::Describe(const ResourceMap& demand) {
  std::string s = "{";
  for (const auto& [k, v] : demand) s += (s.size() > 1 ? ", " : "") + k + ": " + std::to_string(v);
  return s + "}";
}

void Placement::Update(std::vector<RankCapacity> ranks) {
  std::unique_lock lock(mu_);
  ranks_ = std::move(ranks);
  cpus_.assign(ranks_.size(), 1.0);
  for (size_t r = 0; r < ranks_.size(); ++r) {
    auto it = ranks_[r].resources.find("CPU");
    if (it != ranks_[r].resources.end() && it->second >= 1) cpus_[r] = it->second;
  }
  default_feasible_.clear();
  for (const auto& r : ranks_) if (Fits(r, kDefaultDemand)) default_feasible_.push_back(r.rank);
}

void Placement::MarkDead(int rank) {
  std::unique_lock lock(mu_);
  for (auto& r : ranks_) if (r.rank == rank) r.alive = false;
  std::erase(default_feasible_, rank);
}

Result<int> Placement::Pick(const ResourceMap& demand, int affinity) {
  std::shared_lock lock(mu_);
  const ResourceMap& want = demand.empty() ? kDefaultDemand : demand;
  if (affinity >= 0) {
    if (affinity >= static_cast<int>(ranks_.size())) {
      return Status(StatusCode::kInfeasible, "rank " + std::to_string(affinity) +
                                                 " does not exist (job has " +
                                                 std::to_string(ranks_.size()) + " ranks)");
    }
    if (!Fits(ranks_[affinity], want)) {
      return Status(StatusCode::kInfeasible, "rank " + std::to_string(affinity) +
                                                 " cannot satisfy " + Describe(want) +
                                                 (ranks_[affinity].alive ? "" : " (dead)"));
    }
    return affinity;
  }
  thread_local std::vector<int> scratch;
  const std::vector<int>* feasible = &default_feasible_;
  if (!demand.empty()) {
    scratch.clear();
    for (const auto& r : ranks_) if (Fits(r, want)) scratch.push_back(r.rank);
    feasible = &scratch;
  }
  if (feasible->empty()) {
    return Status(StatusCode::kInfeasible,
                  "no rank can satisfy " + Describe(want) + " (job has " +
                      std::to_string(ranks_.size()) + " ranks; see RANKFLOW_RESOURCES)");
  }
  const size_t n = feasible->size();
  const size_t start = cursor_.fetch_add(1, std::memory_order_relaxed) % n;
  int best = -1;
  double best_load = std::numeric_limits<double>::max();
  for (size_t i = 0; i < n; ++i) {
    int r = (*feasible)[(start + i) % n];
    double load = outstanding_[r].load(std::memory_order_relaxed) / cpus_[r];
    if (load < best_load) {
      best_load = load;
      best = r;
    }
  }
  return best;
}

}  // namespace rankflow::scheduler
