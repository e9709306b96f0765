"""Reading the real DICOM series the benchmark data is made from, and writing
DS values; shared by make_dataset.py, make_series.py, make_thin_volume.py and
reference_similarity_kernel.py.
"""
import glob
import os

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError


def ds_str(value):
    """A float as a DICOM DS string (<= 16 chars, no float noise)."""
    s = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def read_dicom_dir(path, **dcmread_args):
    """[(file name, dataset)] of every DICOM file directly in path, in sorted
    name order; subfolders and non-DICOM files (LICENSE.txt, ...) are skipped.
    dcmread_args go to pydicom.dcmread (e.g. stop_before_pixels=True)."""
    out = []
    for name in sorted(os.listdir(path)):
        p = os.path.join(path, name)
        if not os.path.isfile(p):
            continue
        try:
            out.append((name, pydicom.dcmread(p, **dcmread_args)))
        except InvalidDicomError:
            continue
    return out


def hu_slices(src):
    """Yields (file name, dataset, HU slice) for every *.dcm file in src, in
    sorted name order. HU = pixel_array * RescaleSlope + RescaleIntercept
    (1 / 0 when absent) in float64, rounded half to even, saturated to int16.
    A generator, so callers that keep only what they need hold one decoded
    slice at a time."""
    for f in sorted(glob.glob(os.path.join(src, "*.dcm"))):
        ds = pydicom.dcmread(f)
        slope = float(getattr(ds, "RescaleSlope", 1))
        intercept = float(getattr(ds, "RescaleIntercept", 0))
        hu = np.rint(ds.pixel_array.astype(np.float64) * slope + intercept)
        yield os.path.basename(f), ds, np.clip(hu, -32768, 32767).astype(np.int16)
