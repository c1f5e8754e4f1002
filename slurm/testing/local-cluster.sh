#!/usr/bin/env bash
# A real Slurm cluster on this one host, for tests: slurmctld plus two slurmd
# daemons acting as virtual nodes n1 and n2 (4 CPUs and 2 fake GPUs each),
# authenticated by munge. Everything it writes (config, state, logs, spool,
# per-node tmp, fake GPU devices, pid files) lives under one directory.
#
#   slurm/testing/local-cluster.sh start    write the config, start the daemons, wait for idle nodes
#   slurm/testing/local-cluster.sh stop     cancel jobs, stop what start started (idempotent)
#   slurm/testing/local-cluster.sh status   daemons and sinfo; exit 0 only if both nodes are up
#   slurm/testing/local-cluster.sh env      print `export SLURM_CONF=...` (eval it to use the cluster)
#
# Settings (environment):
#   RANKFLOW_SLURM_DIR        where it all lives (default /tmp/rankflow-slurm)
#   RANKFLOW_SLURM_CTLD_PORT  slurmctld port (default 16817); slurmd ports are the next
#                             free ones from RANKFLOW_SLURM_NODE_PORT (default 17001, 17002)
#   RANKFLOW_SLURM_TIMEOUT    seconds `start` waits for both nodes to be idle (default 60)
#
# Needs root (slurmd runs jobs as their users) and Debian's packages
# slurm-wlm slurmctld slurmd munge slurm-wlm-basic-plugins (scripts/deps.sh).
# Commands (sbatch, srun, sinfo, ...) find this cluster through SLURM_CONF.
set -euo pipefail

DIR="${RANKFLOW_SLURM_DIR:-/tmp/rankflow-slurm}"
CTLD_PORT="${RANKFLOW_SLURM_CTLD_PORT:-16817}"
NODE_PORT="${RANKFLOW_SLURM_NODE_PORT:-17001}"
TIMEOUT="${RANKFLOW_SLURM_TIMEOUT:-60}"
NODES=(n1 n2)
HOST="$(hostname -s)"

export SLURM_CONF="$DIR/etc/slurm.conf"

