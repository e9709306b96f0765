#!/usr/bin/env bash
# DeepNet benchmark: slices/s of `lessmore reduce --method deepnet` with the bundled
# MobileNet v1 0.25 and with a ResNet50-sized graph (random weights, made by
# make_resnet50_onnx.py), the forward pass alone on the same machine and run, the share
# of time outside the forward pass, and projections for the full datasets.
# Usage: bench/bench_deepnet.sh [BUILD_DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/common.sh"
build="${1:-$here/../build}"
bin="$build/apps/lessmore"
kernels="$build/bench/lessmore_bench_kernels"
[ -x "$bin" ] && [ -x "$kernels" ] || { echo "build lessmore and its benchmarks first ($build)" >&2; exit 1; }
work="${BENCH_DIR:-/tmp/lessmore-bench-dn}"
mkdir -p "$work"

# A 402-slice 512x512 DICOM series (the real pancreas series three times).
series="$work/series"
[ -d "$series" ] || "$PY" "$here/make_series.py" "$series" --copies 3 >/dev/null
nslices="$(ls "$series" | wc -l)"
warm "$series"

# The ResNet50-sized graph and its sidecar (ImageNet preprocessing, the 2048-d avgpool).
resnet="$work/resnet50_random.onnx"
[ -f "$resnet" ] || "$PY" "$here/make_resnet50_onnx.py" "$resnet" >/dev/null
cat >"$work/resnet50_random.json" <<'JSON'
{"input_size": [224, 224], "scale": 0.00392156862745098,
 "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "output": "avgpool"}
JSON

# forward_ms MODEL BATCH: milliseconds per slice of the forward pass alone (one thread).
forward_ms() {
    LESSMORE_BENCH_MODEL="$1" "$kernels" --benchmark_filter="BM_DeepNetForwardOnly/$2\$" \
        --benchmark_format=json --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null |
        "$PY" -c 'import json,sys; d=json.load(sys.stdin); print([1e3/b["items_per_second"] for b in d["benchmarks"] if b.get("aggregate_name")=="median"][0])'
}

# run MODEL_ARGS...: wall seconds of the whole command (median of 3), 2 threads.
run() {
    local walls=()
    for i in 1 2 3; do
        rm -rf "$work/out"
        /usr/bin/time -f "%e" -o "$work/time" "$bin" reduce "$series" -o "$work/out" --method deepnet --threshold 0.95 \
            --format none --threads 2 -q "$@" >/dev/null
        walls+=("$(cat "$work/time")")
    done
    printf '%s\n' "${walls[@]}" | median
}

echo "| model | forward pass alone, 1 thread (ms/slice) | lessmore reduce, 2 threads (slices/s) | time outside the forward pass | LIDC-IDRI (244,527 slices) | FDG-PET-CT (541,439 slices) |"
echo "|---|---:|---:|---:|---:|---:|"
for model in bundled resnet50; do
    if [ "$model" = bundled ]; then
        fms="$(forward_ms "" 4)"; wall="$(run)"; name="MobileNet v1 0.25 (bundled, 256-d; batch 4)"
    else
        fms="$(forward_ms "$resnet" 1)"; wall="$(run --model "$resnet")"; name="ResNet50-sized (random weights, 2048-d avgpool; batch 1)"
    fi
    "$PY" - "$name" "$fms" "$wall" "$nslices" <<'PY'
import sys
name, fms, wall, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rate = n / wall
forward_wall = n * fms / 1e3 / 2          # two single-threaded networks, one per core
outside = max(0.0, 1 - forward_wall / wall)
def hours(s): return f"{s/3600:.1f} h" if s >= 3600 else f"{s/60:.0f} min"
print(f"| {name} | {fms:.2f} | {rate:,.0f} | {outside*100:.0f}% | {hours(244527/rate)} | {hours(541439/rate)} |")
PY
done
echo
echo "Series: $nslices slices of 512x512 DICOM (page cache warm), default --batch; the paper: DeepNet took 2 h (LIDC) and 6 h (PET-CT) on an RTX 3090."
