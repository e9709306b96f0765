#!/usr/bin/python3
"""Independent golden values for `reduce --export-values` (docs/output.md, section
"Slice values (--export-values)"), computed with pydicom, nibabel and numpy only.

For every slice of a few committed volumes it records the SHA-256 of what each export
mode writes, as numpy computes it from the values pydicom or nibabel read:

  values_sha256      the values in the type lessmore keeps them in (the NPY of
                     intensity, minmax and hu), little-endian
  minmax8_sha256     per-slice min-max in 8 bits (the PNG of minmax)
  hu16_sha256        value - png_offset as uint16 (the samples of the 16-bit PNG of hu),
                     when the volume can be written so
  window8_sha256     (clip(v, C - W/2, C + W/2) - (C - W/2)) / W * 255, rounded half to
                     even (numpy's rint), saturated (the PNG of window:C,W)
  window_f32_sha256  (clip(v, C - W/2, C + W/2) - (C - W/2)) / W in float64, rounded to
                     float32 (the NPY of window:C,W)

and per volume the 16-bit PNG offset (the smallest value the header allows, from the
header's fields: DICOM BitsStored, PixelRepresentation, RescaleSlope and
RescaleIntercept under the CT rules; NIfTI the datatype's range through scl_slope and
scl_inter), or null when a 16-bit PNG cannot hold the volume. The slices are those of
pydicom's pixel_array (DICOM, keyed by file name) and of nibabel's data[:, :, k]
transposed (NIfTI, keyed by k): rows are the second voxel axis, as lessmore writes them.

Usage:
    /usr/bin/python3 make_export_golden.py [OUTPUT_JSON]

OUTPUT_JSON defaults to export_golden.json next to this script. Data attribution: see
tests/data/ct/SOURCES.md and tests/data/nifti/README.md.
"""

import hashlib
import json
import os
import sys

import nibabel as nib
import numpy as np
import pydicom

from reference_preprocessing import dicom_hu, minmax_u8, to_u8

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
WINDOW_C, WINDOW_W = -600.0, 1500.0  # "window:-600,1500"

DICOM_CASES = [
    "tests/data/ct/pancreas-ct-cb-001",  # 12-bit unsigned, intercept -1000: int16, offset -1000
    "tests/data/ct/ge-head-tilt",        # 16-bit signed: int16, offset -32768
    "tests/data/dicom/padded",           # one file with slope 2, intercept -1024: int32, too wide
]
NIFTI_CASES = [
    "data/sample/example_ct_sm.nii.gz",   # int16, unscaled
    "tests/data/nifti/dcm2niix.nii.gz",   # int16 with scl_inter -1024: kept as int32
    "tests/data/nifti/float32.nii",       # float32: no 16-bit PNG
    "tests/data/nifti/type_int32.nii",    # int32, full range: no 16-bit PNG
]


def sha(a, dtype):
    return hashlib.sha256(np.ascontiguousarray(a, dtype=dtype).tobytes()).hexdigest()


def kept_dtype(lo, hi):
    """The integer type lessmore keeps values of the range [lo, hi] in."""
    if lo >= -32768 and hi <= 32767:
        return "<i2"
    return "<i4"


def dicom_range(ds):
    """Smallest and largest value the header allows under the CT rules
    (docs/dicom.md, section "Value model"): the stored range BitsStored and
    PixelRepresentation give, the slope truncated, the intercept truncated."""
    bits = int(ds.BitsStored)
    if int(ds.PixelRepresentation) == 1:
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    else:
        lo, hi = 0, 2 ** bits - 1
    slope = float(ds.RescaleSlope) if "RescaleSlope" in ds else 1.0
    intercept = float(ds.RescaleIntercept) if "RescaleIntercept" in ds else 0.0
    a = np.trunc(lo * slope) + np.trunc(intercept)
    b = np.trunc(hi * slope) + np.trunc(intercept)
    return int(min(a, b)), int(max(a, b))


def nifti_range(img):
    """The datatype's range through nibabel's slope and intercept; None for
    floats or fractional scaling."""
    dt = img.get_data_dtype()
    slope, inter = img.dataobj.slope, img.dataobj.inter
    if dt.kind == "f" or slope != int(slope) or inter != int(inter):
        return None
    info = np.iinfo(dt)
    a, b = info.min * slope + inter, info.max * slope + inter
    return int(min(a, b)), int(max(a, b))


def offset_of(rng):
    """The 16-bit PNG offset: the range's minimum when the range fits 16 bits."""
    if rng is None or rng[1] - rng[0] > 65535:
        return None
    return rng[0]


def slice_record(v, dtype, offset):
    lo, hi = WINDOW_C - WINDOW_W / 2, WINDOW_C + WINDOW_W / 2
    x = np.asarray(v, dtype=np.float64)
    unit = (np.clip(x, lo, hi) - lo) / WINDOW_W
    rec = {
        "values_sha256": sha(v, dtype),
        "minmax8_sha256": sha(minmax_u8(x), np.uint8),
        "window8_sha256": sha(to_u8(unit * 255), np.uint8),
        "window_f32_sha256": sha(unit.astype(np.float32), "<f4"),
    }
    if offset is not None:
        d = np.asarray(v, dtype=np.int64) - offset
        assert d.min() >= 0 and d.max() <= 65535
        rec["hu16_sha256"] = sha(d, "<u2")
    return rec


def dicom_volume(rel):
    folder = os.path.join(REPO, rel)
    slices, rng = {}, None
    for f in sorted(os.listdir(folder)):
        if not f.endswith(".dcm"):
            continue
        ds = pydicom.dcmread(os.path.join(folder, f))
        r = dicom_range(ds)
        rng = r if rng is None else (min(rng[0], r[0]), max(rng[1], r[1]))
        slices[f] = dicom_hu(ds)
    offset = offset_of(rng)
    dtype = kept_dtype(*rng)
    return {
        "input": rel,
        "dtype": dtype,
        "range": list(rng),
        "png_offset": offset,
        "slices": {f: slice_record(v, dtype, offset) for f, v in slices.items()},
    }


def nifti_volume(rel):
    img = nib.load(os.path.join(REPO, rel))
    data = np.asanyarray(img.dataobj)  # scaled as nibabel scales
    rng = nifti_range(img)
    offset = offset_of(rng)
    if rng is None:
        dtype = "<f4" if img.get_data_dtype().kind == "f" and img.get_data_dtype().itemsize == 4 else "<f8"
    elif img.dataobj.slope == 1 and img.dataobj.inter == 0:
        dtype = img.get_data_dtype().newbyteorder("<").str
    else:
        dtype = kept_dtype(*rng)
    slices = {}
    for k in range(data.shape[2]):
        slices[str(k)] = slice_record(np.asarray(data[:, :, k]).T, dtype, offset)
    return {
        "input": rel,
        "dtype": dtype,
        "range": list(rng) if rng else None,
        "png_offset": offset,
        "slices": slices,
    }


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(HERE, "export_golden.json")
    golden = {
        "generator": "tests/golden/make_export_golden.py",
        "versions": {"numpy": np.__version__, "pydicom": pydicom.__version__, "nibabel": nib.__version__},
        "window": {"center": WINDOW_C, "width": WINDOW_W},
        "volumes": [dicom_volume(r) for r in DICOM_CASES] + [nifti_volume(r) for r in NIFTI_CASES],
    }
    with open(out, "w") as f:
        json.dump(golden, f, indent=1, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
