// bootstrap/host_identity.h — which ranks share a host and a process
// namespace, so that they can talk over shared memory and watch each other's
// processes (a pidfd turns readable when the process exits).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rankflow::bootstrap {

/// This rank's process as seen by the other ranks: its pid and the identity
/// of its host and pid namespace (kernel boot id + namespace inode).
struct ProcessIdentity {
  int pid = 0;
  std::string host_key;  // empty when unknown: never treated as shared
};

ProcessIdentity ThisProcess();
std::vector<uint8_t> EncodeIdentity(const ProcessIdentity& id);
/// False for bytes that are not an encoded identity.
bool DecodeIdentity(const std::vector<uint8_t>& bytes, ProcessIdentity* out);

/// For each rank, its pid when it shares `self`'s host and pid namespace,
/// else 0 (this rank itself included as 0).
std::vector<int> SameHostPids(const ProcessIdentity& self, int self_rank,
                              const std::vector<ProcessIdentity>& all);

}  // namespace rankflow::bootstrap
