#!/usr/bin/env bash
# rl.learns: trains for at most 60 iterations on 2 ranks and checks from the
# CSV that the policy clearly learned:
#   mean_return of the last iteration >= 2 x the first, and >= 60
# (a uniformly random policy averages about 22; solved is 195; with several
# simulators the curve can dip to about 90 before it solves, hence the margin).
# usage: learns_test.sh MPIRUN BINARY CSV [extra arguments for BINARY]
set -euo pipefail
mpirun=$1 binary=$2 csv=$3
shift 3
rm -f "$csv"
"$mpirun" -n 2 --oversubscribe --bind-to none -x RANKFLOW_LOG_LEVEL \
  "$binary" --max-iterations 60 --no-require-solve --seed 1 --csv "$csv" "$@"

header=$(head -n 1 "$csv")
if [[ "$header" != "iteration,mean_return,env_steps_per_s" ]]; then
  echo "FAIL: unexpected CSV header '$header'" >&2
  exit 1
fi
awk -F, '
  NR == 2 { first = $2 }
  NR >= 2 { last = $2; rows++; if ($3 <= 0) bad_rate = 1 }
  END {
    if (rows < 2) { print "FAIL: fewer than 2 iterations in the CSV"; exit 1 }
    if (bad_rate) { print "FAIL: env_steps_per_s not positive"; exit 1 }
    printf "first mean_return %.1f, last %.1f after %d iterations\n", first, last, rows
    if (last < 2 * first) { printf "FAIL: last < 2 x first (%.1f)\n", 2 * first; exit 1 }
    if (last < 60) { print "FAIL: last < 60"; exit 1 }
    print "PASS"
  }' "$csv"
