// gpu/device_probe.h — what the CUDA runtime and NCCL offer on this machine.
// Plain C types only: callable from code built without the CUDA toolkit.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The number of CUDA devices visible to this process, or -1 when the CUDA
/// runtime cannot be used (no driver, driver too old, ...); then `err`
/// (if not null) holds the CUDA error, at most `errlen` bytes with the NUL.
int rankflow_gpu_device_count(char* err, size_t errlen);

/// NCCL's version code (e.g. 22703 for 2.27.3). Needs no device. Defined only
/// when rankflow_gpu was built with NCCL (RANKFLOW_GPU_HAVE_NCCL is 1).
int rankflow_nccl_version(void);

#ifdef __cplusplus
}
#endif
