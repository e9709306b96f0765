#!/bin/bash
# A private single-node SLURM on this machine, to try lessmore's SLURM job scripts before a
# real cluster (docs/clusters.md, section "On one machine"). tests/cli/slurm_cluster_test.sh
# starts and stops its SLURM with this script, so the documented set-up is the tested one.
#
# Usage: bash scripts/slurm/single-node.sh start  [DIR]   start it (or find it running); prints
#                                                           the line to run: export SLURM_CONF=DIR/slurm.conf
#        bash scripts/slurm/single-node.sh status [DIR]   is it running? (exit 0 yes, 1 no)
#        bash scripts/slurm/single-node.sh stop   [DIR]   cancel its jobs, stop its daemons (DIR stays)
# DIR holds everything: slurm.conf, the munge key and socket, the daemons' state, pid files
# and logs (slurmctld.log, slurmd.log, munged.log). Default: the folder of $SLURM_CONF when
# that is one of these, else ${TMPDIR:-/tmp}/lessmore-slurm-<user>. Delete DIR after `stop`
# to forget the cluster.
#
# What it starts: munged with its own key and socket in DIR (not the system's munge),
# slurmctld and slurmd for one node (this host, reached at 127.0.0.1) on two free TCP ports,
# one partition "local". The node has this machine's CPUs and memory (as `slurmd -C` reports
# them) and SelectTypeParameters=CR_CPU_Memory, so jobs are placed by --cpus-per-task and
# --mem, and a job without --mem gets its CPUs' share (DefMemPerCPU); a job asking for more
# CPUs or memory than the node has is refused by sbatch (EnforcePartLimits=ALL) instead of
# waiting forever. No cgroups: --mem is used for placing jobs, not enforced. No accounting database, so `sacct` does not work here;
# finished jobs stay visible to `scontrol show job` for an hour (MinJobAge=3600).
#
# Needs Debian's slurm-wlm and munge (apt-get install slurm-wlm munge; scripts/setup.sh test
# installs them). Root is not needed: run it as yourself and jobs run as you; run as root and
# they run as root. It touches nothing outside DIR (no /etc/slurm, /etc/munge, systemd).
# Running `start` again is harmless: a running cluster is reused, a stopped one restarted.
# Exit: 0 done, 1 a daemon did not start (its log's end is shown), 2 usage or missing tools.
set -uo pipefail
PATH="$PATH:/usr/sbin:/sbin"  # slurmctld, slurmd, munged live there; not on a normal user's PATH

me="single-node.sh"
die() { echo "$me: $*" >&2; exit "${code:-1}"; }
usage() { echo "usage: bash scripts/slurm/single-node.sh start|status|stop [DIR]" >&2; exit 2; }

