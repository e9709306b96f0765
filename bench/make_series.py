#!/usr/bin/python3
"""Build a larger benchmark DICOM series from the real 134-slice pancreas CT.

The real series is written COPIES times, one pass after another, into OUT_DIR
as ONE series: a new deterministic SeriesInstanceUID, new SOPInstanceUIDs,
InstanceNumber 1..N and ImagePositionPatient moved along the slice normal so
that every slice has a distinct, evenly spaced position (copy c, slice s sits
at index k = c*n + s of one long stack).  Pixel data is left untouched.

Files are named I1..IN without extension, so plain byte-wise name order
(I1, I10, I100, I101, ...) differs from slice order: this is what makes the
"--order name" path of a tool do real work.

Output is deterministic: the same inputs always give byte-identical files.

Usage: make_series.py OUT_DIR [--copies 3] [--src DIR]
"""
import argparse
import copy
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dicom_source import ds_str, read_dicom_dir  # noqa: E402

# Fixed UID root for generated data; the suffixes below keep UIDs well under
# the 64-character DICOM limit.
UID_ROOT = "1.2.826.0.1.3680043.10.543."
DEFAULT_SRC = "/work/shared/data/ct/pancreas-ct-cb-001"
OUT_NAME = re.compile(r"^I\d+$")


def read_source(src):
    """Read every DICOM file in src (non-DICOM files such as LICENSE.txt are
    skipped), in acquisition order (InstanceNumber, then file name)."""
    slices = [(int(ds.get("InstanceNumber", 0) or 0), name, ds)
              for name, ds in read_dicom_dir(src)]
    if len(slices) < 2:
        sys.exit(f"make_series: need at least 2 DICOM slices in {src}")
    slices = [ds for _, _, ds in sorted(slices, key=lambda t: t[:2])]

    iop = np.array(slices[0].ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(iop[:3], iop[3:])

    def dist(ds):
        return float(np.dot(np.array(ds.ImagePositionPatient, float), normal))

    # Copies are stacked by shifting whole blocks, which only gives distinct,
    # evenly spaced positions if the source itself is a monotonic stack.
    d = np.diff([dist(ds) for ds in slices])
    if not (np.all(d > 0) or np.all(d < 0)):
        sys.exit("make_series: source positions are not monotonic in "
                 "InstanceNumber order")
    return slices, normal, dist


def prepare_out_dir(out_dir):
    """Create out_dir; remove stale I<n> files of an earlier run and refuse to
    mix the series with anything else (a tool reading the folder would see it)."""
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):
        path = os.path.join(out_dir, name)
        if OUT_NAME.match(name) and os.path.isfile(path):
            os.remove(path)
        else:
            sys.exit(f"make_series: {out_dir} contains {name!r}; "
                     "use an empty or dedicated folder")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--src", default=DEFAULT_SRC)
    args = ap.parse_args()
    if args.copies < 1:
        sys.exit("make_series: --copies must be >= 1")

    slices, normal, dist = read_source(args.src)
    n = len(slices)
    # Mean signed step along the normal; each copy is shifted by n steps so the
    # junction between copies has the same spacing as inside a copy.
    step = (dist(slices[-1]) - dist(slices[0])) / (n - 1)

    prepare_out_dir(args.out_dir)
    series_uid = f"{UID_ROOT}1.{args.copies}"
    written = 0
    for c in range(args.copies):
        shift = normal * step * (c * n)
        for s, src_ds in enumerate(slices):
            k = c * n + s + 1  # 1-based position in the long stack
            # Deep copy: Dataset.copy() shares DataElement objects, so editing
            # it would also move the source slice (and every later copy).
            ds = copy.deepcopy(src_ds)
            sop_uid = f"{UID_ROOT}2.{args.copies}.{k}"
            ds.SeriesInstanceUID = series_uid
            ds.SOPInstanceUID = sop_uid
            ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
            ds.InstanceNumber = k
            pos = np.array(src_ds.ImagePositionPatient, dtype=np.float64) + shift
            ds.ImagePositionPatient = [ds_str(v) for v in pos]
            if "SliceLocation" in src_ds:
                ds.SliceLocation = ds_str(float(src_ds.SliceLocation)
                                          + step * (c * n))
            if "SeriesDescription" in src_ds:
                ds.SeriesDescription = (f"{src_ds.SeriesDescription} "
                                        f"x{args.copies} bench")[:64]
            ds.save_as(os.path.join(args.out_dir, f"I{k}"),
                       write_like_original=True)
            written += 1
    print(written)


if __name__ == "__main__":
    main()
