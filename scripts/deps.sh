#!/usr/bin/env bash
# Installs the Debian 12 packages rankflow builds and tests with (skips what is present):
# the Slurm ones run tests/slurm (a local two-node cluster; mpi/pmix is in the basic plugins).
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config git python3
      libucx-dev ucx-utils libopenmpi-dev openmpi-bin libhwloc-dev hwloc
      libprotobuf-dev protobuf-compiler libspdlog-dev libcereal-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      slurm-wlm slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
