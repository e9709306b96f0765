#!/usr/bin/env bash
# Fuzzes lessmore's own parsers with libFuzzer (tests/fuzz; CONTRIBUTING.md, "Fuzzing").
#
#   bash scripts/fuzz.sh                        build, then each target for 60 s
#   bash scripts/fuzz.sh --seconds 600 dicom    one target for 10 minutes (a long run)
#   bash scripts/fuzz.sh --seconds 0            the regressions and the seed corpus only
#
# Targets: dicom, nifti, volume_header, run_record (default: all, one after another).
# Each target first runs every file in tests/fuzz/regressions/<target>/, then fuzzes from
# its committed seeds (tests/fuzz/corpus/<target>/) plus what earlier runs found (kept in
# BUILD/corpus/<target>/; the committed seeds are never written to).
#
# Options: --seconds N (default 60), --build-dir DIR (default build-fuzz/), --no-build,
# --build-only, --jobs N (parallel compile), --fresh (start from the committed seeds only,
# keeping nothing: what ctest does, so its cost does not grow from run to run).
# Exit codes: 0 no finding; 1 a target crashed, leaked, ran out of memory, timed out or
# broke a checked property (the input is saved under BUILD/artifacts/ and the path
# printed); 2 usage; 77 this machine cannot fuzz (no clang with libFuzzer: Debian's
# clang-14 and libclang-rt-14-dev, which scripts/setup.sh test installs).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_src="$here/tests/fuzz"
build="$here/build-fuzz"
seconds=60
do_build=1
run=1
fresh=0
jobs="$(nproc 2>/dev/null || echo 2)"
targets=()

usage() {
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while (($#)); do
    case "$1" in
    --seconds) seconds="${2:?}"; shift 2 ;;
    --build-dir) build="${2:?}"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --build-only) run=0; shift ;;
    --fresh) fresh=1; shift ;;
    --jobs) jobs="${2:?}"; shift 2 ;;
    -h|--help) usage ;;
    dicom|nifti|volume_header|run_record) targets+=("$1"); shift ;;
    *) echo "fuzz.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seconds: not a whole number: '$seconds'" >&2; exit 2; }
((${#targets[@]})) || targets=(dicom nifti volume_header run_record)

# Per target: the largest input (bytes) worth mutating. DICOM: a small slice with its
# header; NIfTI: a header with a few slices (gzip: up to 1032x that once inflated);
# NRRD/MetaImage: a header; JSON: a run.json or a record of a few hundred slices.
max_len() {
    case "$1" in
    dicom) echo 32768 ;;
    nifti) echo 16384 ;;
    volume_header) echo 4096 ;;
    run_record) echo 32768 ;;
    esac
}

# A clang whose libFuzzer runtime links (Debian puts it in libclang-rt-14-dev).
find_clang() {
    local cxx probe
    for cxx in "${LESSMORE_FUZZ_CXX:-}" clang++-14 clang++; do
        [ -n "$cxx" ] && command -v "$cxx" >/dev/null 2>&1 || continue
        probe="$(mktemp -d)"
        printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe/p.cpp"
        if "$cxx" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" >/dev/null 2>&1; then
            rm -rf "$probe"
            command -v "$cxx"
            return 0
        fi
        rm -rf "$probe"
    done
    return 1
}

if ((do_build)); then
    if ! cxx="$(find_clang)"; then
        echo "fuzz.sh: skipped: no clang++ with the libFuzzer runtime (install clang-14 and libclang-rt-14-dev)" >&2
        exit 77
    fi
    cmake -S "$fuzz_src" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
    cmake --build "$build" -j "$jobs" >/dev/null || { echo "fuzz.sh: building the fuzz targets failed" >&2; cmake --build "$build" -j 1 2>&1 | tail -30 >&2; exit 1; }
fi
((run)) || exit 0

for t in "${targets[@]}"; do
    if [ ! -x "$build/fuzz_$t" ]; then
        if ! find_clang >/dev/null; then
            echo "fuzz.sh: skipped: no clang++ with the libFuzzer runtime (install clang-14 and libclang-rt-14-dev)" >&2
            exit 77
        fi
        echo "fuzz.sh: $build/fuzz_$t is not built (run without --no-build)" >&2
        exit 1
    fi
done

# A finding: what libFuzzer said, where the input is, and what to do with it.
report_failure() {
    local t="$1" log="$2" what="$3"
    echo "fuzz.sh: $t: FAILED ($what); the end of $log:" >&2
    grep -a -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|RELOAD)' "$log" | tail -40 >&2
    local saved
    saved="$(grep -a -o -E 'Test unit written to [^ ]+' "$log" | awk '{print $NF}' | tail -1 || true)"
    # A committed input run on its own is not copied: it is the last one libFuzzer ran.
    [ -n "$saved" ] || saved="$(grep -a -E '^Running: ' "$log" | tail -1 | sed 's/^Running: //' || true)"
    [ -n "$saved" ] && echo "fuzz.sh: $t: the failing input is $saved" >&2
    echo "fuzz.sh: reproduce with: $build/fuzz_$t ${saved:-FILE}; minimise with:" \
         "$build/fuzz_$t -minimize_crash=1 -runs=100000 ${saved:-FILE}; then commit it under tests/fuzz/regressions/$t/" >&2
}

status=0
mkdir -p "$build/logs" "$build/artifacts"
for t in "${targets[@]}"; do
    bin="$build/fuzz_$t"
    log="$build/logs/$t.log"
    : >"$log"
    # 1. Every committed regression input, once each.
    regressions=()
    if [ -d "$fuzz_src/regressions/$t" ]; then
        while IFS= read -r -d '' f; do regressions+=("$f"); done < <(find "$fuzz_src/regressions/$t" -type f ! -name '*.md' -print0 | sort -z)
    fi
    if ((${#regressions[@]})); then
        if ! "$bin" -rss_limit_mb=2048 -timeout=30 "${regressions[@]}" >>"$log" 2>&1; then
            report_failure "$t" "$log" "a committed regression input fails again"
            status=1
            continue
        fi
    fi
    # 2. The seeds and what earlier runs found, then fuzzing for the time given (with 0:
    # every corpus input once, no mutation).
    work="$build/corpus/$t"
    if ((fresh)); then
        rm -rf "$build/fresh-corpus/$t"
        work="$build/fresh-corpus/$t"
    fi
    mkdir -p "$work"
    dict=()
    [ -f "$fuzz_src/$t.dict" ] && dict=("-dict=$fuzz_src/$t.dict")
    limit=("-max_total_time=$seconds")
    ((seconds > 0)) || limit=("-runs=0")
    if ! "$bin" "${limit[@]}" -max_len="$(max_len "$t")" -rss_limit_mb=2048 -timeout=20 \
            -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 "${dict[@]}" \
            -artifact_prefix="$build/artifacts/$t-" "$work" "$fuzz_src/corpus/$t" >>"$log" 2>&1; then
        report_failure "$t" "$log" "the sanitizer or libFuzzer report follows"
        status=1
        continue
    fi
    stats="$(grep -a -E '^#[0-9]+[[:space:]]+(DONE|INITED)' "$log" | tail -1 | sed -E 's/[[:space:]]+/ /g' || true)"
    execs="$(grep -a -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)"
    rate="$(grep -a -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)"
    ((fresh)) && rm -rf "$work"
    echo "fuzz.sh: $t: ok (${#regressions[@]} regression inputs; ${seconds} s: ${execs:-?} executions, ${rate:-?}/s; ${stats:-})" >&2
done
exit "$status"
