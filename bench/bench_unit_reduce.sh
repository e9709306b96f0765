#!/usr/bin/env bash
# reduce --unit slab:16 against --unit slice on the 600-slice thin volume
# (make_thin_volume.py: the 134-slice pancreas series interpolated to 600 slices of 512x512,
# 0.67 mm apart): HASH-6 and SSIM-0.9, leader, --threads 2, --format none (the decision)
# and, for the slab runs, --format nifti (the decision and the kept units written). Prints
# a markdown table of median wall time, peak RSS and kept units (docs/performance.md,
# "3-D units").
# With BASE_BIN (a build without --unit, e.g. main's), the slice rows are also timed with it,
# alternating run by run, so --unit slice can be compared with the code before it in one run.
# Usage: bench/bench_unit_reduce.sh [BUILD_DIR] [BASE_BIN]
# Environment: BENCH_DIR (work folder, default /tmp/lessmore-bench-units), BENCH_RUNS (3),
#              BENCH_THIN_SRC (the series thin600.nii is made from; make_thin_volume.py's default)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
source "$HERE/common.sh"
BUILD="${1:-$REPO/build}"
BIN="$BUILD/apps/lessmore"
BASE_BIN="${2:-}"
WORK="${BENCH_DIR:-/tmp/lessmore-bench-units}"
RUNS="${BENCH_RUNS:-3}"
[ -x "$BIN" ] || die "missing $BIN (cmake --build $BUILD -j2)"
need_gnu_time
mkdir -p "$WORK"
THIN="$WORK/thin600.nii"
[ -s "$THIN" ] || "$PY" "$HERE/make_thin_volume.py" "$THIN" --slices 600 \
    ${BENCH_THIN_SRC:+--src "$BENCH_THIN_SRC"} >&2
warm "$THIN"

echo "| unit | method | format | wall (s) | peak RSS (MB) | kept |"
echo "|---|---|---|---:|---:|---:|"
# row LABEL UNIT METHOD_ARGS FORMAT [BIN]: with BIN (the base build), no --unit is given.
row() {
    local label="$1" unit="$2" method="$3" format="$4" bin="${5:-$BIN}" out="$WORK/out-$1" unit_args=()
    [ -n "${5:-}" ] || unit_args=(--unit "$unit")
    # shellcheck disable=SC2086
    time_runs "$label" "$RUNS" "$out" "$bin" reduce "$THIN" -o "$out" "${unit_args[@]}" $method \
        --format "$format" --threads 2 --progress none -q
    local kept
    kept="$("$PY" -c 'import json, sys; s = json.load(open(sys.argv[1]))["summary"]; print(s["kept"], "of", s["slices"])' "$out/manifest.json")"
    echo "| $unit${5:+ (base build)} | ${method#-m } | $format | $MED_WALL | $MED_RSS_MB | $kept |"
}
if [ -n "$BASE_BIN" ]; then
    row base-slice-hash slice "-m hash -t 6" none "$BASE_BIN"
fi
row slice-hash slice "-m hash -t 6" none
row slab-hash slab:16 "-m hash -t 6" none
row slab-hash-nii slab:16 "-m hash -t 6" nifti
if [ -n "$BASE_BIN" ]; then
    row base-slice-ssim slice "-m ssim -t 0.9" none "$BASE_BIN"
fi
row slice-ssim slice "-m ssim -t 0.9" none
row slab-ssim slab:16 "-m ssim -t 0.9" none
row slab-ssim-nii slab:16 "-m ssim -t 0.9" nifti
