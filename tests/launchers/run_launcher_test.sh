#!/usr/bin/env bash
# Checks launchers/rankflow-run: --dry-run under mpirun, under Slurm (a fake
# srun that prints its arguments), the error when no launcher is found, and,
# with "run", a real two-rank run of an example through mpirun.
#
#   run_launcher_test.sh dry-run <rankflow-run>
#   run_launcher_test.sh run <rankflow-run> <program>
set -euo pipefail

mode=${1:?usage: $0 dry-run|run <rankflow-run> [program]}
launcher=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
bash_bin=$(command -v bash)

work=$(mktemp -d "${TMPDIR:-/tmp}/rankflow-launcher-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_line <output> <exact line>
expect_line() {
  grep -qxF -- "$2" <<<"$1" || { printf '%s\n' "$1" >&2; fail "missing line: $2"; }
}
# expect_match <output> <extended regex>
expect_match() {
  grep -qE -- "$2" <<<"$1" || { printf '%s\n' "$1" >&2; fail "no line matches: $2"; }
}
expect_no_match() {
  if grep -qE -- "$2" <<<"$1"; then printf '%s\n' "$1" >&2; fail "unexpected: $2"; fi
}

# Environment of every case: no Slurm, no RANKFLOW_* or UCX_* but those a case sets.
clean_env=(env)
while IFS= read -r var; do
  case "$var" in SLURM_* | RANKFLOW_* | UCX_*) clean_env+=(-u "$var") ;; esac
done < <(compgen -e)

if [[ "$mode" == run ]]; then
  program=${3:?program missing}
  echo "== rankflow-run -n 2 $program"
  out=$("${clean_env[@]}" RANKFLOW_LOG_LEVEL=warn "$launcher" -n 2 "$program" 2>&1) ||
    { printf '%s\n' "$out" >&2; fail "rankflow-run exited $?"; }
  printf '%s\n' "$out"
  expect_match "$out" "driver on rank 0 of 2"
  expect_match "$out" "^rank 1 ran [0-9]+ of 64 probe tasks"
  echo PASS
  exit 0
fi
[[ "$mode" == dry-run ]] || fail "unknown mode $mode"

cores=$(hwloc-calc --number-of core all 2>/dev/null || nproc)

echo "== mpirun, --dry-run"
command -v mpirun >/dev/null || fail "mpirun not on PATH"
out=$("${clean_env[@]}" RANKFLOW_LOG_LEVEL=debug UCX_TLS=tcp,self \
      "$launcher" --dry-run -n 3 -- ./app --flag "two words")
printf '%s\n' "$out"
expect_line "$out" "launcher: mpirun"
expect_line "$out" "ranks: 3"
expect_line "$out" "nodes: 1"
expect_line "$out" "ranks per node: 3"
expect_line "$out" "cores per node: $cores (this host)"
if ((cores >= 3)); then
  expect_match "$out" "^executors per rank: $((cores / 3))( |$)"
  expect_no_match "$out" "--oversubscribe"
else
  expect_match "$out" "^executors per rank: 1 "
  expect_match "$out" " --enable-recovery --oversubscribe "
fi
expect_match "$out" "^command: (env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 )?mpirun -n 3 --bind-to none --enable-recovery "
expect_match "$out" " -x RANKFLOW_LOG_LEVEL( |$)"
expect_match "$out" " -x UCX_TLS( |$)"
expect_match "$out" ' \./app --flag two\\ words$'
if [[ $(id -u) == 0 ]]; then
  expect_match "$out" "^command: env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun "
fi

echo "== mpirun, --dry-run, more ranks than cores, RANKFLOW_NUM_EXECUTORS"
n=$((cores * 2 + 1))
out=$("${clean_env[@]}" RANKFLOW_NUM_EXECUTORS=2 RANKFLOW_MPIRUN_ARGS="--report-bindings" \
      "$launcher" --dry-run -n "$n" ./app)
printf '%s\n' "$out"
expect_line "$out" "executors per rank: 2 (RANKFLOW_NUM_EXECUTORS)"
expect_match "$out" " --oversubscribe -x RANKFLOW_NUM_EXECUTORS --report-bindings \./app$"
expect_no_match "$out" "RANKFLOW_MPIRUN_ARGS"

echo "== Slurm (fake srun), --dry-run and the real call"
mkdir -p "$work/bin"
cat >"$work/bin/srun" <<'SRUN'
#!/usr/bin/env bash
echo "srun-args: $*"
SRUN
chmod +x "$work/bin/srun"
slurm_env=("${clean_env[@]}" PATH="$work/bin:$PATH" SLURM_JOB_ID=4242 SLURM_JOB_NUM_NODES=2
           SLURM_NTASKS=8)
out=$("${slurm_env[@]}" "$launcher" --dry-run ./app x)
printf '%s\n' "$out"
expect_line "$out" "launcher: srun"
expect_line "$out" "ranks: 8"
expect_line "$out" "nodes: 2"
expect_line "$out" "ranks per node: 4"
expect_line "$out" "command: srun --mpi=pmix --kill-on-bad-exit=0 --cpu-bind=none ./app x"
out=$("${slurm_env[@]}" "$launcher" -n 4 -N 2 ./app x)
expect_line "$out" "srun-args: --mpi=pmix --kill-on-bad-exit=0 --cpu-bind=none -n 4 -N 2 ./app x"
out=$("${slurm_env[@]}" RANKFLOW_SRUN_ARGS="--cpu-bind=cores --gpu-bind=closest -K1" \
      "$launcher" --dry-run -n 4 ./app)
printf '%s\n' "$out"
expect_line "$out" "ranks per node: 2"
expect_line "$out" "command: srun --mpi=pmix -n 4 --cpu-bind=cores --gpu-bind=closest -K1 ./app"

echo "== no launcher on PATH"
mkdir -p "$work/empty"
set +e
err=$(env -i PATH="$work/empty" "$bash_bin" "$launcher" --dry-run -n 2 ./app 2>&1)
rc=$?
set -e
printf '%s\n' "$err"
[[ $rc == 2 ]] || fail "exit code $rc, expected 2"
expect_match "$err" "no launcher found: mpirun is not on PATH"
set +e
err=$(env -i PATH="$work/empty" SLURM_JOB_ID=1 "$bash_bin" "$launcher" -n 2 ./app 2>&1)
rc=$?
set -e
printf '%s\n' "$err"
[[ $rc == 2 ]] || fail "exit code $rc under Slurm, expected 2"
expect_match "$err" "neither srun nor mpirun"

echo "== bad arguments"
set +e
"$launcher" -n zero ./app 2>/dev/null; rc1=$?
"$launcher" --dry-run 2>/dev/null; rc2=$?
set -e
[[ $rc1 == 2 && $rc2 == 2 ]] || fail "bad arguments exit $rc1/$rc2, expected 2/2"

echo PASS
