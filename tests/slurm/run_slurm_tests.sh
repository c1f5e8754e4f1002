#!/usr/bin/env bash
# rankflow under a real Slurm: starts the local two-node cluster
# (slurm/testing/local-cluster.sh), submits every sbatch template in slurm/ with
# `sbatch --wait` and checks its output, runs the multi-rank gtest binaries
# under `srun --mpi=pmix` across both virtual nodes, and stops the cluster.
# Every job and step has a timeout. Ends with "slurm tests: N passed, M failed"
# and exits non-zero if any failed.
#
# Settings: SKIP_SLURM_TESTS=1 skips it all; RANKFLOW_BUILD_DIR (default build);
# RANKFLOW_SLURM_DIR (default /tmp/rankflow-slurm-tests); RANKFLOW_SLURM_JOB_TIMEOUT
# (seconds per job, default 180); RANKFLOW_SLURM_KEEP=1 leaves the cluster up.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT="$PWD"

if [ "${SKIP_SLURM_TESTS:-0}" = 1 ]; then
  echo "slurm tests: skipped (SKIP_SLURM_TESTS=1)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "slurm tests: skipped (the local Slurm cluster runs slurmd, which needs root)"
  exit 0
fi

BUILD="$(cd "${RANKFLOW_BUILD_DIR:-build}" && pwd)"
JOB_TIMEOUT="${RANKFLOW_SLURM_JOB_TIMEOUT:-180}"
export RANKFLOW_SLURM_DIR="${RANKFLOW_SLURM_DIR:-/tmp/rankflow-slurm-tests}"
# Ports of its own, so that a cluster started by hand at the defaults can stay up.
export RANKFLOW_SLURM_CTLD_PORT="${RANKFLOW_SLURM_CTLD_PORT:-16917}"
export RANKFLOW_SLURM_NODE_PORT="${RANKFLOW_SLURM_NODE_PORT:-17101}"
export SLURM_CONF="$RANKFLOW_SLURM_DIR/etc/slurm.conf"
export RANKFLOW_LOG_LEVEL=warn
CLUSTER="$ROOT/slurm/testing/local-cluster.sh"
OUT="$RANKFLOW_SLURM_DIR/out"

passed=0
failed=0
failures=()

