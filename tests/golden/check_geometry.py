#!/usr/bin/python3
"""The geometry lessmore states (docs/output.md, section "Geometry"), checked against
independent readers: every slice of every volume is written (`-m everyn --every 1 --format
both`), and for DICOM, NIfTI, NRRD and MetaImage

- the NPY of slice `index` equals the independent reader's slice, in the stated axes:
  DICOM: pydicom's `pixel_array` of the slice's file (with docs/preprocessing.md's -2000
  rule and the rescale); NIfTI: nibabel's `data[:, :, index].T` (rows = nibabel's second
  axis j, columns = its first axis i); NRRD and MetaImage: the raw voxels read with numpy,
  `data[index]` of the C-order array of shape (sizes[2], sizes[1], sizes[0]);
- the manifest's `position` (the first voxel, LPS mm), `orientation` (row then column
  direction cosines, LPS), `spacing` (columns, rows, slices) and `z` equal the reader's
  geometry: DICOM's ImagePositionPatient / ImageOrientationPatient / PixelSpacing as
  pydicom reads them; NIfTI's nibabel `img.affine` (RAS) with x and y negated; NRRD's
  `space origin` / `space directions` and MetaImage's Offset / TransformMatrix /
  ElementSpacing, read from the header text here (no Debian package reads them), turned
  from RAS to LPS where the NRRD space says so;
- the PNG has the NPY's shape and follows its values (min-max scaled, same axes);
- a NIfTI-1 number is the shortest decimal of a float32 (540.2, not 540.2000122070312).

Usage: check_geometry.py LESSMORE SOURCE_DIR. Exit 0 when every check passes; else
prints each failure and exits 1. NRRD, MetaImage and oblique NIfTI fixtures are written to
a temporary folder by this script (numpy and nibabel only), the rest is tests/data.
"""
import gzip
import json
import math
import pathlib
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np
import pydicom
from PIL import Image

LPS = np.diag([-1.0, -1.0, 1.0])
failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def close(a, b, rel=1e-6):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= rel * np.maximum(1.0, np.abs(b))))


# ---- fixtures: a 7x5x4 volume (columns != rows, so a transpose cannot pass) ----------------

def voxels():
    return (np.arange(4 * 5 * 7, dtype=np.int16) * 7 - 300).reshape(4, 5, 7)  # [k, j, i]


def rotation(ax, ay, az):
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def write_nrrd(path, space, directions, origin):
    v = voxels()
    d = " ".join("(" + ",".join(repr(float(x)) for x in axis) + ")" for axis in directions)
    header = (f"NRRD0004\ntype: short\ndimension: 3\nspace: {space}\nsizes: 7 5 4\n"
              f"space directions: {d}\nendian: little\nencoding: raw\n"
              f"space origin: ({','.join(repr(float(x)) for x in origin)})\n\n")
    path.write_bytes(header.encode() + v.astype("<i2").tobytes())


def write_mha(path, matrix_rows, origin, spacing):
    v = voxels()
    header = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
              f"TransformMatrix = {' '.join(repr(float(x)) for row in matrix_rows for x in row)}\n"
              f"Offset = {' '.join(repr(float(x)) for x in origin)}\n"
              f"ElementSpacing = {' '.join(repr(float(x)) for x in spacing)}\n"
              "DimSize = 7 5 4\nElementType = MET_SHORT\nElementDataFile = LOCAL\n")
    path.write_bytes(header.encode() + v.astype("<i2").tobytes())


def make_fixtures(folder):
    r = rotation(0.3, -0.2, 0.5)
    spacing = [0.7, 0.9, 2.5]
    directions = [list(r[:, a] * spacing[a]) for a in range(3)]
    write_nrrd(folder / "oblique_lps.nrrd", "left-posterior-superior", directions, [-10.25, 20.5, 30.125])
    write_nrrd(folder / "oblique_ras.nrrd", "right-anterior-superior", directions, [-10.25, 20.5, 30.125])
    write_mha(folder / "oblique.mha", [list(r[:, a]) for a in range(3)], [5.5, -7.25, 100.0], spacing)
    affine = np.eye(4)
    affine[:3, :3] = rotation(-0.1, 0.25, 2.0) @ np.diag([0.8, 1.1, 3.0])
    affine[:3, 3] = [120.3, -80.7, 540.2]
    # Voxels as nibabel's [i, j, k]: the same values as the NRRD's [k, j, i].
    nib.save(nib.Nifti1Image(np.ascontiguousarray(voxels().transpose(2, 1, 0)), affine), str(folder / "oblique.nii"))
    nib.save(nib.Nifti2Image(np.ascontiguousarray(voxels().transpose(2, 1, 0)), affine), str(folder / "oblique2.nii"))


