#!/usr/bin/env bash
# Two lessmore builds timed in the same run, interleaved, on the HASH workloads the
# docs/performance.md reports: one 402-slice DICOM series, and a dataset of DICOM and .nii.gz volumes.
# Used to show that a change (e.g. decoding in worker processes) costs no speed.
#
# Usage: bench/bench_before_after.sh BASE_BIN NEW_BIN
# Environment:
#   BENCH_RUNS    timed runs per binary and workload, interleaved; medians reported (7)
#   BENCH_DIR     scratch folder (/tmp/lessmore-before-after)
#   BENCH_VOLUMES volumes in the dataset (60, 128x128, 150-250 slices, half DICOM)
# Prints a markdown table: wall-clock medians, peak RSS and the new/base ratio; both
# binaries must keep the same slices (the manifests are compared without timings).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
BASE_BIN="${1:?usage: $0 BASE_BIN NEW_BIN}"
NEW_BIN="${2:?usage: $0 BASE_BIN NEW_BIN}"
RUNS="${BENCH_RUNS:-7}"
WORK="${BENCH_DIR:-/tmp/lessmore-before-after}"
VOLUMES="${BENCH_VOLUMES:-60}"
need_gnu_time

mkdir -p "$WORK"
[ -d "$WORK/series" ] || "$PY" "$HERE/make_series.py" "$WORK/series" --copies 3 >/dev/null
[ -d "$WORK/dataset" ] || "$PY" "$HERE/make_dataset.py" "$WORK/dataset" --volumes "$VOLUMES" --seed 0 >/dev/null
warm "$WORK/series" "$WORK/dataset"

# one BIN INPUT OUT: wall seconds and peak RSS (MB) of one reduce, appended to OUT.times
one() {
    local bin="$1" input="$2" out="$3"
    rm -rf "$out"
    /usr/bin/time -f "%e %M" -o "$out.t" "$bin" reduce "$input" -o "$out" --threshold 6 --format png --threads 2 -q >/dev/null
    cat "$out.t" >> "$out.times"
}

rows=()
for workload in series dataset; do
    for which in base new; do rm -f "$WORK/$workload-$which.times"; done
    for ((r = 0; r < RUNS; r++)); do
        one "$BASE_BIN" "$WORK/$workload" "$WORK/$workload-base"
        one "$NEW_BIN" "$WORK/$workload" "$WORK/$workload-new"
    done
    "$PY" - "$WORK/$workload-base/manifest.json" "$WORK/$workload-new/manifest.json" <<'EOF' || die "$workload: the builds keep different slices"
import json, sys
def kept(p):
    m = json.load(open(p))
    return {v["id"]: [s["index"] for s in v["slices"] if s["kept"]] for v in m["volumes"]}
sys.exit(0 if kept(sys.argv[1]) == kept(sys.argv[2]) else 1)
EOF
    b_wall="$(cut -d' ' -f1 "$WORK/$workload-base.times" | median)"
    n_wall="$(cut -d' ' -f1 "$WORK/$workload-new.times" | median)"
    b_rss="$(cut -d' ' -f2 "$WORK/$workload-base.times" | median)"
    n_rss="$(cut -d' ' -f2 "$WORK/$workload-new.times" | median)"
    ratio="$(awk -v b="$b_wall" -v n="$n_wall" 'BEGIN {printf "%.3f", n / b}')"
    rows+=("| $workload | $b_wall | $n_wall | $ratio | $((b_rss / 1024)) | $((n_rss / 1024)) |")
done

slices_series="$(find "$WORK/series" -type f | wc -l)"
echo "HASH-6, --threads 2, --format png; median of $RUNS interleaved runs each; series: $slices_series DICOM slices;"
echo "dataset: $VOLUMES volumes of make_dataset.py (seed 0)."
echo
echo "| workload | base s | new s | new/base | base MB | new MB |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
