#!/usr/bin/env bash
# SSIM and NMI end to end: the whole `lessmore score` command (start-up, reading, 8-bit
# mapping, per-slice preparation, every pair, writing the matrix) on real CT built from
# the repository's data, against scikit-image doing the same task in the same run, and,
# given the build before a change, both builds interleaved, with the leader strategy on the
# 600-slice thin volume too. Run by bench/bench_similarity.sh; runs alone as well.
#
# Usage: bench/bench_similarity_score.sh [BUILD_DIR [BASE_BIN]]
#   BUILD_DIR  default: build/ beside bench/ (needs BUILD_DIR/apps/lessmore)
#   BASE_BIN   a lessmore binary built before the change (e.g. from main): adds table e
# Environment:
#   BENCH_DIR        scratch folder (/tmp/lessmore-bench-sim; volumes are made once)
#   BENCH_RUNS       timed runs per binary and workload, interleaved; medians (5)
#   BENCH_REFERENCE  0 skips scikit-image (about 2 minutes on one core) (1)
#   BENCH_LEADER     0 skips the leader runs on thin600.nii in table e (1)
#   BENCH_THIN_SRC   the DICOM series thin600.nii is made from (make_thin_volume.py's default)
#
# Workloads (all `--threads 2`):
#   thin60  60 slices of 512x512, 0.76 mm apart: make_thin_volume.py on the 16 pancreas
#           slices in tests/data/ct (1,770 pairs; the workload the goal is stated on)
#   small   tests/data/ct/nifti/example_ct.nii.gz: 112 slices of 122x101 (6,216 pairs)
#   head    tests/data/ct/ge-head-tilt: 28 DICOM slices of 512x512, gantry tilt, uneven
#           spacing (378 pairs; no scikit-image run: the reference reads NIfTI only)
# Prints markdown tables on stdout, progress on stderr:
#   d. lessmore score, pairs/s over the whole command (median of BENCH_RUNS, min-max), and
#      scikit-image on one core (one run), with the largest difference between the matrices;
#   e. (with BASE_BIN) base and new interleaved: medians, speed-up, largest difference of
#      the matrices; leader reduce on thin600.nii (kept slices must be the same).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
source "$HERE/common.sh"
BUILD="${1:-$REPO/build}"
BASE_BIN="${2:-}"
NEW_BIN="$BUILD/apps/lessmore"
WORK="${BENCH_DIR:-/tmp/lessmore-bench-sim}"
RUNS="${BENCH_RUNS:-5}"
REFERENCE="${BENCH_REFERENCE:-1}"
LEADER="${BENCH_LEADER:-1}"
[ -x "$NEW_BIN" ] || die "missing $NEW_BIN (cmake --build $BUILD -j2)"
[ -z "$BASE_BIN" ] || [ -x "$BASE_BIN" ] || die "BASE_BIN $BASE_BIN is not an executable"
need_gnu_time
mkdir -p "$WORK"

THIN60="$WORK/thin60.nii"
[ -s "$THIN60" ] || "$PY" "$HERE/make_thin_volume.py" "$THIN60" --slices 60 \
    --src "$REPO/tests/data/ct/pancreas-ct-cb-001" >&2
declare -A INPUT=([thin60]="$THIN60" [small]="$REPO/tests/data/ct/nifti/example_ct.nii.gz"
                  [head]="$REPO/tests/data/ct/ge-head-tilt")
warm "${INPUT[@]}"

# score_once WHICH BIN VOLUME METHOD: one timed `score`, "wall rss" appended to
# WORK/score-WHICH-VOLUME-METHOD.times, the matrix left in the .npy beside it.
score_once() {
    local which="$1" bin="$2" vol="$3" method="$4" stem="$WORK/score-$1-$3-$4"
    if ! /usr/bin/time -f "%e %M" -o "$stem.t" "$bin" score "${INPUT[$vol]}" --method "$method" -o "$stem.npy" \
            --threads 2 --force -q >"$stem.log" 2>&1; then
        echo "lessmore score ($which, $vol, $method) failed:" >&2; cat "$stem.log" >&2; exit 1
    fi
    cat "$stem.t" >>"$stem.times"
}

rm -f "$WORK"/score-*.times
echo "d. lessmore score, $RUNS runs per workload${BASE_BIN:+ (base and new interleaved)} ..." >&2
for ((r = 1; r <= RUNS; r++)); do
    for vol in thin60 small head; do
        for method in ssim mi; do
            score_once new "$NEW_BIN" "$vol" "$method"
            [ -z "$BASE_BIN" ] || score_once base "$BASE_BIN" "$vol" "$method"
        done
    done
    echo "  run $r done" >&2
done

if [ "$REFERENCE" = 1 ]; then
    command -v taskset >/dev/null 2>&1 || die "taskset (util-linux) is required"
    for vol in thin60 small; do
        for method in ssim mi; do
            echo "d. scikit-image on core 0: $vol $method ..." >&2
            taskset -c 0 "$PY" "$HERE/reference_similarity_score.py" "${INPUT[$vol]}" --method "$method" \
                --out "$WORK/reference-$vol-$method.npy" >"$WORK/reference-$vol-$method.txt"
        done
    done
fi

