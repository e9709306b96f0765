#!/usr/bin/python3
"""Copy a dataset made by make_dataset.py, padding every NIfTI volume along z with
constant slices, as resampling and cropping pipelines leave them (MONAI's SpatialPad,
nnU-Net's crop-and-pad): the near-blank slices that could tie unrelated patients
together in `lessmore split` (docs/split.md).

Each NIfTI volume gets --slices constant slices of value --value (HU) before its first
and after its last slice (the affine's origin moved accordingly); DICOM series and
other files are copied unchanged.

Usage: pad_volumes.py IN_DIR OUT_DIR [--slices 8] [--value -1024] [--force]
"""
import argparse
import os
import shutil
import sys

import nibabel as nib
import numpy as np


def pad(src, dst, slices, value):
    img = nib.load(src)
    data = np.asanyarray(img.dataobj)
    block = np.full(data.shape[:2] + (slices,), value, dtype=data.dtype)
    padded = np.concatenate([block, data, block], axis=2)
    affine = img.affine.copy()
    affine[:3, 3] -= slices * affine[:3, 2]
    out = nib.Nifti1Image(padded, affine, img.header)
    out.set_data_dtype(data.dtype)
    nib.save(out, dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("in_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--slices", type=int, default=8)
    ap.add_argument("--value", type=int, default=-1024)
    ap.add_argument("--force", action="store_true", help="replace OUT_DIR")
    a = ap.parse_args()
    if os.path.exists(a.out_dir):
        if not a.force:
            sys.exit("pad_volumes: %s exists (use --force)" % a.out_dir)
        shutil.rmtree(a.out_dir)
    padded = 0
    for root, _, files in os.walk(a.in_dir):
        rel = os.path.relpath(root, a.in_dir)
        os.makedirs(os.path.join(a.out_dir, rel), exist_ok=True)
        for f in sorted(files):
            src, dst = os.path.join(root, f), os.path.join(a.out_dir, rel, f)
            if f.endswith(".nii.gz") or f.endswith(".nii"):
                pad(src, dst, a.slices, a.value)
                padded += 1
            else:
                shutil.copyfile(src, dst)
    print("pad_volumes: %d NIfTI volumes padded with %d slices of %d at each end" % (padded, a.slices, a.value))


if __name__ == "__main__":
    main()
