#!/usr/bin/env bash
# Kernel benchmark: lessmore's dhash (Google Benchmark) against Pillow's resize + diff
# (what imagehash.dhash runs), on one core, in one run.
# Usage: bench/bench_kernels.sh [BUILD_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/common.sh"
build="${1:-$here/../build}"
bin="$build/bench/lessmore_bench_kernels"
[ -x "$bin" ] || { echo "build the benchmarks first ($bin missing)" >&2; exit 1; }

ours="$(taskset -c 0 "$bin" --benchmark_filter='BM_DHash512$|BM_MinMaxTo8Bit512|BM_Hamming64' \
        --benchmark_format=json --benchmark_repetitions=3 --benchmark_report_aggregates_only=true)"
py_line="$(taskset -c 0 "$PY" "$here/reference_dhash_kernel.py" | tail -1)"
py_rate="$(sed -E 's/.*median ([0-9.]+) slices\/s.*/\1/' <<<"$py_line")"

"$PY" - "$py_rate" <<EOF2
import json, sys
d = json.loads('''$ours''')
rate = {b["run_name"]: b["items_per_second"] for b in d["benchmarks"] if b.get("aggregate_name") == "median"}
py = float(sys.argv[1])
dh = rate["BM_DHash512"]
print("| kernel (512x512, 1 core) | lessmore | Python reference | ratio |")
print("|---|---:|---:|---:|")
print(f"| dhash (LANCZOS to 9x8 + bits) | {dh:,.0f} slices/s | {py:,.0f} slices/s (Pillow 9.4) | {dh / py:.1f}x |")
print(f"| min-max to 8 bit (int16 HU) | {rate['BM_MinMaxTo8Bit512']:,.0f} slices/s | | |")
print(f"| Hamming distance (64 bit) | {rate['BM_Hamming64'] / 1e6:,.0f} M pairs/s | | |")
EOF2
