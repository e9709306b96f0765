#!/bin/bash
# One shard of a lessmore run per SLURM array task; the README's cluster recipe, run for
# real by tests/cli/slurm_cluster_test.sh. Submit, then merge when every task succeeded:
#   jid=$(sbatch --parsable scripts/slurm/lessmore-array.sh)
#   sbatch --dependency=afterok:$jid scripts/slurm/lessmore-merge.sh
# Settings come from the environment (sbatch passes it on): DATA, WORK (the shards go to
# $WORK/shard-<task>), THRESHOLD (6), SCOPE (volume), LESSMORE (lessmore).
#SBATCH --job-name=lessmore --array=1-50 --cpus-per-task=8 --mem=16G --time=02:00:00
#SBATCH --output=lessmore-%A_%a.log
set -uo pipefail
: "${DATA:=/data/PET-CT}" "${WORK:=/scratch/petct-hash6}" "${LESSMORE:=lessmore}"
"$LESSMORE" reduce "$DATA" -o "$WORK/shard-$SLURM_ARRAY_TASK_ID" \
    --threshold "${THRESHOLD:-6}" --scope "${SCOPE:-volume}" \
    --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" \
    --threads "${SLURM_CPUS_PER_TASK:-1}" --progress none --resume
status=$?
# 1: some inputs could not be read (listed in the shard's manifest); the shard is complete.
[ "$status" -le 1 ] || exit "$status"