finish() {
  if [ "${RANKFLOW_SLURM_KEEP:-0}" != 1 ]; then "$CLUSTER" stop >/dev/null 2>&1 || true; fi
  [ ${#failures[@]} -gt 0 ] && echo "slurm tests failed: ${failures[*]}"
  echo "slurm tests: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
on_exit() {
  local rc=$?
  finish || rc=1
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

ok() { passed=$((passed + 1)); echo "PASS $1 (${2}s)"; }
bad() {
  failed=$((failed + 1)); failures+=("$1")
  echo "FAIL $1: $2"
  if [ -n "${3:-}" ] && [ -f "$3" ]; then echo "---- $3"; tail -n 60 "$3"; echo "----"; fi
}

# Checks on an output file; each prints why it fails.
has() { grep -qE -- "$2" "$1" || { echo "no line matching /$2/"; return 1; }; }
# The example's per-rank counts: ranks 0..n-1 each ran at least one of the probe tasks.
every_rank_ran() {
  local f="$1" n="$2" r
  for ((r = 0; r < n; r++)); do
    grep -qE "^rank $r ran [1-9][0-9]* of 64 probe tasks" "$f" || { echo "rank $r ran no probe task"; return 1; }
  done
}
# Distinct values of a key=value field on the template's "rankflow-rank" lines.
field_values() { grep -oE "^rankflow-rank [0-9]+ .*" "$1" | grep -oE "$2=[^ ]*" | sort -u | cut -d= -f2; }

# Runs a template: sbatch --wait, then the named checks.
run_template() {
  local name="$1" ranks="$2"
  shift 2
  local f="$OUT/$name.out" log="$OUT/$name.sbatch.log" t0=$SECONDS why rc jobid
  timeout "$JOB_TIMEOUT" sbatch --wait --parsable --chdir="$ROOT" --output="$f" \
    "$ROOT/slurm/$name.sbatch" "$BUILD/examples/rankflow_example_simulate" >"$log" 2>&1
  rc=$?
  jobid="$(grep -oE '^[0-9]+' "$log" | head -n 1)"
  if [ "$rc" -eq 124 ] && [ -n "$jobid" ] &&
     ! squeue -h -j "$jobid" -t PD,R,CG,S 2>/dev/null | grep -q .; then
    rc=0  # it ended just as the timeout fired (sbatch --wait polls)
  fi
  if [ "$rc" -eq 124 ] && [ -n "$jobid" ]; then
    # Free the nodes for the next tests, and keep what Slurm knew about the job.
    scontrol show job "$jobid" >"$OUT/$name.job.txt" 2>&1
    scancel "$jobid" 2>/dev/null
    for _ in $(seq 40); do squeue -h -j "$jobid" 2>/dev/null | grep -q . || break; sleep 0.25; done
  fi
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
    bad "$name" "job failed (sbatch exited $rc): $(tr '\n' ' ' <"$log")" "$f"
    return
  fi
  if ! why="$(has "$f" "driver on rank 0 of $ranks\$" && every_rank_ran "$f" "$ranks" && "$@" "$f")"; then
    [ "$rc" -eq 124 ] && why="job did not end within ${JOB_TIMEOUT}s; $why"
    bad "$name" "$why" "$f"
    return
  fi
  if [ "$rc" -eq 124 ]; then
    # The program finished and printed everything, but the job did not end.
    # Seen once with the heterogeneous step on Slurm 22.05.8: every task of the
    # step had exited (slurmd: "done with job"), yet srun in the batch script
    # never returned. Not rankflow's; reported, not failed. Anywhere else it
    # would mean a rank that does not exit: a failure.
    if [ "$name" = hetjob ]; then
      echo "WARN $name: the job's output is complete but srun did not return within ${JOB_TIMEOUT}s (job $jobid cancelled)"
    else
      bad "$name" "the output is complete but the job did not end within ${JOB_TIMEOUT}s" "$f"
      return
    fi
  fi
  ok "$name" $((SECONDS - t0))
}

gpus_one_each() {  # every rank line names exactly one GPU, no two ranks the same
  local f="$1" lines uniq
  lines="$(grep -cE '^rankflow-rank [0-9]+ .*gpus=[0-9]+$' "$f")"
  uniq="$(grep -E '^rankflow-rank [0-9]+ .*gpus=[0-9]+$' "$f" | awk '{print $2, $NF}' | awk '{print $2}' | sort -u | wc -l)"
  if [ "$lines" -ne 2 ] || [ "$uniq" -ne 2 ]; then echo "expected 2 ranks with one distinct GPU each, got $lines lines, $uniq GPUs"; return 1; fi
}
both_nodes() {
  local nodes
  nodes="$(field_values "$1" node | tr '\n' ' ')"
  [ "$nodes" = "n1 n2 " ] || { echo "ranks ran on nodes '$nodes', expected n1 and n2"; return 1; }
}
het_components() {  # CPU ranks 0,1 without GPUs on one node; GPU ranks 2,3 with one GPU each on the other
  local f="$1"
  [ "$(grep -cE '^rankflow-rank [01] component=simulation node=n[12] gpus=none$' "$f")" -eq 2 ] ||
    { echo "simulation ranks 0 and 1 (no GPU) missing"; return 1; }
  [ "$(grep -E '^rankflow-rank [23] component=learner node=n[12] gpus=[0-9]+$' "$f" | awk '{print $NF}' | sort -u | wc -l)" -eq 2 ] ||
    { echo "learner ranks 2 and 3 with one distinct GPU each missing"; return 1; }
  both_nodes "$f"
}

# The flagship RL example over the heterogeneous job: simulators on every rank,
# the learner on a GPU rank of the learner component; it must solve cart-pole.
run_rl_hetjob() {
  local name=rl.hetjob f="$OUT/rl-hetjob.out" log="$OUT/rl-hetjob.sbatch.log" t0=$SECONDS rc why jobid
  timeout "$RANKFLOW_SLURM_JOB_TIMEOUT_HET" sbatch --wait --parsable --chdir="$ROOT" --output="$f" \
    "$ROOT/slurm/hetjob.sbatch" "$BUILD/examples/rl/rankflow_example_rl" --csv "$OUT/rl.csv" >"$log" 2>&1
  rc=$?
  jobid="$(grep -oE '^[0-9]+' "$log" | head -n 1)"
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
    [ -n "$jobid" ] && scancel "$jobid" 2>/dev/null
    bad "$name" "job failed (exit $rc): $(tr '\n' ' ' <"$log")" "$f"
    return
  fi
  [ "$rc" -eq 124 ] && [ -n "$jobid" ] && scancel "$jobid" 2>/dev/null
  if ! why="$(has "$f" '4 rank\(s\); learner on rank [23] \((cpu|gpu: [^)]*\))\);' && has "$f" '^solved after' &&
              het_components "$f")"; then
    [ "$rc" -eq 124 ] && why="job did not end within ${RANKFLOW_SLURM_JOB_TIMEOUT_HET}s; $why"
    bad "$name" "$why" "$f"
    return
  fi
  if [ "$rc" -eq 124 ]; then
    # As for the hetjob template: the program finished and printed
    # everything, but srun of the heterogeneous step did not return
    # (Slurm 22.05.8). Reported, not failed.
    echo "WARN $name: the job's output is complete but srun did not return within ${RANKFLOW_SLURM_JOB_TIMEOUT_HET}s (job $jobid cancelled)"
  fi
  ok "$name" $((SECONDS - t0))
}

# The benchmark suite through slurm/perf.sbatch (quick, a subset) on both
# nodes: every figure must be there with its baseline from the same job, and
# the inter-node ones must have run between the two nodes.
run_perf_sbatch() {
  local name=perf.sbatch f="$OUT/perf.out" log="$OUT/perf.sbatch.log" json="$OUT/perf.json" t0=$SECONDS rc why
  timeout "$RANKFLOW_SLURM_JOB_TIMEOUT_PERF" sbatch --wait --parsable --chdir="$ROOT" --output="$f" \
    -N 2 --ntasks-per-node=2 --time=10 --export=ALL,RANKFLOW_BUILD_DIR="$BUILD",RANKFLOW_WAIT_SPIN_US=0 \
    "$ROOT/slurm/perf.sbatch" --quick --only baselines,tasks,objects,metg --object-tls tcp,self \
    --ranks 2 --metg-rounds 2 --out "$json" >"$log" 2>&1
  rc=$?
  if [ "$rc" -ne 0 ]; then
    local jobid
    jobid="$(grep -oE '^[0-9]+' "$log" | head -n 1)"
    [ -n "$jobid" ] && scancel "$jobid" 2>/dev/null
    bad "$name" "job failed or did not end (exit $rc): $(tr '\n' ' ' <"$log")" "$f"
    return
  fi
  if ! why="$(python3 - "$json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m, rows = d["machine"], {r["name"]: r for r in d["results"]}
problems = []
if m.get("launcher") != "srun" or m.get("nodes") != 2:
    problems.append(f"machine says launcher={m.get('launcher')} nodes={m.get('nodes')}, expected srun on 2")
want = {"mpi pingpong half round trip": None, "ucx am latency": None, "metg mpi": None,
        "single client tasks sync median latency": "mpi pingpong round trip",
        "inter node get 16 mib bandwidth": "ucx_perftest ucp_am_bw (tcp,self)",
        "metg rankflow tasks": "metg mpi", "metg rankflow actors": "metg mpi",
        "metg rankflow tasks spmd": "metg mpi", "metg rankflow compiled graph": "metg mpi"}
for name, base in want.items():
    r = rows.get(name)
    if r is None or not r["value"] > 0:
        problems.append(f"no positive figure '{name}'")
    elif base and (r["baseline_name"] != base or not r["baseline"] or not r["ratio"]):
        problems.append(f"'{name}' lacks its baseline '{base}' (got {r['baseline_name']})")
for name in ("metg mpi", "metg rankflow tasks"):  # the median of two rounds, both kept
    r = rows.get(name) or {}
    if len(r.get("rounds") or []) != 2:
        problems.append(f"'{name}' does not list its 2 rounds (got {r.get('rounds')})")
r = rows.get("metg rankflow tasks") or {}
if not (r.get("peak_gflops") or 0) > 0 or not (r.get("peak_vs_baseline") or 0) > 0:
    problems.append(f"'metg rankflow tasks' lacks its peak and its peak over MPI's (got "
                    f"{r.get('peak_gflops')}, {r.get('peak_vs_baseline')})")
if not ((rows.get("metg rankflow compiled graph") or {}).get("compile_us") or 0) > 0:
    problems.append("'metg rankflow compiled graph' lacks its compile time")
print("; ".join(problems))
sys.exit(1 if problems else 0)
PY
)"; then
    bad "$name" "$why" "$f"
    return
  fi
  ok "$name" $((SECONDS - t0))
}

# Runs a gtest binary under srun; $1 name, $2 checker, rest: srun arguments and program.
run_srun() {
  local name="$1" check="$2"
  shift 2
  local f="$OUT/$name.out" t0=$SECONDS rc why
  timeout "$JOB_TIMEOUT" srun --mpi=pmix --time=5 --job-name="$name" "$@" >"$f" 2>&1
  rc=$?
  if ! why="$("$check" "$f" "$rc")"; then
    bad "$name" "$why" "$f"
    return
  fi
  ok "$name" $((SECONDS - t0))
}
all_passed() {  # exit 0, every test passed on the driver rank
  [ "$2" -eq 0 ] || { echo "srun exited $2"; return 1; }
  has "$1" '^\[  PASSED  \] [0-9]+ tests?\.' >/dev/null || { echo "no gtest PASSED line"; return 1; }
  ! grep -q '^\[  FAILED  \]' "$1" || { echo "gtest reported failures"; return 1; }
}
survivors_passed() {  # the victim (last rank) was killed; the test passed; no other task failed
  local f="$1" rc="$2"
  [ "$rc" -eq 0 ] || [ "$rc" -eq 137 ] || { echo "srun exited $rc (expected 0 or 137: the victim's SIGKILL)"; return 1; }
  has "$f" '^\[  PASSED  \] 1 test\.' >/dev/null || { echo "no gtest PASSED line"; return 1; }
  ! grep -q '^\[  FAILED  \]' "$f" || { echo "gtest reported failures"; return 1; }
  ! grep -E 'srun: error: .*: tasks? [0-9]' "$f" | grep -vqE ': task 2: Killed$' || { echo "a task other than the victim failed"; return 1; }
}

echo "slurm tests: starting the local cluster in $RANKFLOW_SLURM_DIR"
"$CLUSTER" stop >/dev/null 2>&1 || true
t0=$SECONDS
if ! "$CLUSTER" start; then
  bad cluster "the local Slurm cluster did not start"
  exit 1
fi
ok cluster $((SECONDS - t0))
rm -rf "$OUT" && mkdir -p "$OUT"

run_template one-node-gpus 2 gpus_one_each
run_template multi-node 4 both_nodes
RANKFLOW_SLURM_JOB_TIMEOUT_HET="${RANKFLOW_SLURM_JOB_TIMEOUT_HET:-60}"
JOB_TIMEOUT="$RANKFLOW_SLURM_JOB_TIMEOUT_HET" run_template hetjob 4 het_components
run_rl_hetjob
RANKFLOW_SLURM_JOB_TIMEOUT_PERF="${RANKFLOW_SLURM_JOB_TIMEOUT_PERF:-400}"
run_perf_sbatch

# The multi-rank test binary across both virtual nodes (as ctest runs it under mpirun).
RANKFLOW_MAX_MESSAGE_BYTES=4M run_srun core.srun.N2n4 all_passed -N2 -n4 "$BUILD/tests/integration/rankflow_core_test"
# The object store across both nodes: one store per Slurm node, objects
# cross between them over UCX (with checksums).
RANKFLOW_STORE_BYTES=16M RANKFLOW_CHECKSUM=1 RANKFLOW_MAX_MESSAGE_BYTES=4M \
  run_srun objects.srun.N2n4 all_passed -N2 -n4 "$BUILD/tests/integration/rankflow_object_test"
# A rank killed mid-job: rankflow finalizes MPI after start-up, so with -K0 the
# survivors go on and the driver's test passes.
RANKFLOW_MAX_MESSAGE_BYTES=4M UCX_KEEPALIVE_INTERVAL=1s \
  run_srun rank_death.srun.N2n3 survivors_passed -K0 -N2 -n3 "$BUILD/tests/integration/rankflow_rank_death_test"
