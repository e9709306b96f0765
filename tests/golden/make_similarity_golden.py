#!/usr/bin/python3
"""Independent golden-value generator for lessmore's SSIM / NMI metrics.

The reference implementation is scikit-image itself:

  SSIM: skimage.metrics.structural_similarity(a, b, gaussian_weights=True,
        sigma=1.5, use_sample_covariance=False, data_range=255)
        on uint8 images (11x11 Gaussian window, truncate=3.5, 'reflect'
        borders, a 5-pixel border cropped before averaging).
  NMI:  skimage.metrics.normalized_mutual_information(a, b, bins=B)
        (B = 100 unless stated; = (H(A) + H(B)) / H(A, B), in [1, 2]).

Slices are turned into uint8 images with the authors' "minmax" preprocessing
(DICOM -> int16 HU as in the dhash golden; NIfTI -> get_fdata() slice .T;
then (x - min) / (max - min) * 255, round half to even, clip; constant -> 0),
i.e. dicom_hu / minmax_u8 of reference_preprocessing.py next to this script.

Conventions in the output JSON:
  * floats are written with Python's repr (shortest string that round-trips
    the float64 exactly);
  * NaN (e.g. NMI of two constant images: 0/0) is written as null;
  * when skimage raises for SSIM (images smaller than the 11x11 window),
    "ssim" is null and "ssim_error" holds the exception message;
  * "warnings" (only present when non-empty) lists the warnings skimage /
    numpy / scipy emitted while computing that entry.

Usage:
    /usr/bin/python3 make_similarity_golden.py [DATA_DIR] [OUTPUT_JSON]

DATA_DIR defaults to ../data/ct relative to this script (tests/data/ct, the
CT data kept in the repository: pancreas-ct-cb-001 is there a 16-slice subset,
1-026.dcm..1-041.dcm, and every pancreas pair below lies inside it, so passing
the full series, e.g. ../shared/data/ct, gives the same pairs); the 30-slice
sample volume is read from ../../data/sample/example_ct_sm.nii.gz (bundled
with lessmore). OUTPUT_JSON defaults to similarity_golden.json next to this
script.

Data attribution (see tests/data/ct/SOURCES.md):
  pancreas-ct-cb-001: TCIA Pancreatic-CT-CBCT-SEG, CC BY 4.0
                      (Hong et al. 2021, doi:10.7937/TCIA.ESHQ-4D90)
  ge-head-tilt:       dcm_qa_ct by Chris Rorden, BSD-2-Clause
  nifti/*, sample/*:  TotalSegmentator test data, Apache-2.0
"""

import base64
import hashlib
import json
import math
import os
import sys
import time
import warnings

import cv2
import nibabel as nib
import numpy as np
import pydicom
import scipy
import skimage
from skimage.metrics import normalized_mutual_information, structural_similarity

from reference_preprocessing import dicom_hu, minmax_u8

NMI_BINS = 100
SYNTH_BINS = (100, 2, 7, 256)
RESIZE_SIZES = (64, 128, 256)


# ------------------------------------------------------------- metrics ----
def _fmt_warning(w):
    return f"{w.category.__name__}: {w.message}"


def ssim(a, b):
    """Returns (value or None, error message or None, [warnings])."""
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        try:
            v = structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False, data_range=255)
            err = None
        except Exception as e:  # noqa: BLE001 - we record whatever skimage raises
            v, err = None, f"{type(e).__name__}: {e}"
    return v, err, [_fmt_warning(w) for w in ws]


def nmi(a, b, bins=NMI_BINS):
    """Returns (value, [warnings]); value may be NaN."""
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        v = normalized_mutual_information(a, b, bins=bins)
    return v, [_fmt_warning(w) for w in ws]


