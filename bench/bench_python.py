#!/usr/bin/python3
"""The Python package's costs (docs/performance.md, section "Python package"):

  a. lessmore.reduce against the CLI on the benchmark series (make_series.py, 3 x 134
     slices, HASH-6): wall time, median of RUNS runs each, same threads.
  b. lessmore.reduce_array on a 512 x 512 x 400 int16 volume (the series' voxels, HASH-6,
     2 threads): slices/s.
  c. KeptSlices over NPY output against a plain Dataset that only np.loads the same files,
     the same DataLoader (batch 32, 2 workers, EPOCHS epochs): slices/s.

Usage: bench/bench_python.py [--cli build/apps/lessmore] [--runs 3] [--work /tmp/lessmore-bench-py]
Needs the package importable (PYTHONPATH=build/python, or the venv of scripts/setup.sh).
Prints a markdown table; exit 1 when a goal (within 5%, >= 2000 slices/s, >= 90%) is missed."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import lessmore

HERE = Path(__file__).resolve().parent


def median_time(runs, fn):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(HERE.parent / "build" / "apps" / "lessmore"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="/tmp/lessmore-bench-py")
    a = ap.parse_args()
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    series = work / "series"
    n = int(subprocess.check_output([sys.executable, str(HERE / "make_series.py"), str(series), "--copies", "3"]))
    for f in series.iterdir():
        f.read_bytes()  # page cache warm for both
    rows, ok = [], True
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)

    # a. reduce vs CLI
    def cli():
        shutil.rmtree(work / "cli", ignore_errors=True)
        subprocess.run([a.cli, "reduce", str(series), "-o", str(work / "cli"), "--threshold", "6", "-j",
                        str(a.threads), "-q"], check=True, stdout=subprocess.DEVNULL)

    def py():
        shutil.rmtree(work / "py", ignore_errors=True)
        lessmore.reduce(series, work / "py", threshold=6, threads=a.threads)

    cli()
    py()  # warm-up of both
    t_cli, t_py = median_time(a.runs, cli), median_time(a.runs, py)
    ratio = t_py / t_cli
    ok &= ratio <= 1.05
    rows.append(("lessmore.reduce vs CLI", f"{n} slices, HASH-6, {a.threads} threads",
                 f"CLI {t_cli:.3f} s, Python {t_py:.3f} s ({ratio:.3f}x)", "<= 1.05x"))

    # b. reduce_array on 512 x 512 x 400 int16
    lessmore.reduce(series, work / "all", method="everyn", every=1, format="npy", threads=a.threads, force=True)
    run = lessmore.Run(work / "all")
    files = [str(run.file_of(r)) for r in run.kept.to_dict("records")]
    volume = np.stack([np.load(f) for f in files[:400]]).astype(np.int16)
    assert volume.shape == (400, 512, 512), volume.shape
    lessmore.reduce_array(volume[:16], threshold=6, threads=a.threads)
    t = median_time(a.runs, lambda: lessmore.reduce_array(volume, threshold=6, threads=a.threads))
    rate = 400 / t
    ok &= rate >= 2000
    rows.append(("reduce_array", f"512x512x400 int16, HASH-6, {a.threads} threads", f"{rate:.0f} slices/s ({t:.3f} s)",
                 ">= 2000 slices/s"))

    # c. KeptSlices vs plain np.load
    import torch
    from torch.utils.data import DataLoader, Dataset
    from lessmore.torch import KeptSlices

    class PlainNpy(Dataset):
        def __init__(self, paths):
            self.paths = paths

        def __len__(self):
            return len(self.paths)

        def __getitem__(self, i):
            return torch.from_numpy(np.load(self.paths[i]).astype(np.float32))[None]

    def rate_of(ds):
        loader = DataLoader(ds, batch_size=32, num_workers=2, persistent_workers=False)
        start = time.perf_counter()
        count = 0
        for _ in range(a.epochs):
            for x in loader:
                count += x.shape[0]
        return count / (time.perf_counter() - start)

    kept = KeptSlices(run, values="stored")
    plain = PlainNpy(files)
    rate_of(plain)  # warm the page cache
    r_plain = statistics.median(rate_of(plain) for _ in range(a.runs))
    r_kept = statistics.median(rate_of(kept) for _ in range(a.runs))
    share = r_kept / r_plain
    ok &= share >= 0.9
    rows.append(("KeptSlices vs np.load Dataset", f"{len(files)} NPY slices 512x512, batch 32, 2 workers",
                 f"plain {r_plain:.0f}/s, KeptSlices {r_kept:.0f}/s ({100 * share:.0f}%)", ">= 90%"))

    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print("| what | workload | measured | goal |\n|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print("PASS" if ok else "FAIL", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