# ---- the independent readers ---------------------------------------------------------------

def nrrd_header(path):
    text = path.read_bytes().split(b"\n\n", 1)[0].decode()
    fields = {}
    for line in text.splitlines()[1:]:
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    return fields


def vectors(text):
    return [[float(x) for x in part.strip("() ").split(",")] for part in text.split(")") if part.strip()]


def nrrd_expected(path):
    h = nrrd_header(path)
    directions = np.array(vectors(h["space directions"]))  # one row per index axis
    origin = np.array(vectors(h["space origin"])[0])
    if h["space"] == "right-anterior-superior":
        directions, origin = directions @ LPS, LPS @ origin
    sizes = [int(x) for x in h["sizes"].split()]
    raw = path.read_bytes()
    data = np.frombuffer(raw[len(raw) - 2 * np.prod(sizes):], dtype="<i2").reshape(sizes[::-1])
    return geometry(origin, directions, sizes[2]), data


def mha_expected(path):
    raw = path.read_bytes()
    cut = raw.index(b"ElementDataFile = LOCAL\n") + len(b"ElementDataFile = LOCAL\n")
    h = dict(line.split(" = ", 1) for line in raw[:cut].decode().splitlines())
    rows = np.array([float(x) for x in h["TransformMatrix"].split()]).reshape(3, 3)  # axis a: numbers 3a..3a+2
    spacing = np.array([float(x) for x in h["ElementSpacing"].split()])
    sizes = [int(x) for x in h["DimSize"].split()]
    data = np.frombuffer(raw[cut:], dtype="<i2").reshape(sizes[::-1])
    return geometry(np.array([float(x) for x in h["Offset"].split()]), rows * spacing[:, None], sizes[2]), data


def geometry(origin, directions, slices):
    """origin: the first voxel; directions: one row per index axis, its length the spacing (LPS)."""
    lengths = np.linalg.norm(directions, axis=1)
    normal = directions[2] / lengths[2]
    return {
        "spacing": list(lengths),
        "orientation": list(directions[0] / lengths[0]) + list(directions[1] / lengths[1]),
        "positions": [list(origin + k * directions[2]) for k in range(slices)],
        "z": [float((origin + k * directions[2]) @ normal) for k in range(slices)],
    }


def nifti_expected(path):
    img = nib.load(str(path))
    a = img.affine
    lps = LPS @ a[:3, :]
    g = geometry(lps[:, 3], lps[:, :3].T, img.shape[2])
    g["spacing"] = list(nib.affines.voxel_sizes(a))
    return g, np.asanyarray(img.dataobj)


def dicom_slice(path):
    ds = pydicom.dcmread(str(path))
    stored = ds.pixel_array.astype(np.float64)
    if ds.PixelRepresentation == 1:
        stored[stored == -2000] = 0  # docs/preprocessing.md: on the stored value, signed data only
    values = stored * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    return ds, values


# ---- the checks ----------------------------------------------------------------------------

def check_png(where, out, s, npy):
    """The PNG is the same slice in the same axes: min-max scaled, so it follows the NPY."""
    png = np.asarray(Image.open(out / s["output_png"]), dtype=np.float64)
    if png.shape != npy.shape:
        fail(where, f"PNG {png.shape} and NPY {npy.shape} differ in shape")
    elif np.ptp(npy) > 0 and np.corrcoef(png.ravel(), npy.astype(np.float64).ravel())[0, 1] < 0.99:
        fail(where, "the PNG is not the NPY's slice in the same axes")


