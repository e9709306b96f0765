#!/usr/bin/env bash
# What writing PNGs costs in a one-series HASH-6 run (issue goal: at most 20% of the run),
# for this build and a previous one, in one run: `reduce -m hash -t 6` with `--format png`
# and with `--format none` on the 402-slice DICOM series of bench_reduce.sh, the four
# (program, format) pairs interleaved run by run. Wall clock and CPU time (user + system,
# from wait4) are reported as medians and minima (the minimum is the least disturbed by a
# shared host); the PNG share is (png - none) / png. The kept PNGs of both builds are
# decoded and compared pixel by pixel (Pillow), so a faster writer cannot pass by writing
# something else.
#
# Every run writes into a new OUT, and the OUTs are removed after the last run, as a
# user's run writes into a fresh folder. Removing each OUT before the next run made ext4
# skip the just-freed inodes one by one on every file created (recently_deleted in
# `perf record`: ~7% of a run's samples, and the two threads waiting on the folder's lock),
# a cost of the benchmark's churn, not of writing PNGs (docs/performance.md, section
# "One series against the released pipeline").
#
# Usage: bench/bench_png_share.sh [NEW_BIN] [BASE_BIN]
#   NEW_BIN   default: build/apps/lessmore of this tree
#   BASE_BIN  default: NEW_BIN (then only one build is measured)
# Environment: BENCH_RUNS runs per pair (31), BENCH_THREADS (2), BENCH_DIR scratch
# folder (/tmp/lessmore-bench; the series is made there once, by make_series.py),
# BENCH_OUT where the OUTs go (BENCH_DIR/share; e.g. a folder on tmpfs, /dev/shm/..., to
# leave out the file system's own cost of creating files).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
NEW_BIN="${1:-$HERE/../build/apps/lessmore}"
BASE_BIN="${2:-$NEW_BIN}"
WORK="${BENCH_DIR:-/tmp/lessmore-bench}"
SERIES="$WORK/series"
[ -x "$NEW_BIN" ] || die "no lessmore binary at $NEW_BIN"
[ -x "$BASE_BIN" ] || die "no base binary at $BASE_BIN"

mkdir -p "$WORK"
if [ "$(find "$SERIES" -type f 2>/dev/null | wc -l)" -ne 402 ]; then
    rm -rf "$SERIES"
    "$PY" "$HERE/make_series.py" "$SERIES" --copies 3 >/dev/null
fi
warm "$SERIES"

"$PY" - "$NEW_BIN" "$BASE_BIN" "$SERIES" "$WORK" "${BENCH_RUNS:-31}" "${BENCH_THREADS:-2}" "${BENCH_OUT:-$WORK/share}" <<'PYEOF'
import os, shutil, statistics, subprocess, sys, time
import numpy as np
from PIL import Image

new, base, series, work, runs, threads, outs = sys.argv[1:5] + [int(sys.argv[5])] + sys.argv[6:8]
builds = [("new", new)] if base == new else [("base", base), ("new", new)]
devnull = os.open(os.devnull, os.O_WRONLY)

def once(binary, fmt, out):
    argv = [binary, "reduce", series, "-o", out, "-m", "hash", "-t", "6", "--format", fmt, "-j", threads]
    t0 = time.perf_counter()
    pid = os.posix_spawn(binary, argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench_png_share: {' '.join(argv)} failed")
    return wall * 1e3, (ru.ru_utime + ru.ru_stime) * 1e3

shutil.rmtree(outs, ignore_errors=True)
os.makedirs(outs)
res = {}
for run in range(runs):
    for which, b in builds:
        for fmt in ("png", "none"):
            res.setdefault((which, fmt), []).append(once(b, fmt, os.path.join(outs, f"{which}-{fmt}-{run}")))

def pngs(which):
    root = os.path.join(outs, f"{which}-png-0")
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
                  if f.endswith(".png"))

kept = pngs("new")
size = sum(os.path.getsize(os.path.join(outs, "new-png-0", p)) for p in kept)
if len(builds) == 2:
    if pngs("base") != kept:
        sys.exit("bench_png_share: the builds kept different slices")
    for p in kept:
        a = np.asarray(Image.open(os.path.join(outs, "base-png-0", p)))
        b = np.asarray(Image.open(os.path.join(outs, "new-png-0", p)))
        if a.shape != b.shape or not np.array_equal(a, b):
            sys.exit(f"bench_png_share: {p}: the builds wrote different pixels")

load = os.getloadavg()
print(f"PNG share of a one-series HASH-6 run (402 slices, {len(kept)} kept, {size / 2**20:.2f} MB of PNG), "
      f"{threads} threads, {runs} runs per pair interleaved; load average {load[0]:.1f} / {load[1]:.1f} / "
      f"{load[2]:.1f}; OUT under {outs}" + (f"; base = {base}" if len(builds) == 2 else "") +
      ("; pixels of the two builds' PNGs equal." if len(builds) == 2 else "."))
print()
print("| build | statistic | png wall ms | none wall ms | PNG share of wall | png CPU ms | none CPU ms "
      "| PNG share of CPU |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for which, _ in builds:
    for stat, f in (("median", statistics.median), ("min", min)):
        pw, nw = (f(v[0] for v in res[(which, fmt)]) for fmt in ("png", "none"))
        pc, nc = (f(v[1] for v in res[(which, fmt)]) for fmt in ("png", "none"))
        print(f"| {which} | {stat} | {pw:.1f} | {nw:.1f} | {100 * (pw - nw) / pw:.1f}% | {pc:.1f} | {nc:.1f} "
              f"| {100 * (pc - nc) / pc:.1f}% |")
shutil.rmtree(outs)
PYEOF
