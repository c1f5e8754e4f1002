# Spack package for rankflow. Use it with: spack repo add <rankflow checkout>/spack

from spack.package import *


class Rankflow(CMakePackage, CudaPackage):
    """Remote tasks, futures and objects for HPC jobs: a C++20 library with
    Ray's programming model for MPI-launched ranks. MPI (or PMIx through
    srun) only bootstraps the job; every message then goes over UCX."""

    homepage = "https://github.com/rankflow/rankflow"
    git = "https://github.com/rankflow/rankflow.git"

    version("main", branch="main")

    variant("shared", default=True, description="Build librankflow as a shared library")
    variant("examples", default=True, description="Build and install the example programs")
    variant("tests", default=False, description="Build the tests (run them with ctest)")
    variant("nccl", default=False, description="Build the NCCL probe of the GPU support")

    conflicts("+nccl", when="~cuda", msg="NCCL support needs +cuda")

    depends_on("c", type="build")
    depends_on("cxx", type="build")
    depends_on("cmake@3.25:", type="build")
    depends_on("pkgconfig", type="build")

    # MPI only starts the job: rank, size and node-local groups (MPI-3).
    depends_on("mpi@3:")
    # rankflow serializes access to its UCX worker itself: no +thread_multiple needed.
    depends_on("ucx@1.12:")
    depends_on("ucx +cuda", when="+cuda")
    depends_on("hwloc@2:")
    depends_on("protobuf@3.12:")
    depends_on("spdlog@1.9:")
    depends_on("cereal@1.3:")

    depends_on("nccl", when="+nccl")
    for arch in CudaPackage.cuda_arch_values:
        depends_on(f"nccl cuda_arch={arch}", when=f"+nccl cuda_arch={arch}")

    depends_on("googletest", type=("build", "test"), when="+tests")

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define_from_variant("BUILD_SHARED_LIBS", "shared"),
            self.define_from_variant("RANKFLOW_BUILD_EXAMPLES", "examples"),
            self.define_from_variant("RANKFLOW_BUILD_TESTS", "tests"),
            self.define("RANKFLOW_BUILD_PERF", False),
            self.define_from_variant("RANKFLOW_WITH_CUDA", "cuda"),
        ]
        if spec.satisfies("+cuda"):
            args.append(self.define("CMAKE_CUDA_COMPILER", spec["cuda"].prefix.bin.nvcc))
            cuda_arch = spec.variants["cuda_arch"].value
            if "none" not in cuda_arch:
                # rankflow's gpu/ folder reads RANKFLOW_CUDA_ARCHITECTURES.
                args.append(self.define("CMAKE_CUDA_ARCHITECTURES", cuda_arch))
                args.append(self.define("RANKFLOW_CUDA_ARCHITECTURES", cuda_arch))
        if spec.satisfies("+nccl"):
            args.append(self.define("NCCL_ROOT", spec["nccl"].prefix))
        return args
