#!/usr/bin/env bash
# Installs what is missing, builds, and runs the examples on local ranks
# (RANKS, default 4): the parameter sweep, then the main example, distributed
# policy-gradient training on cart-pole (examples/rl, docs/rl-example.md),
# which prints its learning curve and exits 0 once the task is solved.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
export RANKFLOW_LOG_LEVEL="${RANKFLOW_LOG_LEVEL:-warn}" UCX_TLS="${UCX_TLS:-all}"
ranks="${RANKS:-4}"
echo "== examples/simulate.cc: a parameter sweep on $ranks ranks"
scripts/mpirun.sh -n "$ranks" build/examples/rankflow_example_simulate
echo
echo "== examples/rl: training a cart-pole policy on $ranks ranks"
scripts/mpirun.sh -n "$ranks" build/examples/rl/rankflow_example_rl --csv build/rl_learning_curve.csv "$@"
echo "learning curve: build/rl_learning_curve.csv"
