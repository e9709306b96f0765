#!/usr/bin/env bash
# Issue 5 benchmark: whole-dataset throughput and memory of `lessmore reduce`.
#
# Usage: bench/bench_dataset.sh [BUILD_DIR]
#   BUILD_DIR  lessmore build folder (default: the repository's build/); the
#              binary is BUILD_DIR/apps/lessmore.
# Environment:
#   BENCH_RUNS      timed runs per 2-thread configuration; the median is reported (3)
#   BENCH_DS_DIR    dataset and scratch folder (/tmp/lessmore-bench-ds)
#
# Steps:
#   a. generate with make_dataset.py, unless already present with the same
#      parameters: ds200 (200 volumes of 128x128, seed 0), ds50 (the first 50
#      volumes of the same generator: identical to ds200's first 50) and ds512
#      (10 volumes of 512x512, 100-150 slices); warm the page cache;
#   b. `lessmore reduce DS -o OUT --threshold 6 --format none --threads 2 -q
#      --force` on ds50 and ds200, BENCH_RUNS runs each (GNU time: wall s, peak
#      RSS); peak RSS must not grow with the dataset: ds50 and ds200 within 10 %;
#   c. ds200 (and ds512) once with --threads 1, for the per-added-core scaling;
#   d. ds512 with --threads 2 (BENCH_RUNS runs): the 512x512 rate is the one used
#      for the projections to LIDC-IDRI and FDG-PET-CT (512x512 slices have 16x
#      the pixels of the 128x128 ones, so the 128x128 rate would be optimistic).
# Exit status: 0 on PASS, 1 on FAIL or error.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
BUILD_DIR="${1:-$HERE/../build}"
LESSMORE_BIN="$BUILD_DIR/apps/lessmore"
RUNS="${BENCH_RUNS:-3}"
WORK="${BENCH_DS_DIR:-/tmp/lessmore-bench-ds}"
THRESHOLD=6                  # the paper's best Hamming threshold
SEED=0
LIDC_SLICES=244527           # LIDC-IDRI, all CT slices
FDG_SLICES=541439            # FDG-PET-CT-Lesions, all CT slices

# --- the binary first: fail before spending a minute on datasets ------------------
if [ ! -d "$BUILD_DIR" ]; then
    die "build folder '$BUILD_DIR' does not exist; build lessmore first
  (cmake -S $HERE/.. -B $HERE/../build -DCMAKE_BUILD_TYPE=Release && cmake --build $HERE/../build -j)
  or pass the build folder: $0 BUILD_DIR"
fi
if [ ! -x "$LESSMORE_BIN" ]; then
    die "no lessmore binary at '$LESSMORE_BIN' (is '$BUILD_DIR' a configured but unbuilt
  build folder?); run: cmake --build $BUILD_DIR --target lessmore"
fi
[ -x "$PY" ] || die "$PY is required (numpy, nibabel, pydicom, cv2)"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"

need_gnu_time

# --- a. datasets -------------------------------------------------------------------------
mkdir -p "$WORK"

make_ds ds200 200 128 150 250; N200="$DS_SLICES"
make_ds ds50 50 128 150 250;   N50="$DS_SLICES"
make_ds ds512 10 512 100 150;  N512="$DS_SLICES"

for d in ds50 ds200 ds512; do warm "$WORK/$d"; done

# --- timing ---------------------------------------------------------------------------
# reduce_runs LABEL COUNT DATASET THREADS SLICES: time_runs (common.sh: sets
# MED_WALL / MED_RSS_MB) of `lessmore reduce DATASET` COUNT times, then checks that
# the manifest holds SLICES slices and no failed volume and sets KEPT to the kept count.
reduce_runs() {
    local label="$1" count="$2" ds="$3" threads="$4" out="$WORK/out-$1"
    warm "$ds"
    time_runs "$label" "$count" "$out" "$LESSMORE_BIN" reduce "$ds" -o "$out" \
        --threshold "$THRESHOLD" --format none --threads "$threads" -q --force
    # Every slice must have been read and none may have failed.
    "$PY" - "$out/manifest.json" "$5" "$label" <<'EOF' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
if s["slices"] != int(sys.argv[2]) or s.get("failed", 0):
    sys.exit(f"run '{sys.argv[3]}': manifest has {s['slices']} slices ({s.get('failed')} failed volumes), "
             f"the dataset {sys.argv[2]}")
EOF
    KEPT="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["kept"])' "$out/manifest.json")"
}

ROWS=()   # "dataset|pixels|slices|threads|runs|wall|rss|kept"
row() { ROWS+=("$1|$2|$3|$4|$5|$MED_WALL|$MED_RSS_MB|$KEPT"); }
rate() { awk -v n="$1" -v w="$2" 'BEGIN {printf "%.0f", (w > 0) ? n / w : 0}'; }

