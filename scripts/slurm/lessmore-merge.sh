#!/bin/bash
# The merge after scripts/slurm/lessmore-array.sh (submit with --dependency=afterok:<array
# job id>): every shard into OUT, and with --scope patient|dataset the cross-volume pass.
# Settings from the environment: WORK (where the shards are), OUT, LESSMORE (lessmore).
#SBATCH --job-name=lessmore-merge --cpus-per-task=8 --mem=16G --time=01:00:00
#SBATCH --output=lessmore-merge-%j.log
set -uo pipefail
: "${WORK:=/scratch/petct-hash6}" "${OUT:=/data/PET-CT-hash6}" "${LESSMORE:=lessmore}"
"$LESSMORE" merge "$WORK"/shard-* -o "$OUT" --threads "${SLURM_CPUS_PER_TASK:-1}" -q
status=$?
[ "$status" -le 1 ] || exit "$status"
