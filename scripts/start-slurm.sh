#!/usr/bin/env bash
# A one-node Slurm on this machine, for trying `nnlife generate --scheduler slurm.yaml` and for the
# test suite (tests/test_engine_slurm.py; `make test` runs this first).
#
#   sudo bash scripts/start-slurm.sh          # prints: export SLURM_CONF=/var/tmp/nnlife-slurm/slurm.conf
#   sudo bash scripts/stop-slurm.sh           # stops what this script started, nothing else
#
# What it does (as root; each step is skipped when already done, so running it again is harmless):
#   1. installs Debian's slurm-wlm and munge when slurmctld, slurmd, sbatch or munged is missing;
#   2. writes, under its state folder ($NNLIFE_SLURM_DIR, default /var/tmp/nnlife-slurm), a
#      munge key and a slurm.conf for this machine: one node with the CPUs and memory that
#      `slurmd -C` reports, one partition `nnlife`, proctrack/linuxproc, task/none, select/cons_tres
#      (no cgroups, no accounting database); links /etc/slurm/slurm.conf to it when that file
#      does not exist, so plain `sinfo` works;
#   3. starts munged (on its own socket in the state folder, not the system's), slurmctld and
#      slurmd, each with its pid file in the state folder;
#   4. waits until `sinfo` shows the node up (idle, or busy with jobs when it was running already).
# Environment: NNLIFE_SLURM_DIR (state folder), NNLIFE_SLURM_PORT (slurmctld port, default 6817;
# slurmd gets the next one), NNLIFE_SLURM_TIMEOUT (seconds to wait for the node, default 90).
set -euo pipefail

STATE=${NNLIFE_SLURM_DIR:-/var/tmp/nnlife-slurm}
PORT=${NNLIFE_SLURM_PORT:-6817}
TIMEOUT=${NNLIFE_SLURM_TIMEOUT:-90}
CONF=$STATE/slurm.conf
MUNGE=$STATE/munge
export SLURM_CONF=$CONF

say() { echo "start-slurm: $*" >&2; }
die() { say "error: $*"; exit 1; }

# alive NAME PIDFILE: the pid file names a running process whose command is NAME
alive() {
    local pid
    [[ -s $2 ]] || return 1
    pid=$(<"$2")
    [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/comm ]] && [[ $(</proc/"$pid"/comm) == "$1" ]]
}

show_log() { [[ -f $1 ]] && { say "last lines of $1:"; tail -n 15 "$1" >&2; }; return 0; }

[[ $(id -u) == 0 ]] || die "run it as root (sudo bash $0): it installs packages and starts slurmd, which launches jobs as their user"

# --- 1. packages --------------------------------------------------------------------------------
missing=()
for cmd in slurmctld slurmd sbatch sinfo munged mungekey; do
    command -v "$cmd" >/dev/null || missing+=("$cmd")
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null || die "${missing[*]} not found and there is no apt-get; install Slurm and MUNGE with your package manager"
    say "installing slurm-wlm and munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

# --- 2. state folder, munge key, slurm.conf -----------------------------------------------------
mkdir -p "$STATE" "$STATE/ctld" "$STATE/spool" "$STATE/log" "$MUNGE/private"
chmod 755 "$STATE" "$MUNGE"          # munged insists: its socket's folder is searchable by all,
chmod 700 "$MUNGE/private"           # its key's folder private
[[ -s $MUNGE/private/munge.key ]] || mungekey --create --keyfile="$MUNGE/private/munge.key" --bits=1024

node=$(slurmd -C | head -n 1)        # NodeName=vm CPUs=2 Boards=1 ... RealMemory=24105
[[ $node == NodeName=* ]] || die "slurmd -C gave no node line: $node"
host=${node#NodeName=}
host=${host%% *}
new=$(cat <<EOF
# Written by nnlife's scripts/start-slurm.sh: a one-node Slurm for trying the Slurm path.
ClusterName=nnlife
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE/munge.socket
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
$node State=UNKNOWN
PartitionName=nnlife Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
)
if [[ ! -f $CONF ]] || [[ $(<"$CONF") != "$new" ]]; then
    alive slurmctld "$STATE/slurmctld.pid" && die "$CONF would change while slurmctld runs; run scripts/stop-slurm.sh first"
    printf '%s\n' "$new" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
    say "wrote $CONF"
fi
if [[ ! -e /etc/slurm/slurm.conf && ! -L /etc/slurm/slurm.conf ]]; then
    mkdir -p /etc/slurm && ln -s "$CONF" /etc/slurm/slurm.conf
fi

# --- 3. daemons, each started only when its pid file names no running one ------------------------
if ! alive munged "$MUNGE/munged.pid"; then
    munged --socket="$MUNGE/munge.socket" --key-file="$MUNGE/private/munge.key" \
        --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" \
        --seed-file="$MUNGE/private/munged.seed" || { show_log "$MUNGE/munged.log"; die "munged did not start"; }
    say "munged started (pid $(<"$MUNGE/munged.pid"))"
fi
start() {   # start NAME: slurmctld or slurmd; they fork and write their pid file
    local name=$1 pidfile=$STATE/$1.pid i
    alive "$name" "$pidfile" && return 0
    rm -f "$pidfile"
    "$name" || { show_log "$STATE/log/$name.log"; die "$name did not start"; }
    for ((i = 0; i < 50; i++)); do alive "$name" "$pidfile" && break; sleep 0.2; done
    alive "$name" "$pidfile" || { show_log "$STATE/log/$name.log"; die "$name exited after starting"; }
    say "$name started (pid $(<"$pidfile"))"
}
start slurmctld
start slurmd

# --- 4. wait for the node --------------------------------------------------------------------------
deadline=$((SECONDS + TIMEOUT))
state=""
while ((SECONDS < deadline)); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null | head -n 1 || true)
    case $state in
        idle | mixed | allocated | completing) break ;;
        down* | drain* | fail*) scontrol update NodeName="$host" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 1
done
case $state in
    idle | mixed | allocated | completing) ;;
    *) show_log "$STATE/log/slurmctld.log"; show_log "$STATE/log/slurmd.log"
       die "node $host is '${state:-not reported}' after ${TIMEOUT}s (logs above)" ;;
esac
say "node $host is $state; partition nnlife ($(sinfo -h -o %C | awk -F/ '{print $4}') CPUs)"
echo "export SLURM_CONF=$CONF"
