#!/usr/bin/python3
"""Build the small NIfTI fixtures in tests/data/nifti/ and their golden values
(tests/data/nifti_golden.json), computed by nibabel, for tests/io/test_nifti_file.cpp.

Deterministic: the same bytes on every run (no clock: gzip members carry mtime 0;
no unseeded randomness). Needs nibabel and numpy (Debian's /usr/bin/python3 has them).
The voxels are crops of the bundled CT sample data/sample/example_ct_sm.nii.gz
(Apache-2.0, TotalSegmentator test data; see tests/data/ct/SOURCES.md) or small
arrays of each type's extreme values.

Each fixture is first written by nibabel, then, where nibabel would not write the
field as wanted (scl_slope/scl_inter, odd pixdim, codes), patched in place; the golden
values are what nibabel reads back from the file on disk:
  - the header fields as nibabel's header class sees them (after its load-time repairs)
  - img.affine
  - img.dataobj.slope / .inter and the dtype of np.asanyarray(img.dataobj)
  - the CRC-32 of all raw voxels (dataobj.get_unscaled(), little-endian, file order)
  - a few voxels: raw (get_unscaled) and scaled (get_fdata) values
The two real CT files of the repository are included as they are (not copied).
Non-finite floats are written as the strings "nan", "inf", "-inf" (JSON has none).

Usage:
    /usr/bin/python3 tests/data/make_nifti_golden.py
"""

import gzip
import io
import json
import logging
import os
import struct
import zlib

import nibabel as nib
import numpy as np
from nibabel.openers import ImageOpener

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "nifti")
GOLDEN = os.path.join(HERE, "nifti_golden.json")
SAMPLE = os.path.join(ROOT, "data", "sample", "example_ct_sm.nii.gz")
REAL = ["tests/data/ct/nifti/example_ct.nii.gz", "data/sample/example_ct_sm.nii.gz"]

# NIfTI-1 header field offsets patched below.
N1 = {"pixdim": 76, "scl_slope": 112, "scl_inter": 116, "qform_code": 252, "sform_code": 254}


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def ct_crop(shape=(16, 12, 5)):
    """int16 HU from the bundled sample, a crop across the body outline."""
    data = np.asanyarray(nib.load(SAMPLE).dataobj)
    x0, y0, z0 = 40, 30, 10
    return np.ascontiguousarray(data[x0:x0 + shape[0], y0:y0 + shape[1], z0:z0 + shape[2]]).astype(np.int16)


