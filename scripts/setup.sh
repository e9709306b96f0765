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
          libinsighttoolkit5-dev libgdcm-dev zlib1g-dev libjpeg62-turbo-dev libopencv-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
          libfaiss-dev libopenblas0-openmp libonnx-dev libprotobuf-dev
          libgdcm-tools googletest libgtest-dev libbenchmark-dev darknet)

# The browser test of the HTML report needs a real browser; the cluster tests (docs/clusters.md)
# a real SLURM, GNU parallel and a YAML parser; the model tests (docs/models.md) Debian's torch,
# which exports the models they run, and LibTorch, which the TorchScript module is built with
# (without libtorch-dev the build has no TorchScript support: demo and build do not need it).
[ "$mode" = test ] && packages+=(chromium slurm-wlm munge parallel python3-yaml
                                 python3-torch python3-torchvision libtorch-dev python3-nibabel python3-pil python3-numpy)

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
