#!/usr/bin/env bash
# Issue 12 benchmark: the cross-volume pass of --scope patient|dataset.
#
# Usage: bench/bench_scope.sh [BUILD_DIR]
#   BUILD_DIR  lessmore build folder (default: the repository's build/), with the kernel
#              benchmarks built (BUILD_DIR/bench/lessmore_bench_kernels).
# Environment:
#   BENCH_RUNS      timed runs per end-to-end configuration; the median is reported (3)
#   BENCH_DS_DIR    dataset and scratch folder (/tmp/lessmore-bench-ds, shared with
#                   bench_dataset.sh)
#
# Steps, one process per measurement (peak RSS is per process):
#   a. the pass alone (bench/bench_kernels.cpp, BM_ScopePass*): 1,000,000 kept HASH-64
#      slices at the paper's thresholds 3, 6 and 12 on hashes derived from the real CT in ../shared
#      (and 6 on uniform random hashes), 100,000 DeepNet embeddings at 0.95 and 0.99, and
#      lessmore's own pass with a brute-force index on 100,000 hashes;
#   b. what a general near-duplicate tool does (bench/reference_global_dedup.py): all
#      pairs of one global collection, numpy-vectorised, on 20,000 hashes (extrapolated
#      quadratically to 1,000,000) and 100,000 embeddings;
#   c. end to end: `lessmore reduce DS --threshold 6 --threads 2` on ds200 (200 volumes of
#      128x128) and ds2000 (2,000 volumes of 64x64), bench/make_dataset.py, with --scope
#      volume and --scope dataset, --format none and png; --scope dataset must stay within
#      1.15x the time and 1.2x the peak RSS of --scope volume.
# Exit status: 0 on PASS, 1 on FAIL or error.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
BUILD_DIR="${1:-$HERE/../build}"
LESSMORE_BIN="$BUILD_DIR/apps/lessmore"
KERNELS="$BUILD_DIR/bench/lessmore_bench_kernels"
RUNS="${BENCH_RUNS:-3}"
WORK="${BENCH_DS_DIR:-/tmp/lessmore-bench-ds}"
SEED=0
[ -x "$LESSMORE_BIN" ] || die "no lessmore binary at '$LESSMORE_BIN'; build lessmore first"
[ -x "$KERNELS" ] || die "no kernel benchmarks at '$KERNELS' (needs Google Benchmark: libbenchmark-dev)"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
need_gnu_time
mkdir -p "$WORK"

# --- a. the pass alone ----------------------------------------------------------------
# kernel NAME: runs one BM_ScopePass* benchmark; prints "seconds peak_MB removed_fraction".
kernel() {
    local json
    json="$("$KERNELS" --benchmark_filter="^$1\$" --benchmark_format=json 2>/dev/null)" \
        || die "benchmark $1 failed"
    "$PY" <(cat <<'PYEOF'
import json, sys
b = json.loads(sys.stdin.read())["benchmarks"]
if len(b) != 1:
    sys.exit("benchmark not found")
b = b[0]
print("%.2f %.0f %.3f" % (b["real_time"], b["peak_rss_MB"], b["removed_fraction"]))
PYEOF
) <<<"$json"
}

echo "a. the cross-volume pass (2 threads) ..." >&2
declare -A K
for name in BM_ScopePassHash/1000000/3/0 BM_ScopePassHash/1000000/6/0 BM_ScopePassHash/1000000/12/0 BM_ScopePassHash/1000000/6/1 \
            BM_ScopePassDeepNet/100000/95 BM_ScopePassDeepNet/100000/99 BM_ScopePassHashBruteForce/100000/6; do
    K[$name]="$(kernel "$name/iterations:1/real_time")"
    echo "  $name: ${K[$name]} (s, peak MB, removed)" >&2
done

# --- b. the global all-pairs search of general tools -----------------------------------
echo "b. global all-pairs search (numpy) ..." >&2
ref() { "$PY" "$HERE/reference_global_dedup.py" "$@" | sed -E 's/.*seconds=([0-9.]+).*/\1/'; }
REF_HASH_20K="$(ref hash 20000 6)"
REF_COS_100K="$(ref cosine 100000 0.95)"
REF_HASH_1M="$(awk -v s="$REF_HASH_20K" 'BEGIN {printf "%.0f", s * (1000000 / 20000) ^ 2}')"
echo "  hash 20,000: $REF_HASH_20K s (1,000,000: ~$REF_HASH_1M s); cosine 100,000: $REF_COS_100K s" >&2

