#!/usr/bin/python3
"""Make a thin-slice CT volume for benchmarks from a real DICOM series.

Reads the 134-slice pancreas series (3 mm slices), converts every slice to HU
(pixel_array * RescaleSlope + RescaleIntercept, int16), orders the slices by
ImagePositionPatient z ascending and linearly interpolates along z to N
equally spaced slices between the first and the last position. Neighbouring
output slices are then near-duplicates, as in real thin-slice (0.6-1 mm) CT,
which is what the SSIM / NMI benchmarks need.

The result is an uncompressed int16 NIfTI-1 file written with nibabel:
array shape (columns, rows, N) with data[:, :, k] = slice_k.T (axis 0 = x =
DICOM column, axis 1 = y = DICOM row), so that ITK (and so lessmore) sees each
slice in the same orientation as the DICOM file. The affine carries the
in-plane spacing and the new z spacing; it is the DICOM (LPS) geometry
converted to NIfTI's RAS (x and y negated), so ITK's direction matrix is the
identity, as for the DICOM series, and slice k lies at z = z_first + k * dz.

Deterministic: the same inputs always give the same bytes.

Usage: make_thin_volume.py OUT.nii [--slices 600] [--src SERIES_DIR]
"""
import argparse
import os
import sys

import nibabel as nib
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dicom_source import hu_slices  # noqa: E402

DEFAULT_SRC = "/work/shared/data/ct/pancreas-ct-cb-001"


def read_series(src):
    slices = []
    for name, ds, hu in hu_slices(src):
        ipp = [float(v) for v in ds.ImagePositionPatient]
        iop = [float(v) for v in ds.ImageOrientationPatient]
        spacing = [float(v) for v in ds.PixelSpacing]  # (row spacing, column spacing)
        slices.append((ipp[2], name, hu, ipp, iop, spacing))
    if not slices:
        sys.exit(f"make_thin_volume: no *.dcm files in {src}")
    slices.sort(key=lambda s: (s[0], s[1]))  # z ascending (file name only breaks ties)
    iop = slices[0][4]
    if any(abs(a - b) > 1e-4 for a, b in zip(iop, [1, 0, 0, 0, 1, 0])):
        sys.exit(f"make_thin_volume: expected axial slices (ImageOrientationPatient 1\\0\\0\\0\\1\\0), got {iop}")
    shape = slices[0][2].shape
    if any(s[2].shape != shape for s in slices):
        sys.exit("make_thin_volume: slices of different sizes")
    z = np.array([s[0] for s in slices])
    if np.any(np.diff(z) <= 0):
        sys.exit("make_thin_volume: two slices at the same z")
    return z, [s[2] for s in slices], slices[0][3], slices[0][5]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output .nii file (uncompressed)")
    ap.add_argument("--slices", type=int, default=600, help="number of output slices (default 600)")
    ap.add_argument("--src", default=DEFAULT_SRC, help="DICOM series folder")
    args = ap.parse_args()
    if args.slices < 2:
        sys.exit("make_thin_volume: --slices must be >= 2")

    z, hu, ipp0, (row_spacing, col_spacing) = read_series(args.src)
    rows, cols = hu[0].shape
    n = args.slices
    z_new = np.linspace(z[0], z[-1], n)
    dz = (z[-1] - z[0]) / (n - 1)

    data = np.empty((cols, rows, n), dtype=np.int16, order="F")
    for k, zk in enumerate(z_new):
        i = int(np.searchsorted(z, zk, side="right")) - 1
        i = min(max(i, 0), len(z) - 2)
        t = (zk - z[i]) / (z[i + 1] - z[i])
        t = min(max(t, 0.0), 1.0)
        v = (1.0 - t) * hu[i].astype(np.float64) + t * hu[i + 1].astype(np.float64)
        data[:, :, k] = np.clip(np.rint(v), -32768, 32767).astype(np.int16).T

    # LPS (DICOM) -> RAS (NIfTI): negate x and y. Axis 0 runs along the
    # columns (+x, column spacing), axis 1 along the rows (+y, row spacing).
    affine = np.array([
        [-col_spacing, 0.0, 0.0, -ipp0[0]],
        [0.0, -row_spacing, 0.0, -ipp0[1]],
        [0.0, 0.0, dz, z[0]],
        [0.0, 0.0, 0.0, 1.0],
    ])
    img = nib.Nifti1Image(data, affine)
    img.header.set_data_dtype(np.int16)
    img.header.set_xyzt_units("mm")
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    if args.out.endswith(".gz"):
        sys.exit("make_thin_volume: write an uncompressed .nii")
    tmp = args.out + ".tmp.nii"
    nib.save(img, tmp)
    os.replace(tmp, args.out)
    print(f"{args.out}: {cols}x{rows}x{n} int16, {len(z)} source slices, "
          f"z {z[0]:.2f}..{z[-1]:.2f} mm, dz {dz:.4f} mm (was {np.median(np.diff(z)):.4f} mm)")


if __name__ == "__main__":
    main()
