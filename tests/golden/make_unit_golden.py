#!/usr/bin/python3
"""Independent golden values for lessmore's 3-D unit kernels (src/kernels/unit_similarity.cpp,
to_8bit_block in src/kernels/intensity.cpp).

The reference implementation is scikit-image on numpy arrays of shape (Z, Y, X):

  SSIM: skimage.metrics.structural_similarity(a, b, data_range=255) on uint8 3-D arrays,
        i.e. its defaults for grey 3-D input: gaussian_weights=False -> win_size=7
        (scipy.ndimage.uniform_filter), use_sample_covariance=True, the 3-voxel border
        cropped before the mean.
  NMI:  skimage.metrics.normalized_mutual_information(a, b, bins=100) on the same arrays.

A unit's 8-bit array is ONE min-max mapping over the whole unit (reference_preprocessing's
minmax_u8 applied to the 3-D block of HU / float values), recorded by its SHA-256.
Slab HASH: each slice of the slab mapped per slice (minmax_u8, as 2-D HASH does) and
hashed with imagehash's dhash (reference_preprocessing.dhash_hex); the Hamming distances
position by position, their max and mean.

Inputs (all deterministic):
  * synthetic units (numpy.random.default_rng with fixed seeds), stored as base64;
  * pancreas-ct-cb-001 (tests/data/ct, the 16 slices 1-026.dcm..1-041.dcm, 512x512),
    stacked in file-name order, HU as in reference_preprocessing.dicom_hu;
  * data/sample/example_ct_sm.nii.gz (bundled; slice k = get_fdata()[:, :, k].T).

Floats are written with Python's repr (exact float64); NaN as null; a unit scikit-image
refuses (a side under 7) has "ssim": null and "ssim_error".

Usage: /usr/bin/python3 make_unit_golden.py [OUTPUT_JSON]   (default: unit_golden.json here)
Data attribution: tests/data/ct/SOURCES.md.
"""

import base64
import hashlib
import json
import math
import os
import sys

import nibabel as nib
import numpy as np
import pydicom
import scipy
import skimage
from skimage.metrics import normalized_mutual_information, structural_similarity

from reference_preprocessing import dhash_hex, dicom_hu, minmax_u8

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PANCREAS = os.path.join(ROOT, "tests", "data", "ct", "pancreas-ct-cb-001")
SAMPLE = os.path.join(ROOT, "data", "sample", "example_ct_sm.nii.gz")
BINS = 100


def jfloat(v):
    v = float(v)
    return v if math.isfinite(v) else None


def sha(u8):
    return hashlib.sha256(np.ascontiguousarray(u8, dtype=np.uint8).tobytes()).hexdigest()


def b64(u8):
    return base64.b64encode(np.ascontiguousarray(u8, dtype=np.uint8).tobytes()).decode()


def metrics(a, b):
    rec = {}
    try:
        rec["ssim"] = jfloat(structural_similarity(a, b, data_range=255))
    except ValueError as e:
        rec["ssim"], rec["ssim_error"] = None, str(e)
    rec["nmi"] = jfloat(normalized_mutual_information(a, b, bins=BINS))
    return rec


def synthetic():
    rng = np.random.default_rng(22)
    cases = []

    def add(name, a, b):
        a, b = np.asarray(a, np.uint8), np.asarray(b, np.uint8)
        rec = {"name": name, "shape": list(a.shape), "a_b64": b64(a), "b_b64": b64(b)}
        rec.update(metrics(a, b))
        cases.append(rec)

    def rand(shape, lo=0, hi=256):
        return rng.integers(lo, hi, size=shape, dtype=np.uint8)

    a = rand((7, 7, 7))
    add("random 7x7x7 (the smallest unit)", a, rand((7, 7, 7)))
    add("identical", a, a.copy())
    a = rand((8, 12, 10))
    add("random 8x12x10", a, rand((8, 12, 10)))
    noise = np.clip(a.astype(int) + rng.integers(-12, 13, size=a.shape), 0, 255)
    add("noisy copy 8x12x10", a, noise)
    z, y, x = np.mgrid[0:9, 0:16, 0:16]
    smooth = (z * 9 + y * 5 + x * 3) % 256
    add("gradient vs gradient+noise 9x16x16", smooth,
        np.clip(smooth + rng.integers(-20, 21, size=smooth.shape), 0, 255))
    add("constant vs constant", np.full((7, 9, 8), 40), np.full((7, 9, 8), 200))
    add("constant vs random", np.full((7, 9, 8), 0), rand((7, 9, 8)))
    add("saturated extremes 0/255", rand((7, 8, 9), 0, 2) * 255, rand((7, 8, 9), 0, 2) * 255)
    add("too thin: 6 slices", rand((6, 12, 12)), rand((6, 12, 12)))
    add("too narrow: 5 columns", rand((8, 12, 5)), rand((8, 12, 5)))
    return cases