# --- e. leader strategy on the 600-slice thin volume, base and new interleaved ---------
if [ -n "$BASE_BIN" ] && [ "$LEADER" = 1 ]; then
    THIN600="$WORK/thin600.nii"
    [ -s "$THIN600" ] || "$PY" "$HERE/make_thin_volume.py" "$THIN600" --slices 600 ${BENCH_THIN_SRC:+--src "$BENCH_THIN_SRC"} >&2
    warm "$THIN600"
    rm -f "$WORK"/leader-*.times
    echo "e. leader reduce on thin600.nii, $RUNS runs per binary ..." >&2
    for ((r = 1; r <= RUNS; r++)); do
        for method in ssim mi; do
            threshold=$([ "$method" = ssim ] && echo 0.92 || echo 1.44)  # bench_similarity.sh's ~10% kept
            for which in base new; do
                bin=$([ "$which" = base ] && echo "$BASE_BIN" || echo "$NEW_BIN")
                out="$WORK/leader-$which-$method"
                rm -rf "$out"
                /usr/bin/time -f "%e %M" -o "$out.t" "$bin" reduce "$THIN600" -o "$out" --method "$method" \
                    --threshold "$threshold" --strategy leader --format none --threads 2 -q >/dev/null
                cat "$out.t" >>"$out.times"
            done
        done
        echo "  run $r done" >&2
    done
fi

# --- tables ---------------------------------------------------------------------------
"$PY" - "$WORK" "$RUNS" "${BASE_BIN:+1}" "$REFERENCE" "$LEADER" <<'EOF'
import json, os, statistics, sys
import numpy as np

work, runs, has_base, reference, leader = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1", sys.argv[5] == "1"
names = {"ssim": "SSIM", "mi": "NMI (100 bins)"}
label = {"thin60": "thin60: 60 x 512x512 (repository pancreas, 0.76 mm)",
         "small": "small: 112 x 122x101 (example_ct.nii.gz)",
         "head": "head: 28 x 512x512 DICOM (ge-head-tilt)"}


def walls(stem):
    with open(f"{work}/{stem}.times") as f:
        return [float(line.split()[0]) for line in f if line.strip()]


def off_diagonal_diff(a, b):
    """Largest |a - b| off the diagonal, over the order that fits (slices may run the
    other way along the volume in the reference's array order)."""
    mask = ~np.eye(a.shape[0], dtype=bool)
    return min(np.nanmax(np.abs(a - b)[mask]), np.nanmax(np.abs(a - b[::-1, ::-1])[mask]))


print("### d. The whole `lessmore score` command against scikit-image (`--threads 2`; scikit-image on one core)")
print()
print("| volume | metric | pairs | lessmore s, median (min-max) | lessmore pairs/s | scikit-image s | scikit-image pairs/s | ratio | max abs difference |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for vol in ("thin60", "small", "head"):
    for method in ("ssim", "mi"):
        w = walls(f"score-new-{vol}-{method}")
        n = np.load(f"{work}/score-new-{vol}-{method}.npy").shape[0]
        pairs = n * (n - 1) // 2
        med = statistics.median(w)
        ref_cols = "| | | |"
        ref_path = f"{work}/reference-{vol}-{method}.txt"
        if reference and os.path.exists(ref_path):
            with open(ref_path) as f:
                _, secs = f.read().split()
            secs = float(secs)
            diff = off_diagonal_diff(np.load(f"{work}/score-new-{vol}-{method}.npy"),
                                     np.load(f"{work}/reference-{vol}-{method}.npy"))
            ref_cols = f"| {secs:.1f} | {pairs / secs:,.1f} | {secs / med:,.0f}x | {diff:.1e} |"
        print(f"| {label[vol]} | {names[method]} | {pairs:,} | {med:.3f} ({min(w):.3f}-{max(w):.3f}) | "
              f"{pairs / med:,.0f} {ref_cols}")
print()
print(f"lessmore: median of {runs} runs of the whole command (GNU time, wall clock). The ratio is "
      "scikit-image's wall time over lessmore's for the same task; the difference is the largest "
      "one between the two score matrices (SSIM's tested parity is 1e-8, NMI's 1e-6).")

if has_base:
    print()
    print(f"### e. Before and after (`--threads 2`, {runs} interleaved runs per binary, medians)")
    print()
    print("| workload | metric | base s | new s | speed-up | base pairs/s | new pairs/s | same result |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for vol in ("thin60", "small", "head"):
        for method in ("ssim", "mi"):
            b, nw = statistics.median(walls(f"score-base-{vol}-{method}")), statistics.median(walls(f"score-new-{vol}-{method}"))
            mb = np.load(f"{work}/score-base-{vol}-{method}.npy")
            mn = np.load(f"{work}/score-new-{vol}-{method}.npy")
            pairs = mb.shape[0] * (mb.shape[0] - 1) // 2
            d = np.nanmax(np.abs(mb - mn))
            same = "identical" if np.array_equal(mb, mn, equal_nan=True) else f"max abs difference {d:.1e}"
            print(f"| score {vol} | {names[method]} | {b:.3f} | {nw:.3f} | {b / nw:.2f}x | {pairs / b:,.0f} | {pairs / nw:,.0f} | {same} |")
    if leader:
        for method in ("ssim", "mi"):
            b, nw = statistics.median(walls(f"leader-base-{method}")), statistics.median(walls(f"leader-new-{method}"))
            kept = []
            for which in ("base", "new"):
                with open(f"{work}/leader-{which}-{method}/manifest.json") as f:
                    v = json.load(f)["volumes"][0]
                kept.append(([s["index"] for s in v["slices"] if s["kept"]], [s.get("match") for s in v["slices"]]))
            same = "same kept slices and matches" if kept[0] == kept[1] else "DIFFERENT kept slices"
            print(f"| leader reduce thin600 (600 x 512x512) | {names[method]} | {b:.2f} | {nw:.2f} | {b / nw:.2f}x | | | {same} |")
EOF
