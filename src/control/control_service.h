// control/control_service.h — membership, function registry and the
// cluster resource view, hosted on the elected control rank.
//
// Ranks register after bootstrap; once all have, the service checks that
// every rank registered the same functions (a mismatch means different
// binaries: logged as an error naming the functions) and broadcasts the
// ClusterView. It is off the task path: owners schedule from cached views.
// It also keeps the job's named actors. Thread safety: called on the
// transport's progress thread only (or, with one rank, under the runtime's lock).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "control.pb.h"

namespace rankflow::control {

class ControlService {
 public:
  using SendFn = std::function<Status(int dest, const proto::ControlMessage&)>;

  ControlService(int self_rank, int world_size, SendFn send);

  /// Handles a message addressed to the service.
  void Handle(int source, const proto::ControlMessage& msg);
  /// Marks a rank dead and rebroadcasts the view.
  void OnRankDied(int rank);

  const proto::ClusterView& view() const { return view_; }
  bool complete() const { return registered_ == world_size_; }

 private:
  void OnRegister(int source, const proto::RegisterRank& reg);
  void OnActorName(int source, const proto::ActorName& req);
  void OnActorPlace(int source, const proto::ActorPlace& req);
  void OnActorRelease(const proto::ActorRelease& rel);
  void Reply(int dest, const proto::ActorNameReply& reply);
  void Broadcast();

  int self_rank_;
  int world_size_;
  SendFn send_;
  int registered_ = 0;
  std::vector<bool> seen_;
  std::set<std::string> functions_;  // of the first rank that registered
  proto::ClusterView view_;
  std::map<std::pair<std::string, std::string>, proto::ActorName> names_;  // (ns, name)
  struct Reservation {
    int rank = -1;
    std::map<std::string, double> resources;
    std::pair<std::string, std::string> name;  // empty name: unnamed
  };
  std::map<std::pair<uint32_t, uint64_t>, Reservation> reservations_;  // by actor (owner, seq)
  std::vector<std::map<std::string, double>> held_;                   // per rank, by actors
  uint32_t place_cursor_ = 0;
};

}  // namespace rankflow::control
