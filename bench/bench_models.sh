#!/usr/bin/env bash
# DeepNet with torch models (docs/models.md): each benchmarked family through lessmore's ONNX
# path (where OpenCV's DNN runs it) and TorchScript path, next to torch's own CPU forward
# pass over the same preprocessed slices in the same run (bench/torch_forward.py: same batch
# size, same thread count); and reducing from precomputed features (--features) against HASH.
# Usage: bench/bench_models.sh [BUILD_DIR]   (BENCH_REPEAT=3 runs each command 3 times)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/common.sh"
build="${1:-$here/../build}"
bin="$build/apps/lessmore"
[ -x "$bin" ] || die "build lessmore first ($build)"
work="${BENCH_DIR:-/tmp/lessmore-bench-models}"
repeat="${BENCH_REPEAT:-3}"
threads=2
mkdir -p "$work"
need_gnu_time

big="$work/series"      # 402 slices of 512x512 DICOM (the real pancreas series three times)
small="$work/series1"   # the real 134-slice series once, for the table of families
[ -d "$big" ] || "$PY" "$here/make_series.py" "$big" --copies 3 >/dev/null
[ -d "$small" ] || "$PY" "$here/make_series.py" "$small" --copies 1 >/dev/null
"$PY" "$here/torch_forward.py" export "$work/models" 2>/dev/null
warm "$big" "$small" "$work/models"
use() { series="$1"; nslices="$(ls "$series" | wc -l)"; }

# wall ARGS...: median wall seconds of `lessmore reduce SERIES ARGS...` over $repeat runs.
wall() {
    local walls=()
    for ((i = 0; i < repeat; i++)); do
        rm -rf "$work/out"
        /usr/bin/time -f "%e" -o "$work/time" "$bin" reduce "$series" -o "$work/out" --format none \
            --threads "$threads" -q "$@" >/dev/null
        walls+=("$(cat "$work/time")")
    done
    echo "lessmore $*: ${walls[*]}" >&2
    printf '%s\n' "${walls[@]}" | median
}
# torch_wall MODEL BATCH: median seconds of torch's forward loop over the series, the faster
# of torch's default OpenMP waiting (threads spin at barriers; run once) and
# OMP_WAIT_POLICY=PASSIVE (measured: spinning makes 2 threads 6x slower than 1 when the
# cores are shared with other work).
torch_wall() {
    local best="" policy
    for policy in "" PASSIVE; do
        local walls=() runs="$repeat"
        [ -n "$policy" ] || runs=1  # spinning is slow on shared cores: once is enough to see it
        for ((i = 0; i < runs; i++)); do
            walls+=("$(env ${policy:+OMP_WAIT_POLICY=$policy} "$PY" "$here/torch_forward.py" forward "$work/models" "$1" \
                "$series" "$threads" "$2" 2>/dev/null)")
        done
        local m
        m="$(printf '%s\n' "${walls[@]}" | median)"
        echo "torch $1 ${policy:-default}: ${walls[*]} -> $m" >&2
        if [ -z "$best" ] || "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$m" "$best"; then
            best="$m"
        fi
    done
    echo "$best"
}
rate() { "$PY" -c "import sys; print(f'{$nslices / float(sys.argv[1]):.2f}')" "$1"; }
over() { "$PY" -c "import sys; print(f'{(float(sys.argv[1]) / float(sys.argv[2]) - 1) * 100:+.0f}%')" "$1" "$2"; }