# --- c. end to end ---------------------------------------------------------------------
# Two many-volume datasets: ds200 (200 volumes of 128x128, 150-250 slices, shared with
# bench_dataset.sh) and ds2000 (2,000 small volumes of 64x64, 20-40 slices: the records
# and the pass's per-volume work weigh most).
declare -A WALL RSS KEPT_V KEPT_D ACROSS DUPS
summary() { "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["kept"], s.get("removed_across_volumes", 0), s.get("duplicate_volumes", 0))' "$1"; }
for spec in "ds200 200 128 150 250" "ds2000 2000 64 20 40"; do
    read -r ds vols size smin smax <<<"$spec"
    echo "c. end to end on $ds ..." >&2
    make_ds "$ds" "$vols" "$size" "$smin" "$smax"
    warm "$WORK/$ds"
    for format in none png; do
        for scope in volume dataset; do
            label="$ds-scope-$scope-$format"
            time_runs "$label" "$RUNS" "$WORK/out-$label" "$LESSMORE_BIN" reduce "$WORK/$ds" -o "$WORK/out-$label" \
                --threshold 6 --format "$format" --threads 2 -q --force --scope "$scope"
            WALL[$label]="$MED_WALL"; RSS[$label]="$MED_RSS_MB"
        done
    done
    read -r KEPT_V[$ds] _ _ <<<"$(summary "$WORK/out-$ds-scope-volume-none/manifest.json")"
    read -r KEPT_D[$ds] ACROSS[$ds] DUPS[$ds] <<<"$(summary "$WORK/out-$ds-scope-dataset-none/manifest.json")"
done

# --- report ----------------------------------------------------------------------------
field() { awk -v i="$2" '{print $i}' <<<"${K[$1]}"; }
echo
echo "| cross-volume pass (2 threads) | lessmore | peak RSS | removed | global all-pairs (numpy) |"
echo "|---|---:|---:|---:|---:|"
echo "| 1,000,000 HASH-64, t = 3, real-CT-derived | $(field BM_ScopePassHash/1000000/3/0 1) s | $(field BM_ScopePassHash/1000000/3/0 2) MB | $(field BM_ScopePassHash/1000000/3/0 3) | ~$REF_HASH_1M s (20,000 in $REF_HASH_20K s, x2,500) |"
echo "| 1,000,000 HASH-64, t = 6, real-CT-derived | $(field BM_ScopePassHash/1000000/6/0 1) s | $(field BM_ScopePassHash/1000000/6/0 2) MB | $(field BM_ScopePassHash/1000000/6/0 3) | same |"
echo "| 1,000,000 HASH-64, t = 12, real-CT-derived | $(field BM_ScopePassHash/1000000/12/0 1) s | $(field BM_ScopePassHash/1000000/12/0 2) MB | $(field BM_ScopePassHash/1000000/12/0 3) | same |"
echo "| 1,000,000 HASH-64, t = 6, uniform random | $(field BM_ScopePassHash/1000000/6/1 1) s | $(field BM_ScopePassHash/1000000/6/1 2) MB | $(field BM_ScopePassHash/1000000/6/1 3) | same |"
echo "| 100,000 HASH-64, t = 6, lessmore with a brute-force index | $(field BM_ScopePassHashBruteForce/100000/6 1) s | $(field BM_ScopePassHashBruteForce/100000/6 2) MB | $(field BM_ScopePassHashBruteForce/100000/6 3) | |"
echo "| 100,000 DeepNet 256-d, cosine >= 0.95 | $(field BM_ScopePassDeepNet/100000/95 1) s | $(field BM_ScopePassDeepNet/100000/95 2) MB | $(field BM_ScopePassDeepNet/100000/95 3) | $REF_COS_100K s |"
echo "| 100,000 DeepNet 256-d, cosine >= 0.99 | $(field BM_ScopePassDeepNet/100000/99 1) s | $(field BM_ScopePassDeepNet/100000/99 2) MB | $(field BM_ScopePassDeepNet/100000/99 3) | |"
echo
VERDICT=PASS
for ds in ds200 ds2000; do
    echo "| $ds, 2 threads | --scope volume | --scope dataset | ratio |"
    echo "|---|---:|---:|---:|"
    for format in none png; do
        v="$ds-scope-volume-$format" d="$ds-scope-dataset-$format"
        tr="$(awk -v a="${WALL[$d]}" -v b="${WALL[$v]}" 'BEGIN {printf "%.2f", a / b}')"
        mr="$(awk -v a="${RSS[$d]}" -v b="${RSS[$v]}" 'BEGIN {printf "%.2f", a / b}')"
        echo "| --format $format: time | ${WALL[$v]} s | ${WALL[$d]} s | ${tr}x |"
        echo "| --format $format: peak RSS | ${RSS[$v]} MB | ${RSS[$d]} MB | ${mr}x |"
        awk -v t="$tr" -v m="$mr" 'BEGIN {exit !(t <= 1.15 && m <= 1.2)}' || VERDICT=FAIL
    done
    echo
    echo "$ds kept: ${KEPT_V[$ds]} slices with --scope volume, ${KEPT_D[$ds]} with --scope dataset (${ACROSS[$ds]} removed across volumes, ${DUPS[$ds]} duplicate volumes)"
    echo
done
for name in BM_ScopePassHash/1000000/3/0 BM_ScopePassHash/1000000/6/0 BM_ScopePassHash/1000000/12/0 BM_ScopePassHash/1000000/6/1; do
    awk -v s="$(field "$name" 1)" -v m="$(field "$name" 2)" 'BEGIN {exit !(s <= 10 && m <= 1024)}' || VERDICT=FAIL
done
awk -v s="$(field BM_ScopePassDeepNet/100000/95 1)" 'BEGIN {exit !(s <= 60)}' || VERDICT=FAIL
echo "$VERDICT: 1,000,000 hashes (t = 3, 6, 12) <= 10 s and 1 GB; 100,000 embeddings <= 60 s; --scope dataset <= 1.15x time, 1.2x peak RSS"
[ "$VERDICT" = PASS ]
