#include <nccl.h>

#include "device_probe.h"

extern "C" int rankflow_nccl_version(void) {
  int version = 0;
  if (ncclGetVersion(&version) != ncclSuccess) return -1;
  return version;
}
