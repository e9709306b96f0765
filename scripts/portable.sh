#!/usr/bin/env bash
# The kernels as an aarch64 build compiles them: -DLESSMORE_PORTABLE=ON (no x86
# target_clones or intrinsics, src/kernels/cpu_dispatch.hpp) in build-portable/, then the
# unit tests on that build (the CLI tests add nothing here: the same kernels run there).
# Usage: bash scripts/portable.sh   (after `bash scripts/setup.sh test` installed the packages)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LESSMORE_PORTABLE_BUILD_DIR:-$here/build-portable}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLESSMORE_PORTABLE=ON -DLESSMORE_WERROR=ON \
      -DLESSMORE_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target lessmore_unit_tests
cd "$build"
ctest --output-on-failure -j "$(nproc)" -L unit
