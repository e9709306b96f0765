#!/usr/bin/python3
"""Build the NRRD and MetaImage fixtures in tests/data/volume-files/ and their golden
values (tests/data/volume_files_golden.json), for tests/io/test_volume_files.cpp.

Each fixture places the same voxels differently: byte skip (positive, -1, -N), line
skip, detached data, HeaderSize (positive, -1, LOCAL and detached), gzip (one member,
two members, with a byte skip), MetaImage CompressedData (zlib and gzip streams, with
and without CompressedDataSize), big-endian data, trailing bytes, CRLF header lines.

The golden values come from reading the files back with this script's own small
reader (numpy and Python's zlib/gzip only: no ITK, no teem, no lessmore), which
follows the format documents' rules for the fields used here; the script also checks
that what it reads back is the array it wrote. Recorded per file: shape (x, y, z),
numpy dtype, spacing, the CRC-32 of all voxels (little-endian, x fastest) and a few
voxel values.

The voxels are crops of data/sample/example_ct_sm.nii.gz (TotalSegmentator test data,
Apache-2.0; see tests/data/ct/SOURCES.md), read with nibabel.

Deterministic: gzip members carry mtime 0, no randomness. Needs numpy and nibabel
(Debian's /usr/bin/python3 has them).

Usage:
    /usr/bin/python3 tests/data/make_volume_file_fixtures.py
"""

import gzip
import json
import os
import re
import zlib

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "volume-files")
GOLDEN = os.path.join(HERE, "volume_files_golden.json")
SAMPLE = os.path.join(ROOT, "data", "sample", "example_ct_sm.nii.gz")
SPACING = (0.7, 0.75, 2.5)


def ct_crop(shape=(16, 12, 5)):
    """int16 HU from the bundled sample, a crop across the body outline."""
    data = np.asanyarray(nib.load(SAMPLE).dataobj)
    x0, y0, z0 = 40, 30, 10
    return np.ascontiguousarray(data[x0:x0 + shape[0], y0:y0 + shape[1], z0:z0 + shape[2]]).astype(np.int16)


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def file_bytes(a, big=False):
    """Voxels as a file holds them: x fastest (Fortran order)."""
    return a.astype(a.dtype.newbyteorder(">" if big else "<")).tobytes(order="F")


NRRD_TYPES = {np.dtype(np.int16): "short", np.dtype(np.uint16): "unsigned short", np.dtype(np.float32): "float"}
MET_TYPES = {np.dtype(np.int16): "MET_SHORT", np.dtype(np.uint16): "MET_USHORT", np.dtype(np.float32): "MET_FLOAT"}


def nrrd_header(a, encoding, big=False, extra=(), eol="\n"):
    lines = ["NRRD0004", "# lessmore fixture (tests/data/make_volume_file_fixtures.py)",
             "type: " + NRRD_TYPES[a.dtype], "dimension: 3", "sizes: %d %d %d" % a.shape,
             "spacings: %g %g %g" % SPACING, "endian: " + ("big" if big else "little"), "encoding: " + encoding]
    lines += list(extra)
    return eol.join(lines) + eol


def mha_header(a, data_file, extra=()):
    lines = ["ObjectType = Image", "NDims = 3", "DimSize = %d %d %d" % a.shape,
             "ElementSpacing = %g %g %g" % SPACING, "ElementType = " + MET_TYPES[a.dtype]]
    lines += list(extra)
    lines.append("ElementDataFile = " + data_file)
    return "\n".join(lines) + "\n"


