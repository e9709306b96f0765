#!/usr/bin/python3
"""Build the small committed DICOM fixtures in tests/data/dicom/ and their
golden values (tests/data/dicom/golden.json).

Deterministic: the same bytes on every run (fixed UIDs under FIXTURE_ROOT,
no clock, no randomness). Needs numpy, Pillow and pydicom (Debian's
/usr/bin/python3 has them); the golden values are computed independently of
lessmore, by re-reading the written files with pydicom and following the
original authors' preprocessing (dicom_hu / minmax_u8 / dhash_hex of
../golden/reference_preprocessing.py).

Usage:
    /usr/bin/python3 make_dicom_fixtures.py [SOURCE_DIR] [OUTPUT_DIR]

SOURCE_DIR defaults to ../../../shared/data/ct relative to this script
(the shared CT corpus beside the repository, e.g. /work/shared/data/ct), NOT
to the repository's tests/data/ct: the fixtures are derived from 33
pancreas-ct-cb-001 slices between 1-001.dcm and 1-120.dcm (every 5th from
1-001, every 13th from 1-003, and 1-001..1-003), and tests/data/ct keeps only
the 16-slice subset 1-026..1-041 of that series. The outputs (dicom/) are
committed, so a fresh clone needs neither this script nor the shared corpus;
rerunning it from the shared corpus reproduces them byte for byte. OUTPUT_DIR
defaults to dicom/ next to this script. The fixture folders inside OUTPUT_DIR
are deleted and rewritten.

Data attribution (see SOURCE_DIR/SOURCES.md, ct/SOURCES.md next to this
script and dicom/README.md):
  pancreas-ct-cb-001: TCIA Pancreatic-CT-CBCT-SEG, patient Pancreas-CT-CB_001,
                      CC BY 4.0 (Hong et al. 2021, doi:10.7937/TCIA.ESHQ-4D90)
  ge-head-tilt:       dcm_qa_ct by Chris Rorden, BSD-2-Clause
"""

import json
import os
import shutil
import sys
from decimal import Decimal

import numpy as np
import PIL
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import UID

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from reference_preprocessing import dhash_hex, dicom_hu, minmax_u8  # noqa: E402

FIXTURE_ROOT = "1.2.826.0.1.3680043.10.543.99."
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
IMPLEMENTATION_UID = FIXTURE_ROOT + "0.1"
IMPLEMENTATION_VERSION = "LESSMORE_FIX_1"
PANCREAS = "pancreas-ct-cb-001"
GE = "ge-head-tilt"
FIXTURES = ["philips", "two-series", "padded", "constant"]
THRESHOLDS = [3, 6, 10]


def uid(*parts):
    u = FIXTURE_ROOT + ".".join(str(p) for p in parts)
    assert len(u) <= 64
    return UID(u)


