#include "bootstrap/host_identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

namespace rankflow::bootstrap {

ProcessIdentity ThisProcess() {
  ProcessIdentity id;
  id.pid = static_cast<int>(getpid());
  std::ifstream boot("/proc/sys/kernel/random/boot_id");
  std::string boot_id;
  struct stat ns {};
  if (boot && std::getline(boot, boot_id) && !boot_id.empty() &&
      stat("/proc/self/ns/pid", &ns) == 0) {
    id.host_key = boot_id + "/" + std::to_string(static_cast<unsigned long long>(ns.st_ino));
  }
  return id;
}

std::vector<uint8_t> EncodeIdentity(const ProcessIdentity& id) {
  std::vector<uint8_t> out(sizeof(int32_t) + id.host_key.size());
  const int32_t pid = id.pid;
  std::memcpy(out.data(), &pid, sizeof(pid));
  std::memcpy(out.data() + sizeof(pid), id.host_key.data(), id.host_key.size());
  return out;
}

bool DecodeIdentity(const std::vector<uint8_t>& bytes, ProcessIdentity* out) {
  int32_t pid = 0;
  if (bytes.size() < sizeof(pid)) return false;
  std::memcpy(&pid, bytes.data(), sizeof(pid));
  if (pid <= 0) return false;
  out->pid = pid;
  out->host_key.assign(reinterpret_cast<const char*>(bytes.data()) + sizeof(pid),
                       bytes.size() - sizeof(pid));
  return true;
}

std::vector<int> SameHostPids(const ProcessIdentity& self, int self_rank,
                              const std::vector<ProcessIdentity>& all) {
  std::vector<int> pids(all.size(), 0);
  if (self.host_key.empty()) return pids;
  for (size_t r = 0; r < all.size(); ++r) {
    if (static_cast<int>(r) != self_rank && all[r].host_key == self.host_key) pids[r] = all[r].pid;
  }
  return pids;
}

}  // namespace rankflow::bootstrap
