#!/usr/bin/env bash
# The test suite under AddressSanitizer (with LeakSanitizer) and UBSan, in build-asan/.
# Usage: bash scripts/sanitize.sh [CTEST ARGS...]   e.g. -R 'Fuzz|Reader|Dicom'
#   (after `bash scripts/setup.sh test` installed the packages); no arguments: every test.
# Any sanitizer report fails the test that triggered it (UBSan does not recover; LSan
# makes the process exit non-zero), including in the CLI and decoder worker processes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LESSMORE_ASAN_BUILD_DIR:-$here/build-asan}"
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
# The Python extension is left out: an ASan-built module needs the interpreter started with
# libasan preloaded (the sanitizer runtime must come first), which the Python tests do not do;
# the engine code it binds is the same the C++ tests run here.
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLESSMORE_BUILD_BENCHMARKS=OFF -DLESSMORE_PYTHON=OFF \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$build" -j "$(nproc)"
cd "$build"
ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" UBSAN_OPTIONS="print_stacktrace=1" \
    ctest --output-on-failure -j "$(nproc)" "$@"
