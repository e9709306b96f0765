#!/usr/bin/python3
"""Independent golden-value generator for lessmore's dhash pipeline.

Uses Pillow's own LANCZOS resize as the reference implementation and
reproduces imagehash 4.3.1's dhash / _binary_array_to_hex (imagehash itself
is not required); the HU, min-max and dhash steps are the shared ones in
reference_preprocessing.py next to this script.

Usage:
    /usr/bin/python3 make_dhash_golden.py [DATA_DIR] [OUTPUT_JSON]

DATA_DIR defaults to ../data/ct relative to this script (tests/data/ct,
the CT data kept in the repository: a 16-slice subset 1-026..1-041 of
pancreas-ct-cb-001, all of ge-head-tilt, nifti/example_ct.nii.gz); pass
e.g. ../shared/data/ct to use the full 134-slice pancreas series instead.
The "nifti/example_ct_sm.nii.gz" volume is always read from the bundled
../../data/sample/example_ct_sm.nii.gz (the same file as in the shared
corpus), keeping its dataset name. OUTPUT_JSON defaults to dhash_golden.json
next to this script.

Data attribution (see tests/data/ct/SOURCES.md):
  pancreas-ct-cb-001: TCIA Pancreatic-CT-CBCT-SEG, CC BY 4.0
                      (Hong et al. 2021, doi:10.7937/TCIA.ESHQ-4D90)
  ge-head-tilt:       dcm_qa_ct by Chris Rorden, BSD-2-Clause
  nifti/*, sample/*:  TotalSegmentator test data, Apache-2.0
"""

import base64
import hashlib
import json
import os
import sys

import nibabel as nib
import numpy as np
import PIL
import pydicom
from PIL import Image

from reference_preprocessing import LANCZOS, dhash_hex, dicom_hu, minmax_u8, to_u8

WINDOW_C, WINDOW_W = 40.0, 400.0    # "window:40,400"


# -------------------------------------------------------- preprocessing ----
def window_u8(x, c=WINDOW_C, w=WINDOW_W):
    x = np.asarray(x, dtype=np.float64)
    lo, hi = c - w / 2, c + w / 2
    return to_u8((np.clip(x, lo, hi) - lo) / (hi - lo) * 255)


def sha256_u8(u8):
    return hashlib.sha256(np.ascontiguousarray(u8, dtype=np.uint8).tobytes()).hexdigest()


def slice_record(x):
    mm = minmax_u8(x)
    win = window_u8(x)
    return {
        "minmax_sha256": sha256_u8(mm),
        "hash": dhash_hex(mm, 8),
        "hash16": dhash_hex(mm, 16),
        "window_sha256": sha256_u8(win),
        "window_hash": dhash_hex(win, 8),
    }


def dicom_volume(data_dir, name):
    d = os.path.join(data_dir, name)
    files = sorted(f for f in os.listdir(d) if f.endswith(".dcm"))
    slices = []
    for f in files:
        ds = pydicom.dcmread(os.path.join(d, f))
        hu = dicom_hu(ds)
        rec = {"file": f}
        rec.update(slice_record(hu))
        ipp = [float(v) for v in ds.ImagePositionPatient]
        iop = [float(v) for v in ds.ImageOrientationPatient]
        normal = np.cross(np.array(iop[:3]), np.array(iop[3:]))
        rec["hu_min"] = int(hu.min())
        rec["hu_max"] = int(hu.max())
        rec["position"] = ipp
        rec["z"] = float(np.dot(np.array(ipp), normal))
        slices.append(rec)
    return {"dataset": name, "kind": "dicom", "slices": slices}


def nifti_volume(path, name):
    img = nib.load(path)
    data = img.get_fdata()  # float64, scl_slope/inter applied
    slices = []
    for k in range(data.shape[2]):
        x = data[:, :, k].T  # rows = j axis, cols = i axis (ITK layout)
        rec = {"index": k}
        rec.update(slice_record(x))
        slices.append(rec)
    return {"dataset": name, "kind": "nifti", "slices": slices}


