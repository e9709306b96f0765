#!/usr/bin/python3
"""Golden values for lessmore's own DICOM parser (tests/io/test_dicom_parser.cpp),
read independently with pydicom from every DICOM file the tests parse:

  ct/ge-head-tilt, ct/pancreas-ct-cb-001, dicom-quirks (pydicom-data, wg04-ct1)
  and dicom/ (the generated fixtures, including two files that are not DICOM).

Per file: transfer syntax, whether it has a preamble, element counts (meta header,
top level, and every element inside sequences too), Rows, Columns, BitsAllocated,
PixelRepresentation, RescaleIntercept/Slope, ImagePositionPatient,
SeriesInstanceUID, NumberOfFrames; the pixel data's length and CRC-32 (native) or
its Basic Offset Table, each fragment's length and CRC-32 and each frame's length
(encapsulated); for an Enhanced CT, each frame's ImagePositionPatient and the
shared functional groups' rescale, pixel spacing and orientation.

Values are read as pydicom normally does (UN-encoded values of known tags
decoded); in the element counts an element of VR UN with a defined length counts
once, as lessmore's parser keeps it as bytes.

Deterministic. Usage: /usr/bin/python3 tests/data/make_dicom_parser_golden.py
(writes tests/data/dicom_parser_golden.json next to this script).
"""

import json
import os
import zlib

import pydicom
from pydicom.encaps import generate_pixel_data_fragment, generate_pixel_data_frame, get_frame_offsets
from pydicom.filebase import DicomBytesIO

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDERS = ["ct/ge-head-tilt", "ct/pancreas-ct-cb-001", "dicom-quirks", "dicom"]
NOT_DATA = {".md", ".txt", ".json", ".py"}


def files():
    out = []
    for folder in FOLDERS:
        for root, _, names in os.walk(os.path.join(HERE, folder)):
            for name in names:
                path = os.path.join(root, name)
                if os.path.splitext(name)[1] in NOT_DATA and name != "notes.txt":
                    continue
                out.append(os.path.relpath(path, HERE))
    return sorted(out)


def count_nested(ds):
    """Elements here and in every sequence item; an element the file gives VR UN with a
    defined length counts once (it stays bytes), whatever pydicom makes of it."""
    n = 0
    for tag in ds.keys():
        n += 1
        raw = ds.get_item(tag)
        if getattr(raw, "VR", None) == "UN" and raw.length != 0xFFFFFFFF:
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            for item in elem.value:
                n += count_nested(item)
    return n


def numbers(value):
    if value is None:
        return None
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        return [float(v) for v in value]
    return [float(value)]


def pixel_info(ds):
    if "PixelData" not in ds:
        return None
    data = ds.PixelData
    if not ds["PixelData"].is_undefined_length:
        return {"encapsulated": False, "length": len(data), "crc32": zlib.crc32(data)}
    fp = DicomBytesIO(data)
    fp.is_little_endian = True
    has_bot, bot = get_frame_offsets(fp)  # [0] when the table is empty
    fragments = list(generate_pixel_data_fragment(fp))
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return {
        "encapsulated": True,
        "offset_table": list(bot) if has_bot else [],
        "fragments": [[len(f), zlib.crc32(f)] for f in fragments],
        "frame_lengths": [len(f) for f in generate_pixel_data_frame(data, frames)],
    }


def enhanced(ds):
    if "PerFrameFunctionalGroupsSequence" not in ds:
        return None
    shared = ds.SharedFunctionalGroupsSequence[0]
    transform = shared.PixelValueTransformationSequence[0]
    return {
        "per_frame_ipp": [numbers(f.PlanePositionSequence[0].ImagePositionPatient)
                          for f in ds.PerFrameFunctionalGroupsSequence],
        "rescale": [float(transform.RescaleIntercept), float(transform.RescaleSlope)],
        "pixel_spacing": numbers(shared.PixelMeasuresSequence[0].PixelSpacing),
        "orientation": numbers(shared.PlaneOrientationSequence[0].ImageOrientationPatient),
    }


def entry(rel):
    path = os.path.join(HERE, rel)
    with open(path, "rb") as f:
        head = f.read(132)
    try:
        ds = pydicom.dcmread(path)
    except pydicom.errors.InvalidDicomError:
        return {"file": rel, "dicom": False}
    counts = (len(ds.file_meta), len(ds), count_nested(ds))
    get = ds.get
    return {
        "file": rel,
        "dicom": True,
        "preamble": head[128:132] == b"DICM",
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        "meta_elements": counts[0],
        "top_elements": counts[1],
        "all_elements": counts[2],
        "rows": get("Rows"),
        "columns": get("Columns"),
        "bits_allocated": get("BitsAllocated"),
        "pixel_representation": get("PixelRepresentation"),
        "rescale_intercept": numbers(get("RescaleIntercept")),
        "rescale_slope": numbers(get("RescaleSlope")),
        "ipp": numbers(get("ImagePositionPatient")),
        "series_uid": str(get("SeriesInstanceUID")) if "SeriesInstanceUID" in ds else None,
        "frames": int(ds.NumberOfFrames) if "NumberOfFrames" in ds else None,
        "pixel_data": pixel_info(ds),
        "enhanced": enhanced(ds),
    }


def main():
    out = [entry(rel) for rel in files()]
    with open(os.path.join(HERE, "dicom_parser_golden.json"), "w") as f:
        json.dump({"generator": "make_dicom_parser_golden.py, pydicom " + pydicom.__version__, "files": out}, f, indent=1)
        f.write("\n")
    print(len(out), "files")


if __name__ == "__main__":
    main()
