#!/usr/bin/env bash
# Configures and builds into ./build (Ninja, -j2 by default: RANKFLOW_JOBS overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" "$@"
cmake --build build -j "${RANKFLOW_JOBS:-2}"
