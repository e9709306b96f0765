#!/usr/bin/python3
"""lessmore.reduce_array against the CLI on the same voxels, in one run (docs/performance.md,
section "Python package"): a 512 x 512 x 400 int16 volume (the benchmark series' voxels,
bench/make_series.py, from its NPY output), HASH-6, 2 threads.

  - reduce_array(volume): wall time and the process's CPU time per call (median of RUNS);
  - the CLI on the same voxels saved as NIfTI (nibabel, uncompressed, page cache warm):
    `lessmore reduce VOL.nii -t 6 -j 2 --format none`, wall and CPU (median of RUNS),
    reading included;
  - both decide the same slices (asserted).

The machine may be shared: the load average is printed before and after, and CPU time per
slice is the number that depends least on it.

Usage: bench/bench_reduce_array.py [--cli build/apps/lessmore] [--runs 7] [--threads 2]
                                   [--work /tmp/lessmore-bench-array]
Needs the package importable (PYTHONPATH=build/python, or the venv of scripts/setup.sh).
Prints a markdown table; exit 1 when reduce_array is below 2,000 slices/s."""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import lessmore

HERE = Path(__file__).resolve().parent


def cpu_seconds(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def timed(runs, fn, who=resource.RUSAGE_SELF):
    """Medians of wall and CPU seconds over `runs` calls of fn."""
    walls, cpus = [], []
    for _ in range(runs):
        c0, t0 = cpu_seconds(who), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu_seconds(who) - c0)
    return statistics.median(walls), statistics.median(cpus)


def volume_of_series(work, threads):
    """The series' first 400 slices as (Z, Y, X) int16, from its NPY output."""
    series = work / "series"
    subprocess.check_output([sys.executable, str(HERE / "make_series.py"), str(series), "--copies", "3"])
    lessmore.reduce(series, work / "all", method="everyn", every=1, format="npy", threads=threads, force=True)
    run = lessmore.Run(work / "all")
    files = [str(run.file_of(r)) for r in run.kept.to_dict("records")]
    volume = np.stack([np.load(f) for f in files[:400]]).astype(np.int16)
    assert volume.shape == (400, 512, 512) and volume.flags.c_contiguous, volume.shape
    return volume


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(HERE.parent / "build" / "apps" / "lessmore"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="/tmp/lessmore-bench-array")
    a = ap.parse_args()
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    volume = volume_of_series(work, a.threads)
    n = volume.shape[0]
    import nibabel as nib
    nii = work / "volume.nii"
    nib.save(nib.Nifti1Image(volume.transpose(2, 1, 0), np.eye(4)), str(nii))
    nii.read_bytes()  # page cache warm

    load_before = os.getloadavg()[0]
    lessmore.reduce_array(volume[:16], threshold=6, threads=a.threads)  # warm-up
    result = None

    def array():
        nonlocal result
        result = lessmore.reduce_array(volume, threshold=6, threads=a.threads)

    def cli():
        shutil.rmtree(work / "cli", ignore_errors=True)
        subprocess.run([a.cli, "reduce", str(nii), "-o", str(work / "cli"), "-t", "6", "-j", str(a.threads),
                        "--format", "none", "-q"], check=True, stdout=subprocess.DEVNULL)

    cli()  # warm-up
    t_arr, c_arr = timed(a.runs, array)
    t_cli, c_cli = timed(a.runs, cli, resource.RUSAGE_CHILDREN)
    load_after = os.getloadavg()[0]

    with open(work / "cli" / "manifest.json", encoding="utf-8") as f:
        [vol] = json.load(f)["volumes"]
    cli_kept = np.array([s["kept"] for s in vol["slices"]])
    assert np.array_equal(result.mask, cli_kept), "reduce_array and the CLI decided differently"

    print(f"load average {load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} cores",
          file=sys.stderr)
    rate = n / t_arr
    print(f"| what | {n} x 512 x 512 int16, HASH-6, {a.threads} threads, median of {a.runs} | slices/s (wall) "
          "| CPU per slice |")
    print("|---|---|---:|---:|")
    print(f"| `lessmore.reduce_array` | the array in memory | {rate:,.0f} ({t_arr:.3f} s) "
          f"| {1000 * c_arr / n:.3f} ms |")
    print(f"| CLI `reduce --format none` | the same voxels as NIfTI (reading included) | {n / t_cli:,.0f} "
          f"({t_cli:.3f} s) | {1000 * c_cli / n:.3f} ms |")
    print(f"kept {int(result.mask.sum())} of {n} (both)", file=sys.stderr)
    ok = rate >= 2000
    print("PASS" if ok else "FAIL: below 2,000 slices/s", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