def dicom_stack():
    files = sorted(f for f in os.listdir(PANCREAS) if f.endswith(".dcm"))
    return files, np.stack([dicom_hu(pydicom.dcmread(os.path.join(PANCREAS, f))) for f in files])


def nifti_stack():
    data = nib.load(SAMPLE).get_fdata()
    return np.stack([data[:, :, k].T for k in range(data.shape[2])])


def block(stack, origin, size):
    z, y, x = origin
    d, h, w = size
    return stack[z:z + d, y:y + h, x:x + w]


def unit_pairs(stack, pairs, names=None):
    out = []
    for (oa, ob, size) in pairs:
        ua, ub = minmax_u8(block(stack, oa, size)), minmax_u8(block(stack, ob, size))
        rec = {"a_origin": list(oa), "b_origin": list(ob), "size": list(size),
               "a_sha256": sha(ua), "b_sha256": sha(ub)}
        if names is not None:
            rec["a_files"] = names[oa[0]:oa[0] + size[0]]
            rec["b_files"] = names[ob[0]:ob[0] + size[0]]
        rec.update(metrics(ua, ub))
        if size[1] == stack.shape[1] and size[2] == stack.shape[2]:  # a slab: its slice hashes
            ha = [dhash_hex(minmax_u8(s)) for s in block(stack, oa, size)]
            hb = [dhash_hex(minmax_u8(s)) for s in block(stack, ob, size)]
            dist = [bin(int(p, 16) ^ int(q, 16)).count("1") for p, q in zip(ha, hb)]
            rec.update({"a_hashes": ha, "b_hashes": hb, "hash_distances": dist,
                        "hash_max": max(dist), "hash_mean": sum(dist) / len(dist)})
        out.append(rec)
    return out


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "unit_golden.json")
    files, pancreas = dicom_stack()
    full = (pancreas.shape[1], pancreas.shape[2])
    pancreas_pairs = [
        ((0, 0, 0), (8, 0, 0), (8,) + full),      # slab:8, the two units
        ((0, 0, 0), (1, 0, 0), (8,) + full),      # slabs one slice apart
        ((3, 0, 0), (9, 0, 0), (7,) + full),      # the smallest slab
        ((0, 0, 0), (0, 0, 0), (16,) + full),     # the whole subset against itself
        ((0, 200, 200), (8, 200, 200), (8, 64, 64)),
        ((2, 240, 100), (3, 240, 100), (7, 32, 48)),
        ((0, 0, 0), (0, 256, 256), (16, 256, 256)),
    ]
    sample = nifti_stack()
    sd = (sample.shape[1], sample.shape[2])
    sample_pairs = [
        ((0, 0, 0), (8, 0, 0), (8,) + sd),
        ((0, 0, 0), (1, 0, 0), (8,) + sd),
        ((20, 0, 0), (22, 0, 0), (8,) + sd),
        ((0, 30, 40), (4, 30, 40), (8, 32, 40)),
        ((10, 50, 60), (11, 50, 60), (7, 7, 7)),
    ]
    golden = {
        "generator": "tests/golden/make_unit_golden.py",
        "skimage": skimage.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
        "ssim_params": {"win_size": 7, "gaussian_weights": False, "use_sample_covariance": True,
                        "data_range": 255, "K1": 0.01, "K2": 0.03},
        "nmi_bins": BINS,
        "synthetic": synthetic(),
        "pancreas": {"dataset": "pancreas-ct-cb-001", "files": files, "shape": list(pancreas.shape),
                     "pairs": unit_pairs(pancreas, pancreas_pairs, files)},
        "sample": {"dataset": "sample/example_ct_sm.nii.gz", "shape": list(sample.shape),
                   "pairs": unit_pairs(sample, sample_pairs)},
    }
    with open(out_path, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
