#!/usr/bin/env bash
# PNG encoders and zlib settings on lessmore's own 8-bit slices: time per 512x512 slice,
# size as % of the raw pixels, and whether each decodes back to the same pixels
# (bench/bench_png_encoders.cpp; libpng, libspng, libdeflate and ISA-L from Debian: libpng-dev,
# libspng-dev, libdeflate-dev, libisal-dev).
#
# Usage: bench/bench_png_encoders.sh [LESSMORE_BIN]
# Environment: BENCH_DIR scratch folder (/tmp/lessmore-bench-png)
# The slices: every slice of the real CT in tests/data/ct, written by lessmore as PNG
# (HASH with threshold 0 keeps them all).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
LESSMORE_BIN="${1:-$HERE/../build/apps/lessmore}"
WORK="${BENCH_DIR:-/tmp/lessmore-bench-png}"
[ -x "$LESSMORE_BIN" ] || die "no lessmore binary at $LESSMORE_BIN"
mkdir -p "$WORK"
for h in png.h spng.h libdeflate.h isa-l/igzip_lib.h; do
    [ -f "/usr/include/$h" ] || die "needs /usr/include/$h: apt-get install libpng-dev libspng-dev libdeflate-dev libisal-dev"
done
g++ -O2 -std=c++17 "$HERE/bench_png_encoders.cpp" -o "$WORK/bench_png_encoders" -lpng -lspng -lz -ldeflate -lisal
rm -rf "$WORK/slices"
"$LESSMORE_BIN" reduce "$HERE/../tests/data/ct" -o "$WORK/slices" --threshold 0 --format png --threads 2 -q >/dev/null
mapfile -t pngs < <(find "$WORK/slices" -name '*.png' | sort)
"$WORK/bench_png_encoders" "${pngs[@]}"