echo "lessmore: $LESSMORE_BIN; $RUNS runs per 2-thread configuration, threshold $THRESHOLD" >&2
reduce_runs ds50-t2 "$RUNS" "$WORK/ds50" 2 "$N50";     row ds50 128 "$N50" 2 "$RUNS"; RSS50="$MED_RSS_MB"
reduce_runs ds200-t2 "$RUNS" "$WORK/ds200" 2 "$N200";  row ds200 128 "$N200" 2 "$RUNS"
RSS200="$MED_RSS_MB"; R200_2="$(rate "$N200" "$MED_WALL")"
reduce_runs ds200-t1 1 "$WORK/ds200" 1 "$N200";        row ds200 128 "$N200" 1 1
R200_1="$(rate "$N200" "$MED_WALL")"
reduce_runs ds512-t2 "$RUNS" "$WORK/ds512" 2 "$N512";  row ds512 512 "$N512" 2 "$RUNS"
R512_2="$(rate "$N512" "$MED_WALL")"
reduce_runs ds512-t1 1 "$WORK/ds512" 1 "$N512";        row ds512 512 "$N512" 1 1
R512_1="$(rate "$N512" "$MED_WALL")"

# Peak RSS must not grow with the number of volumes (4x the slices here).
MEM_VERDICT="$(awk -v a="$RSS50" -v b="$RSS200" 'BEGIN {
    lo = (a < b) ? a : b; hi = (a < b) ? b : a;
    d = (lo > 0) ? (hi - lo) / lo * 100 : 999;
    printf "%s (ds50 %s MB, ds200 %s MB: %+.1f %%, limit 10 %%)", (d <= 10) ? "PASS" : "FAIL", a, b, (b - a) / a * 100 }')"

# --- d. report ---------------------------------------------------------------------------
echo
echo "Datasets (make_dataset.py, seed $SEED, half DICOM / half NIfTI, page cache warm):"
for d in ds50 ds200 ds512; do
    echo "  $d: $(du -sh "$WORK/$d" | cut -f1) on disk"
done
echo
echo "| dataset | slice size | slices | threads | runs | wall s (median) | slices/s | peak RSS MB | kept |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for r in "${ROWS[@]}"; do
    IFS='|' read -r name px n thr runs wall rss kept <<<"$r"
    echo "| $name | ${px}x${px} | $n | $thr | $runs | $wall | $(rate "$n" "$wall") | $rss | $kept |"
done
echo
echo "Memory independent of dataset size: $MEM_VERDICT"
echo
awk -v r2="$R200_2" -v r1="$R200_1" -v q2="$R512_2" -v q1="$R512_1" \
    -v lidc="$LIDC_SLICES" -v fdg="$FDG_SLICES" 'function hm(s) {
        return (s >= 3600) ? sprintf("%.1f h", s / 3600) : (s >= 60) ? sprintf("%.1f min", s / 60) : sprintf("%.0f s", s) }
    BEGIN {
    s = r2 / r1; s5 = q2 / q1
    sp = (s > 1) ? s : 1             # for the projections: never below the 1-core rate
    printf "Per-pixel cost: 512x512 runs at %d slices/s vs %d at 128x128 (2 threads): %.1fx slower for 16x the pixels.\n", q2, r2, r2 / q2
    printf "Scaling: 2 threads vs 1 = %.2fx on ds200 (%d vs %d slices/s), i.e. each added core adds ~%.0f %% of a core;", s, r2, r1, (s - 1) * 100
    printf " %.2fx on ds512 (%d vs %d slices/s).\n", s5, q2, q1
    print ""
    print "Projections use the measured 512x512 rate (the real datasets are 512x512), NOT the 128x128 rate;"
    print "they assume the data is read as fast as from the page cache here (real runs over 100+ GB"
    print "are likely to be bounded by disk or network reads) and linear scaling beyond 2 cores at the"
    print "ds200 per-added-core gain (an extrapolation from two points)."
    print ""
    print "| dataset | slices | 2 cores (measured 512x512 rate) | 4 cores (est.) | 8 cores (est.) | 16 cores (est.) |"
    print "|---|---:|---:|---:|---:|---:|"
    n[1] = "LIDC-IDRI"; c[1] = lidc; n[2] = "FDG-PET-CT"; c[2] = fdg
    one = q2 / sp                    # 1-core 512x512 rate implied by the 2-core rate and s
    for (i = 1; i <= 2; i++) {
        printf "| %s | %d | %s |", n[i], c[i], hm(c[i] / q2)
        split("4 8 16", k, " ")
        for (j = 1; j <= 3; j++) printf " %s |", hm(c[i] / (one * (1 + (k[j] - 1) * (sp - 1))))
        printf "\n"
    }
}'
[[ "$MEM_VERDICT" == PASS* ]]
