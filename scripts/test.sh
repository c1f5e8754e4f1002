#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, multi-rank
# through mpirun, install, then under Slurm) with a timeout on each.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir build --output-on-failure -j "${RANKFLOW_JOBS:-2}" --timeout 300
# Then the same binaries under a real Slurm (a local two-node cluster) and the
# sbatch templates in slurm/: SKIP_SLURM_TESTS=1 skips it.
tests/slurm/run_slurm_tests.sh
