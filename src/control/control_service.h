// control/control_service.h — membership, function registry and the
// cluster resource view, hosted on the elected control rank.
//
// Ranks register after bootstrap; once all have, the service checks that
// every rank registered the same functions (a mismatch means different
// binaries: logged as an error naming the functions) and broadcasts the
// ClusterView. It is off the task path: owners schedule from cached views.
// It also keeps the job's named actors and placement groups. Thread safety: called on the
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

/// Marks `reply` failed with `code` (the requester throws that code) and `message`.
void SetError(proto::ActorNameReply& reply, StatusCode code, const std::string& message);

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
  /// A rank whose free resources cover `want` (reply.rank set), or -1 with reply.error set.
  int PickRank(const proto::ActorPlace& req, const std::map<std::string, double>& want,
               proto::ActorNameReply& reply);
  void OnActorRelease(const proto::ActorRelease& rel);
  void OnGroupCreate(int source, const proto::PlacementGroupCreate& req);  // placement_groups.cc
  void OnGroupRemove(int source, const proto::PlacementGroupRemove& req);
  /// An actor placed in a group's bundle: checks the bundle's room and takes it.
  bool PlaceInGroup(const proto::ActorPlace& req, proto::ActorNameReply& reply);
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
  using GroupKey = std::pair<uint32_t, uint64_t>;  // (owner, id)
  struct Reservation {
    int rank = -1;
    std::map<std::string, double> resources;
    std::pair<std::string, std::string> name;  // empty name: unnamed
    GroupKey group{0, 0};                      // id 0: held on the rank, not in a bundle
    int bundle = -1;
  };
  // A placement group: its bundles' resources are held on their ranks
  // (in held_) until it is removed; actors placed in a bundle use its room.
  struct Group {
    std::vector<int> ranks;
    std::vector<std::map<std::string, double>> bundles, used;
  };
  std::map<GroupKey, Group> groups_;
  std::map<std::pair<uint32_t, uint64_t>, Reservation> reservations_;  // by actor (owner, seq)
  std::vector<std::map<std::string, double>> held_;                   // per rank, by actors
  uint32_t place_cursor_ = 0;
};

}  // namespace rankflow::control
