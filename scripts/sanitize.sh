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
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" UBSAN_OPTIONS="print_stacktrace=1"
log="$build/Testing/sanitize.log"
mkdir -p "$build/Testing"
if ctest --output-on-failure -j "$(nproc)" "$@" 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    exit 0
fi
# LeakSanitizer's stop-the-world tracer can itself crash at process exit ("Tracer caught
# signal 11" then "LeakSanitizer has encountered a fatal error"): it scans every live thread,
# and a process that has loaded LibTorch has a pool of them. That is the checker failing,
# not a leak (the CI run of 2026-12-06 failed so on TorchModels.TorchScriptMatchesTorchsForwardPass,
# which had passed the two runs before). Decision: the failed tests run once more, and only
# when every failure in the log is that crash — a leak, an ASan or UBSan report, or any other
# failure still fails the run at once.
# Each failed test's output block (ctest prints it after the test's "***" result line) must
# hold the tracer's message and no sanitizer report.
only_tracer_crashes=$(awk '
    /^[0-9]+\/[0-9]+ Test +#[0-9]+: / { name = ""; if ($0 ~ /\*\*\*/) { name = $4; failed[name] = 1 } next }
    /^ *Start +[0-9]+: / { name = ""; next }
    name != "" && /LeakSanitizer has encountered a fatal error/ { tracer[name] = 1 }
    name != "" && /ERROR: (AddressSanitizer|LeakSanitizer: detected)|runtime error:/ { report[name] = 1 }
    END { n = 0; for (t in failed) { n++; if (!(t in tracer) || (t in report)) { print "no"; exit } } print (n ? "yes" : "no") }
' "$log")
if [ "$only_tracer_crashes" != yes ]; then
    exit 1
fi
failed=$(grep -cE '^[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*' "$log" || true)
echo "sanitize.sh: $failed test(s) failed only by LeakSanitizer's tracer crash; running them once more" >&2
ctest --output-on-failure --rerun-failed
