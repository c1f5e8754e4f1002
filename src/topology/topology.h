// Machine topology through hwloc: this process's CPU share, thread pinning
// and GPU count. The topology is loaded once, on first use, from the running
// system or from HWLOC_XMLFILE when that is set.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rankflow::topology {

// The cores this rank may run on: one PU (os index) per core.
struct CpuShare {
  std::vector<int> pus;
  int num_cores = 1;
  bool exclusive = true;  // false when the cores are shared with other ranks
};

// Splits the cores of this process's binding (as it was when the topology
// was first loaded) among `share_count` local ranks bound to the same cpuset,
// and returns share `share_index`. Shares are contiguous runs of cores; when
// there are fewer cores than sharers each rank gets core index % ncores and
// exclusive is false. Returns kInvalidArgument for a bad index or count.
Result<CpuShare> ComputeCpuShare(int share_index, int share_count);

// The pure splitting rule behind ComputeCpuShare: `core_first_pus` holds one
// PU per core in topology order. Sets *exclusive (when not null) and returns
// the PUs of share `share_index`; returns {} when the arguments are invalid
// (no cores, share_count < 1, index outside [0, share_count)).
std::vector<int> SplitCores(const std::vector<int>& core_first_pus, int share_index,
                            int share_count, bool* exclusive);

// This process's binding as an hwloc list string such as "0-3,8", suitable
// for comparing between ranks. Empty when the topology failed to load.
std::string ProcessCpusetString();

// Number of GPUs: GPU or co-processor OS devices of compute backends (CUDA,
// NVML, OpenCL, ROCm SMI, Level Zero), counted once per PCI device, or else
// NVIDIA/AMD display-class PCI devices. When CUDA_VISIBLE_DEVICES is set the
// count of its valid entries wins, capped by the devices found if any.
int CountGpus();

// Number of devices a CUDA_VISIBLE_DEVICES value exposes: entries up to the
// first invalid or repeated one, as CUDA does. "" exposes none.
int CountCudaVisibleDevices(std::string_view spec);

// Binds the calling thread to the PU with OS index `pu_os_index`.
Status PinCurrentThread(int pu_os_index);

// One line summary: packages, NUMA nodes, cores, PUs, GPUs and binding.
std::string Describe();

}  // namespace rankflow::topology
