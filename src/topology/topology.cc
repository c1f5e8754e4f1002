#include "topology/topology.h"

#include <hwloc.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

namespace rankflow::topology {
namespace {

// The loaded topology and the process binding captured at load time, so that
// later pinning of individual threads does not shrink what the process owns.
struct Loaded {
  hwloc_topology_t topo = nullptr;
  hwloc_bitmap_t binding = nullptr;
  Status error;
};

Loaded* Load() {
  auto* loaded = new Loaded();
  if (hwloc_topology_init(&loaded->topo) != 0) {
    loaded->error = Status(StatusCode::kInternal,
                           std::string("hwloc_topology_init failed: ") + std::strerror(errno));
    loaded->topo = nullptr;
    return loaded;
  }
  hwloc_topology_set_io_types_filter(loaded->topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  // These backends initialise vendor runtimes (or probe X displays) inside
  // the process; the PCI, DRM and NVML views are enough to count GPUs.
  for (const char* heavy : {"cuda", "opencl", "gl"}) {
    hwloc_topology_set_components(loaded->topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST,
                                  heavy);
  }
  if (hwloc_topology_load(loaded->topo) != 0) {
    loaded->error = Status(StatusCode::kInternal,
                           std::string("hwloc_topology_load failed: ") + std::strerror(errno));
    hwloc_topology_destroy(loaded->topo);
    loaded->topo = nullptr;
    return loaded;
  }
  hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(loaded->topo);
  loaded->binding = hwloc_bitmap_alloc();
  if (hwloc_get_cpubind(loaded->topo, loaded->binding, HWLOC_CPUBIND_PROCESS) != 0) {
    hwloc_bitmap_copy(loaded->binding, allowed);
  }
  hwloc_bitmap_and(loaded->binding, loaded->binding, allowed);
  if (hwloc_bitmap_iszero(loaded->binding)) hwloc_bitmap_copy(loaded->binding, allowed);
  return loaded;
}

// Returns the process-wide topology; loaded once, never freed.
const Loaded& Get() {
  static const Loaded* const loaded = Load();
  return *loaded;
}

// PCI class ids (class << 8 | subclass) of devices that may be GPUs.
bool IsGpuClass(unsigned vendor_id, unsigned class_id) {
  constexpr unsigned kNvidia = 0x10de;
  constexpr unsigned kAmd = 0x1002;
  if (vendor_id != kNvidia && vendor_id != kAmd) return false;
  bool display = (class_id >> 8) == 0x03;                   // VGA, 3D, other display
  bool accelerator = vendor_id == kAmd && class_id == 0x1200;  // processing accelerator
  return display || accelerator;
}

bool IsComputeBackend(const char* subtype) {
  if (subtype == nullptr) return false;
  for (const char* backend : {"CUDA", "NVML", "OpenCL", "RSMI", "LevelZero"}) {
    if (std::strcmp(subtype, backend) == 0) return true;
  }
  return false;
}

int CountPhysicalGpus(hwloc_topology_t topo) {
  std::set<hwloc_obj_t> devices;
  for (hwloc_obj_t os = hwloc_get_next_osdev(topo, nullptr); os != nullptr;
       os = hwloc_get_next_osdev(topo, os)) {
    hwloc_obj_osdev_type_t type = os->attr->osdev.type;
    if (type != HWLOC_OBJ_OSDEV_GPU && type != HWLOC_OBJ_OSDEV_COPROC) continue;
    if (!IsComputeBackend(os->subtype)) continue;
    bool on_pci = os->parent != nullptr && os->parent->type == HWLOC_OBJ_PCI_DEVICE;
    devices.insert(on_pci ? os->parent : os);
  }
  if (!devices.empty()) return static_cast<int>(devices.size());
  int count = 0;
  for (hwloc_obj_t pci = hwloc_get_next_pcidev(topo, nullptr); pci != nullptr;
       pci = hwloc_get_next_pcidev(topo, pci)) {
    if (IsGpuClass(pci->attr->pcidev.vendor_id, pci->attr->pcidev.class_id)) ++count;
  }
  return count;
}

std::string BitmapList(hwloc_const_bitmap_t bitmap) {
  char* text = nullptr;
  if (hwloc_bitmap_list_asprintf(&text, bitmap) < 0 || text == nullptr) return "";
  std::string out(text);
  std::free(text);
  return out;
}

}  // namespace

std::vector<int> SplitCores(const std::vector<int>& core_first_pus, int share_index,
                            int share_count, bool* exclusive) {
  if (exclusive != nullptr) *exclusive = false;
  int ncores = static_cast<int>(core_first_pus.size());
  if (ncores == 0 || share_count < 1 || share_index < 0 || share_index >= share_count) {
    return {};
  }
  if (ncores < share_count) {
    return {core_first_pus[share_index % ncores]};
  }
  if (exclusive != nullptr) *exclusive = true;
  int base = ncores / share_count;
  int extra = ncores % share_count;  // the first `extra` shares get one more core
  int begin = share_index * base + std::min(share_index, extra);
  int length = base + (share_index < extra ? 1 : 0);
  return std::vector<int>(core_first_pus.begin() + begin,
                          core_first_pus.begin() + begin + length);
}

Result<CpuShare> ComputeCpuShare(int share_index, int share_count) {
  if (share_count < 1 || share_index < 0 || share_index >= share_count) {
    return Status(StatusCode::kInvalidArgument,
                  "cpu share " + std::to_string(share_index) + " of " +
                      std::to_string(share_count) + " does not exist");
  }
  const Loaded& loaded = Get();
  if (loaded.topo == nullptr) return loaded.error;

  hwloc_obj_type_t unit = HWLOC_OBJ_CORE;
  if (hwloc_get_nbobjs_by_type(loaded.topo, unit) <= 0) unit = HWLOC_OBJ_PU;
  std::vector<int> core_first_pus;
  hwloc_bitmap_t owned = hwloc_bitmap_alloc();
  for (hwloc_obj_t obj = hwloc_get_next_obj_by_type(loaded.topo, unit, nullptr);
       obj != nullptr; obj = hwloc_get_next_obj_by_type(loaded.topo, unit, obj)) {
    hwloc_bitmap_and(owned, obj->cpuset, loaded.binding);
    int first = hwloc_bitmap_first(owned);
    if (first >= 0) core_first_pus.push_back(first);
  }
  hwloc_bitmap_free(owned);
  if (core_first_pus.empty()) {
    return Status(StatusCode::kInternal, "process binding \"" + BitmapList(loaded.binding) +
                                             "\" contains no usable core");
  }

  CpuShare share;
  share.pus = SplitCores(core_first_pus, share_index, share_count, &share.exclusive);
  share.num_cores = static_cast<int>(share.pus.size());
  return share;
}

std::string ProcessCpusetString() {
  const Loaded& loaded = Get();
  if (loaded.topo == nullptr) return "";
  return BitmapList(loaded.binding);
}

int CountCudaVisibleDevices(std::string_view spec) {
  std::set<std::string_view> seen;
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string_view::npos) comma = spec.size();
    std::string_view entry = spec.substr(pos, comma - pos);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    pos = comma + 1;
    bool is_index = !entry.empty() && entry.find_first_not_of("0123456789") ==
                                          std::string_view::npos;
    bool is_uuid = entry.substr(0, 4) == "GPU-" || entry.substr(0, 4) == "MIG-";
    if (!(is_index || is_uuid) || !seen.insert(entry).second) break;
  }
  return static_cast<int>(seen.size());
}

