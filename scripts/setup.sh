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

# What building lessmore needs; the test suite and benchmarks need more (installed for
# `test` and `build`, not for the demo, whose first run builds only the binary).
packages=(build-essential cmake pkg-config
          libinsighttoolkit5-dev libgdcm-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev libisal-dev libopencv-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
          libfaiss-dev libopenblas0-openmp libonnx-dev libprotobuf-dev nettle-dev)
# LibTorch builds the TorchScript module (docs/models.md); the demo does without it.
[ "$mode" = demo ] || packages+=(googletest libgtest-dev libbenchmark-dev libgdcm-tools darknet libtorch-dev libspng-dev)
# The Python package (docs/python.md): pybind11, pip/setuptools/wheel and venv to install it,
# numpy and pandas it uses; pytest, nibabel, Pillow and torch its tests use.
[ "$mode" = demo ] || packages+=(python3-dev python3-pybind11 pybind11-dev python3-venv python3-wheel python3-setuptools
                                python3-pip python3-numpy python3-pandas python3-pytest python3-nibabel python3-pil)
[ "$mode" = test ] && packages+=(python3-torch)
# The browser test of the HTML report needs a real browser; the cluster tests (docs/clusters.md)
# a real SLURM, GNU parallel and a YAML parser; CI's format check clang-format; the fuzz
# tests clang and its libFuzzer runtime (tests/fuzz; --no-install-recommends leaves
# libclang-rt-14-dev out, so it is named); the manifest and geometry checks
# (docs/output.md) jsonschema, pandas, pydicom, nibabel, numpy and Pillow; the model tests
# (docs/models.md) Debian's torch, which exports the models they run.
[ "$mode" = test ] && packages+=(chromium slurm-wlm munge parallel python3-yaml clang-format clang-14 libclang-rt-14-dev
                                 python3-jsonschema python3-pandas python3-pydicom python3-nibabel python3-numpy python3-pil
                                 python3-torch python3-torchvision)

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
if [ "$mode" = demo ]; then
    # Only the binary: no tests, no benchmarks (a later `setup.sh test` turns them on again).
    cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLESSMORE_BUILD_TESTS=OFF -DLESSMORE_BUILD_BENCHMARKS=OFF >/dev/null
    cmake --build "$build" -j "$jobs" --target lessmore
else
    # Tests and CI treat warnings in lessmore's own code as errors (CONTRIBUTING.md).
    werror=OFF
    [ "$mode" = test ] && werror=ON
    cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLESSMORE_BUILD_TESTS=ON -DLESSMORE_BUILD_BENCHMARKS=ON \
          -DLESSMORE_WERROR="$werror" >/dev/null
    cmake --build "$build" -j "$jobs"
    # The Python package installed the standard way (pip, setup.py driving this build) into
    # a virtual environment that sees Debian's numpy, pandas and torch.
    venv="$build/venv"
    [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
    LESSMORE_BUILD_DIR="$build" LESSMORE_JOBS="$jobs" \
        "$venv/bin/pip" install --quiet --no-index --no-build-isolation "$here"
fi

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
