#!/usr/bin/python3
"""Seed corpora for the fuzz targets (tests/fuzz/corpus/<target>/), made from the
project's own test data. Seeds are inputs, not golden values: they only have to reach
deep into each parser, so they are small (a DICOM image of 8x8 pixels, fragments of 48
bytes) and varied (every transfer syntax, sequences, enhanced multi-frame objects,
NIfTI-1/2 in both byte orders, gzip members, NRRD/MetaImage headers of every kind of
data placement, run records of every method and scope).

  dicom          small fixtures copied as they are, and larger ones rewritten with
                 pydicom: pixel data cut to 8x8 (native) or to 48-byte fragments
                 (encapsulated), and the same dataset as implicit VR, big endian,
                 Deflated and without preamble
  nifti          every file of tests/data/nifti (a .hdr/.img pair as one input: the
                 target splits it again)
  volume_header  NRRD and MetaImage headers written here
  run_record     run.json, source records and manifest.json of real lessmore runs on
                 data/sample (pass the lessmore binary: --lessmore build/apps/lessmore)

Deterministic but for the run records' timings. Usage:
  /usr/bin/python3 tests/fuzz/make_seeds.py --lessmore build/apps/lessmore [TARGET...]
"""

import argparse
import copy
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")

# Small real fixtures, copied byte for byte: structured report, RT structure set,
# segmentation, JPEG 2000 (encapsulated, signed 13-bit), a 4 KB constant image, a file
# without preamble, PET, a localizer, implicit VR (Philips), explicit VR (GE), padded.
DICOM_COPIES = [
    "readers/with-seg/sr.dcm", "readers/with-seg/rtstruct.dcm", "readers/with-seg/seg.dcm",
    "readers/with-seg/localizer.dcm", "readers/signed13-j2k/j1.dcm", "readers/signed13/h1.dcm",
    "dicom/constant/c1.dcm", "readers/headless/IM0", "readers/pet/pet1.dcm",
    "dicom/philips/I10", "dicom/two-series/b01.dcm", "dicom/padded/s1.dcm",
]
# Larger files rewritten small: native (pixels cut), encapsulated (fragments cut), and
# enhanced multi-frame (every frame cut).
DICOM_NATIVE = [
    "ct/ge-head-tilt/01.dcm", "ct/pancreas-ct-cb-001/1-026.dcm", "dicom-quirks/pydicom-data/693_UNCR.dcm",
    "dicom-quirks/wg04-ct1/CT1_UNC", "dicom-quirks/pydicom-data/explicit_VR-UN.dcm",
]
DICOM_ENCAPSULATED = [
    "dicom-quirks/wg04-ct1/CT1_RLE", "dicom-quirks/wg04-ct1/CT1_JPLL", "dicom-quirks/wg04-ct1/CT1_JLSL",
    "dicom-quirks/wg04-ct1/CT1_J2KR", "dicom-quirks/pydicom-data/693_J2KR.dcm",
    "dicom-quirks/pydicom-data/bad_sequence.dcm",
]
DICOM_ENHANCED = [
    "readers/enhanced-ct/enhanced.dcm", "readers/enhanced-ct-rescale/enhanced.dcm",
    "readers/enhanced-bad/enhanced.dcm", "dicom-quirks/pydicom-data/eCT_Supplemental.dcm",
]
EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"


def seed_name(path):
    return path.replace("/", "_")


def clear(folder):
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)


