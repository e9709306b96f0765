#!/usr/bin/env bash
# Dataset throughput of HASH-6 from the page cache, --format none, --threads 2: four
# 402-slice 512x512 uncompressed DICOM series (bench/make_series.py, 1,608 slices), timed
# against the reading limit (the same files copied out of the page cache by two `cat`
# processes) and, if given, a base build, interleaved; medians; slices/s.
#
# Usage: bench/bench_throughput.sh [NEW_BIN] [BASE_BIN]
# Environment: BENCH_RUNS interleaved runs (5), BENCH_DIR scratch folder (/tmp/lessmore-bench-throughput)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
NEW_BIN="${1:-$HERE/../build/apps/lessmore}"
BASE_BIN="${2:-}"
RUNS="${BENCH_RUNS:-5}"
WORK="${BENCH_DIR:-/tmp/lessmore-bench-throughput}"
need_gnu_time
mkdir -p "$WORK/data"
for i in 1 2 3 4; do
    [ -d "$WORK/data/s$i" ] || "$PY" "$HERE/make_series.py" "$WORK/data/s$i" --copies 3 >/dev/null
done
warm "$WORK/data"
slices="$(find "$WORK/data" -type f | wc -l)"
rm -f "$WORK"/*.times
for ((r = 0; r < RUNS; r++)); do
    /usr/bin/time -f "%e %M" -a -o "$WORK/cat.times" sh -c \
        "find '$WORK/data' -type f -print0 | xargs -0 -P 2 -n 64 cat > /dev/null"
    for which in new base; do
        bin="$NEW_BIN"; [ "$which" = base ] && bin="$BASE_BIN"
        [ -n "$bin" ] || continue
        rm -rf "$WORK/out-$which"
        /usr/bin/time -f "%e %M" -a -o "$WORK/$which.times" "$bin" reduce "$WORK/data" -o "$WORK/out-$which" \
            --threshold 6 --format none --threads 2 -q >/dev/null
    done
done
echo "HASH-6, --format none, --threads 2, $slices slices of 512x512 (4 DICOM series); median of $RUNS interleaved runs; load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| | wall s | slices/s | peak RSS MB |"
echo "|---|---:|---:|---:|"
for which in cat base new; do
    [ -f "$WORK/$which.times" ] || continue
    w="$(cut -d' ' -f1 "$WORK/$which.times" | median)"
    m="$(cut -d' ' -f2 "$WORK/$which.times" | median)"
    label="lessmore ($which)"; [ "$which" = cat ] && label="reading limit: the files through 2 x cat"
    echo "| $label | $w | $(awk -v s="$slices" -v w="$w" 'BEGIN {printf "%.0f", s / w}') | $((m / 1024)) |"
done
