#!/usr/bin/env bash
# Set up lessmore on Debian 12: install the missing Debian packages, build, then
#   demo  reduce the bundled CT sample and print the summary (default)
#   test  run the whole test suite with ctest
#   build just build
# Usage: bash scripts/setup.sh [demo|test|build]
set -euo pipefail

mode="${1:-demo}"
case "$mode" in demo|test|build) ;; *) echo "usage: bash scripts/setup.sh [demo|test|build]" >&2; exit 2 ;; esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LESSMORE_BUILD_DIR:-$here/build}"

packages=(build-essential cmake pkg-config
          libinsighttoolkit5-dev libgdcm-dev zlib1g-dev libopencv-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
          libfaiss-dev libopenblas0-openmp
          libgdcm-tools googletest libgtest-dev libbenchmark-dev darknet)

# The browser test of the HTML report needs a real browser; the cluster test a real SLURM;
# the fuzz tests clang and its libFuzzer runtime (tests/fuzz; --no-install-recommends
# leaves libclang-rt-14-dev out, so it is named).
[ "$mode" = test ] && packages+=(chromium slurm-wlm munge clang-14 libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs"

case "$mode" in
demo)
    out="${TMPDIR:-/tmp}/lessmore-demo"
    "$build/apps/lessmore" reduce "$here/data/sample/example_ct_sm.nii.gz" -o "$out" --threshold 6 --force
    echo "setup: kept slices and manifest.json/csv are in $out" >&2
    ;;
test)
    cd "$build"
    ctest --output-on-failure -j "$jobs"
    ;;
esac
