#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main example on 4 local ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
export RANKFLOW_LOG_LEVEL="${RANKFLOW_LOG_LEVEL:-warn}" UCX_TLS="${UCX_TLS:-all}"
scripts/mpirun.sh -n "${RANKS:-4}" build/examples/rankflow_example_simulate