action="${1:-}"
case "$action" in start|status|stop) ;; *) usage ;; esac
[ $# -le 2 ] || usage
user="$(id -un)"
marker=".lessmore-single-node"
if [ -n "${2:-}" ]; then
    dir="$2"
elif [ -n "${SLURM_CONF:-}" ] && [ -f "$(dirname "$SLURM_CONF")/$marker" ]; then
    dir="$(dirname "$SLURM_CONF")"
else
    dir="${TMPDIR:-/tmp}/lessmore-slurm-$user"
fi
# A Unix socket's path holds at most 107 bytes.
[ "${#dir}" -le 90 ] || code=2 die "$dir: too long a path for munge's socket in it; give a shorter folder"
if [ "$action" != start ] && [ ! -d "$dir" ]; then
    echo "$me: not running ($dir does not exist)" >&2
    [ "$action" = stop ]
    exit
fi
mkdir -p "$dir" 2>/dev/null || code=2 die "cannot create $dir"
dir="$(cd "$dir" && pwd -P)"
[ -O "$dir" ] || code=2 die "$dir belongs to another user; give a folder of your own"
if [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/$marker" ]; then
    code=2 die "$dir is not empty and was not made by this script; give an empty or new folder"
fi
touch "$dir/$marker"
chmod 700 "$dir"  # the munge key is in it
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

# A pid from a pid file, if that process is alive and was started with DIR on its command
# line (a stale file's pid may belong to someone else's process by now).
ours() {
    local pid
    pid="$(cat "$dir/$1.pid" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/" || return 1
    echo "$pid"
}
node_state() { sinfo -h -o %T 2>/dev/null | head -n 1; }
running() {
    ours munged >/dev/null && ours slurmctld >/dev/null && ours slurmd >/dev/null || return 1
    case "$(node_state)" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac
}

stop_pid() {  # name: TERM, wait up to 10 s, then KILL
    local pid
    pid="$(ours "$1")" || return 0
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do [ -d "/proc/$pid" ] || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
}

stop_all() {
    if ours slurmctld >/dev/null; then
        local jobs
        jobs="$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')"
        if [ -n "${jobs// /}" ]; then
            echo "$me: cancelling jobs $jobs" >&2
            # shellcheck disable=SC2086  # job ids, one word each
            scancel $jobs 2>/dev/null
            for _ in $(seq 100); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.1; done
        fi
        scontrol shutdown >/dev/null 2>&1
    fi
    stop_pid slurmd
    stop_pid slurmctld
    stop_pid munged
    rm -f "$dir/munge.sock" "$dir/munge.sock.lock"
}

show_logs() {
    local f
    for f in munged.log slurmctld.log slurmd.log; do
        [ -s "$dir/$f" ] && { echo "--- $dir/$f (end)"; tail -n 5 "$dir/$f"; } >&2
    done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_conf() {
    local node="$1" cpus mem port tries=0
    # The node as slurmd sees this machine, so its registration matches the configuration.
    cpus="$(slurmd -C 2>/dev/null | grep -o 'CPUs=[0-9]*' | head -n 1 | cut -d= -f2)"
    mem="$(slurmd -C 2>/dev/null | grep -o 'RealMemory=[0-9]*' | head -n 1 | cut -d= -f2)"
    [ -n "$cpus" ] || cpus="$(nproc)"
    [ -n "$mem" ] || mem="$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)"
    while :; do
        port=$((20000 + RANDOM % 40000))
        port_free "$port" && port_free $((port + 1)) && break
        tries=$((tries + 1))
        [ "$tries" -lt 50 ] || die "found no two free TCP ports"
    done
    cat >"$conf.tmp" <<CONF
# Written by scripts/slurm/single-node.sh: a private one-node SLURM in $dir.
ClusterName=lessmore
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$((mem / cpus))
MinJobAge=3600
EnforcePartLimits=ALL
ReturnToService=2
SlurmdTimeout=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    mv "$conf.tmp" "$conf"
}

start() {
    local c node
    for c in munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
        command -v "$c" >/dev/null || code=2 die "$c is not installed (Debian: apt-get install slurm-wlm munge)"
    done
    if running; then
        echo "$me: already running in $dir" >&2
        echo "export SLURM_CONF=$conf"
        return 0
    fi
    stop_all  # whatever is left of an earlier start
    node="$(hostname -s)"
    mkdir -p "$dir/state" "$dir/spool"
    if [ ! -f "$dir/munge.key" ]; then
        mungekey --create --keyfile="$dir/munge.key" >/dev/null 2>&1 || die "mungekey could not create $dir/munge.key"
    fi
    # --force: munged refuses sockets and logs in folders it considers insecure, such as /tmp.
    munged --force --key-file="$dir/munge.key" --socket="$dir/munge.sock" --pid-file="$dir/munged.pid" \
        --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" >/dev/null 2>&1
    for _ in $(seq 50); do [ -S "$dir/munge.sock" ] && break; sleep 0.1; done
    [ -S "$dir/munge.sock" ] || { show_logs; die "munged did not start"; }

    write_conf "$node"
    # -i: start even if the state kept in DIR from an earlier run is unreadable.
    slurmctld -i -f "$conf" >"$dir/slurmctld.out" 2>&1 || { show_logs; stop_all; die "slurmctld did not start"; }
    slurmd -f "$conf" -N "$node" >"$dir/slurmd.out" 2>&1 || { show_logs; stop_all; die "slurmd did not start"; }
    for _ in $(seq 150); do running && break; sleep 0.2; done
    if ! running || [ "$(node_state)" != idle ]; then
        sinfo -R >&2 2>/dev/null
        show_logs
        stop_all
        die "node $node did not become idle (state: $(node_state))"
    fi
    echo "$me: SLURM running: node $node ($(sinfo -h -o '%c CPUs, %m MB'), partition local), jobs run as $user;" \
         "state and logs in $dir; stop with: bash scripts/slurm/single-node.sh stop $dir" >&2
    echo "export SLURM_CONF=$conf"
}

case "$action" in
start) start ;;
status)
    if running; then
        sinfo
        echo "export SLURM_CONF=$conf"
    else
        echo "$me: not running ($dir)" >&2
        exit 1
    fi
    ;;
stop)
    stop_all
    echo "$me: stopped ($dir stays; delete it to forget the cluster)" >&2
    ;;
esac