def rotation_affine(zooms, flip_z=False):
    """A rotated, translated affine (15 deg about z, 10 deg about x); qfac -1 if flip_z."""
    a, b = np.deg2rad(15.0), np.deg2rad(10.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    m = np.eye(4)
    m[:3, :3] = rz @ rx @ np.diag(zooms)
    if flip_z:
        m[:3, 2] *= -1
    m[:3, 3] = [-120.5, 33.25, 87.0]
    return m


def single_bytes(img):
    return img.to_bytes()


def pair_bytes(img):
    files = {"header": io.BytesIO(), "image": io.BytesIO()}
    img.to_file_map(type(img).make_file_map(files))
    return files["header"].getvalue(), files["image"].getvalue()


def patch(raw, offset, fmt, *values, big=False):
    raw = bytearray(raw)
    struct.pack_into((">" if big else "<") + fmt, raw, offset, *values)
    return bytes(raw)


def make_image(data, affine, klass=nib.Nifti1Image, big=False, dtype=None, qform=None, sform=None, zooms=None):
    hdr = klass.header_class(endianness=">" if big else "<")
    if zooms is not None:  # no affine: both codes stay 0
        hdr.set_data_shape(data.shape)
        hdr.set_zooms(zooms)
    img = klass(data, affine, hdr, dtype=dtype or data.dtype)
    if qform is not None:
        img.header.set_qform(affine if qform else None, code=qform)
    if sform is not None:
        img.header.set_sform(affine if sform else None, code=sform)
    return img


def type_arrays():
    out = {}
    for t in (np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64):
        info = np.iinfo(t)
        values = [info.min, info.max, 0, 1, info.max // 3, info.min // 3 if info.min else 7]
        out[np.dtype(t).name] = np.array(values * 4, dtype=t).reshape((4, 3, 2), order="F")
    out["float32"] = np.array([3.4e38, -3.4e38, 1e-45, -0.0, 0.5, -1024.25] * 4, np.float32).reshape((4, 3, 2), order="F")
    out["float64"] = np.array([1e300, -1e300, 5e-324, -0.0, 0.1, -1024.125] * 4, np.float64).reshape((4, 3, 2), order="F")
    return out


def build_fixtures():
    """{file name: bytes} of every committed fixture."""
    ct = ct_crop()
    rot = rotation_affine((0.7, 0.75, 2.5))
    files = {}
    files["ct_int16.nii"] = single_bytes(make_image(ct, rot))
    files["ct_int16_be.nii"] = single_bytes(make_image(ct, rot, big=True))
    files["ct_nifti2.nii"] = single_bytes(make_image(ct, rot, klass=nib.Nifti2Image))
    files["ct_nifti2_qform_be.nii.gz"] = gz(single_bytes(
        make_image(ct, rotation_affine((0.7, 0.75, 2.5), flip_z=True), klass=nib.Nifti2Image, big=True, qform=1, sform=0)))
    hdr, img = pair_bytes(make_image(ct, rot, klass=nib.Nifti1Pair))
    files["ct_pair.hdr"], files["ct_pair.img"] = hdr, img
    hdr, img = pair_bytes(make_image(ct, rot, klass=nib.Nifti1Pair, big=True))
    files["ct_pair_gz.hdr.gz"], files["ct_pair_gz.img.gz"] = gz(hdr), gz(img)
    hdr, img = pair_bytes(make_image(ct, rot, klass=nib.Nifti2Pair))
    files["ct_nifti2_pair.hdr"], files["ct_nifti2_pair.img"] = hdr, img
    # dcm2niix: stored int16 with scl_slope 1, scl_inter -1024.
    files["dcm2niix.nii.gz"] = gz(patch(single_bytes(make_image((ct + 1024).astype(np.int16), rot)),
                                        N1["scl_slope"], "ff", 1.0, -1024.0))
    raw = single_bytes(make_image((ct + 1024).astype(np.uint16), rot))
    files["uint16_slope.nii"] = patch(raw, N1["scl_slope"], "ff", 0.5, 0.0)
    # slope 0 means "no scaling" to nibabel, whatever the intercept says.
    files["slope_zero.nii"] = patch(single_bytes(make_image(ct, rot)), N1["scl_slope"], "ff", 0.0, 100.0)
    files["float32.nii"] = single_bytes(make_image(ct.astype(np.float32) + 0.25, rot))
    files["four_d_one_volume.nii"] = single_bytes(make_image(ct[..., None], rot))
    files["qform_only.nii"] = single_bytes(make_image(ct, rotation_affine((0.7, 0.75, 2.5), flip_z=True), qform=1, sform=0))
    shear = np.array([[0.7, 0.1, 0.05, -10.0], [0.02, 0.75, 0.2, 20.0], [-0.1, 0.03, 2.5, 30.0], [0, 0, 0, 1]])
    files["sform_only.nii"] = single_bytes(make_image(ct, shear, qform=0, sform=2))
    files["no_transform.nii"] = single_bytes(make_image(ct, None, zooms=(0.7, 0.8, 2.5)))
    # nibabel repairs these on load: pixdim 0 -> 1, negative -> abs, qfac 0 -> 1.
    raw = single_bytes(make_image(ct, rotation_affine((0.7, 0.75, 2.5)), qform=1, sform=0))
    files["odd_pixdim.nii"] = patch(raw, N1["pixdim"], "ffff", 0.0, -0.7, 0.0, 2.5)
    files["two_d.nii"] = single_bytes(make_image(ct[:, :, 0], None, zooms=(0.7, 0.8)))
    files["extra_bytes.nii"] = single_bytes(make_image(ct, rot)) + bytes(range(100))
    ext_img = make_image(ct, rot)
    ext_img.header.extensions.append(nib.nifti1.Nifti1Extension("comment", b"lessmore NIfTI fixture"))
    files["extension.nii.gz"] = gz(single_bytes(ext_img))
    raw = single_bytes(make_image(ct, rot))
    files["two_members.nii.gz"] = gz(raw[:352]) + gz(raw[352:])
    files["trailing_zeros.nii.gz"] = gz(raw) + bytes(1024)
    for name, arr in type_arrays().items():
        files[f"type_{name}.nii"] = single_bytes(make_image(arr, np.eye(4), dtype=arr.dtype))
    for name in ("int16", "uint32", "float32", "int64", "float64"):
        arr = type_arrays()[name]
        files[f"type_{name}_be.nii"] = single_bytes(make_image(arr, np.eye(4), big=True, dtype=arr.dtype))
    return files


def num(x):
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def value(x):
    x = x.item() if hasattr(x, "item") else x
    return x if isinstance(x, int) else num(x)


def header_file(path):
    if path.endswith(".img") or path.endswith(".img.gz"):
        return path.replace(".img", ".hdr")
    return path


def samples(shape):
    nx, ny, nz = shape
    idx = {(i, j, k) for i in (0, nx - 1) for j in (0, ny - 1) for k in (0, nz - 1)}
    idx.add((nx // 2, ny // 2, nz // 2))
    rng = np.random.default_rng(20240601)
    for _ in range(7):
        idx.add((int(rng.integers(nx)), int(rng.integers(ny)), int(rng.integers(nz))))
    return sorted(idx)


def golden_entry(rel):
    path = os.path.join(ROOT, rel)
    img = nib.load(path)
    with ImageOpener(header_file(path)) as f:
        hdr = type(img).header_class.from_fileobj(f)  # with nibabel's load-time repairs
    raw = np.asanyarray(img.dataobj.get_unscaled())
    fdata = img.get_fdata()
    shape3 = tuple(raw.shape[:3]) + (1,) * (3 - min(raw.ndim, 3))
    raw3 = raw.reshape(shape3, order="F")
    fdata3 = fdata.reshape(shape3, order="F")
    le = raw.astype(raw.dtype.newbyteorder("<"))
    return {
        "path": rel,
        "version": 2 if isinstance(hdr, nib.Nifti2Header) else 1,
        "big_endian": hdr.endianness == ">",
        "pair": not type(img).header_class.is_single,
        "dtype": raw.dtype.name,
        "datatype_code": int(hdr["datatype"]),
        "dim": [int(d) for d in hdr["dim"]],
        "shape": list(shape3),
        "pixdim": [num(p) for p in hdr["pixdim"]],
        "vox_offset": int(img.dataobj.offset),
        "scl_slope": num(hdr["scl_slope"]),
        "scl_inter": num(hdr["scl_inter"]),
        "qform_code": int(hdr["qform_code"]),
        "sform_code": int(hdr["sform_code"]),
        "quatern": [num(hdr[k]) for k in ("quatern_b", "quatern_c", "quatern_d")],
        "qoffset": [num(hdr[k]) for k in ("qoffset_x", "qoffset_y", "qoffset_z")],
        "srow": [[num(v) for v in hdr[k]] for k in ("srow_x", "srow_y", "srow_z")],
        "xyzt_units": int(hdr["xyzt_units"]),
        "intent_code": int(hdr["intent_code"]),
        "descrip": hdr["descrip"].item().decode("latin-1"),
        "affine": [[num(v) for v in row] for row in img.affine],
        "slope": num(img.dataobj.slope),
        "inter": num(img.dataobj.inter),
        "scaled_dtype": np.asanyarray(img.dataobj).dtype.name,
        "crc32": zlib.crc32(le.tobytes(order="F")),
        "samples": [[i, j, k, value(raw3[i, j, k]), num(fdata3[i, j, k])] for i, j, k in samples(shape3)],
    }


def main():
    logging.getLogger("nibabel.global").setLevel(logging.ERROR)  # the repairs odd_pixdim.nii asks for
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    files = build_fixtures()
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    rels = REAL + [f"tests/data/nifti/{n}" for n in sorted(files) if not n.endswith((".img", ".img.gz"))]
    golden = {
        "generator": "tests/data/make_nifti_golden.py",
        "nibabel": nib.__version__,
        "numpy": np.__version__,
        "fixtures": [golden_entry(rel) for rel in rels],
    }
    with open(GOLDEN, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    total = sum(len(d) for d in files.values())
    print(f"{len(files)} fixture files, {total} bytes; {len(rels)} golden entries in {GOLDEN}")


if __name__ == "__main__":
    main()
