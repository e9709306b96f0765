#!/usr/bin/python3
"""scikit-image SSIM and NMI pair kernels on one core (the paper's metrics).

Times, per pair of 512x512 8-bit slices already in memory,

  skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, data_range=255)
  skimage.metrics.normalized_mutual_information(a, b, bins=100)

which are the definitions lessmore's `ssim` and `mi` methods reproduce. The
slices are the real pancreas CT series, converted to HU (pixel_array * slope +
intercept, int16) and min-max mapped per slice to 8 bit
(v = (x - min) / (max - min) * 255, rounded half to even, uint8). Pairs are
neighbouring slices (i, i + 1) in file order, cycling over the series.
DICOM reading and the 8-bit mapping are excluded from the timing.

The process is pinned to one CPU and BLAS/OpenMP pools are limited to one
thread, so the figures are single-core rates. Each metric is timed for about
--seconds in rounds of about one second; the median round rate is reported.

Output (stdout, machine-readable, one line per metric):
  ssim <pairs_per_second>
  mi <pairs_per_second>
Details (versions, rounds, a check value) go to stderr.

Usage: reference_similarity_kernel.py [--size 512] [--seconds 10] [--src SERIES_DIR]
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import skimage  # noqa: E402
from skimage.metrics import normalized_mutual_information, structural_similarity  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dicom_source import hu_slices  # noqa: E402

DEFAULT_SRC = "/work/shared/data/ct/pancreas-ct-cb-001"


def to_uint8(hu):
    x = hu.astype(np.float64)
    lo, hi = x.min(), x.max()
    v = (x - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(x)
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)  # np.rint: half to even


def load_slices(src, size):
    out = []
    for _, _, hu in hu_slices(src):
        img = to_uint8(hu)
        if img.shape != (size, size):
            import cv2  # only when resizing
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        out.append(np.ascontiguousarray(img))
    if len(out) < 2:
        sys.exit(f"reference_similarity_kernel: need >= 2 *.dcm files in {src}")
    return out


def ssim(a, b):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255)


def nmi(a, b):
    return normalized_mutual_information(a, b, bins=100)


def time_metric(fn, slices, seconds):
    n = len(slices)
    fn(slices[0], slices[1])  # warm-up
    # calibrate: pairs per ~1 s round
    t0 = time.perf_counter()
    k = 0
    while time.perf_counter() - t0 < 0.3:
        fn(slices[k % (n - 1)], slices[k % (n - 1) + 1])
        k += 1
    per_round = max(1, int(k / (time.perf_counter() - t0)))
    rates = []
    start = time.perf_counter()
    j = 0
    while True:
        t0 = time.perf_counter()
        for _ in range(per_round):
            i = j % (n - 1)
            fn(slices[i], slices[i + 1])
            j += 1
        rates.append(per_round / (time.perf_counter() - t0))
        if time.perf_counter() - start >= seconds and len(rates) >= 3:
            break
    return statistics.median(rates), rates, per_round


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=512, help="slice size S (S x S; 512 = no resize)")
    ap.add_argument("--seconds", type=float, default=10.0, help="timing per metric (default 10)")
    ap.add_argument("--src", default=DEFAULT_SRC, help="DICOM series folder")
    args = ap.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    slices = load_slices(args.src, args.size)
    mid = len(slices) // 2
    print(f"scikit-image {skimage.__version__}, numpy {np.__version__}, {len(slices)} slices "
          f"{args.size}x{args.size}, 1 core; check: ssim(s{mid},s{mid + 1}) = "
          f"{ssim(slices[mid], slices[mid + 1]):.6f}, nmi = {nmi(slices[mid], slices[mid + 1]):.6f}",
          file=sys.stderr)
    for name, fn in (("ssim", ssim), ("mi", nmi)):
        med, rates, per_round = time_metric(fn, slices, args.seconds)
        print(f"{name}: {len(rates)} rounds x {per_round} pairs, median {med:.2f}, "
              f"best {max(rates):.2f} pairs/s", file=sys.stderr)
        print(f"{name} {med:.3f}", flush=True)


if __name__ == "__main__":
    main()