def write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def dicom_bytes(ds, syntax=None, preamble=True):
    """The dataset written by pydicom in `syntax` (default: its own)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import dcmwrite

    ds = copy.deepcopy(ds)
    if syntax:
        ds.file_meta.TransferSyntaxUID = syntax
        ds.is_implicit_VR = syntax == IMPLICIT_LE
        ds.is_little_endian = syntax != EXPLICIT_BE
    if not preamble:
        ds.preamble = None
    out = DicomBytesIO()
    dcmwrite(out, ds, write_like_original=not preamble)
    return out.getvalue()


def cut_native(ds, size=8):
    """Rows, Columns and the pixel data cut to the top-left size x size pixels."""
    arr = ds.pixel_array
    if arr.ndim == 3:
        arr = arr[:, :size, :size]
    else:
        arr = arr[:size, :size]
    ds.Rows, ds.Columns = arr.shape[-2], arr.shape[-1]
    ds.PixelData = arr.copy().tobytes()
    ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"
    ds["PixelData"].is_undefined_length = False
    if ds.file_meta.TransferSyntaxUID not in (EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE, DEFLATED):
        ds.file_meta.TransferSyntaxUID = EXPLICIT_LE  # decompressed by pixel_array
    return ds


def cut_fragments(ds, keep=48):
    from pydicom.encaps import encapsulate, generate_pixel_data_frame

    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    cut = [frame[:keep] for frame in generate_pixel_data_frame(ds.PixelData, frames)]
    ds.PixelData = encapsulate(cut, has_bot=True)
    return ds


def dicom_seeds(out):
    import pydicom

    clear(out)
    for rel in DICOM_COPIES:
        shutil.copyfile(os.path.join(DATA, rel), os.path.join(out, seed_name(rel)))
    for rel in DICOM_NATIVE:
        ds = cut_native(pydicom.dcmread(os.path.join(DATA, rel)))
        name = seed_name(rel)
        write(out, name, dicom_bytes(ds))
        if rel.startswith("ct/ge-head-tilt"):  # one dataset in every native syntax
            write(out, name + ".implicit", dicom_bytes(ds, IMPLICIT_LE))
            write(out, name + ".big-endian", dicom_bytes(ds, EXPLICIT_BE))
            write(out, name + ".deflated", dicom_bytes(ds, DEFLATED))
            write(out, name + ".no-preamble", dicom_bytes(ds, preamble=False))
    for rel in DICOM_ENCAPSULATED:
        ds = cut_fragments(pydicom.dcmread(os.path.join(DATA, rel)))
        write(out, seed_name(rel), dicom_bytes(ds))
    for rel in DICOM_ENHANCED:
        ds = pydicom.dcmread(os.path.join(DATA, rel))
        ds = cut_native(ds, 4)
        write(out, seed_name(rel), dicom_bytes(ds))


def nifti_seeds(out):
    clear(out)
    folder = os.path.join(DATA, "nifti")
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith((".md", ".img", ".img.gz", ".hdr.gz")):
            continue
        with open(path, "rb") as f:
            data = f.read()
        if name.endswith(".hdr"):  # the pair as the target reads it: header, then the .img
            with open(path[:-4] + ".img", "rb") as f:
                data += f.read()
        write(out, name, data)


def volume_header_seeds(out):
    clear(out)
    raw = bytes((i * 7) & 0xFF for i in range(4 * 3 * 2 * 2))
    nrrd = "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nspacings: 0.5 0.5 2\nendian: little\n"
    write(out, "attached.nrrd", (nrrd + "encoding: raw\n\n").encode() + raw)
    write(out, "attached_gzip.nrrd", (nrrd + "encoding: gzip\n\n").encode() + gzip.compress(raw, mtime=0))
    write(out, "attached_gz_cut.nrrd", (nrrd + "encoding: gz\n\n").encode() + gzip.compress(raw, mtime=0)[:-6])
    write(out, "byte_skip.nrrd", (nrrd + "encoding: raw\nbyte skip: 16\n\n").encode() + bytes(16) + raw)
    write(out, "byte_skip_end.nrrd", (nrrd + "encoding: raw\nbyteskip: -1\n\n").encode() + bytes(5) + raw)
    write(out, "line_skip.nrrd", (nrrd + "encoding: raw\nline skip: 1\n# a comment\nkey:=value\n\n").encode() + b"x\n" + raw)
    write(out, "text.nrrd", (nrrd + "encoding: text\n\n").encode() + b" ".join(b"%d" % v for v in raw))
    write(out, "detached.nhdr", (nrrd + "encoding: raw\ndata file: data.raw\n").encode())
    write(out, "detached_sub.nhdr", (nrrd + "encoding: raw\ndatafile: sub/data.raw\nbyte skip: 8\n").encode())
    write(out, "detached_gzip.nhdr", (nrrd + "encoding: gzip\ndata file: data.gz\n").encode())
    write(out, "detached_list.nhdr", (nrrd + "encoding: raw\ndata file: LIST\ndata.raw\nsub/data.raw\n").encode())
    write(out, "detached_pattern.nhdr", (nrrd + "encoding: raw\ndata file: data%03d.raw 1 2 1\n").encode())
    write(out, "detached_outside.nhdr", (nrrd + "encoding: raw\ndata file: escape.raw\n").encode())
    write(out, "detached_absolute.nhdr", (nrrd + "encoding: raw\ndata file: /etc/hostname\n").encode())
    write(out, "detached_folder.nhdr", (nrrd + "encoding: raw\ndata file: dir\n").encode())
    mha = "ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\nElementSpacing = 0.5 0.5 2\nElementType = MET_SHORT\n"
    write(out, "local.mha", (mha + "ElementDataFile = LOCAL\n").encode() + raw)
    packed = zlib.compress(raw, 9)
    write(out, "local_compressed.mha",
          (mha + "CompressedData = True\nCompressedDataSize = %d\nElementDataFile = LOCAL\n" % len(packed)).encode() + packed)
    write(out, "local_compressed_cut.mha", (mha + "CompressedData = True\nElementDataFile = LOCAL\n").encode() + packed[:-5])
    write(out, "header_size_end.mha", (mha + "HeaderSize = -1\nElementDataFile = LOCAL\n").encode() + bytes(7) + raw)
    write(out, "detached.mhd", (mha + "ElementDataFile = data.raw\n").encode())
    write(out, "detached_compressed.mhd", (mha + "CompressedData = True\nElementDataFile = data.zraw\n").encode())
    write(out, "detached_header_size.mhd", (mha + "HeaderSize = 16\nElementDataFile = sub/data.raw\n").encode())
    write(out, "detached_list.mhd", (mha + "ElementDataFile = LIST\ndata.raw\ndata.raw\n").encode())
    write(out, "detached_pattern.mhd", (mha + "ElementDataFile = data%d.raw 1 2 1\n").encode())
    write(out, "detached_outside.mhd", (mha + "ElementDataFile = escape.raw\n").encode())
    write(out, "detached_missing.mhd", (mha + "ElementDataFile = missing.raw\n").encode())
    write(out, "no_data_file.mha", mha.encode())


# Runs on data/sample that between them write every field of run.json and of the records:
# each method, both strategies, every scope, a shard, --flat and both formats.
RUNS = [
    ("hash", ["--threshold", "6"]),
    ("hash_scope_patient", ["--threshold", "6", "--scope", "patient", "--format", "both", "--neighbours", "5"]),
    ("deepnet_scope_dataset", ["--method", "deepnet", "--threshold", "0.97", "--scope", "dataset", "--format", "npy"]),
    ("ssim_pairs", ["--method", "ssim", "--fraction", "0.5", "--resize", "32", "--flat", "--order", "name"]),
    ("mi", ["--method", "mi", "--threshold", "1.3", "--bins", "32", "--resize", "32", "--intensity", "window:40,400"]),
    ("everyn_shard", ["--method", "everyn", "--every", "3", "--shard", "1/2", "--format", "none"]),
    # Two copies of the sample as one patient's volumes: the cross-volume pass's
    # decisions (match_volume, groups, duplicates) in the manifest.
    ("two_volumes_patient", ["--threshold", "6", "--scope", "patient", "--patient-depth", "1", "--format", "none"]),
]


def run_record_seeds(out, lessmore):
    clear(out)
    sample = os.path.join(ROOT, "data", "sample", "example_ct_sm.nii.gz")
    with tempfile.TemporaryDirectory() as tmp:
        twice = os.path.join(tmp, "patient", "p1")
        os.makedirs(twice)
        for copy_name in ("a.nii.gz", "b.nii.gz"):
            shutil.copyfile(sample, os.path.join(twice, copy_name))
        for name, args in RUNS:
            run = os.path.join(tmp, name)
            inputs = [tmp + "/patient"] if name == "two_volumes_patient" else [sample]
            subprocess.run([lessmore, "reduce"] + inputs + ["-o", run, "-q", "--progress", "none"] + args,
                           check=True, stdout=subprocess.DEVNULL)
            shutil.copyfile(os.path.join(run, ".lessmore", "run.json"), os.path.join(out, name + ".run.json"))
            records = sorted(os.listdir(os.path.join(run, ".lessmore", "records")))
            for k, rec in enumerate(records):
                shutil.copyfile(os.path.join(run, ".lessmore", "records", rec), os.path.join(out, "%s.record%d.json" % (name, k)))
            if os.path.exists(os.path.join(run, "manifest.json")):
                shutil.copyfile(os.path.join(run, "manifest.json"), os.path.join(out, name + ".manifest.json"))
    # A record with a failed and a skipped file, as a DICOM folder's record holds them.
    with open(os.path.join(out, "hash.record0.json")) as f:
        rec = json.load(f)
    rec["errors"] = [{"path": "a/broken.dcm", "message": "pixel data is truncated (10 of 512 bytes)"}]
    rec["skipped"] = [{"path": "a/sr.dcm", "reason": "a structured report or key object selection"}]
    with open(os.path.join(out, "record_with_errors.json"), "w") as f:
        json.dump(rec, f, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessmore", help="the lessmore binary (for the run_record seeds)")
    parser.add_argument("targets", nargs="*", default=["dicom", "nifti", "volume_header", "run_record"])
    a = parser.parse_args()
    corpus = os.path.join(HERE, "corpus")
    for t in a.targets:
        folder = os.path.join(corpus, t)
        if t == "dicom":
            dicom_seeds(folder)
        elif t == "nifti":
            nifti_seeds(folder)
        elif t == "volume_header":
            volume_header_seeds(folder)
        elif t == "run_record":
            if not a.lessmore:
                sys.exit("make_seeds.py: run_record needs --lessmore PATH")
            run_record_seeds(folder, os.path.abspath(a.lessmore))
        else:
            sys.exit("make_seeds.py: unknown target " + t)
        total = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
        print("%s: %d seeds, %d bytes" % (t, len(os.listdir(folder)), total))


if __name__ == "__main__":
    main()