# ------------------------------------------------------------ writing ----
def block_mean(a, f):
    """f x f block average, rounded half-to-even, same dtype as a.
    (sums of 64 ints / 64 are exact in float64, so this is order-free)"""
    h, w = a.shape
    assert h % f == 0 and w % f == 0
    m = a.astype(np.float64).reshape(h // f, f, w // f, f).mean(axis=(1, 3))
    return np.rint(m).astype(a.dtype)


def ds_times(value, factor):
    """DS value * integer factor, exact decimal string."""
    d = Decimal(str(value)) * factor
    return format(d.normalize(), "f")


def derive(src, pixels, spacing_factor, series_uid, sop_uid,
           series_number=None, **overrides):
    """Copy the header of src (read afresh, pixel data never decoded),
    replace pixel data / size / spacing / UIDs, apply overrides."""
    ds = pydicom.dcmread(src)
    ds.preamble = b"\0" * 128
    ts = ds.file_meta.TransferSyntaxUID
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = UID(CT_IMAGE_STORAGE)
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = UID(IMPLEMENTATION_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    ds.file_meta = meta
    assert ds.SOPClassUID == CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.SeriesInstanceUID = series_uid
    if series_number is not None:
        ds.SeriesNumber = str(series_number)
    rows, cols = pixels.shape
    ds.Rows = rows
    ds.Columns = cols
    ds.PixelSpacing = [ds_times(v, spacing_factor) for v in ds.PixelSpacing]
    signed = pixels.dtype == np.int16
    assert pixels.dtype in (np.int16, np.uint16)
    assert int(ds.PixelRepresentation) == (1 if signed else 0)
    assert int(ds.BitsAllocated) == 16
    for k, v in overrides.items():
        setattr(ds, k, v)
    ds.PixelData = pixels.astype("<i2" if signed else "<u2").tobytes()
    ds["PixelData"].VR = "OW"
    return ds


def read_pixels(path, factor):
    ds = pydicom.dcmread(path)
    return block_mean(ds.pixel_array, factor)


def src_files(src_dir, dataset, indices):
    if dataset == PANCREAS:
        names = [f"1-{i:03d}.dcm" for i in indices]
    else:
        names = [f"{i:02d}.dcm" for i in indices]
    return [os.path.join(src_dir, dataset, n) for n in names]


def write_series(d, branch, srcs, name, series_number=None, factor=8,
                 pixels=None, overrides=None):
    """Writes one series into folder d (created if needed): slice k is file
    name(k), with the header of srcs[k], Series / SOP Instance UIDs
    uid(branch, 1) / uid(branch, 2, k + 1), pixel data pixels(k, src)
    (default: the source slice's factor x factor block mean), PixelSpacing x
    factor and the header overrides(k). Every file is read back and its
    preamble and pixel data checked."""
    os.makedirs(d, exist_ok=True)
    series = uid(branch, 1)
    for k, src in enumerate(srcs):
        px = pixels(k, src) if pixels else read_pixels(src, factor)
        ds = derive(src, px, factor, series, uid(branch, 2, k + 1), series_number,
                    **(overrides(k) if overrides else {}))
        path = os.path.join(d, name(k))
        ds.save_as(path, write_like_original=False)
        back = pydicom.dcmread(path)
        assert back.preamble == b"\0" * 128
        assert np.array_equal(back.pixel_array, px)


def make_philips(src_dir, out):
    d = os.path.join(out, "philips")
    write_series(d, 1, src_files(src_dir, PANCREAS, [1 + 5 * k for k in range(24)]),
                 lambda k: f"I{10 * (k + 1)}")
    with open(os.path.join(d, "DIRFILE"), "w") as fh:
        fh.write("DIRFILE - not a DICOM file\n"
                 "This stands in for the index / directory files that\n"
                 "scanner and PACS exports put next to extension-less\n"
                 "slice files (I10, I20, ...). lessmore must skip it.\n")
    with open(os.path.join(d, "notes.txt"), "w") as fh:
        fh.write("Fixture notes (not DICOM, must be ignored):\n"
                 "24 slices of pancreas-ct-cb-001 (every 5th from 1-001.dcm),\n"
                 "downsampled 512->64 by 8x8 block average.\n"
                 "I10 is the first slice (highest z); name order != slice order.\n")


def make_two_series(src_dir, out):
    d = os.path.join(out, "two-series")
    write_series(d, 2, src_files(src_dir, PANCREAS, [3 + 13 * k for k in range(10)]),
                 lambda k: f"a{k + 1:02d}.dcm", series_number=3)
    write_series(d, 3, src_files(src_dir, GE, [1 + 3 * k for k in range(8)]),
                 lambda k: f"b{k + 1:02d}.dcm", series_number=5)


def make_padded(src_dir, out):
    d = os.path.join(out, "padded")

    def padded(k, src):
        px = read_pixels(src, 8)
        px[:8, :] = -2000
        px[-8:, :] = -2000
        px[:, :8] = -2000
        px[:, -8:] = -2000
        return px

    def rescale(k):
        if k == 3:  # s4.dcm: exercise the slope path
            return {"RescaleSlope": "2", "RescaleIntercept": "-1024"}
        return {"RescaleSlope": "1", "RescaleIntercept": "0"}

    write_series(d, 4, src_files(src_dir, GE, [3 + 5 * k for k in range(6)]),
                 lambda k: f"s{k + 1}.dcm", series_number=2, pixels=padded, overrides=rescale)


def make_constant(src_dir, out):
    d = os.path.join(out, "constant")
    write_series(d, 5, src_files(src_dir, PANCREAS, [1, 2, 3]),
                 lambda k: f"c{k + 1}.dcm", series_number=1, factor=16,
                 pixels=lambda k, src: np.full((32, 32), 1000, dtype=np.uint16))


README = """\
# Small DICOM fixtures for lessmore tests

Generated by `tests/data/make_dicom_fixtures.py` (deterministic; rerun with
`/usr/bin/python3 tests/data/make_dicom_fixtures.py`). Golden values for every
slice (HU range and sum, 8-bit min-max image sum, 8x8 dhash, z position,
expected slice order, leader-loop results) are in `golden.json`, computed by
re-reading these files with pydicom, independently of lessmore.

All pixel data is derived from real CT by 8x8 block averaging (512x512 ->
64x64, rounded half-to-even, original stored dtype kept), PixelSpacing x 8.
ImagePositionPatient / ImageOrientationPatient / InstanceNumber are copied
unchanged from the source slice (so IPP is the source's first-pixel centre,
not the centre of the first 8x8 block). Series and SOP Instance UIDs are new,
fixed UIDs under `1.2.826.0.1.3680043.10.543.99.`; everything else in the
header (including study/frame-of-reference UIDs, dates and private tags) is
as in the source file. All files are DICOM Part 10 (128-byte preamble +
`DICM`), written by pydicom with `write_like_original=False`.

| folder | contents |
|---|---|
| `philips/` | 24 slices of pancreas-ct-cb-001 (source `1-001.dcm`, `1-006.dcm`, ... every 5th), uint16 stored, intercept -1000, Implicit VR Little Endian. Files `I10`, `I20`, ..., `I240` with no extension; `I10` is the first slice (InstanceNumber 1, highest z; z falls as the number rises), so byte-wise name order (`I10`, `I100`, `I110`, ..., `I20`, ...) differs from slice order. Also two non-DICOM files, `DIRFILE` and `notes.txt`, which must be skipped. |
| `two-series/` | Two series in one folder: `a01.dcm`..`a10.dcm`, pancreas (source `1-003.dcm` + every 13th), SeriesNumber 3, Implicit VR LE; `b01.dcm`..`b08.dcm`, ge-head-tilt (source `01.dcm` + every 3rd), int16, gantry tilt 18.5 deg (tilted ImageOrientationPatient kept), uneven spacing, SeriesNumber 5, Explicit VR LE. |
| `padded/` | `s1.dcm`..`s6.dcm`, ge-head-tilt (source `03.dcm` + every 5th), int16; the outer 8-pixel border of every slice is raw -2000 (the value the authors' preprocessing maps to 0). RescaleSlope 1 / RescaleIntercept 0, except `s4.dcm`: RescaleSlope 2, RescaleIntercept -1024. The source's PixelPaddingValue (-1500) tag is kept; raw -1500 (outside the scan FOV) still occurs inside the border and is *not* special to the authors' preprocessing. |
| `constant/` | `c1.dcm`..`c3.dcm`, 32x32, every pixel uint16 1000 with intercept -1000 (HU 0 everywhere); header and geometry from pancreas `1-001`..`1-003`, PixelSpacing x 16. Min-max normalisation of a constant slice gives all zeros. |

## Sources and licences

* **pancreas-ct-cb-001** (used in `philips/`, `two-series/a*`, `constant/`):
  patient Pancreas-CT-CB_001 of The Cancer Imaging Archive's
  Pancreatic-CT-CBCT-SEG collection, licensed CC BY 4.0
  (https://creativecommons.org/licenses/by/4.0/). Modified: downsampled,
  subset of slices, new series/instance UIDs (constant/: pixel data replaced).
  Cite: Hong, J., Reyngold, M., Crane, C., Cuaron, J., Hajj, C., Mann, J.,
  Zinovoy, M., Yorke, E., LoCastro, E., Apte, A. P., & Mageras, G. (2021).
  Breath-hold CT and cone-beam CT images with expert manual organ-at-risk
  segmentations from radiation treatments of locally advanced pancreatic
  cancer [Data set]. The Cancer Imaging Archive.
  https://doi.org/10.7937/TCIA.ESHQ-4D90 ;
  Han, X. et al. (2021), Medical Physics 48(6), 3084-3095,
  https://doi.org/10.1002/mp.14906 ; and Clark K. et al., The Cancer Imaging
  Archive (TCIA), J Digit Imaging 26(6), 1045-1057, 2013,
  https://doi.org/10.1007/s10278-013-9622-7 .
  (Obtained via the pyvista/vtk-data repository.)
* **ge-head-tilt** (used in `two-series/b*`, `padded/`): from the dcm_qa_ct
  validation set by Chris Rorden, BSD-2-Clause:

      Copyright (c) 2019, Chris Rorden
      All rights reserved.

      Redistribution and use in source and binary forms, with or without
      modification, are permitted provided that the following conditions are met:

      1. Redistributions of source code must retain the above copyright notice, this
         list of conditions and the following disclaimer.

      2. Redistributions in binary form must reproduce the above copyright notice,
         this list of conditions and the following disclaimer in the documentation
         and/or other materials provided with the distribution.

      THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
      AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
      IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
      DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
      FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
      DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
      SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
      CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
      OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
      OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

## golden.json

One entry per series (two-series/ has two, both with `"folder":"two-series"`),
slices in ascending z (z = IPP . (row dir x col dir)), i.e. the expected slice
order. Per slice: `hu_min`, `hu_max`, `hu_sum` of the int16 HU slice
(`p = pixel_array.astype(int16); p[p == -2000] = 0; if slope != 1:
p = int16(slope * float64(p)); p = p + int16(intercept)`), `u8_sum` of the
min-max 8-bit image (`rint((p - min) / (max - min) * 255)`, all zeros if
constant) and `hash`, its 8x8 dhash (imagehash 4.3.1, Pillow LANCZOS resize
to 9x8). For `philips` also `leader_name_order` / `leader_position_order`:
the file names kept by the leader loop (keep a slice iff its Hamming distance
to every kept slice is > threshold) walking byte-wise name order / ascending z,
for thresholds 3, 6, 10.
"""


# ------------------------------------------------------------- golden ----
def z_of(ds):
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    iop = [float(v) for v in ds.ImageOrientationPatient]
    n = np.cross(np.array(iop[:3]), np.array(iop[3:]))
    return float(np.dot(ipp, n))


def hamming(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def leader(slices, threshold):
    kept = []
    for s in slices:
        if all(hamming(s["hash"], k["hash"]) > threshold for k in kept):
            kept.append(s)
    return [k["file"] for k in kept]


def golden(out):
    series = {}
    for folder in FIXTURES:
        d = os.path.join(out, folder)
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            try:
                ds = pydicom.dcmread(path)
            except pydicom.errors.InvalidDicomError:
                assert name in ("DIRFILE", "notes.txt"), name
                continue
            p = dicom_hu(ds)
            u8 = minmax_u8(p)
            rec = {"file": name, "z": z_of(ds), "instance": int(ds.InstanceNumber),
                   "hu_min": int(p.min()), "hu_max": int(p.max()),
                   "hu_sum": int(p.astype(np.int64).sum()),
                   "u8_sum": int(u8.astype(np.int64).sum()),
                   "hash": dhash_hex(u8)}
            key = (folder, str(ds.SeriesInstanceUID))
            if key not in series:
                series[key] = {"folder": folder,
                               "series_uid": str(ds.SeriesInstanceUID),
                               "series_number": str(ds.SeriesNumber),
                               "rows": int(ds.Rows), "columns": int(ds.Columns),
                               "pixel_spacing": [float(v) for v in ds.PixelSpacing],
                               "slices": []}
            s = series[key]
            assert (s["rows"], s["columns"]) == (int(ds.Rows), int(ds.Columns))
            s["slices"].append(rec)
    result = []
    for key in sorted(series, key=lambda k: (FIXTURES.index(k[0]), k[1])):
        s = series[key]
        by_name = list(s["slices"])  # already byte-wise name order
        assert [x["file"] for x in by_name] == sorted(x["file"] for x in by_name)
        s["slices"] = sorted(by_name, key=lambda r: r["z"])
        zs = [r["z"] for r in s["slices"]]
        assert len(set(zs)) == len(zs)
        if s["folder"] == "philips":
            s["leader_name_order"] = {str(t): leader(by_name, t) for t in (6, 3, 10)}
            s["leader_position_order"] = {str(t): leader(s["slices"], t) for t in (6, 3, 10)}
        result.append(s)
    return {"generator": "tests/data/make_dicom_fixtures.py",
            "pillow": PIL.__version__, "numpy": np.__version__,
            "pydicom": pydicom.__version__,
            "series": result}


def dump_golden(doc, path):
    def dump(o):
        return json.dumps(o, separators=(",", ":"))

    lines = ["{"]
    for k in ("generator", "pillow", "numpy", "pydicom"):
        lines.append(f" {dump(k)}:{dump(doc[k])},")
    lines.append(' "series":[')
    for si, s in enumerate(doc["series"]):
        head = {k: v for k, v in s.items()
                if k not in ("slices", "leader_name_order", "leader_position_order")}
        lines.append("  " + dump(head)[:-1] + ",")
        for k in ("leader_name_order", "leader_position_order"):
            if k in s:
                lines.append(f"   {dump(k)}:{dump(s[k])},")
        lines.append('   "slices":[')
        for i, r in enumerate(s["slices"]):
            lines.append("    " + dump(r) + ("," if i + 1 < len(s["slices"]) else ""))
        lines.append("  ]}" + ("," if si + 1 < len(doc["series"]) else ""))
    lines.append(" ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == doc
    with open(path, "w") as fh:
        fh.write(text)


# --------------------------------------------------------------- main ----
def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    # Deliberately the shared corpus, not tests/data/ct: most of the pancreas
    # slices used here are outside the repository's 16-slice subset (see the
    # docstring). ge-head-tilt would be found in tests/data/ct too.
    src_dir = argv[1] if len(argv) > 1 else os.path.normpath(
        os.path.join(here, "..", "..", "..", "shared", "data", "ct"))
    out = argv[2] if len(argv) > 2 else os.path.join(here, "dicom")
    os.makedirs(out, exist_ok=True)
    for f in FIXTURES:
        shutil.rmtree(os.path.join(out, f), ignore_errors=True)
    make_philips(src_dir, out)
    make_two_series(src_dir, out)
    make_padded(src_dir, out)
    make_constant(src_dir, out)
    with open(os.path.join(out, "README.md"), "w") as fh:
        fh.write(README)
    doc = golden(out)
    dump_golden(doc, os.path.join(out, "golden.json"))
    total = 0
    for root, _, files in os.walk(out):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"wrote {out} ({total} bytes)")


if __name__ == "__main__":
    main(sys.argv)
