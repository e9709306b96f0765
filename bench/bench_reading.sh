#!/usr/bin/env bash
# Reading at the speed of decompression: HASH-6 on one large .nii.gz against `gzip -dc` of
# the same file, in the same run, interleaved (issue: "a 550-slice 512x512 .nii.gz is
# reduced with HASH in no more than 1.1x the time gzip -dc takes").
#
# Usage: bench/bench_reading.sh [LESSMORE_BIN] [BASE_BIN]
#   BASE_BIN  a previous build, timed on the .nii.gz in the same interleaved runs
# Environment:
#   BENCH_RUNS    interleaved runs of each; medians reported (5)
#   BENCH_DIR     scratch folder (/tmp/lessmore-bench-reading)
#   BENCH_SLICES  slices of the generated volume (550)
# The volume: the real pancreas CT (../shared/data/ct/pancreas-ct-cb-001, 134 slices of
# 512x512) resampled along z to BENCH_SLICES slices with +-3 HU noise (so neighbouring
# slices are near-duplicates, not copies), int16, gzip -6. Also timed: the same volume
# uncompressed, and peak memory (the slab streaming keeps it independent of the length).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
LESSMORE_BIN="${1:-$HERE/../build/apps/lessmore}"
BASE_BIN="${2:-}"
RUNS="${BENCH_RUNS:-5}"
WORK="${BENCH_DIR:-/tmp/lessmore-bench-reading}"
SLICES="${BENCH_SLICES:-550}"
SRC="$HERE/../../shared/data/ct/pancreas-ct-cb-001"
need_gnu_time
[ -x "$LESSMORE_BIN" ] || die "no lessmore binary at $LESSMORE_BIN"
[ -d "$SRC" ] || die "the pancreas series is not at $SRC"

mkdir -p "$WORK"
if [ ! -f "$WORK/ct$SLICES.nii.gz" ]; then
    "$PY" - "$SRC" "$WORK/ct$SLICES.nii" "$SLICES" <<'EOF'
import glob, sys
import nibabel as nib, numpy as np, pydicom
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
slices = []
for f in sorted(glob.glob(src + "/*.dcm")):
    d = pydicom.dcmread(f)
    slices.append((d.pixel_array.astype(np.int32) + int(d.RescaleIntercept)).astype(np.int16))
vol = np.stack(slices, axis=-1)
rng = np.random.default_rng(0)
data = np.empty(vol.shape[:2] + (n,), np.int16)
for k in range(n):
    data[:, :, k] = vol[:, :, k * vol.shape[2] // n] + rng.integers(-3, 4, size=vol.shape[:2], dtype=np.int16)
img = nib.Nifti1Image(data, np.diag([0.7, 0.7, 1.0, 1.0]))
img.header.set_data_dtype(np.int16)
nib.save(img, out)
EOF
    gzip -6 -c "$WORK/ct$SLICES.nii" > "$WORK/ct$SLICES.nii.gz"
fi
warm "$WORK/ct$SLICES.nii" "$WORK/ct$SLICES.nii.gz"

rm -f "$WORK"/*.times
for ((r = 0; r < RUNS; r++)); do
    /usr/bin/time -f "%e %M" -a -o "$WORK/gzip.times" sh -c "gzip -dc '$WORK/ct$SLICES.nii.gz' > /dev/null"
    for f in nii.gz nii; do
        rm -rf "$WORK/out-$f"
        /usr/bin/time -f "%e %M" -a -o "$WORK/lessmore-$f.times" "$LESSMORE_BIN" reduce "$WORK/ct$SLICES.$f" \
            -o "$WORK/out-$f" --threshold 6 --format none --threads 2 -q >/dev/null
    done
    if [ -n "$BASE_BIN" ]; then
        rm -rf "$WORK/out-base"
        /usr/bin/time -f "%e %M" -a -o "$WORK/base-nii.gz.times" "$BASE_BIN" reduce "$WORK/ct$SLICES.nii.gz" \
            -o "$WORK/out-base" --threshold 6 --format none --threads 2 -q >/dev/null
    fi
done
med() { cut -d' ' -f"$2" "$WORK/$1.times" | median; }
gz="$(med gzip 1)"
lz="$(med lessmore-nii.gz 1)"
ln="$(med lessmore-nii 1)"
echo "HASH-6 on a ${SLICES}-slice 512x512 int16 volume, --threads 2, --format none; median of $RUNS interleaved runs."
echo
echo "| | wall s | peak RSS MB | vs gzip -dc |"
echo "|---|---:|---:|---:|"
echo "| gzip -dc > /dev/null | $gz | $(( $(med gzip 2) / 1024 )) | 1.00× |"
echo "| lessmore reduce .nii.gz | $lz | $(( $(med lessmore-nii.gz 2) / 1024 )) | $(awk -v a="$lz" -v b="$gz" 'BEGIN {printf "%.2f", a / b}')× |"
echo "| lessmore reduce .nii (uncompressed) | $ln | $(( $(med lessmore-nii 2) / 1024 )) | |"
if [ -n "$BASE_BIN" ]; then
    lb="$(med base-nii.gz 1)"
    echo "| base build ($BASE_BIN) reduce .nii.gz | $lb | $(( $(med base-nii.gz 2) / 1024 )) | $(awk -v a="$lb" -v b="$gz" 'BEGIN {printf "%.2f", a / b}')× |"
fi
awk -v a="$lz" -v b="$gz" 'BEGIN { exit !(a <= 1.1 * b) }' || die "the .nii.gz took more than 1.1x gzip -dc"