if [ -z "${BENCH_SKIP_FAMILIES:-}" ]; then
use "$small"
echo "Each family on the $nslices-slice series (median of $repeat):"
echo
echo "| model | batch | torch forward loop, $threads threads (slices/s) | lessmore reduce, ONNX (slices/s) | vs torch | lessmore reduce, TorchScript (slices/s) | vs torch |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for model in resnet18 resnet50 convnext_tiny vit_small ct_cnn; do
    batch=1
    t="$(torch_wall "$model" "$batch")"
    if "$bin" reduce "$series" -o "$work/probe" --force --format none -q --method deepnet -t 0.95 \
        --model "$work/models/$model.onnx" --batch 1 >/dev/null 2>"$work/err" && rm -rf "$work/probe"; then
        o="$(wall --method deepnet -t 0.95 --model "$work/models/$model.onnx" --batch "$batch")"
        onnx="$(rate "$o") | $(over "$o" "$t")"
    else
        onnx="refused: $(grep -o 'operator [A-Za-z]*' "$work/err" | head -1) | —"
    fi
    p="$(wall --method deepnet -t 0.95 --model "$work/models/$model.pt" --batch "$batch")"
    echo "| $model | $batch | $(rate "$t") | $onnx | $(rate "$p") | $(over "$p" "$t") |"
done
echo
fi

# ResNet50 on the 402-slice series: lessmore's whole reduce against torch's forward loop alone,
# interleaved (torch, ONNX, TorchScript, torch, ...) so that each sees the same machine: the
# cores are shared, and other work comes and goes within minutes.
use "$big"
declare -a tw ow pw
for ((k = 0; k < repeat; k++)); do
    tw+=("$(OMP_WAIT_POLICY=PASSIVE "$PY" "$here/torch_forward.py" forward "$work/models" resnet50 "$series" "$threads" 1 2>/dev/null)")
    ow+=("$(repeat=1 wall --method deepnet -t 0.95 --model "$work/models/resnet50.onnx" --batch 1)")
    pw+=("$(repeat=1 wall --method deepnet -t 0.95 --model "$work/models/resnet50.pt" --batch 1)")
    echo "round $k: torch ${tw[-1]} onnx ${ow[-1]} torchscript ${pw[-1]} (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
t="$(printf '%s\n' "${tw[@]}" | median)"
o="$(printf '%s\n' "${ow[@]}" | median)"
p="$(printf '%s\n' "${pw[@]}" | median)"
spread() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd- -; }
echo "ResNet50 on the $nslices-slice series (median of $repeat interleaved rounds; range in brackets):"
echo
echo "| | wall (s) | slices/s | vs torch's forward loop |"
echo "|---|---:|---:|---:|"
echo "| torch forward loop alone, $threads threads, batch 1 (OMP_WAIT_POLICY=PASSIVE) | $t [$(spread "${tw[@]}")] | $(rate "$t") | |"
echo "| lessmore reduce, ONNX (OpenCV's DNN) | $o [$(spread "${ow[@]}")] | $(rate "$o") | $(over "$o" "$t") |"
echo "| lessmore reduce, TorchScript (LibTorch) | $p [$(spread "${pw[@]}")] | $(rate "$p") | $(over "$p" "$t") |"
echo

# --features: the ResNet50 run's 2048-d embeddings saved, then reduced from, against HASH
# (interleaved, 5 rounds).
rm -rf "$work/features"
repeat=1 wall --method deepnet -t 0.95 --model "$work/models/resnet50.onnx" --batch 1 --save-features "$work/features" >/dev/null
declare -a hw fw
for ((k = 0; k < 5; k++)); do
    hw+=("$(repeat=1 wall -t 6)")
    fw+=("$(repeat=1 wall --method deepnet -t 0.95 --features "$work/features")")
done
h="$(printf '%s\n' "${hw[@]}" | median)"
f="$(printf '%s\n' "${fw[@]}" | median)"
echo "Reducing the $nslices-slice series from precomputed features (median of 5 interleaved rounds; range in brackets):"
echo
echo "| reduce of the $nslices-slice series, $threads threads | wall (s) | vs HASH |"
echo "|---|---:|---:|"
echo "| HASH (-t 6) | $h [$(spread "${hw[@]}")] | |"
echo "| DeepNet from precomputed 2048-d features (--features) | $f [$(spread "${fw[@]}")] | $(over "$f" "$h") |"