def jfloat(v):
    """float for JSON: NaN/inf -> None (null), else a plain Python float."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def pair_metrics(a, b):
    s, err, w1 = ssim(a, b)
    n, w2 = nmi(a, b)
    rec = {"ssim": jfloat(s), "nmi": jfloat(n)}
    if err is not None:
        rec["ssim_error"] = err
    ws = sorted(set(w1 + w2))
    if ws:
        rec["warnings"] = ws
    return rec


# -------------------------------------------------------- preprocessing ----
def load_dicom_dir(d):
    files = sorted(f for f in os.listdir(d) if f.endswith(".dcm"))
    return files, {f: minmax_u8(dicom_hu(pydicom.dcmread(os.path.join(d, f)))) for f in files}


def load_nifti(path):
    data = nib.load(path).get_fdata()  # float64, scl_slope/inter applied
    return [minmax_u8(data[:, :, k].T) for k in range(data.shape[2])]  # rows = j, cols = i


def sha256_u8(u8):
    return hashlib.sha256(np.ascontiguousarray(u8, dtype=np.uint8).tobytes()).hexdigest()


# ------------------------------------------------------------ volumes ----
def uniq(pairs):
    seen, out = set(), []
    for p in pairs:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def nifti_pairs_volume(name, slices, pairs):
    out = []
    for i, j in pairs:
        rec = {"i": i, "j": j}
        rec.update(pair_metrics(slices[i], slices[j]))
        out.append(rec)
    return {"dataset": name, "kind": "nifti", "num_slices": len(slices),
            "width": int(slices[0].shape[1]), "height": int(slices[0].shape[0]),
            "pairs": out}


def dicom_pairs_volume(name, files, imgs, pairs):
    """pairs are 1-based positions in the sorted file list."""
    out = []
    for i, j in pairs:
        fa, fb = files[i - 1], files[j - 1]
        rec = {"a": fa, "b": fb}
        rec.update(pair_metrics(imgs[fa], imgs[fb]))
        out.append(rec)
    return {"dataset": name, "kind": "dicom", "num_slices": len(files),
            "width": int(imgs[files[0]].shape[1]), "height": int(imgs[files[0]].shape[0]),
            "pairs": out}


def sample_pairs(n):
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    pairs += [(k, k) for k in (0, 10, 15, n - 1)]  # self-similarity
    return pairs


def example_ct_pairs(n):  # n = 112
    pairs = [(k, k + 1) for k in range(0, n - 1, 6)]           # neighbours
    pairs += [(n - 2, n - 1)]
    pairs += [(k, k + 5) for k in range(2, n - 5, 6)]           # 5 apart
    pairs += [(k, k + 40) for k in range(1, n - 40, 4)]         # 40 apart
    pairs += [(0, n - 1), (56, 56)]                             # extremes, self
    return uniq(pairs)


PANCREAS_FIRST, PANCREAS_LAST = 26, 41    # the subset 1-026.dcm..1-041.dcm in tests/data/ct


def pancreas_name(k):
    return f"1-{k:03d}.dcm"


def pancreas_pairs(files):
    """Pairs of pancreas slices, chosen by file number (1-026.dcm is 26) inside
    the 16-slice subset; returned as 1-based positions in the sorted file list."""
    first, last, mid = PANCREAS_FIRST, PANCREAS_LAST, 33
    pairs = [(k, k + 1) for k in range(first, last)]              # all 15 neighbours
    pairs += [(26, 29), (30, 33), (33, 36), (38, 41)]             # 3 apart
    pairs += [(26, 36), (28, 38), (31, 41)]                       # 10 apart
    pairs += [(first, last), (27, 40), (29, 35), (first, mid), (mid, last),
              (32, 39), (35, 37)]
    pairs += [(first, first), (mid, mid), (last, last)]           # self-similarity
    pos = {f: i + 1 for i, f in enumerate(files)}
    return uniq([(pos[pancreas_name(a)], pos[pancreas_name(b)]) for a, b in pairs])


def ge_pairs(n):  # n = 28, 1-based
    pairs = [(k, k + 1) for k in range(1, n, 2)]                # 14 neighbours
    pairs += [(1, n), (1, 14), (5, 20), (10, 25), (3, 27), (14, 15), (8, 11),
              (20, 24), (2, 16)]
    pairs += [(1, 1), (14, 14)]
    return uniq(pairs)


# ------------------------------------------------------------- resized ----
def resized_cases(pancreas_imgs, ge_imgs, sample_slices):
    cases = []

    def add(dataset, kind, key_a, key_b, ia, ib, size):
        ra = cv2.resize(ia, (size, size), interpolation=cv2.INTER_AREA)
        rb = cv2.resize(ib, (size, size), interpolation=cv2.INTER_AREA)
        assert ra.dtype == np.uint8 and ra.shape == (size, size)
        rec = {"dataset": dataset, "kind": kind}
        if kind == "dicom":
            rec.update({"a": key_a, "b": key_b})
        else:
            rec.update({"i": key_a, "j": key_b})
        rec["size"] = size
        rec.update(pair_metrics(ra, rb))
        rec["a_resized_sha256"] = sha256_u8(ra)
        rec["b_resized_sha256"] = sha256_u8(rb)
        cases.append(rec)

    P = pancreas_imgs
    for fa, fb, sizes in [("1-030.dcm", "1-031.dcm", RESIZE_SIZES),   # neighbours
                          ("1-040.dcm", "1-041.dcm", (64,)),           # neighbours
                          ("1-026.dcm", "1-036.dcm", RESIZE_SIZES),   # 10 apart
                          ("1-033.dcm", "1-033.dcm", (128,)),          # self
                          ("1-026.dcm", "1-041.dcm", (64,))]:          # first / last
        for s in sizes:
            add("pancreas-ct-cb-001", "dicom", fa, fb, P[fa], P[fb], s)
    for fa, fb, s in [("13.dcm", "14.dcm", 128), ("03.dcm", "27.dcm", 64)]:
        add("ge-head-tilt", "dicom", fa, fb, ge_imgs[fa], ge_imgs[fb], s)
    # non-integer scale factors (122x101 -> SxS)
    for i, j, s in [(10, 11, 64), (3, 25, 64), (14, 15, 128)]:
        add("sample/example_ct_sm.nii.gz", "nifti", i, j, sample_slices[i], sample_slices[j], s)
    return cases


# ----------------------------------------------------------- synthetic ----
def synthetic_cases():
    cases = []

    def add(name, a, b, seed=None, note=None):
        a = np.ascontiguousarray(a, dtype=np.uint8)
        b = np.ascontiguousarray(b, dtype=np.uint8)
        assert a.shape == b.shape and a.ndim == 2
        h, w = a.shape
        s, err, ws = ssim(a, b)
        rec = {"name": name, "width": w, "height": h}
        if seed is not None:
            rec["seed"] = seed
        if note:
            rec["note"] = note
        rec["a_b64"] = base64.b64encode(a.tobytes()).decode("ascii")
        rec["b_b64"] = base64.b64encode(b.tobytes()).decode("ascii")
        rec["ssim"] = jfloat(s)
        if err is not None:
            rec["ssim_error"] = err
        nm = {}
        for bins in SYNTH_BINS:
            v, w2 = nmi(a, b, bins)
            nm[str(bins)] = jfloat(v)
            ws += w2
        rec["nmi"] = nm
        ws = sorted(set(ws))
        if ws:
            rec["warnings"] = ws
        cases.append(rec)

    def rnd(seed, h, w, lo=0, hi=256):
        return np.random.default_rng(seed).integers(lo, hi, size=(h, w), dtype=np.uint8)

    def full(h, w, v):
        return np.full((h, w), v, dtype=np.uint8)

    # constants
    add("const_same_32x32", full(32, 32, 128), full(32, 32, 128),
        note="NMI = 0/0 -> NaN (null)")
    add("const_diff_32x32", full(32, 32, 100), full(32, 32, 200))
    add("const_zero_vs_zero_32x32", full(32, 32, 0), full(32, 32, 0))
    add("const_vs_random_32x32", full(32, 32, 77), rnd(101, 32, 32), seed=101)
    add("random_vs_const_32x32", rnd(102, 32, 32), full(32, 32, 0), seed=102)
    add("all255_vs_all254_24x24", full(24, 24, 255), full(24, 24, 254))

    # two-valued images
    yy, xx = np.mgrid[0:32, 0:48]
    halves_lr = np.where(xx < 24, 0, 255)
    halves_tb = np.where(yy < 16, 0, 255)
    add("halves_lr_vs_halves_tb_48x32", halves_lr, halves_tb)
    add("halves_lr_vs_shifted3_48x32", halves_lr, np.where(xx < 27, 0, 255))
    add("halves_lr_self_48x32", halves_lr, halves_lr)
    chk = np.where((xx + yy) % 2 == 0, 10, 11)
    add("checker_10_11_vs_inverted_48x32", chk, 21 - chk)
    add("checker_10_11_self_48x32", chk, chk)
    bin_a = (np.random.default_rng(103).integers(0, 2, size=(40, 40)) * 255)
    bin_b = (np.random.default_rng(104).integers(0, 2, size=(40, 40)) * 255)
    add("binary_0_255_vs_binary_40x40", bin_a, bin_b, seed=103,
        note="a from seed 103, b from seed 104; values only {0,255}")
    add("binary_0_255_vs_random_40x40", bin_a, rnd(105, 40, 40), seed=105,
        note="a as above (seed 103), b random from seed 105")

    # NMI bin-edge cases: values exactly on histogram bin edges
    idx = np.arange(32 * 32).reshape(32, 32)
    ramp101 = idx % 101                       # values 0..100, min 0, max 100
    add("binedge_0to100_vs_0to200step2_32x32", ramp101, 2 * ramp101,
        note="a = k % 101 (0..100), b = 2a (0..200 step 2): with 100 bins every value is on an edge")
    add("binedge_0to100_vs_permuted_0to200step2_32x32", ramp101, 2 * ((idx * 7) % 101),
        note="a = k % 101, b = 2 * ((7k) % 101)")
    add("binedge_0to255_vs_reverse_16x16", idx[:16, :16], 255 - idx[:16, :16],
        note="a = 0..255 row-major, b = 255 - a (256 bins: one value per bin)")

    # tiny / odd sizes
    add("random_16x16_a", rnd(1, 16, 16), rnd(2, 16, 16), seed=1, note="a seed 1, b seed 2")
    add("random_16x16_b", rnd(3, 16, 16), rnd(4, 16, 16), seed=3, note="a seed 3, b seed 4")
    a = rnd(5, 11, 11)
    add("random_11x11_smallest_ssim", a, rnd(6, 11, 11), seed=5, note="a seed 5, b seed 6")
    add("random_11x11_self", a, a, seed=5)
    add("random_h12_w40", rnd(7, 12, 40), rnd(8, 12, 40), seed=7, note="a seed 7, b seed 8")
    add("random_h40_w12", rnd(9, 40, 12), rnd(10, 40, 12), seed=9, note="a seed 9, b seed 10")
    add("random_h11_w37", rnd(11, 11, 37), rnd(12, 11, 37), seed=11, note="a seed 11, b seed 12")
    add("random_10x10_ssim_raises", rnd(13, 10, 10), rnd(14, 10, 10), seed=13,
        note="a seed 13, b seed 14; smaller than the 11x11 window")
    add("random_h10_w40_ssim_raises", rnd(15, 10, 40), rnd(16, 10, 40), seed=15,
        note="a seed 15, b seed 16")
    add("single_pixel_1x1", full(1, 1, 5), full(1, 1, 200))

    # nearly identical: b = a with a few pixels + 1
    a = rnd(20, 64, 64, 0, 255)               # values 0..254 so +1 cannot wrap
    b = a.copy()
    for (r, c) in [(0, 0), (5, 17), (31, 32), (63, 63), (40, 2)]:
        b[r, c] += 1
    add("nearly_identical_64x64", a, b, seed=20,
        note="a = integers(0,255) seed 20; b = a with 5 pixels +1")

    # random 64x64 pairs
    add("random_64x64_indep_a", rnd(21, 64, 64), rnd(22, 64, 64), seed=21, note="a seed 21, b seed 22")
    add("random_64x64_indep_b", rnd(23, 64, 64), rnd(24, 64, 64), seed=23, note="a seed 23, b seed 24")
    g = np.random.default_rng(25)
    a = g.integers(0, 256, size=(64, 64))
    b = np.clip(a + g.integers(-20, 21, size=(64, 64)), 0, 255)
    add("random_64x64_correlated", a, b, seed=25, note="b = clip(a + U[-20,20])")
    g = np.random.default_rng(26)
    yy, xx = np.mgrid[0:64, 0:64]
    smooth = 60 + 120 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + 60
    a = np.clip(np.rint(smooth + g.normal(0, 8, size=(64, 64))), 0, 255)
    b = np.clip(np.rint(np.roll(smooth, 2, axis=1) + g.normal(0, 8, size=(64, 64))), 0, 255)
    add("smooth_noisy_64x64_shifted", a, b, seed=26,
        note="smooth pattern + N(0,8) noise; b shifted 2 columns")
    return cases


# ----------------------------------------------------------------- main ----
def main(argv):
    t0 = time.time()
    here = os.path.dirname(os.path.abspath(__file__))
    data_dir = argv[1] if len(argv) > 1 else os.path.normpath(
        os.path.join(here, "..", "data", "ct"))
    out_path = argv[2] if len(argv) > 2 else os.path.join(here, "similarity_golden.json")
    sample_path = os.path.normpath(os.path.join(here, "..", "..", "data", "sample",
                                                "example_ct_sm.nii.gz"))

    sample = load_nifti(sample_path)
    example = load_nifti(os.path.join(data_dir, "nifti", "example_ct.nii.gz"))
    pfiles, pimgs = load_dicom_dir(os.path.join(data_dir, "pancreas-ct-cb-001"))
    gfiles, gimgs = load_dicom_dir(os.path.join(data_dir, "ge-head-tilt"))

    doc = {
        "generator": "tests/golden/make_similarity_golden.py",
        "skimage": skimage.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "opencv": cv2.__version__,
        "preprocessing": "minmax",
        "ssim_params": {"gaussian_weights": True, "sigma": 1.5, "truncate": 3.5,
                        "win_size": 11, "use_sample_covariance": False,
                        "data_range": 255, "K1": 0.01, "K2": 0.03},
        "nmi_bins": NMI_BINS,
        "nan_as_null": True,
        "volumes": [
            nifti_pairs_volume("sample/example_ct_sm.nii.gz", sample, sample_pairs(len(sample))),
            nifti_pairs_volume("nifti/example_ct.nii.gz", example, example_ct_pairs(len(example))),
            dicom_pairs_volume("pancreas-ct-cb-001", pfiles, pimgs, pancreas_pairs(pfiles)),
            dicom_pairs_volume("ge-head-tilt", gfiles, gimgs, ge_pairs(len(gfiles))),
        ],
        "resized": resized_cases(pimgs, gimgs, sample),
        "synthetic": synthetic_cases(),
    }

    def dump(o):
        return json.dumps(o, separators=(",", ":"), allow_nan=False)

    header_keys = [k for k in doc if k not in ("volumes", "resized", "synthetic")]
    lines = ["{"]
    for k in header_keys:
        lines.append(f" {dump(k)}:{dump(doc[k])},")
    lines.append(' "volumes":[')
    for vi, vol in enumerate(doc["volumes"]):
        head = {k: v for k, v in vol.items() if k != "pairs"}
        lines.append("  " + dump(head)[:-1] + ',"pairs":[')
        for pi, p in enumerate(vol["pairs"]):
            lines.append("   " + dump(p) + ("," if pi + 1 < len(vol["pairs"]) else ""))
        lines.append("  ]}" + ("," if vi + 1 < len(doc["volumes"]) else ""))
    lines.append(" ],")
    for key, last in (("resized", False), ("synthetic", True)):
        lines.append(f' "{key}":[')
        for ci, c in enumerate(doc[key]):
            lines.append("  " + dump(c) + ("," if ci + 1 < len(doc[key]) else ""))
        lines.append(" ]" + ("" if last else ","))
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == doc
    with open(out_path, "w") as fh:
        fh.write(text)
    print(f"wrote {out_path} ({len(text)} bytes) in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv)
