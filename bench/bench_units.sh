#!/usr/bin/env bash
# 3-D unit kernels: lessmore's 3-D SSIM and NMI (Google Benchmark) against scikit-image's
# structural_similarity / normalized_mutual_information on 16x512x512 uint8 pairs, both on
# one core (taskset -c 0), in one run. Prints a markdown table (docs/performance.md,
# "3-D units (kernels)").
# Usage: bench/bench_units.sh [BUILD_DIR]     Environment: BENCH_PY_SECONDS (10)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/common.sh"
build="${1:-$here/../build}"
bin="$build/bench/lessmore_bench_kernels"
[ -x "$bin" ] || die "build the benchmarks first ($bin missing)"

ours="$(taskset -c 0 "$bin" --benchmark_filter='BM_Ssim3d|BM_Mi3d' \
        --benchmark_format=json --benchmark_repetitions=3 --benchmark_report_aggregates_only=true)"
py="$(taskset -c 0 "$PY" "$here/reference_unit_ssim.py" "${BENCH_PY_SECONDS:-10}")"
echo "$py" >&2

"$PY" - "$py" <<EOF2
import json, re, sys
d = json.loads('''$ours''')
rate = {b["run_name"]: b["items_per_second"] for b in d["benchmarks"] if b.get("aggregate_name") == "median"}
py = {m.group(1): float(m.group(2)) for m in re.finditer(r"(\w+) median ([0-9.]+) pairs/s", sys.argv[1])}
print("| kernel (16x512x512 uint8, 1 core) | lessmore | scikit-image 0.19 | ratio |")
print("|---|---:|---:|---:|")
s, n = rate["BM_Ssim3dPair16x512"], rate["BM_Mi3dPair16x512"]
print(f"| 3-D SSIM pair (7x7x7 uniform window) | {s:.2f} pairs/s | {py['ssim3d']:.3f} pairs/s | {s / py['ssim3d']:.0f}x |")
print(f"| 3-D NMI pair (100 bins) | {n:.2f} pairs/s | {py['nmi3d']:.3f} pairs/s | {n / py['nmi3d']:.0f}x |")
print(f"| 3-D SSIM prepare (per unit, once) | {rate['BM_Ssim3dPrepare16x512']:.2f} units/s | | |")
EOF2