log() { echo "local-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

# The pid in a pid file if that process is alive.
live_pid() {
  local f="$1" pid
  [ -s "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

write_config() {
  mkdir -p "$DIR"/{etc,state,log,run,dev}
  local n
  for n in "${NODES[@]}"; do mkdir -p "$DIR/spool/$n" "$DIR/tmp/$n"; done
  # Fake GPUs: character devices equal to /dev/null; Slurm only needs a device
  # file per GPU to hand out and to put in CUDA_VISIBLE_DEVICES.
  for n in 0 1; do
    [ -c "$DIR/dev/fakegpu$n" ] && continue
    rm -f "$DIR/dev/fakegpu$n"
    # Where mknod is not allowed (some containers), a link to /dev/null serves.
    mknod "$DIR/dev/fakegpu$n" c 1 3 2>/dev/null || ln -s /dev/null "$DIR/dev/fakegpu$n"
  done
  cat >"$DIR/etc/slurm.conf" <<EOF
# Written by slurm/testing/local-cluster.sh; rewritten on every start.
ClusterName=rankflow-local
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdSpoolDir=$DIR/spool/%n
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmdLogFile=$DIR/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
# Virtual nodes may claim more CPUs than the host has.
SlurmdParameters=config_overrides
# Each virtual node its own tmp: the PMIx plugins of the two slurmds would
# otherwise collide on the same /tmp/spmix_appdir_* directories.
TmpFS=$DIR/tmp/%n
# Per-node TMPDIR and Open MPI shared-memory directory for every task (see
# task-prolog.sh): real nodes have their own /tmp and /dev/shm.
TaskProlog=$DIR/etc/task-prolog.sh
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Short scheduling passes: heterogeneous jobs wait for one (default 30 s).
SchedulerParameters=bf_interval=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=60
GresTypes=gpu
NodeName=n1 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$NODE_PORT CPUs=4 Boards=1 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=1 RealMemory=2048 Gres=gpu:2 State=UNKNOWN
NodeName=n2 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$((NODE_PORT + 1)) CPUs=4 Boards=1 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=1 RealMemory=2048 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=n[1-2] Default=YES MaxTime=30 State=UP
EOF
  # Two virtual nodes share one host, one hostname and one /dev/shm: Open MPI's
  # shared-memory segments are named by hostname, job and local rank, so local
  # rank 0 of n1 and local rank 0 of n2 would map the same segment (and crash
  # in MPI_Init's first collectives). Each virtual node gets its own directory,
  # as separate machines would have.
  cat >"$DIR/etc/task-prolog.sh" <<EOF
#!/bin/sh
# Written by slurm/testing/local-cluster.sh; runs before every task; its
# "export" lines become the task's environment.
d="$DIR/tmp/\${SLURMD_NODENAME:-unknown}"
mkdir -p "\$d/shm" 2>/dev/null
echo "export TMPDIR=\$d"
echo "export OMPI_MCA_btl_vader_backing_directory=\$d/shm"
EOF
  chmod 0755 "$DIR/etc/task-prolog.sh"
  cat >"$DIR/etc/gres.conf" <<EOF
# Written by slurm/testing/local-cluster.sh: two fake GPUs per virtual node.
NodeName=n[1-2] Name=gpu File=$DIR/dev/fakegpu[0-1]
EOF
}

start_munge() {
  # A munged already serving the default socket is used as it is.
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    mkdir -p /etc/munge
    mungekey -c -k /etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  # --force: start even over a stale socket left by a killed munged.
  runuser -u munge -- /usr/sbin/munged --force --pid-file=/run/munge/munged.pid
  for _ in $(seq 50); do
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
      cp /run/munge/munged.pid "$DIR/run/munged.pid"  # ours: stop ends it
      return 0
    fi
    sleep 0.1
  done
  die "munged did not start (see /var/log/munge/munged.log)"
}

node_states() { sinfo -h -N -o '%N %t' 2>/dev/null | sort -u; }

diagnose() {
  log "diagnostics:"
  sinfo -N -l 2>&1 || true
  scontrol show nodes 2>&1 | grep -E 'NodeName|State|Reason' || true
  local f
  for f in "$DIR"/log/*.log; do
    [ -f "$f" ] || continue
    echo "---- tail $f"
    tail -n 30 "$f"
  done
}

# All daemons of this cluster alive (a slurmd whose pid file is not written yet counts as alive).
daemons_alive() {
  local n
  live_pid "$DIR/run/slurmctld.pid" >/dev/null || { log "slurmctld is not running"; return 1; }
  for n in "${NODES[@]}"; do
    [ -e "$DIR/run/slurmd-$n.pid" ] || continue
    live_pid "$DIR/run/slurmd-$n.pid" >/dev/null || { log "slurmd -N $n exited"; return 1; }
  done
}

# Fails when a port this cluster needs is already taken (another cluster, another slurmd).
ports_free() {
  local p busy=()
  command -v ss >/dev/null || return 0  # no iproute2: slurmd's own bind error will tell
  for p in "$CTLD_PORT" "$NODE_PORT" "$((NODE_PORT + 1))"; do
    if ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then busy+=("$p"); fi
  done
  [ ${#busy[@]} -eq 0 ] && return 0
  log "ports in use: ${busy[*]} (another cluster? set RANKFLOW_SLURM_CTLD_PORT / RANKFLOW_SLURM_NODE_PORT)"
  return 1
}

wait_idle() {
  local deadline=$((SECONDS + TIMEOUT)) states n st all
  while :; do
    states="$(node_states)"
    all=1
    for n in "${NODES[@]}"; do
      st="$(awk -v n="$n" '$1 == n {print $2}' <<<"$states")"
      case "$st" in
        idle | mix | alloc) ;;
        drain* | drng | down* | fail*)
          all=0
          scontrol update nodename="$n" state=resume >/dev/null 2>&1 || true ;;
        *) all=0 ;;
      esac
    done
    if [ "$all" = 1 ]; then
      # A slurmd registers before it binds its port, so idle nodes alone do not
      # prove it stayed up: look again a moment later.
      sleep 0.5
      daemons_alive && return 0
      diagnose
      return 1
    fi
    if ! daemons_alive; then
      diagnose
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "nodes not idle after ${TIMEOUT}s: $(tr '\n' ' ' <<<"$states")"
      diagnose
      return 1
    fi
    sleep 0.5
  done
}

cmd_start() {
  [ "$(id -u)" -eq 0 ] || die "needs root"
  local b
  for b in slurmctld slurmd munged sinfo; do
    command -v "$b" >/dev/null || die "missing $b: run scripts/deps.sh"
  done
  if ! live_pid "$DIR/run/slurmctld.pid" >/dev/null; then
    ports_free || die "cannot start"
    write_config
  fi
  start_munge
  if ! live_pid "$DIR/run/slurmctld.pid" >/dev/null; then
    # -c: a fresh start, without jobs or node states left from an earlier run.
    slurmctld -c -f "$SLURM_CONF" || { diagnose; die "slurmctld failed to start"; }
  fi
  local n
  # slurmd contacts slurmctld when it starts: wait until slurmctld answers.
  for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.2; done
  for n in "${NODES[@]}"; do
    if ! live_pid "$DIR/run/slurmd-$n.pid" >/dev/null; then
      slurmd -f "$SLURM_CONF" -N "$n" || { diagnose; die "slurmd -N $n failed to start"; }
    fi
  done
  wait_idle || die "cluster did not come up"
  log "up: nodes ${NODES[*]} idle; use it with: export SLURM_CONF=$SLURM_CONF"
}

# Sends TERM to the process in a pid file, waits, then KILL; removes the file.
stop_pid() {
  local f="$1" pid
  pid="$(live_pid "$f")" || { rm -f "$f"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$f"
}

cmd_stop() {
  [ -d "$DIR/run" ] || { log "not running"; return 0; }
  if live_pid "$DIR/run/slurmctld.pid" >/dev/null; then
    # Jobs first, so that no job step outlives the daemons.
    local jobs
    jobs="$(squeue -h -o %A 2>/dev/null || true)"
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      for _ in $(seq 40); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.25; done
    fi
  fi
  local n
  for n in "${NODES[@]}"; do stop_pid "$DIR/run/slurmd-$n.pid"; done
  stop_pid "$DIR/run/slurmctld.pid"
  stop_pid "$DIR/run/munged.pid"  # only present when start launched munged
  log "stopped"
}

cmd_status() {
  local rc=0 f
  for f in slurmctld "slurmd-${NODES[0]}" "slurmd-${NODES[1]}" munged; do
    if pid="$(live_pid "$DIR/run/$f.pid")"; then echo "$f: running (pid $pid)"; else echo "$f: not started here"; fi
  done
  live_pid "$DIR/run/slurmctld.pid" >/dev/null || { echo "cluster: down"; return 1; }
  sinfo -N -o '%N %t %c %G' || rc=1
  local states n
  states="$(node_states)"
  for n in "${NODES[@]}"; do
    awk -v n="$n" '$1 == n && $2 ~ /^(idle|mix|alloc)$/ {ok=1} END {exit !ok}' <<<"$states" || rc=1
  done
  return "$rc"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) echo "export SLURM_CONF=$SLURM_CONF" ;;
  *) echo "usage: $0 {start|stop|status|env}" >&2; exit 2 ;;
esac
