#!/bin/bash
# The merge after scripts/slurm/lessmore-array.sh: the SHARDS shards in $WORK into OUT and,
# with SCOPE patient or dataset, the cross-volume pass over all of them. The guide is
# docs/clusters.md.
#
# Submit it to run after the array whatever its tasks' outcome (afterany), so that a failed
# task makes this job fail with a message instead of leaving it pending forever:
#   sbatch --dependency=afterany:$jid scripts/slurm/lessmore-merge.sh
# It first checks what every task recorded in $WORK/status/shard-I, and merges only when
# each of the SHARDS shards is done (a task's lessmore exit 1, some inputs unreadable,
# counts as done); otherwise it names the shards to submit again and exits 3.
#
# Settings from the environment (sbatch passes the submitting shell's on):
#   WORK, SHARDS   as for lessmore-array.sh (required)
#   OUT            the merged output folder (required; must not exist or be empty)
#   MERGE_OPTIONS  more lessmore merge options, split at spaces, e.g. "--move"
#   LESSMORE       the lessmore to run (default: lessmore, found on PATH)
#   LOGS           the logs' folder (default $WORK/logs): this job logs to
#                  $LOGS/lessmore-merge-<job id>.log, unless sbatch was given --output
#
# Exit code: 0 merged ($OUT/manifest.json written; also when inputs of some shards could not
# be read: they are listed under "errors" there); 2 a setting is wrong or lessmore merge
# refused the shards (the log says why); 3 not every shard is done (the log names them);
# 127 lessmore not found; 130 stopped by SIGTERM; other: lessmore's own exit code.
#SBATCH --job-name=lessmore-merge
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=02:00:00
#SBATCH --output=/dev/null
#SBATCH --kill-on-invalid-dep=yes
set -uo pipefail

job="${SLURM_JOB_ID:-local}"
if [ "$(readlink /proc/$$/fd/1)" = /dev/null ] && [ "$(readlink /proc/$$/fd/2)" = /dev/null ]; then
    logs="${LOGS:-${WORK:+$WORK/logs}}"
    { [ -n "$logs" ] && mkdir -p "$logs"; } 2>/dev/null || logs="${HOME:-/tmp}"
    exec >>"$logs/lessmore-merge-$job.log" 2>&1
elif [ "$(readlink /proc/$$/fd/1)" = /dev/null ]; then
    exec 1>&2
fi
echo "lessmore-merge.sh: job $job on $(hostname -s), $(date -u +%FT%TZ)"
end() {  # code message: the outcome, and the exit code
    echo "lessmore-merge.sh: $2"
    exit "$1"
}

[ -n "${WORK:-}" ] || end 2 "WORK is not set (the folder of the shards; export it before sbatch)"
[ -n "${OUT:-}" ] || end 2 "OUT is not set (the merged output folder; export it before sbatch)"
[[ "${SHARDS:-}" =~ ^[1-9][0-9]*$ ]] || end 2 "SHARDS='${SHARDS:-}': set it to the number of shards, as for the array"

# Every shard done, by the outcome its task recorded last.
redo=()
for ((i = 1; i <= SHARDS; i++)); do
    line="$(head -n 1 "$WORK/status/shard-$i" 2>/dev/null)"
    case "$line" in
    "done "*) ;;
    "failed "*)
        echo "lessmore-merge.sh: shard $i failed ($line); see its log"
        redo+=("$i")
        ;;
    *)
        echo "lessmore-merge.sh: shard $i has no outcome: its task never ran to the end (cancelled, killed at its" \
             "time or memory limit, or its node failed); see its log and scontrol show job / sacct"
        redo+=("$i")
        ;;
    esac
done
if ((${#redo[@]})); then
    list="$(IFS=,; echo "${redo[*]}")"
    end 3 "not merged: ${#redo[@]} of $SHARDS shards are not done. Submit them again (they continue where they stopped) with sbatch --array=$list and the same settings, then this merge again"
fi

lessmore="${LESSMORE:-lessmore}"
bin="$(command -v -- "$lessmore")" || end 127 "cannot find '$lessmore' on $(hostname -s): set LESSMORE=/path/to/lessmore, or put its folder on PATH before sbatch; PATH=$PATH"

shards=()
for ((i = 1; i <= SHARDS; i++)); do shards+=("$WORK/shard-$i"); done
trap 'echo "lessmore-merge.sh: SIGTERM: stopping"' TERM
# shellcheck disable=SC2086  # MERGE_OPTIONS: options split at spaces, as documented
"$bin" merge "${shards[@]}" -o "$OUT" --threads "${SLURM_CPUS_PER_TASK:-1}" ${MERGE_OPTIONS:-}
code=$?
case "$code" in
0) end 0 "merged $SHARDS shards into $OUT (manifest.json written)" ;;
1)
    [ -f "$OUT/manifest.json" ] || end 1 "lessmore merge failed (exit 1) before writing $OUT/manifest.json"
    end 0 "merged $SHARDS shards into $OUT; some inputs could not be read (listed under \"errors\" in $OUT/manifest.json)"
    ;;
*) end "$code" "lessmore merge failed (exit $code); $OUT is not complete" ;;
esac
