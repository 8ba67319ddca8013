#!/usr/bin/env bash
# Stop the one-node Slurm that scripts/start-slurm.sh started: cancel the jobs of that cluster,
# then stop slurmd, slurmctld and munged through the pid files in its state folder
# ($NNLIFE_SLURM_DIR, default /var/tmp/nnlife-slurm). A daemon is signalled only when its pid
# file names a running process of that name, so nothing else on the machine is touched. The
# state folder (configuration, munge key, logs) stays for the next start. Running it again, or
# when nothing runs, is harmless.
set -euo pipefail

STATE=${NNLIFE_SLURM_DIR:-/var/tmp/nnlife-slurm}
CONF=$STATE/slurm.conf
export SLURM_CONF=$CONF

say() { echo "stop-slurm: $*" >&2; }

alive() {   # alive NAME PIDFILE: the pid file names a running process whose command is NAME
    local pid
    [[ -s $2 ]] || return 1
    pid=$(<"$2")
    [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/comm ]] && [[ $(</proc/"$pid"/comm) == "$1" ]]
}

# --- the cluster's jobs first, while slurmctld can still cancel them ------------------------------
if alive slurmctld "$STATE/slurmctld.pid" && [[ -f $CONF ]]; then
    jobs=$(squeue -h -o %i 2>/dev/null || true)
    if [[ -n $jobs ]]; then
        say "cancelling jobs $(echo $jobs)"
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null || true
        for ((i = 0; i < 30; i++)); do
            [[ -z $(squeue -h -o %i 2>/dev/null || true) ]] && break
            sleep 0.5
        done
    fi
fi

# --- the daemons, in reverse order of starting ------------------------------------------------------
stop() {   # stop NAME PIDFILE
    local name=$1 pidfile=$2 pid i
    if ! alive "$name" "$pidfile"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(<"$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        [[ -d /proc/$pid ]] || break
        sleep 0.2
    done
    if [[ -d /proc/$pid ]] && alive "$name" "$pidfile"; then
        say "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    say "$name stopped (pid $pid)"
}
stop slurmd "$STATE/slurmd.pid"
stop slurmctld "$STATE/slurmctld.pid"
stop munged "$STATE/munge/munged.pid"

# --- the /etc/slurm/slurm.conf link, when it is start-slurm.sh's ------------------------------------
if [[ -L /etc/slurm/slurm.conf && $(readlink /etc/slurm/slurm.conf) == "$CONF" ]]; then
    rm -f /etc/slurm/slurm.conf
fi
