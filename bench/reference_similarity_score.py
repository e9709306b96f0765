#!/usr/bin/python3
"""scikit-image's end to end counterpart of `lessmore score VOLUME --method ssim|mi`.

The whole task, timed from the start of this script's work to the last pair: read a
NIfTI volume with nibabel, min-max map every slice to 8 bit the way lessmore does
(v = (x - min) / (max - min) * 255, rounded half to even; a constant slice is all 0),
then score every pair i < j of slices with

  skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, data_range=255)
  skimage.metrics.normalized_mutual_information(a, b, bins=100)

on one core (BLAS/OpenMP pools limited to one thread; pin the process with taskset).
scikit-image has no per-slice preparation: every pair recomputes everything.

The score matrix (both triangles, diagonal 1.0 for SSIM and 2.0 for NMI) is saved as
float64 .npy, so the bench can compare it with lessmore's entry by entry. Slice
orientation does not matter to either score (both are invariant to flipping or
transposing both images), so nibabel's array order is used as it is.

Output (stdout, one line): <pairs> <seconds> (the Python start-up and imports are not
counted; reading, mapping and all pairs are).

Usage: reference_similarity_score.py VOLUME.nii --method ssim|mi --out MATRIX.npy
                                     [--slices N]   (the first N slices; default all)
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from skimage.metrics import normalized_mutual_information, structural_similarity  # noqa: E402


def to_uint8(x):
    x = x.astype(np.float64)
    lo, hi = x.min(), x.max()
    if hi <= lo:
        return np.zeros(x.shape, np.uint8)
    return np.clip(np.rint((x - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8)  # half to even


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("volume")
    ap.add_argument("--method", choices=("ssim", "mi"), required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--slices", type=int, default=0)
    args = ap.parse_args()

    start = time.perf_counter()
    data = np.asanyarray(nib.load(args.volume).dataobj)
    n = data.shape[2] if args.slices <= 0 else min(args.slices, data.shape[2])
    slices = [np.ascontiguousarray(to_uint8(data[:, :, k])) for k in range(n)]
    if args.method == "ssim":
        def score(a, b):
            return structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False, data_range=255)
        self_score = 1.0
    else:
        def score(a, b):
            return normalized_mutual_information(a, b, bins=100)
        self_score = 2.0
    m = np.full((n, n), self_score)
    for i in range(n):
        for j in range(i + 1, n):
            m[i, j] = m[j, i] = score(slices[i], slices[j])
    seconds = time.perf_counter() - start
    np.save(args.out, m)
    print(n * (n - 1) // 2, f"{seconds:.3f}")


if __name__ == "__main__":
    main()