# --------------------------------------------------------- resize cases ----
def resize_cases():
    cases = []

    def add(name, arr, out_w, out_h, seed=None):
        arr = np.ascontiguousarray(arr, dtype=np.uint8)
        h, w = arr.shape
        out = Image.fromarray(arr, mode="L").resize((out_w, out_h), LANCZOS)
        ob = np.asarray(out).tobytes()
        assert len(ob) == out_w * out_h
        cases.append({
            "name": name, "width": w, "height": h,
            "out_width": out_w, "out_height": out_h, "seed": seed,
            "input_b64": base64.b64encode(arr.tobytes()).decode("ascii"),
            "output_b64": base64.b64encode(ob).decode("ascii"),
        })

    def rnd(seed, w, h):
        return np.random.default_rng(seed).integers(0, 256, size=(h, w), dtype=np.uint8)

    # random inputs: (w, h, out_w, out_h, seed)
    for w, h, ow, oh, seed in [
        (64, 48, 9, 8, 1),
        (100, 37, 9, 8, 2),
        (33, 17, 17, 16, 3),
        (7, 5, 9, 8, 4),        # upscale
        (16, 16, 9, 8, 5),
        (1, 1, 9, 8, 6),        # single pixel upscale
        (300, 2, 9, 8, 7),
        (9, 8, 9, 8, 8),        # identity size: Pillow returns a copy
        (20, 1, 5, 1, 9),
        (13, 13, 3, 7, 10),
        (128, 128, 17, 16, 11),
    ]:
        add(f"random_{w}x{h}_to_{ow}x{oh}", rnd(seed, w, h), ow, oh, seed)

    # structured inputs
    add("zeros_40x30_to_9x8", np.zeros((30, 40)), 9, 8)
    add("ones255_40x30_to_9x8", np.full((30, 40), 255), 9, 8)
    yy, xx = np.mgrid[0:32, 0:32]
    add("checker_32x32_to_9x8", ((xx + yy) % 2) * 255, 9, 8)
    add("hgradient_256x20_to_9x8", np.tile(np.arange(256), (20, 1)), 9, 8)
    step = np.zeros((50, 37))
    step[25:, :] = 255
    add("vstep_37x50_to_9x8", step, 9, 8)
    return cases


# ----------------------------------------------------------------- main ----
def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    data_dir = argv[1] if len(argv) > 1 else os.path.normpath(
        os.path.join(here, "..", "data", "ct"))
    out_path = argv[2] if len(argv) > 2 else os.path.join(here, "dhash_golden.json")
    sample_path = os.path.normpath(os.path.join(here, "..", "..", "data", "sample",
                                                "example_ct_sm.nii.gz"))

    doc = {
        "generator": "tests/golden/make_dhash_golden.py",
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "volumes": [
            dicom_volume(data_dir, "pancreas-ct-cb-001"),
            dicom_volume(data_dir, "ge-head-tilt"),
            nifti_volume(os.path.join(data_dir, "nifti", "example_ct.nii.gz"),
                         "nifti/example_ct.nii.gz"),
            nifti_volume(sample_path, "nifti/example_ct_sm.nii.gz"),
        ],
        "resize_cases": resize_cases(),
    }

    # One slice / case per line: small diffs, still plain JSON.
    def dump(o):
        return json.dumps(o, separators=(",", ":"))

    lines = ["{"]
    lines.append(f' "generator":{dump(doc["generator"])},')
    lines.append(f' "pillow":{dump(doc["pillow"])},')
    lines.append(f' "numpy":{dump(doc["numpy"])},')
    lines.append(' "volumes":[')
    for vi, vol in enumerate(doc["volumes"]):
        lines.append(f'  {{"dataset":{dump(vol["dataset"])},"kind":{dump(vol["kind"])},"slices":[')
        for si, s in enumerate(vol["slices"]):
            lines.append("   " + dump(s) + ("," if si + 1 < len(vol["slices"]) else ""))
        lines.append("  ]}" + ("," if vi + 1 < len(doc["volumes"]) else ""))
    lines.append(" ],")
    lines.append(' "resize_cases":[')
    for ci, c in enumerate(doc["resize_cases"]):
        lines.append("  " + dump(c) + ("," if ci + 1 < len(doc["resize_cases"]) else ""))
    lines.append(" ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == doc
    with open(out_path, "w") as fh:
        fh.write(text)
    print(f"wrote {out_path} ({len(text)} bytes)")


if __name__ == "__main__":
    main(sys.argv)
