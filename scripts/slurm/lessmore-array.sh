#!/bin/bash
# One shard of a lessmore run per SLURM array task; scripts/slurm/lessmore-merge.sh joins
# the shards. The guide is docs/clusters.md; tests/cli/slurm_cluster_test.sh runs its
# commands on a real single-node SLURM.
#
# Submit (options on the sbatch command line override the #SBATCH defaults below; the
# array must be 1-$SHARDS, or a part of it to redo some shards):
#   export DATA=/data/PET-CT WORK=/scratch/petct-hash6 OUT=/data/PET-CT-hash6 SHARDS=50
#   jid=$(sbatch --parsable --array=1-$SHARDS --cpus-per-task=8 --mem=16G scripts/slurm/lessmore-array.sh)
#   sbatch --dependency=afterany:$jid scripts/slurm/lessmore-merge.sh
#
# Settings come from the environment (sbatch passes the submitting shell's on):
#   DATA       what lessmore reduce reads: a dataset folder or volume (required)
#   WORK       a folder every node can write (required): task I writes the shard
#              $WORK/shard-I (a lessmore OUT) and its outcome $WORK/status/shard-I
#   SHARDS     the number of shards (required); submit with --array=1-$SHARDS
#   THRESHOLD  --threshold (default 6); set it empty to leave it out (for --fraction, say)
#   SCOPE      --scope: volume (default), patient or dataset; the cross-volume pass of
#              patient and dataset runs in the merge, over all shards
#   REDUCE_OPTIONS  more lessmore reduce options, split at spaces, e.g. "--format npy"
#   LESSMORE   the lessmore to run (default: lessmore, found on PATH)
#   LOGS       the logs' folder (default $WORK/logs, made if missing): this task logs to
#              $LOGS/lessmore-<array job id>_<task>.log, unless sbatch was given --output
# lessmore gets --shard I/$SHARDS --threads $SLURM_CPUS_PER_TASK --progress none --resume,
# so a requeued, preempted or resubmitted task continues where it stopped.
#
# Exit code (the task's state in squeue/sacct/scontrol):
#   0    the shard is done. Also when lessmore exits 1 with the shard's manifest.json
#        written: some inputs could not be read; they are named in this log and in the
#        manifest's "errors", and the merge lists them again
#   2    a setting is wrong, or lessmore refused its options or WORK (the log says which)
#   127  lessmore was not found or does not run on this node
#   130  stopped by SIGTERM (time limit, scancel, preemption); submit the task again
#   other: lessmore's own exit code (see the log)
#SBATCH --job-name=lessmore
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=02:00:00
#SBATCH --output=/dev/null
set -uo pipefail

task="${SLURM_ARRAY_TASK_ID:-}"
job="${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-local}}_${task}"

# Logs: nowhere near the submit folder (often a source tree) unless asked. sbatch's own
# --output default is /dev/null above, so an output still going there was not chosen.
if [ "$(readlink /proc/$$/fd/1)" = /dev/null ] && [ "$(readlink /proc/$$/fd/2)" = /dev/null ]; then
    logs="${LOGS:-${WORK:+$WORK/logs}}"
    { [ -n "$logs" ] && mkdir -p "$logs"; } 2>/dev/null || logs="${HOME:-/tmp}"
    exec >>"$logs/lessmore-$job.log" 2>&1
elif [ "$(readlink /proc/$$/fd/1)" = /dev/null ]; then
    exec 1>&2
fi
echo "lessmore-array.sh: task $job on $(hostname -s), $(date -u +%FT%TZ)"

status=""
finish() {  # code [message]: the outcome, recorded for the merge, and the exit code
    local code="$1" word=failed
    [ -n "${2:-}" ] && echo "lessmore-array.sh: $2"
    [ "$code" -eq 0 ] && word="done"
    if [ -n "$status" ]; then
        echo "$word exit=${lessmore_code:-$code} job=$job host=$(hostname -s) at=$(date -u +%FT%TZ)" >"$status.tmp" &&
            mv -f "$status.tmp" "$status"
    fi
    exit "$code"
}

[ -n "${WORK:-}" ] || finish 2 "WORK is not set (the folder for the shards; export it before sbatch)"
mkdir -p "$WORK/status" || finish 2 "WORK=$WORK: cannot create $WORK/status"
[ -n "$task" ] || finish 2 "not an array task: submit with sbatch --array=1-\$SHARDS"
status="$WORK/status/shard-$task"
rm -f "$status"  # the outcome of this attempt only; a task killed outright leaves none
[ -n "${DATA:-}" ] || finish 2 "DATA is not set (the dataset to reduce; export it before sbatch)"
[[ "${SHARDS:-}" =~ ^[1-9][0-9]*$ ]] || finish 2 "SHARDS='${SHARDS:-}': set it to the number of shards (submit with --array=1-\$SHARDS)"
[ "$task" -le "$SHARDS" ] || finish 2 "array task $task is beyond SHARDS=$SHARDS (submit with --array=1-$SHARDS)"

lessmore="${LESSMORE:-lessmore}"
if ! bin="$(command -v -- "$lessmore")"; then
    finish 127 "cannot find '$lessmore' on $(hostname -s): set LESSMORE=/path/to/lessmore, or put its folder on PATH before sbatch (cmake --install build --prefix ~/.local puts it in ~/.local/bin); PATH=$PATH"
fi
if ! version="$("$bin" --version 2>&1)"; then
    finish 127 "$bin does not run on $(hostname -s): $version"
fi
echo "lessmore-array.sh: $bin ($version), shard $task/$SHARDS of $DATA into $WORK/shard-$task"

# SIGTERM (time limit, scancel, preemption) reaches lessmore too, which stops cleanly and
# exits 130; with the trap, bash waits for it and records the outcome instead of dying first.
trap 'echo "lessmore-array.sh: SIGTERM: stopping (--resume continues from here)"' TERM
threshold=()
[ -n "${THRESHOLD-6}" ] && threshold=(--threshold "${THRESHOLD-6}")
# shellcheck disable=SC2086  # REDUCE_OPTIONS: options split at spaces, as documented
"$bin" reduce "$DATA" -o "$WORK/shard-$task" "${threshold[@]}" --scope "${SCOPE:-volume}" \
    --shard "$task/$SHARDS" --threads "${SLURM_CPUS_PER_TASK:-1}" --progress none --resume ${REDUCE_OPTIONS:-}
lessmore_code=$?
case "$lessmore_code" in
0) finish 0 "shard $task done" ;;
1)
    # 1 is also any other error (say, WORK not writable); only a written manifest means done.
    [ -f "$WORK/shard-$task/manifest.json" ] || finish 1 "lessmore failed (exit 1) before writing the shard's manifest"
    finish 0 "shard $task done; the inputs above could not be read (listed under \"errors\" in $WORK/shard-$task/manifest.json)"
    ;;
130) finish 130 "stopped before the shard was done; submit this task again to continue" ;;
*) finish "$lessmore_code" "lessmore failed (exit $lessmore_code); the shard is not done" ;;
esac
