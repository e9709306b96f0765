#!/usr/bin/env bash
# Issue 3 benchmark: SSIM and NMI (mutual information) slice similarity.
#
# Usage: bench/bench_similarity.sh [BUILD_DIR [BASE_BIN]]
#   BUILD_DIR  default: the build/ folder next to bench/; needs
#              BUILD_DIR/apps/lessmore and BUILD_DIR/bench/lessmore_bench_kernels
#   BASE_BIN   a lessmore binary built before a change (e.g. from main, with
#              `git worktree add`): tables d and e then compare it with BUILD_DIR's
# Environment:
#   BENCH_DIR          scratch folder (/tmp/lessmore-bench-sim); thin600.nii is
#                      made there once and reused
#   BENCH_RUNS         timed runs of each leader reduce; median reported (3)
#   BENCH_PY_SECONDS   timing per metric of the scikit-image reference (10)
#
# Prints three markdown tables on stdout (progress and raw lines on stderr):
#   a. pair kernels: lessmore (Google Benchmark, one run of the binary: 1 core and
#      both cores) against scikit-image on one core (taskset -c 0);
#   b. the whole task on a 600-slice thin-slice CT volume: lessmore reduce with the
#      leader strategy (SSIM, NMI) and, for SSIM, the pairs strategy (all pairs);
#   c. projections to LIDC-IDRI and FDG-PET-CT next to the paper's RTX 3090 hours;
#   d. the whole `lessmore score` command on real CT built from the repository's data,
#      against scikit-image doing the same task (bench/bench_similarity_score.sh);
#   e. with BASE_BIN: both builds interleaved on d's workloads and the leader runs.
# BENCH_RUNS, BENCH_REFERENCE and BENCH_LEADER also apply to d and e (see
# bench_similarity_score.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
BUILD="${1:-$HERE/../build}"
LESSMORE="$BUILD/apps/lessmore"
KERNELS="$BUILD/bench/lessmore_bench_kernels"
WORK="${BENCH_DIR:-/tmp/lessmore-bench-sim}"
RUNS="${BENCH_RUNS:-3}"
PY_SECONDS="${BENCH_PY_SECONDS:-10}"
VOLUME="$WORK/thin600.nii"
NSLICES=600

# Leader thresholds giving ~10% kept slices on thin600.nii (600 slices, 0.666 mm,
# interpolated from the 134-slice pancreas series at 3 mm). Found once from the
# full 600x600 score matrices (lessmore score thin600.nii --method ssim|mi) by
# replaying the leader walk over them, then fixed here:
#   SSIM: 0.90 -> 45 kept, 0.91 -> 52, 0.92 -> 62 (10.3%), 0.94 -> 85, 0.95 -> 101
#   NMI:  1.40 -> 39 kept, 1.43 -> 55, 1.44 -> 61 (10.2%), 1.45 -> 68, 1.50 -> 104
# (neighbouring slices score SSIM 0.987-0.998 and NMI 1.63-1.79; the least similar
# pair in the volume scores SSIM 0.68 and NMI 1.18).
SSIM_THRESHOLD=0.92
MI_THRESHOLD=1.44

# --- prerequisites -------------------------------------------------------------
missing=""
[ -x "$LESSMORE" ] || missing="$missing $LESSMORE"
[ -x "$KERNELS" ] || missing="$missing $KERNELS"
[ -z "$missing" ] || die "missing binaries:$missing
  build them first: cmake --build ${BUILD} -j2 (Google Benchmark is needed for the kernels)"
[ -x "$PY" ] || die "$PY is required"
have_gnu_time || die "GNU time (/usr/bin/time) is required"
command -v taskset >/dev/null 2>&1 || die "taskset (util-linux) is required"
mkdir -p "$WORK"

# --- a. kernels --------------------------------------------------------------------
echo "a. kernels: lessmore Google Benchmark (1 run, 3 repetitions) ..." >&2
"$KERNELS" --benchmark_filter='BM_SsimPair512$|BM_SsimPairsThreads|BM_SsimTile4x4|BM_MiPair512$|BM_MiPairsThreads|BM_SsimPrepare512' \
    --benchmark_format=json --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    >"$WORK/kernels.json" 2>"$WORK/kernels.err" \
    || { echo "lessmore_bench_kernels failed:" >&2; cat "$WORK/kernels.err" >&2; exit 1; }
echo "a. kernels: scikit-image reference on core 0 (${PY_SECONDS} s per metric) ..." >&2
taskset -c 0 "$PY" "$HERE/reference_similarity_kernel.py" --seconds "$PY_SECONDS" >"$WORK/reference.txt" 2>"$WORK/reference.err" \
    || { echo "reference_similarity_kernel.py failed:" >&2; cat "$WORK/reference.err" >&2; exit 1; }
