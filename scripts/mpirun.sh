#!/usr/bin/env bash
# mpirun with what local runs need: --oversubscribe (more ranks than cores),
# no launcher binding (rankflow places its own threads), root allowed.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec mpirun --oversubscribe --bind-to none -x RANKFLOW_LOG_LEVEL -x UCX_TLS "$@"
