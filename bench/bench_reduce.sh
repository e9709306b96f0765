#!/usr/bin/env bash
# Whole-command benchmark: lessmore vs the paper authors' Python HASH pipeline.
#
# Usage: bench/bench_reduce.sh [LESSMORE_BIN]
#   LESSMORE_BIN  default /work/main/build/apps/lessmore; if it is missing the
#                 Python rows still run and the lessmore rows are skipped.
# Environment:
#   BENCH_COPIES  passes of the 134-slice real series in the test series (3)
#   BENCH_RUNS    timed runs per configuration; the median is reported (3)
#   BENCH_DIR     scratch folder (/tmp/lessmore-bench), wiped per run
#
# Steps: build the series (make_series.py), warm the page cache, time each
# pipeline BENCH_RUNS times with GNU time (wall s, peak RSS), check that
# lessmore keeps exactly the slices the reference keeps, print a markdown table.
# Exit status: 0 on PASS (or when lessmore is skipped), 1 on FAIL or error.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
LESSMORE_BIN="${1:-$HERE/../build/apps/lessmore}"
COPIES="${BENCH_COPIES:-3}"
RUNS="${BENCH_RUNS:-3}"
WORK="${BENCH_DIR:-/tmp/lessmore-bench}"
THRESHOLD=6                  # the paper's best Hamming threshold
SERIES="$WORK/series"

need_gnu_time

# --- series --------------------------------------------------------------------
rm -rf "$WORK"
mkdir -p "$WORK"
NSLICES="$("$PY" "$HERE/make_series.py" "$SERIES" --copies "$COPIES")"
# Raw voxel payload: rows * cols * bytes per voxel * slices.
# MB here and below is 2^20 bytes (GNU time reports RSS in KiB).
VOXEL_MB="$("$PY" - "$SERIES" "$NSLICES" <<'EOF'
import os, sys, pydicom
d, n = sys.argv[1], int(sys.argv[2])
ds = pydicom.dcmread(os.path.join(d, sorted(os.listdir(d))[0]), stop_before_pixels=True)
print(f"{ds.Rows * ds.Columns * (ds.BitsAllocated // 8) * n / 2**20:.1f}")
EOF
)"
warm "$SERIES"

# --- timing ----------------------------------------------------------------------
# time_runs (common.sh) sets MED_WALL / MED_RSS_MB; the peak RSS of the Python
# multi-worker rows is that of the biggest process.
ROWS=()    # "pipeline|threads|wall|rss"
MEM_ROWS=()
add_row() { ROWS+=("$1|$2|$MED_WALL|$MED_RSS_MB"); }

echo "series: $NSLICES slices ($COPIES x 134), $RUNS runs each, threshold $THRESHOLD" >&2

time_runs py-w1 "$RUNS" "$WORK/ref1" "$PY" "$HERE/reference_hash_pipeline.py" \
    "$SERIES" "$WORK/ref1" --threshold "$THRESHOLD" --workers 1
add_row "Python reference (pydicom+cv2+Pillow)" 1
REF_SUMMARY="$(cat "$WORK/py-w1.log")"

time_runs py-w2 "$RUNS" "$WORK/ref2" "$PY" "$HERE/reference_hash_pipeline.py" \
    "$SERIES" "$WORK/ref2" --threshold "$THRESHOLD" --workers 2
add_row "Python reference (pydicom+cv2+Pillow)" 2

# Both Python variants must agree before the reference is trusted.
cmp -s "$WORK/ref1/kept.txt" "$WORK/ref2/kept.txt" \
    || { echo "reference --workers 1 and 2 disagree" >&2; exit 1; }

VERDICT="SKIP (lessmore not built: $LESSMORE_BIN)"
STATUS=0
if [ -x "$LESSMORE_BIN" ]; then
    for t in 2 1; do
        time_runs "lessmore-t$t" "$RUNS" "$WORK/lm$t" "$LESSMORE_BIN" reduce "$SERIES" \
            -o "$WORK/lm$t" --method hash --threshold "$THRESHOLD" --order name \
            --format png --flat --force --threads "$t" -q
        add_row "lessmore reduce --method hash" "$t"
    done
    # Kept set of each lessmore run must equal the reference's kept.txt set.
    failed=""
    for t in 2 1; do
        if ! "$PY" - "$WORK/lm$t/manifest.json" "$WORK/ref1/kept.txt" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
lm = {s["file"] for s in m["volumes"][0]["slices"] if s["kept"]}
ref = {l.strip() for l in open(sys.argv[2]) if l.strip()}
if lm != ref:
    print(f"  kept sets differ: lessmore {len(lm)}, reference {len(ref)}; "
          f"only lessmore {sorted(lm - ref)[:10]}, only reference {sorted(ref - lm)[:10]}",
          file=sys.stderr)
    sys.exit(1)
EOF
        then
            failed="$failed $t"
        fi
    done
    if [ -z "$failed" ]; then VERDICT="PASS"; else VERDICT="FAIL (--threads$failed)"; STATUS=1; fi

    # Peak memory must not grow with the number of volumes: a dataset of 1 and of 4
    # copies of the series (hard links, so each is its own folder and volume).
    MEM_ROWS=()
    for k in 1 4; do
        ds="$WORK/dataset$k"
        mkdir -p "$ds"
        for ((v = 1; v <= k; v++)); do cp -al "$SERIES" "$ds/patient$v"; done
        time_runs "lessmore-dataset$k" "$RUNS" "$WORK/lmds$k" "$LESSMORE_BIN" reduce "$ds" \
            -o "$WORK/lmds$k" --threshold "$THRESHOLD" --force --threads 2 -q
        MEM_ROWS+=("$k|$MED_WALL|$MED_RSS_MB")
    done
fi

# --- report ----------------------------------------------------------------------
BASE_WALL="$(echo "${ROWS[0]}" | cut -d'|' -f3)"
echo
echo "Reference: $REF_SUMMARY"
echo "Correctness (lessmore kept set == reference kept set): $VERDICT"
echo "Series: $NSLICES slices of 512x512, raw voxel data $VOXEL_MB MB"
echo
echo "| pipeline | threads | wall s (median of $RUNS) | slices/s | peak RSS MB | speed-up vs Python 1 worker |"
echo "|---|---:|---:|---:|---:|---:|"
for r in "${ROWS[@]}"; do
    IFS='|' read -r name thr wall rss <<<"$r"
    awk -v n="$name" -v t="$thr" -v w="$wall" -v r="$rss" -v s="$NSLICES" -v b="$BASE_WALL" \
        'BEGIN {printf "| %s | %s | %.2f | %.0f | %s | %.1fx |\n", n, t, w, s / w, r, b / w}'
done
if ((${#MEM_ROWS[@]})); then
    echo
    echo "| volumes in the dataset | slices | wall s | peak RSS MB |"
    echo "|---:|---:|---:|---:|"
    for r in "${MEM_ROWS[@]}"; do
        IFS='|' read -r k wall rss <<<"$r"
        echo "| $k | $((k * NSLICES)) | $wall | $rss |"
    done
fi
exit "$STATUS"