sed 's/^/  /' "$WORK/reference.err" >&2

# --- b. whole task on 600 slices ------------------------------------------------------
if [ ! -s "$VOLUME" ]; then
    echo "b. making $VOLUME ..." >&2
    "$PY" "$HERE/make_thin_volume.py" "$VOLUME" --slices "$NSLICES" >&2
else
    echo "b. reusing $VOLUME" >&2
fi
warm "$VOLUME"

# run_reduce LABEL RUNS ARGS...: times `lessmore reduce VOLUME -o WORK/LABEL ARGS`
# RUNS times and appends "LABEL wall_s rss_kb manifest" (medians) to WORK/runs.txt.
run_reduce() {
    local label="$1" runs="$2"; shift 2
    local out="$WORK/out-$label" walls=() rss=() i w m
    for ((i = 1; i <= runs; i++)); do
        if ! /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$LESSMORE" reduce "$VOLUME" -o "$out" "$@" \
                --format none --threads 2 -v --force >"$WORK/$label.out" 2>"$WORK/$label.err"; then
            echo "lessmore reduce ($label) failed:" >&2; cat "$WORK/$label.err" >&2; exit 1
        fi
        read -r w m <"$WORK/time.txt"
        walls+=("$w"); rss+=("$m")
        echo "  $label run $i: ${w} s, $((m / 1024)) MB peak RSS | $(grep -v '^$' "$WORK/$label.err" | tail -1)" >&2
    done
    echo "$label $(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${rss[@]}" | median) $out/manifest.json" >>"$WORK/runs.txt"
}

: >"$WORK/runs.txt"
echo "b. lessmore reduce, leader strategy, $RUNS runs each ..." >&2
run_reduce ssim-leader "$RUNS" --method ssim --threshold "$SSIM_THRESHOLD" --strategy leader
run_reduce mi-leader "$RUNS" --method mi --threshold "$MI_THRESHOLD" --strategy leader
echo "b. lessmore reduce, pairs strategy (all pairs), SSIM, 1 run ..." >&2
run_reduce ssim-pairs 1 --method ssim --fraction 0.1 --strategy pairs

# --- tables ---------------------------------------------------------------------------
"$PY" - "$WORK" "$SSIM_THRESHOLD" "$MI_THRESHOLD" <<'EOF'
import json, sys

work, ssim_t, mi_t = sys.argv[1], sys.argv[2], sys.argv[3]

# a. kernels
with open(f"{work}/kernels.json") as f:
    gb = json.load(f)
rate = {b["run_name"]: b["items_per_second"] for b in gb["benchmarks"] if b.get("aggregate_name") == "median"}
ref = {}
with open(f"{work}/reference.txt") as f:
    for line in f:
        k, v = line.split()
        ref[k] = float(v)
lm1 = {"ssim": rate["BM_SsimPair512"], "mi": rate["BM_MiPair512"]}
lm2 = {"ssim": rate["BM_SsimPairsThreads/2/real_time"], "mi": rate["BM_MiPairsThreads/2/real_time"]}
ctx = gb.get("context", {})
print(f"### a. Pair kernels, 512x512 8-bit slices ({ctx.get('num_cpus', '?')} CPUs at "
      f"{ctx.get('mhz_per_cpu', '?')} MHz; scikit-image pinned to core 0)")
print()
print("| metric | lessmore 1 core pairs/s | lessmore 2 cores pairs/s | scikit-image 1 core pairs/s | ratio (2 cores vs scikit-image) |")
print("|---|---:|---:|---:|---:|")
names = {"ssim": "SSIM (gaussian, sigma 1.5)", "mi": "NMI (100 bins)"}
for m in ("ssim", "mi"):
    print(f"| {names[m]} | {lm1[m]:,.0f} | {lm2[m]:,.0f} | {ref[m]:,.1f} | {lm2[m] / ref[m]:,.0f}x |")
print(f"| SSIM, a 4 x 4 tile of slices scored together (as `score` does) | {rate['BM_SsimTile4x4']:,.0f} | | | |")
print(f"| SSIM per-slice prepare (slices/s, once per slice) | {rate['BM_SsimPrepare512']:,.0f} | | | |")
print()
print("lessmore's pair rates compare two slices whose per-slice statistics are already "
      "prepared (once per slice, not per pair); scikit-image recomputes everything per pair.")
print()