def check_volume(volume, out, kind, expected, data, float32=False):
    where = volume["id"]
    if not close(volume["spacing"], expected["spacing"]):
        fail(where, f"spacing {volume['spacing']} != {expected['spacing']}")
    if not close(volume["orientation"], expected["orientation"]):
        fail(where, f"orientation {volume['orientation']} != {expected['orientation']}")
    for s in volume["slices"]:
        k = s["index"]
        w = f"{where} slice {k}"
        if not close(s["position"], expected["positions"][k]):
            fail(w, f"position {s['position']} != {expected['positions'][k]}")
        if not close([s["z"]], [expected["z"][k]]):
            fail(w, f"z {s['z']} != {expected['z'][k]}")
        want = data[:, :, k].T if kind == "nifti" else data[k]
        got = np.load(out / s["output_npy"])
        if got.shape != want.shape or not np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-6):
            fail(w, f"NPY {got.shape} is not the reader's slice {want.shape} in the stated axes")
        check_png(w, out, s, got)
        if float32:
            for x in s["position"] + volume["orientation"] + volume["spacing"]:
                if x != float(repr(np.float32(x))):
                    fail(w, f"{x!r} is not the shortest decimal of a float32")


def check_dicom(volume, out, folder):
    where = volume["id"]
    first = None
    for s in volume["slices"]:
        ds, values = dicom_slice(folder / s["file"])
        first = first or ds
        w = f"{where} slice {s['index']} ({s['file']})"
        if s["position"] != [float(x) for x in ds.ImagePositionPatient]:
            fail(w, f"position {s['position']} != ImagePositionPatient {list(ds.ImagePositionPatient)}")
        got = np.load(out / s["output_npy"])
        if got.shape != values.shape or not np.array_equal(got.astype(np.float64), values):
            fail(w, f"NPY {got.shape} is not pydicom's pixel_array {values.shape} (rescaled)")
        check_png(w, out, s, got)
    if volume["orientation"] != [float(x) for x in first.ImageOrientationPatient]:
        fail(where, f"orientation {volume['orientation']} != ImageOrientationPatient")
    if volume["spacing"][:2] != [float(first.PixelSpacing[1]), float(first.PixelSpacing[0])]:
        fail(where, f"spacing {volume['spacing'][:2]} != PixelSpacing (columns, rows)")


def main():
    lessmore, source = sys.argv[1], pathlib.Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        data = tmp / "in"
        data.mkdir()
        make_fixtures(data)
        dicoms = [source / "tests/data/ct/ge-head-tilt", source / "tests/data/ct/pancreas-ct-cb-001"]
        niftis = [source / "data/sample/example_ct_sm.nii.gz", source / "tests/data/nifti/sform_only.nii",
                  source / "tests/data/nifti/qform_only.nii", source / "tests/data/nifti/ct_nifti2.nii"]
        inputs = [str(p) for p in [data] + dicoms + niftis]
        out = tmp / "out"
        run = subprocess.run([lessmore, "reduce", *inputs, "-o", str(out), "-m", "everyn", "--every", "1",
                              "--format", "both", "-q"], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"lessmore exited {run.returncode}: {run.stderr}")
            return 1
        manifest = json.loads((out / "manifest.json").read_text())
        seen = set()
        for volume in manifest["volumes"]:
            path = pathlib.Path(volume["source"])
            seen.add(path.name)
            if volume["format"] == "dicom":
                check_dicom(volume, out, path)
            elif volume["format"] == "nifti":
                g, voxels_ = nifti_expected(path)
                float32 = nib.load(str(path)).header.sizeof_hdr == 348  # NIfTI-1: float32 fields
                check_volume(volume, out, "nifti", g, voxels_, float32)
            elif volume["format"] == "nrrd":
                check_volume(volume, out, "itk", *nrrd_expected(path))
            elif volume["format"] == "metaimage":
                check_volume(volume, out, "itk", *mha_expected(path))
        want = {"oblique_lps.nrrd", "oblique_ras.nrrd", "oblique.mha", "oblique.nii", "oblique2.nii",
                "ge-head-tilt", "pancreas-ct-cb-001"} | {p.name for p in niftis}
        if seen != want:
            fail("inputs", f"volumes {sorted(seen)}, expected {sorted(want)}")
    for f in failures[:40]:
        print(f)
    print(f"{len(manifest['volumes'])} volumes checked, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