def build(ct):
    """{file name: bytes}, and the array each header file holds."""
    u16 = (ct.astype(np.int32) + 1024).astype(np.uint16)
    f32 = ct.astype(np.float32) * 0.5 + 0.25
    raw, raw_be = file_bytes(ct), file_bytes(ct, big=True)
    files, arrays = {}, {}

    def nrrd(name, a, body, **kw):
        files[name] = nrrd_header(a, **kw).encode() + ("\n" if kw.get("eol", "\n") == "\n" else "\r\n").encode() + body
        arrays[name] = a

    nrrd("raw.nrrd", ct, raw, encoding="raw")
    nrrd("raw_be.nrrd", ct, raw_be, encoding="raw", big=True)
    nrrd("crlf.nrrd", ct, raw, encoding="raw", eol="\r\n")
    nrrd("byte_skip.nrrd", ct, b"lessmore!" + raw, encoding="raw", extra=["byte skip: 9"])
    nrrd("byte_skip_minus1.nrrd", ct, b"13 junk bytes" + raw, encoding="raw", extra=["byte skip: -1"])
    nrrd("byte_skip_minus5.nrrd", ct, raw + b"tail", encoding="raw", extra=["byte skip: -5"])
    nrrd("trailing.nrrd", ct, raw + bytes(range(100)), encoding="raw")
    nrrd("uint16.nrrd", u16, file_bytes(u16), encoding="raw")
    nrrd("gzip.nrrd", ct, gz(raw), encoding="gzip")
    nrrd("gzip_members.nrrd", ct, gz(raw[:301]) + gz(raw[301:]), encoding="gzip")
    nrrd("gzip_byte_skip.nrrd", ct, gz(b"prefix" + raw), encoding="gzip", extra=["byte skip: 6"])
    nrrd("float_be_gzip.nrrd", f32, gz(file_bytes(f32, big=True)), encoding="gzip", big=True)
    files["line_skip.nhdr"] = nrrd_header(ct, "raw", extra=["data file: line_skip.dat", "line skip: 2",
                                                            "byte skip: 3"]).encode()
    files["line_skip.dat"] = b"first text line\r\nsecond\nxyz" + raw
    arrays["line_skip.nhdr"] = ct
    files["detached_gz.nhdr"] = nrrd_header(ct, "gzip", extra=["data file: detached_gz.raw.gz"]).encode()
    files["detached_gz.raw.gz"] = gz(raw)
    arrays["detached_gz.nhdr"] = ct

    def mha(name, a, body, **kw):
        files[name] = mha_header(a, "LOCAL", **kw).encode() + body
        arrays[name] = a

    def mhd(name, a, data_name, data, extra=()):
        files[name] = mha_header(a, data_name, extra).encode()
        files[data_name] = data
        arrays[name] = a

    mha("raw.mha", ct, raw)
    mha("be.mha", ct, raw_be, extra=["ElementByteOrderMSB = True"])
    mha("float.mha", f32, file_bytes(f32))
    mha("header_size_minus1.mha", ct, b"junk between header and data" + raw, extra=["HeaderSize = -1"])
    # An absolute HeaderSize in a LOCAL file: 16 bytes after the header's end.
    head = mha_header(ct, "LOCAL", extra=["HeaderSize = 0000"])
    offset = len(head) + 16
    files["header_size_local.mha"] = head.replace("HeaderSize = 0000", "HeaderSize = %04d" % offset).encode() + \
        b"sixteen bytes..." + raw
    arrays["header_size_local.mha"] = ct
    z = zlib.compress(raw, 6)
    mha("zlib.mha", ct, z, extra=["CompressedData = True", "CompressedDataSize = %d" % len(z)])
    g = gz(raw)
    mha("gzip_stream.mha", ct, g + b"after", extra=["CompressedData = True", "CompressedDataSize = %d" % len(g)])
    mhd("header_size.mhd", ct, "header_size.raw", bytes(64) + raw, extra=["HeaderSize = 64"])
    mhd("header_size_minus1.mhd", ct, "header_size_minus1.raw", b"x" * 40 + raw, extra=["HeaderSize = -1"])
    mhd("zraw.mhd", ct, "zraw.zraw", z, extra=["CompressedData = True"])
    mhd("uint16.mhd", u16, "uint16.raw", file_bytes(u16))
    return files, arrays


# ---- the independent reader ------------------------------------------------------

DTYPES = {"short": "i2", "unsigned short": "u2", "float": "f4",
          "MET_SHORT": "i2", "MET_USHORT": "u2", "MET_FLOAT": "f4"}