# b. whole task
runs = {}
with open(f"{work}/runs.txt") as f:
    for line in f:
        label, wall, rss, manifest = line.split()
        runs[label] = (float(wall), int(rss), manifest)


def leader_pairs(slices):
    """Pairs the leader walk compares: a kept slice i against every slice kept
    before it; a removed slice from the most recently kept backwards down to its
    match, i.e. the kept slices j with match <= j < i."""
    kept = sorted(s["index"] for s in slices if s["kept"])
    import bisect
    total = 0
    for s in slices:
        i = s["index"]
        if s["kept"]:
            total += bisect.bisect_left(kept, i)
        else:
            total += bisect.bisect_left(kept, i) - bisect.bisect_left(kept, s["match"])
    return total


rows = []
info = {}
for label, method, thr, strategy in (("ssim-leader", "SSIM", ssim_t, "leader"),
                                     ("mi-leader", "NMI", mi_t, "leader"),
                                     ("ssim-pairs", "SSIM", "--fraction 0.1", "pairs")):
    wall, rss, manifest = runs[label]
    with open(manifest) as f:
        v = json.load(f)["volumes"][0]
    n = len(v["slices"])
    allp = n * (n - 1) // 2
    kept = sum(1 for s in v["slices"] if s["kept"])
    if strategy == "leader":
        pairs = leader_pairs(v["slices"])
        if "pairs" in v and v["pairs"] != pairs:
            print(f"warning: {label}: manifest pairs {v['pairs']} != computed {pairs}", file=sys.stderr)
    else:
        pairs = v.get("pairs", allp)
    info[label] = dict(n=n, kept=kept, pairs=pairs, allp=allp, wall=wall)
    rows.append(f"| {method} | {thr} | {strategy} | {kept} of {n} ({kept / n:.1%}) | {pairs:,} | {allp:,} | "
                f"{pairs / allp:.2%} | {wall:.2f} | {rss / 1024:,.0f} |")
print(f"### b. Whole task: lessmore reduce on a {info['ssim-leader']['n']}-slice 512x512 thin-slice CT volume "
      f"(--threads 2, --format none, median of leader runs)")
print()
print("| metric | threshold | strategy | kept slices | pairs computed | all pairs n(n-1)/2 | computed / all | wall s | peak RSS MB |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
print("\n".join(rows))
print()
p = info["ssim-pairs"]
print(f"The pairs run computes all {p['allp']:,} pairs: {p['allp'] / p['wall']:,.0f} pairs/s over the whole command "
      f"(load, prepare, pairs, selection).")
print()

# c. projections
HOUR = 3600.0
datasets = (
    # name, volumes, slices, n per volume, paper hours {metric: h}
    ("LIDC-IDRI", 1010, 244527, 242, {"ssim": 53, "mi": 48}),
    ("FDG-PET-CT", 900, 541439, 600, {"ssim": 421, "mi": 312}),
)


def fmt(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * HOUR:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / HOUR:.1f} h"


print("### c. Projected times for the full datasets (2 cores)")
print()
print("| dataset | metric | all pairs | (i) all pairs at lessmore 2-core pairs/s | "
      "(ii) leader: all pairs x measured ratio at 2-core pairs/s | (ii) leader: measured wall s per slice x slices | "
      "paper, all pairs (RTX 3090) |")
print("|---|---|---:|---:|---:|---:|---:|")
for name, vols, slices, n, paper in datasets:
    per_vol = n * (n - 1) // 2
    total = vols * per_vol
    for m, label in (("ssim", "ssim-leader"), ("mi", "mi-leader")):
        r = info[label]
        ratio = r["pairs"] / r["allp"]
        per_slice = r["wall"] / r["n"]
        print(f"| {name} ({vols:,} volumes, {slices:,} slices; n = {n} -> {per_vol:,} pairs/volume) | "
              f"{names[m]} | {total / 1e6:.1f} M | {fmt(total / lm2[m])} | "
              f"{fmt(total * ratio / lm2[m])} ({ratio:.2%} of pairs) | "
              f"{fmt(slices * per_slice)} ({per_slice * 1e3:.1f} ms/slice) | {paper[m]} h |")
print()
print("(ii) assumes the measured leader ratio (about 10% kept, thin slices) carries over; "
      "the pairs column counts only pair comparisons, the wall column includes reading, "
      "min-max mapping, per-slice preparation and the walk, measured on one 600-slice volume.")
EOF

# --- d, e. the whole score command, against scikit-image and the base build -------------
echo
bash "$HERE/bench_similarity_score.sh" "$BUILD" ${2:+"$2"}