int CountGpus() {
  const Loaded& loaded = Get();
  int found = loaded.topo != nullptr ? CountPhysicalGpus(loaded.topo) : 0;
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (visible == nullptr) return found;
  int listed = CountCudaVisibleDevices(visible);
  return found > 0 ? std::min(listed, found) : listed;
}

Status PinCurrentThread(int pu_os_index) {
  const Loaded& loaded = Get();
  if (loaded.topo == nullptr) return loaded.error;
  if (pu_os_index < 0 ||
      hwloc_get_pu_obj_by_os_index(loaded.topo, static_cast<unsigned>(pu_os_index)) ==
          nullptr) {
    return Status(StatusCode::kInvalidArgument,
                  "no PU with os index " + std::to_string(pu_os_index) + " in the topology");
  }
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  hwloc_bitmap_only(set, static_cast<unsigned>(pu_os_index));
  int rc = hwloc_set_cpubind(loaded.topo, set, HWLOC_CPUBIND_THREAD);
  int err = errno;
  hwloc_bitmap_free(set);
  if (rc != 0) {
    return Status(StatusCode::kInternal, "binding thread to PU " +
                                             std::to_string(pu_os_index) +
                                             " failed: " + std::strerror(err));
  }
  return Status::Ok();
}

std::string Describe() {
  const Loaded& loaded = Get();
  if (loaded.topo == nullptr) return "topology unavailable: " + loaded.error.ToString();
  auto count = [&](hwloc_obj_type_t type) {
    int n = hwloc_get_nbobjs_by_type(loaded.topo, type);
    return std::to_string(n < 0 ? 0 : n);
  };
  return count(HWLOC_OBJ_PACKAGE) + " packages, " + count(HWLOC_OBJ_NUMANODE) +
         " NUMA nodes, " + count(HWLOC_OBJ_CORE) + " cores, " + count(HWLOC_OBJ_PU) +
         " PUs, " + std::to_string(CountGpus()) + " GPUs, process bound to PUs " +
         BitmapList(loaded.binding);
}

}  // namespace rankflow::topology