def read_nrrd(path):
    data = open(path, "rb").read()
    lines, at = [], 0
    while True:  # header lines up to a blank line, or the end of a detached header
        m = re.compile(rb"\r\n|\n|\r").search(data, at)
        if m is None:
            if at < len(data):
                lines.append(data[at:].decode())
            at = len(data)
            break
        line = data[at:m.start()].decode()
        at = m.end()
        if line == "":
            break
        lines.append(line)
    f = {}
    for line in lines[1:]:
        if line.startswith("#") or ":=" in line:
            continue
        key, value = line.split(":", 1)
        f[key.strip().lower().replace(" ", "")] = value.strip()
    shape = tuple(int(s) for s in f["sizes"].split())
    dtype = np.dtype(("<" if f.get("endian", "little") == "little" else ">") + DTYPES[f["type"]])
    need = int(np.prod(shape)) * dtype.itemsize
    if "datafile" in f:
        body = open(os.path.join(os.path.dirname(path), f["datafile"]), "rb").read()
    else:
        body = data[at:]
    for _ in range(int(f.get("lineskip", "0"))):
        m = re.compile(rb"\r\n|\n|\r").search(body)
        body = body[m.end():]
    skip = int(f.get("byteskip", "0"))
    if f["encoding"] in ("gzip", "gz"):
        out, rest = b"", body
        while rest[:2] == b"\x1f\x8b":  # every gzip member
            d = zlib.decompressobj(31)
            out += d.decompress(rest) + d.flush()
            rest = d.unused_data
        voxels = out[skip:skip + need]
        assert len(out) == skip + need
    elif skip >= 0:
        voxels = body[skip:skip + need]
    else:
        end = len(body) - (-skip - 1)
        voxels = body[end - need:end]
    assert len(voxels) == need
    spacing = [float(s) for s in f["spacings"].split()]
    return np.frombuffer(voxels, dtype).reshape(shape, order="F"), spacing


def read_metaimage(path):
    data = open(path, "rb").read()
    f, at = {}, 0
    while True:
        nl = data.index(b"\n", at)
        key, value = data[at:nl].decode().split("=", 1)
        f[key.strip()] = value.strip()
        at = nl + 1
        if key.strip() == "ElementDataFile":
            break
    shape = tuple(int(s) for s in f["DimSize"].split())
    big = f.get("ElementByteOrderMSB", "False") == "True"
    dtype = np.dtype((">" if big else "<") + DTYPES[f["ElementType"]])
    need = int(np.prod(shape)) * dtype.itemsize
    local = f["ElementDataFile"] == "LOCAL"
    body = data if local else open(os.path.join(os.path.dirname(path), f["ElementDataFile"]), "rb").read()
    start = at if local else 0
    header_size = int(f.get("HeaderSize", "0"))
    if f.get("CompressedData") == "True":
        size = int(f.get("CompressedDataSize", len(body) - start))
        voxels = zlib.decompressobj(47).decompress(body[start:start + size])
    elif header_size == -1:
        voxels = body[len(body) - need:]
    else:
        voxels = body[(header_size if header_size > 0 else start):][:need]
    assert len(voxels) == need
    spacing = [float(s) for s in f["ElementSpacing"].split()]
    return np.frombuffer(voxels, dtype).reshape(shape, order="F"), spacing


def samples(shape):
    nx, ny, nz = shape
    idx = {(i, j, k) for i in (0, nx - 1) for j in (0, ny - 1) for k in (0, nz - 1)}
    idx.add((nx // 2, ny // 2, nz // 2))
    rng = np.random.default_rng(20240602)
    for _ in range(7):
        idx.add((int(rng.integers(nx)), int(rng.integers(ny)), int(rng.integers(nz))))
    return sorted(idx)


def golden_entry(name, expected):
    path = os.path.join(OUT, name)
    a, spacing = (read_nrrd if name.endswith((".nrrd", ".nhdr")) else read_metaimage)(path)
    assert np.array_equal(a, expected), name  # the reader reads back what was written
    le = a.astype(a.dtype.newbyteorder("<"))
    return {
        "file": name,
        "shape": list(a.shape),
        "dtype": le.dtype.name,
        "spacing": spacing,
        "crc32": zlib.crc32(le.tobytes(order="F")),
        "samples": [[i, j, k, a[i, j, k].item()] for i, j, k in samples(a.shape)],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name != "README.md":
            os.remove(os.path.join(OUT, name))
    files, arrays = build(ct_crop())
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    golden = {
        "generator": "tests/data/make_volume_file_fixtures.py",
        "numpy": np.__version__,
        "fixtures": [golden_entry(name, arrays[name]) for name in sorted(arrays)],
    }
    with open(GOLDEN, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(f"{len(files)} files, {sum(len(d) for d in files.values())} bytes; {len(arrays)} golden entries in {GOLDEN}")


if __name__ == "__main__":
    main()
