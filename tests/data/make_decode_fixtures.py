#!/usr/bin/python3
"""Build the compressed-pixel-data fixtures in tests/data/decode/ and their
golden values (tests/data/decode_golden.json): small DICOM files whose
codestream disagrees with their header (docs/dicom.md, section "Compressed
pixel data"), JPEG data cut short or zero-filled, a PALETTE COLOR image, odd
and over-long native pixel data, and good volumes beside them.

Pixels: 4 pancreas-ct-cb-001 slices (tests/data/ct, 1-026..1-029) shrunk
512x512 -> 64x64 by make_dicom_fixtures.block_mean, then cut to 48 rows
(64 columns x 48 rows, so that swapping Rows and Columns is visible). The
codestreams are made by Debian's tools, never by lessmore: gdcmconv
(libgdcm-tools: --j2k, --jpegls, --rle, --jpeg lossless), Pillow (baseline
JPEG) and cjpeg (libjpeg-turbo-progs: baseline JPEG with restart markers).
Each bad variant takes a good codestream and changes the header around it
(Rows, Columns, BitsAllocated) with pydicom, or cuts / zero-fills the
codestream and re-encapsulates it; nothing is recompressed.

Golden values come from pydicom (its numpy, rle, gdcm and pillow handlers)
through make_reader_fixtures.volume_golden, never from lessmore; a refused
file has the facts its error must name.

Deterministic: fixed UIDs (make_reader_fixtures.uid, branches 20..), no
clock, no randomness; rerunning rewrites the same bytes given the same Debian
packages.

Usage:
    /usr/bin/python3 tests/data/make_decode_fixtures.py
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from PIL import Image
from pydicom.encaps import encapsulate, generate_pixel_data_frame
from pydicom.uid import UID, ExplicitVRLittleEndian

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_reader_fixtures as readers  # noqa: E402

OUT = os.path.join(HERE, "decode")
SLICES = os.path.join(HERE, "decode-slices")
GOLDEN = os.path.join(HERE, "decode_golden.json")
SOURCES = readers.pancreas_files()[:4]
ROWS, COLS = 48, 64

JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
GDCM_OPTIONS = {"j2k": "--j2k", "jls": "--jpegls", "rle": "--rle", "jpll": "--jpeg"}
BRANCH = {"good": 20, "good-baseline": 21, "odd-length": 22, "no-photometric": 23}


def pixels(k):
    """Slice k: the 64x64 block mean of SOURCES[k], its first 48 rows (uint16)."""
    return np.ascontiguousarray(readers.small(SOURCES[k])[:ROWS, :])


def header(k, branch, ts, **overrides):
    """A CT header for slice k (series branch, instance k + 1)."""
    return readers.derive(SOURCES[k], readers.uid(branch, 1), readers.uid(branch, 2, k + 1),
                          series_number=branch, rows=ROWS, cols=COLS, ts=ts, **overrides)


def native_file(k, branch, path):
    ds = header(k, branch, ExplicitVRLittleEndian)
    readers.set_native(ds, pixels(k))
    readers.save(ds, path)
    return ds


def gdcm_frame(k, codec, tmp):
    """Slice k compressed by gdcmconv: (transfer syntax, the one frame's codestream)."""
    plain = os.path.join(tmp, f"plain{k}.dcm")
    packed = os.path.join(tmp, f"{codec}{k}.dcm")
    native_file(k, 99, plain)
    subprocess.run(["gdcmconv", GDCM_OPTIONS[codec], plain, packed], check=True)
    ds = pydicom.dcmread(packed)
    frames = list(generate_pixel_data_frame(ds.PixelData, 1))
    assert len(frames) == 1
    return str(ds.file_meta.TransferSyntaxUID), frames[0]


def baseline_frame(k, tmp, restart=False):
    """Slice k as 8 bits (its min..max stretched to 0..255), baseline JPEG by
    Pillow (quality 90), or by cjpeg with a restart marker every MCU row."""
    v = pixels(k).astype(np.int64)
    u8 = ((v - v.min()) * 255 // max(1, int(v.max() - v.min()))).astype(np.uint8)
    if not restart:
        buf = io.BytesIO()
        Image.fromarray(u8).save(buf, "JPEG", quality=90)
        return u8, buf.getvalue()
    pgm = os.path.join(tmp, f"s{k}.pgm")
    Image.fromarray(u8).save(pgm)
    out = subprocess.run(["cjpeg", "-quality", "90", "-restart", "1", pgm], check=True, capture_output=True).stdout
    return u8, out


def encapsulated_file(path, k, branch, ts, frame, **overrides):
    ds = header(k, branch, ts, **overrides)
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    ds.is_little_endian, ds.is_implicit_VR = True, False
    readers.save(ds, path)
    return ds


def eight_bit(**extra):
    return dict(BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0, **extra)


def make_good(tmp, streams):
    """good/: one series of 4 slices, each in another codec; good-baseline/:
    3 slices of 8-bit baseline JPEG (two by Pillow, one by cjpeg with RST)."""
    for k, codec in enumerate(["j2k", "jls", "rle", "jpll"]):
        ts, frame = streams[codec][k]
        encapsulated_file(os.path.join(OUT, "good", f"g{k + 1}.dcm"), k, BRANCH["good"], ts, frame)
    for k in range(3):
        _, frame = baseline_frame(k, tmp, restart=k == 2)
        encapsulated_file(os.path.join(OUT, "good-baseline", f"b{k + 1}.dcm"), k, BRANCH["good-baseline"],
                          JPEG_BASELINE, frame, **eight_bit(RescaleIntercept="0"))


def cut(frame, keep):
    return frame[:keep]


def zero_tail(frame, keep):
    return frame[:keep] + bytes(len(frame) - keep)


def make_refused(tmp, streams):
    """One folder per refused file; returns their golden records."""
    refused = []

    def add(folder, k, ts, frame, must_name, **overrides):
        branch = 30 + len(refused)
        path = os.path.join(OUT, folder, "x.dcm")
        encapsulated_file(path, k, branch, ts, frame, **overrides)
        refused.append({"volume": folder, "file": "x.dcm", "must_name": must_name})

    j2k_ts, j2k = streams["j2k"][0]
    jls_ts, jls = streams["jls"][1]
    rle_ts, rle = streams["rle"][2]
    jpll_ts, jpll = streams["jpll"][3]
    size = f"is {COLS}x{ROWS}"
    add("j2k-rows-plus-one", 0, j2k_ts, j2k, [size, f"Columns {COLS} Rows {ROWS + 1}"], Rows=ROWS + 1)
    add("j2k-columns-65535", 0, j2k_ts, j2k, [size, f"Columns 65535 Rows {ROWS}"], Columns=65535)
    add("j2k-swapped", 0, j2k_ts, j2k, [size, f"Columns {ROWS} Rows {COLS}"], Rows=COLS, Columns=ROWS)
    add("jls-swapped", 1, jls_ts, jls, [size, f"Columns {ROWS} Rows {COLS}"], Rows=COLS, Columns=ROWS)
    add("jls-rows-minus-one", 1, jls_ts, jls, [size, f"Columns {COLS} Rows {ROWS - 1}"], Rows=ROWS - 1)
    add("rle-rows-minus-one", 2, rle_ts, rle, [f"decodes to {ROWS * COLS} bytes", f"Rows {ROWS - 1} Columns {COLS}"],
        Rows=ROWS - 1)
    add("j2k-bits-allocated-32", 0, j2k_ts, j2k, ["16-bit samples", "BitsAllocated 32"], BitsAllocated=32)
    add("jpll-cut", 3, jpll_ts, cut(jpll, len(jpll) * 6 // 10), ["without an EOI marker"])
    add("jpll-zero-tail", 3, jpll_ts, zero_tail(jpll, len(jpll) * 6 // 10), ["without an EOI marker"])
    # Cut short, then an EOI put back: only walking the entropy-coded data finds it.
    add("jpll-cut-eoi", 3, jpll_ts, cut(jpll, len(jpll) * 6 // 10) + b"\xff\xd9",
        [f"of {ROWS * COLS} samples (cut short)"])
    _, base = baseline_frame(0, tmp)
    eight = eight_bit(RescaleIntercept="0")
    add("baseline-cut", 0, JPEG_BASELINE, cut(base, len(base) * 6 // 10), ["without an EOI marker"], **eight)
    add("baseline-zero-tail", 0, JPEG_BASELINE, zero_tail(base, len(base) * 6 // 10), ["without an EOI marker"], **eight)
    blocks = (COLS // 8) * (ROWS // 8)
    add("baseline-cut-eoi", 0, JPEG_BASELINE, cut(base, len(base) * 6 // 10) + b"\xff\xd9",
        [f"of {blocks} blocks (cut short)"], **eight)
    add("j2k-cut", 0, j2k_ts, cut(j2k, len(j2k) * 6 // 10), ["JPEG 2000", "cut short"])
    add("j2k-zero-tail", 0, j2k_ts, zero_tail(j2k, len(j2k) * 6 // 10), ["JPEG 2000", "no tile-part (SOT) or EOC marker"])
    return refused


def make_palette(refused):
    """PALETTE COLOR, one sample: 8-bit indices into a grey-to-red palette."""
    folder = "palette-color"
    path = os.path.join(OUT, folder, "x.dcm")
    ds = header(0, 50, ExplicitVRLittleEndian, PhotometricInterpretation="PALETTE COLOR", **eight_bit())
    v = pixels(0).astype(np.int64)
    ds.PixelData = (v * 255 // max(1, int(v.max()))).astype(np.uint8).tobytes()
    ds["PixelData"].VR = "OB"
    ramp = np.arange(256, dtype="<u2") * 257
    for colour, lut in (("Red", ramp), ("Green", ramp // 2), ("Blue", ramp // 4)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", lut.tobytes())
    ds.is_little_endian, ds.is_implicit_VR = True, False
    readers.save(ds, path)
    back = pydicom.dcmread(path)
    rgb = pydicom.pixel_data_handlers.util.apply_color_lut(back.pixel_array, back)
    assert rgb.shape == (ROWS, COLS, 3)  # pydicom reads it as colour
    refused.append({"volume": folder, "file": "x.dcm", "must_name": ["PhotometricInterpretation PALETTE COLOR"]})


def odd_length(path, extra, k, branch):
    """A native file whose PixelData value holds `extra` bytes more than the
    image (the length field patched: pydicom itself would pad to even)."""
    ds = native_file(k, branch, path)
    data = bytearray(open(path, "rb").read())
    tag = b"\xe0\x7f\x10\x00OW\x00\x00"
    at = data.rfind(tag)
    need = ROWS * COLS * 2
    assert at > 0 and int.from_bytes(data[at + 8:at + 12], "little") == need and at + 12 + need == len(data)
    data[at + 8:at + 12] = (need + extra).to_bytes(4, "little")
    data += bytes(extra)
    open(path, "wb").write(bytes(data))
    return ds


def make_native(refused):
    odd_length(os.path.join(OUT, "odd-length", "o1.dcm"), 1, 0, BRANCH["odd-length"])
    odd_length(os.path.join(OUT, "odd-length-plus-two", "x.dcm"), 2, 0, 51)
    refused.append({"volume": "odd-length-plus-two", "file": "x.dcm",
                    "must_name": [f"holds {ROWS * COLS * 2 + 2} bytes", f"needs {ROWS * COLS * 2}"]})
    path = os.path.join(OUT, "no-photometric", "n1.dcm")
    ds = header(0, BRANCH["no-photometric"], ExplicitVRLittleEndian)
    del ds.PhotometricInterpretation
    readers.set_native(ds, pixels(0))
    readers.save(ds, path)


def make_slices():
    """decode-slices/: 2-D JPEG slices (64x48): good/ holds a grey, a colour and a
    progressive one (Pillow, quality 90); cut/, zero-tail/ and cut-eoi/ hold
    the grey one cut at 60%, zero-filled from there, and cut with an EOI put
    back (libjpeg: "premature end of data segment", a warning). Golden: the
    SHA-256 of the uint8 image Pillow decodes (convert("L") for colour)."""
    v = pixels(0).astype(np.int64)
    grey = ((v - v.min()) * 255 // max(1, int(v.max() - v.min()))).astype(np.uint8)
    colour = np.stack([grey, grey[::-1, :], 255 - grey], axis=2)
    def jpeg(img, **kw):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=90, **kw)
        return buf.getvalue()
    files = {"good/s1.jpg": jpeg(grey), "good/s2.jpg": jpeg(colour), "good/s3.jpg": jpeg(grey, progressive=True)}
    whole = files["good/s1.jpg"]
    keep = len(whole) * 6 // 10
    files.update({"cut/x.jpg": whole[:keep], "zero-tail/x.jpg": whole[:keep] + bytes(len(whole) - keep),
                  "cut-eoi/x.jpg": whole[:keep] + b"\xff\xd9"})
    for name, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(SLICES, name)), exist_ok=True)
        with open(os.path.join(SLICES, name), "wb") as f:
            f.write(data)
    good = []
    for name in sorted(n for n in files if n.startswith("good/")):
        im = Image.open(os.path.join(SLICES, name))
        im.load()
        arr = np.asarray(im.convert("L"), dtype=np.uint8)
        good.append({"file": name, "mode": im.mode, "rows": arr.shape[0], "columns": arr.shape[1],
                     "pixels_sha256": readers.hashlib.sha256(arr.tobytes()).hexdigest()})
    return {"good": good, "refused": ["cut", "zero-tail", "cut-eoi"]}


def golden(refused, slices):
    vols = []
    for folder in ["good", "good-baseline", "odd-length", "no-photometric"]:
        base = os.path.join(OUT, folder)
        files = sorted(os.listdir(base))
        if folder == "no-photometric":  # pydicom refuses it: read as MONOCHROME2, its documented meaning here
            tmp = tempfile.mkdtemp()
            try:
                ds = pydicom.dcmread(os.path.join(base, files[0]))
                ds.PhotometricInterpretation = "MONOCHROME2"
                ds.save_as(os.path.join(tmp, files[0]))
                rec = readers.volume_golden(folder, tmp, files, extra={"pydicom_needs": "PhotometricInterpretation"})
            finally:
                shutil.rmtree(tmp)
        else:
            rec = readers.volume_golden(folder, base, files)
        vols.append(rec)
    return {"generator": "tests/data/make_decode_fixtures.py",
            "versions": {"pydicom": pydicom.__version__, "numpy": np.__version__, "pillow": Image.__version__,
                         "gdcmconv": subprocess.run(["gdcmconv", "--version"], capture_output=True, text=True).stdout.strip()},
            "volumes": vols, "refused": refused, "slices": slices}


def main():
    for tool in ("gdcmconv", "cjpeg"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing (Debian: libgdcm-tools, libjpeg-turbo-progs)")
    for root in (OUT, SLICES):
        if os.path.isdir(root):
            for entry in os.listdir(root):
                if entry != "README.md":
                    shutil.rmtree(os.path.join(root, entry))
    tmp = tempfile.mkdtemp()
    try:
        streams = {codec: [gdcm_frame(k, codec, tmp) for k in range(4)] for codec in GDCM_OPTIONS}
        assert streams["jpll"][0][0] in (JPEG_LOSSLESS_SV1, "1.2.840.10008.1.2.4.57"), streams["jpll"][0][0]
        make_good(tmp, streams)
        refused = make_refused(tmp, streams)
        make_palette(refused)
        make_native(refused)
        slices = make_slices()
    finally:
        shutil.rmtree(tmp)
    doc = golden(refused, slices)
    with open(GOLDEN, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
