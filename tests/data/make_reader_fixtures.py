#!/usr/bin/python3
"""Build the reader fixtures in tests/data/readers/ and their golden values
(tests/data/readers_golden.json).

Every fixture is derived from the real CT kept in tests/data/ct (the 16
pancreas-ct-cb-001 slices 1-026..1-041 and the ge-head-tilt series),
downsampled 512 -> 64 by 8x8 block averaging exactly as make_dicom_fixtures.py
does (its block_mean / ds_times helpers are imported). The golden values are
computed by re-reading the written files with pydicom / nibabel / numpy only,
never with lessmore; the 8-bit image follows minmax_u8 of
../golden/reference_preprocessing.py.

Deterministic: fixed UIDs under 1.2.826.0.1.3680043.10.543.99.100.*, dates
taken from the source files or fixed, no clock, no randomness. Rerunning
rewrites everything byte for byte, given the same Debian packages: besides
numpy, Pillow, nibabel and pydicom it needs opj_compress (libopenjp2-tools),
dcm2niix and GDCM's Python binding (python3-gdcm); it stops if one is missing
rather than write different files.

Usage:
    /usr/bin/python3 tests/data/make_reader_fixtures.py

Deletes and rewrites tests/data/readers/ (all but its hand-written README.md)
and tests/data/readers_golden.json. GDCM's warnings are switched off; the one
it gives for signed13-j2k is quoted in readers/README.md.
"""

import copy
import gzip
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import nibabel as nib
import PIL
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.pixel_data_handlers.numpy_handler import pack_bits
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
from make_dicom_fixtures import (FIXTURE_ROOT, IMPLEMENTATION_UID,  # noqa: E402
                                 IMPLEMENTATION_VERSION, block_mean, ds_times)
from reference_preprocessing import minmax_u8  # noqa: E402

CT_DIR = os.path.join(HERE, "ct")
OUT = os.path.join(HERE, "readers")
GOLDEN = os.path.join(HERE, "readers_golden.json")
QUIRKS = os.path.join(HERE, "dicom-quirks")

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
PET_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
RTSTRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"

# Fixed frame order of the enhanced files: frame f holds pancreas slice
# PERM[f] (slice 0 = 1-026.dcm, the highest z).
PERM = [5, 12, 0, 9, 14, 3, 7, 1, 15, 10, 2, 8, 13, 6, 11, 4]
PET_SLOPES = ["2.02", "2.05", "1.98", "2.10", "1.95", "2.00", "2.07", "2.03"]
FIXED_DATE, FIXED_TIME = "20240101", "120000"


def uid(*parts):
    """Fixture UIDs of this script: FIXTURE_ROOT + "100." + parts (the
    branches 0..5 under FIXTURE_ROOT belong to make_dicom_fixtures.py)."""
    u = FIXTURE_ROOT + "100." + ".".join(str(p) for p in parts)
    assert len(u) <= 64, u
    return UID(u)


# Branch numbers, one per fixture (uid(branch, 1) = series,
# uid(branch, 2, k) = instances, uid(branch, 3..) = other objects).
B = {"enhanced-ct": 1, "enhanced-ct-rescale": 2, "enhanced-bad": 3, "pet": 4,
     "signed13": 5, "signed13-j2k": 6, "split": 7, "copies": 8, "far-other": 9,
     "duplicate-sop": 10, "headless": 11, "with-seg": 12, "dcm2niix": 13}


# ------------------------------------------------------------- sources ----
def pancreas_files():
    return [os.path.join(CT_DIR, "pancreas-ct-cb-001", f"1-{i:03d}.dcm") for i in range(26, 42)]


def ge_files(indices):
    return [os.path.join(CT_DIR, "ge-head-tilt", f"{i:02d}.dcm") for i in indices]


_PX_CACHE = {}


def small(src, factor=8):
    """The source slice's 8x8 block mean (stored dtype kept)."""
    if src not in _PX_CACHE:
        _PX_CACHE[src] = block_mean(pydicom.dcmread(src).pixel_array, factor)
    return _PX_CACHE[src].copy()


def file_meta(sop_class, sop_uid, ts):
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = UID(ts)
    meta.ImplementationClassUID = UID(IMPLEMENTATION_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    return meta


def derive(src, series_uid, sop_uid, series_number=None, sop_class=CT_STORAGE,
           factor=8, rows=64, cols=64, ts=None, **overrides):
    """make_dicom_fixtures.derive generalised: the source header (read afresh),
    new size / PixelSpacing x factor / UIDs / SOP class, then overrides.
    Pixel data is set by the caller (set_native / set_encapsulated)."""
    ds = pydicom.dcmread(src, stop_before_pixels=True)
    ds.preamble = b"\0" * 128
    ts = ts or ds.file_meta.TransferSyntaxUID
    ds.file_meta = file_meta(sop_class, sop_uid, ts)
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = sop_uid
    ds.SeriesInstanceUID = series_uid
    if series_number is not None:
        ds.SeriesNumber = str(series_number)
    ds.Rows = rows
    ds.Columns = cols
    ds.PixelSpacing = [ds_times(v, factor) for v in ds.PixelSpacing]
    for k, v in overrides.items():
        setattr(ds, k, v)
    return ds


def set_native(ds, raw_u16):
    """raw_u16: the 16-bit words to store, as any int array."""
    ds.PixelData = np.asarray(raw_u16).astype("<u2").tobytes()
    ds["PixelData"].VR = "OW"
    ts = ds.file_meta.TransferSyntaxUID
    ds.is_little_endian = True
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian


def save(ds, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=False)


def write_ct_series(d, branch, srcs, name, series_number, series_uid=None,
                    sop=None, pixels=None, **overrides):
    """Classic CT series: file name(k) has the header of srcs[k] and pixels
    small(srcs[k]) (or pixels(k)). Checked on read-back."""
    series_uid = series_uid or uid(branch, 1)
    for k, src in enumerate(srcs):
        px = pixels(k) if pixels else small(src)
        sop_uid = sop(k) if sop else uid(branch, 2, k + 1)
        ds = derive(src, series_uid, sop_uid, series_number, **overrides)
        set_native(ds, px)
        path = os.path.join(d, name(k))
        save(ds, path)
        back = pydicom.dcmread(path)
        assert np.array_equal(back.pixel_array.astype(np.int64), px.astype(np.int64))


# ---------------------------------------------------- common dataset parts ----
def item(**kw):
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def code(value, scheme, meaning):
    return item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


PATIENT_STUDY_TAGS = [
    "SpecificCharacterSet", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
    "PatientIdentityRemoved", "DeidentificationMethod", "StudyInstanceUID", "StudyDate",
    "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName", "StudyDescription",
    "FrameOfReferenceUID", "PositionReferenceIndicator", "Manufacturer",
    "ManufacturerModelName", "SoftwareVersions", "DeviceSerialNumber"]


def new_object(src, sop_class, sop_uid, series_uid, modality, series_number,
               ts=ExplicitVRLittleEndian):
    """A new object of the same patient / study / frame of reference as src."""
    s = pydicom.dcmread(src, stop_before_pixels=True)
    ds = Dataset()
    ds.preamble = b"\0" * 128
    ds.file_meta = file_meta(sop_class, sop_uid, ts)
    ds.is_little_endian = True
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian
    for t in PATIENT_STUDY_TAGS:
        if t in s:
            ds[t] = copy.deepcopy(s[t])
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = sop_uid
    ds.Modality = modality
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = str(series_number)
    ds.InstanceNumber = "1"
    ds.SeriesDate = s.get("SeriesDate", FIXED_DATE) or FIXED_DATE
    ds.SeriesTime = s.get("SeriesTime", FIXED_TIME) or FIXED_TIME
    ds.ContentDate = FIXED_DATE
    ds.ContentTime = FIXED_TIME
    ds.InstanceCreationDate = FIXED_DATE
    ds.InstanceCreationTime = FIXED_TIME
    return ds


# ---------------------------------------------------------- 1. enhanced ----
def enhanced(name, per_frame_rescale=False, bad_orientation=False):
    """One Enhanced CT file holding the 16 pancreas slices in PERM order."""
    srcs = pancreas_files()
    branch = B[name]
    first = pydicom.dcmread(srcs[0], stop_before_pixels=True)
    ds = new_object(srcs[0], ENHANCED_CT_STORAGE, uid(branch, 2, 1), uid(branch, 1),
                    "CT", 400 + branch)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.AcquisitionNumber = "1"
    ds.AcquisitionDateTime = "20120708112419.317"
    ds.AcquisitionDuration = 0.923
    ds.ContentQualification = "PRODUCT"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.PixelPresentation = "MONOCHROME"
    ds.VolumetricProperties = "VOLUME"
    ds.VolumeBasedCalculationTechnique = "NONE"
    ds.SeriesDescription = {
        "enhanced-ct": "enhanced CT, 16 frames, shuffled",
        "enhanced-ct-rescale": "enhanced CT, per-frame rescale",
        "enhanced-bad": "enhanced CT, two orientations"}[name]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 64
    ds.Columns = 64
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = len(PERM)
    ds.DimensionOrganizationType = "3D"
    dim_org = uid(branch, 3)
    ds.DimensionOrganizationSequence = Sequence([item(DimensionOrganizationUID=dim_org)])
    ds.DimensionIndexSequence = Sequence([
        item(DimensionOrganizationUID=dim_org, DimensionIndexPointer=0x00209056,
             FunctionalGroupPointer=0x00209111, DimensionDescriptionLabel="Stack ID"),
        item(DimensionOrganizationUID=dim_org, DimensionIndexPointer=0x00209057,
             FunctionalGroupPointer=0x00209111,
             DimensionDescriptionLabel="In-Stack Position Number")])

    spacing = [ds_times(v, 8) for v in first.PixelSpacing]
    axial = [1, 0, 0, 0, 1, 0]
    tilted = ["1", "0", "0", "0", "0.9483237", "-0.3173047"]  # ge-head-tilt's 18.5 deg
    shared = item(
        PixelMeasuresSequence=Sequence([item(PixelSpacing=spacing, SliceThickness="3.0",
                                             SpacingBetweenSlices="3.0")]),
        CTImageFrameTypeSequence=Sequence([item(
            FrameType=["ORIGINAL", "PRIMARY", "AXIAL", "NONE"], PixelPresentation="MONOCHROME",
            VolumetricProperties="VOLUME", VolumeBasedCalculationTechnique="NONE")]))
    if not bad_orientation:
        shared.PlaneOrientationSequence = Sequence([item(ImageOrientationPatient=axial)])
    if not per_frame_rescale:
        shared.PixelValueTransformationSequence = Sequence([item(
            RescaleIntercept="-1000", RescaleSlope="1", RescaleType="HU")])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])

    per_frame, frames = [], []
    for f, k in enumerate(PERM):
        src = pydicom.dcmread(srcs[k], stop_before_pixels=True)
        assert float(src.RescaleIntercept) == -1000 and float(src.RescaleSlope) == 1
        px = small(srcs[k]).astype(np.int64)
        fg = item(
            FrameContentSequence=Sequence([item(
                FrameAcquisitionNumber=1, StackID="1", InStackPositionNumber=k + 1,
                DimensionIndexValues=[1, k + 1])]),
            PlanePositionSequence=Sequence([item(
                ImagePositionPatient=list(src.ImagePositionPatient))]))
        if bad_orientation:
            fg.PlaneOrientationSequence = Sequence([item(
                ImageOrientationPatient=axial if f < 8 else tilted)])
        if per_frame_rescale:
            intercept = -1000 if f % 2 == 0 else -1024
            px = px + (-1000 - intercept)  # same HU: stored + intercept unchanged
            fg.PixelValueTransformationSequence = Sequence([item(
                RescaleIntercept=str(intercept), RescaleSlope="1", RescaleType="HU")])
        assert 0 <= px.min() and px.max() < 4096
        per_frame.append(fg)
        frames.append(px)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    set_native(ds, np.stack(frames))
    path = os.path.join(OUT, name, "enhanced.dcm")
    save(ds, path)
    back = pydicom.dcmread(path)
    assert np.array_equal(back.pixel_array.astype(np.int64), np.stack(frames))


# --------------------------------------------------------------- 2. pet ----
def make_pet():
    srcs = pancreas_files()[::2]
    series = uid(B["pet"], 1)
    for k, src in enumerate(srcs):
        st = small(src).astype(np.float64)
        target = 40000 - 1500 * k
        px = np.rint(st * (target / st.max())).astype(np.int64)
        assert px.max() == target and px.min() >= 0
        ds = derive(src, series, uid(B["pet"], 2, k + 1), 501, sop_class=PET_STORAGE,
                    ts=ExplicitVRLittleEndian)
        for t in ["KVP", "DataCollectionDiameter", "DistanceSourceToDetector",
                  "DistanceSourceToPatient", "GantryDetectorTilt", "TableHeight",
                  "ExposureTime", "XRayTubeCurrent", "Exposure", "FilterType",
                  "ConvolutionKernel", "WindowCenter", "WindowWidth", "ScanOptions",
                  "ImageComments", "ReconstructionDiameter"]:
            if t in ds:
                delattr(ds, t)
        ds.Modality = "PT"
        ds.SeriesDescription = "PET-like, 8 slices, slope per slice"
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
        ds.SeriesType = ["STATIC", "IMAGE"]
        ds.Units = "BQML"
        ds.CountsSource = "EMISSION"
        ds.CorrectedImage = ["DECY", "ATTN"]
        ds.DecayCorrection = "START"
        ds.ImageIndex = k + 1
        ds.NumberOfSlices = len(srcs)
        ds.FrameReferenceTime = "0"
        ds.ActualFrameDuration = 180000
        ds.DecayFactor = "1"
        ds.InstanceNumber = str(k + 1)
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.RescaleSlope = PET_SLOPES[k]
        ds.RescaleIntercept = "0"
        set_native(ds, px)
        path = os.path.join(OUT, "pet", f"pet{k + 1}.dcm")
        save(ds, path)
        assert np.array_equal(pydicom.dcmread(path).pixel_array, px)


# ----------------------------------------------------------- 3. signed13 ----
SIGNED13_SRC = [1 + 3 * k for k in range(8)]


def signed13_values(k, src):
    """The true 13-bit signed values of slice k (int64)."""
    v = small(src).astype(np.int64)
    v[:4, :] = -2000
    v[-4:, :] = -2000
    v[:, :4] = -2000
    v[:, -4:] = -2000
    v[4:12, 48:60] = -3000
    if k == 0:
        v[5, 5] = -4096  # the 13-bit extremes
        v[5, 6] = 4095
    assert v.min() >= -4096 and v.max() <= 4095
    return v


def signed13_header(src, branch, k, ts):
    ds = derive(src, uid(branch, 1), uid(branch, 2, k + 1), 600 + branch, ts=ts)
    ds.BitsAllocated = 16
    ds.BitsStored = 13
    ds.HighBit = 12
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    if "PixelPaddingValue" in ds:
        del ds.PixelPaddingValue
    return ds


def make_signed13():
    for k, src in enumerate(ge_files(SIGNED13_SRC)):
        v = signed13_values(k, src)
        ds = signed13_header(src, B["signed13"], k, ExplicitVRLittleEndian)
        ds.SeriesDescription = "13-bit signed, high bits not sign-extended"
        set_native(ds, v & 0x1FFF)
        save(ds, os.path.join(OUT, "signed13", f"h{k + 1}.dcm"))


def opj_encode_u13(v, tmp):
    raw = os.path.join(tmp, "in.rawl")
    j2k = os.path.join(tmp, "out.j2k")
    with open(raw, "wb") as fh:
        fh.write((v & 0x1FFF).astype("<u2").tobytes())
    rows, cols = v.shape
    subprocess.run(["opj_compress", "-i", raw, "-o", j2k, "-F", f"{cols},{rows},1,13,u"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(j2k, "rb") as fh:
        cs = fh.read()
    os.remove(raw)
    os.remove(j2k)
    return cs


def make_signed13_j2k():
    with tempfile.TemporaryDirectory() as tmp:
        for k, src in enumerate(ge_files(SIGNED13_SRC)):
            v = signed13_values(k, src)
            cs = opj_encode_u13(v, tmp)
            # SIZ marker: Ssiz of component 0 = 0x0C (unsigned, 13 bits)
            siz = cs.index(b"\xff\x51")
            assert cs[siz + 40] == 0x0C, cs[siz + 40]
            ds = signed13_header(src, B["signed13-j2k"], k, JPEG2000Lossless)
            ds.SeriesDescription = "13-bit signed, J2K lossless, unsigned codestream"
            ds.PixelData = encapsulate([cs])
            ds["PixelData"].VR = "OB"
            ds["PixelData"].is_undefined_length = True
            ds.is_little_endian = True
            ds.is_implicit_VR = False
            ds.LossyImageCompression = "00"
            save(ds, os.path.join(OUT, "signed13-j2k", f"j{k + 1}.dcm"))


# ------------------------------------------- 4. split / copies / far-other ----
def make_split_copies():
    srcs = pancreas_files()
    b = B["split"]
    write_ct_series(os.path.join(OUT, "split", "part1"), b, srcs[:8],
                    lambda k: f"p{k + 1:02d}.dcm", 701, SeriesDescription="split 1/2")
    write_ct_series(os.path.join(OUT, "split", "part2"), b, srcs[8:],
                    lambda k: f"p{k + 9:02d}.dcm", 701, sop=lambda k: uid(b, 2, k + 9),
                    SeriesDescription="split 2/2")
    b = B["copies"]
    for sub in ("a", "b"):
        write_ct_series(os.path.join(OUT, "copies", sub), b, srcs[::2],
                        lambda k: f"c{k + 1:02d}.dcm", 702, SeriesDescription="copied whole")
    b = B["far-other"]
    write_ct_series(os.path.join(OUT, "far", "x", "y"), b, srcs[1::2],
                    lambda k: f"f{k + 1:02d}.dcm", 703, SeriesDescription="far")
    write_ct_series(os.path.join(OUT, "other", "z"), b, srcs[0::2],
                    lambda k: f"o{k + 1:02d}.dcm", 703, sop=lambda k: uid(b, 2, k + 101),
                    SeriesDescription="other")


# ------------------------------------------------------ 5. duplicate-sop ----
def make_duplicate_sop():
    d = os.path.join(OUT, "duplicate-sop")
    write_ct_series(d, B["duplicate-sop"], ge_files([2 + 4 * k for k in range(6)]),
                    lambda k: f"s{k + 1}.dcm", 801, SeriesDescription="one file twice")
    # "s4-copy.dcm" < "s4.dcm" byte-wise ('-' 0x2D < '.' 0x2E): the copy
    # comes first in name order, so the file skipped is s4.dcm.
    shutil.copyfile(os.path.join(d, "s4.dcm"), os.path.join(d, "s4-copy.dcm"))


# ----------------------------------------------------------- 6. headless ----
def make_headless():
    srcs = pancreas_files()[3::2][:6]
    series = uid(B["headless"], 1)
    for k, src in enumerate(srcs):
        ds = derive(src, series, uid(B["headless"], 2, k + 1), 901,
                    ts=ImplicitVRLittleEndian, SeriesDescription="no preamble, no meta")
        px = small(src)
        set_native(ds, px)
        fp = DicomBytesIO()
        fp.is_little_endian = True
        fp.is_implicit_VR = True
        write_dataset(fp, ds)  # the dataset only: no preamble, no DICM, no group 0002
        data = fp.getvalue()
        assert data[:4] == b"\x08\x00\x05\x00", data[:8]
        path = os.path.join(OUT, "headless", f"IM{k}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        back = read_any(path)
        assert np.array_equal(back.pixel_array, px)


# ----------------------------------------------------------- 7. with-seg ----
def make_with_seg():
    d = os.path.join(OUT, "with-seg")
    b = B["with-seg"]
    srcs = pancreas_files()[4:10]
    ct_series = uid(b, 1)
    write_ct_series(d, b, srcs, lambda k: f"ct{k + 1}.dcm", 1001,
                    SeriesDescription="CT with SEG, RTSTRUCT, SR, localizer")
    cts = [pydicom.dcmread(os.path.join(d, f"ct{k + 1}.dcm")) for k in range(len(srcs))]
    frame_of_ref = cts[0].FrameOfReferenceUID

    # --- SEG: one binary segment (HU > 150), one 1-bit frame per CT slice
    seg = new_object(srcs[0], SEG_STORAGE, uid(b, 4, 2), uid(b, 4, 1), "SEG", 1002)
    seg.ImageType = ["DERIVED", "PRIMARY"]
    seg.SeriesDescription = "threshold segmentation"
    seg.ContentLabel = "BONE"
    seg.ContentDescription = "HU above 150"
    seg.ContentCreatorName = "lessmore^fixture"
    seg.SamplesPerPixel = 1
    seg.PhotometricInterpretation = "MONOCHROME2"
    seg.Rows = 64
    seg.Columns = 64
    seg.BitsAllocated = 1
    seg.BitsStored = 1
    seg.HighBit = 0
    seg.PixelRepresentation = 0
    seg.LossyImageCompression = "00"
    seg.SegmentationType = "BINARY"
    seg.NumberOfFrames = len(cts)
    seg.SegmentSequence = Sequence([item(
        SegmentNumber=1, SegmentLabel="bone", SegmentAlgorithmType="AUTOMATIC",
        SegmentAlgorithmName="threshold",
        SegmentedPropertyCategoryCodeSequence=Sequence([code("91723000", "SCT",
                                                             "Anatomical Structure")]),
        SegmentedPropertyTypeCodeSequence=Sequence([code("272673000", "SCT", "Bone")]))])
    dim_org = uid(b, 4, 3)
    seg.DimensionOrganizationSequence = Sequence([item(DimensionOrganizationUID=dim_org)])
    seg.DimensionIndexSequence = Sequence([
        item(DimensionOrganizationUID=dim_org, DimensionIndexPointer=0x0062000B,
             FunctionalGroupPointer=0x0062000A, DimensionDescriptionLabel="Segment Number"),
        item(DimensionOrganizationUID=dim_org, DimensionIndexPointer=0x00200032,
             FunctionalGroupPointer=0x00209113,
             DimensionDescriptionLabel="Image Position (Patient)")])
    seg.ReferencedSeriesSequence = Sequence([item(
        SeriesInstanceUID=ct_series,
        ReferencedInstanceSequence=Sequence([
            item(ReferencedSOPClassUID=c.SOPClassUID, ReferencedSOPInstanceUID=c.SOPInstanceUID)
            for c in cts]))])
    seg.SharedFunctionalGroupsSequence = Sequence([item(
        PixelMeasuresSequence=Sequence([item(PixelSpacing=list(cts[0].PixelSpacing),
                                             SliceThickness=cts[0].SliceThickness)]),
        PlaneOrientationSequence=Sequence([item(
            ImageOrientationPatient=list(cts[0].ImageOrientationPatient))]))])
    per_frame, masks = [], []
    for k, c in enumerate(cts):
        hu = c.pixel_array.astype(np.int64) + int(float(c.RescaleIntercept))
        masks.append((hu > 150).astype(np.uint8))
        per_frame.append(item(
            DerivationImageSequence=Sequence([item(
                SourceImageSequence=Sequence([item(
                    ReferencedSOPClassUID=c.SOPClassUID,
                    ReferencedSOPInstanceUID=c.SOPInstanceUID,
                    PurposeOfReferenceCodeSequence=Sequence([code(
                        "121322", "DCM", "Source image for image processing operation")]))]),
                DerivationCodeSequence=Sequence([code("113076", "DCM", "Segmentation")]))]),
            FrameContentSequence=Sequence([item(DimensionIndexValues=[1, k + 1])]),
            PlanePositionSequence=Sequence([item(
                ImagePositionPatient=list(c.ImagePositionPatient))]),
            SegmentIdentificationSequence=Sequence([item(ReferencedSegmentNumber=1)])))
    seg.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    masks = np.stack(masks)
    assert masks.sum() > 0
    seg.PixelData = pack_bits(masks)
    seg["PixelData"].VR = "OB"
    path = os.path.join(d, "seg.dcm")
    save(seg, path)
    assert np.array_equal(pydicom.dcmread(path).pixel_array, masks)

    # --- RT Structure Set: one closed planar contour on the middle slice
    rt = new_object(srcs[0], RTSTRUCT_STORAGE, uid(b, 5, 2), uid(b, 5, 1), "RTSTRUCT", 1003)
    rt.SeriesDescription = "structure set"
    rt.StructureSetLabel = "BODY"
    rt.StructureSetDate = FIXED_DATE
    rt.StructureSetTime = FIXED_TIME
    contour_image = [item(ReferencedSOPClassUID=c.SOPClassUID,
                          ReferencedSOPInstanceUID=c.SOPInstanceUID) for c in cts]
    rt.ReferencedFrameOfReferenceSequence = Sequence([item(
        FrameOfReferenceUID=frame_of_ref,
        RTReferencedStudySequence=Sequence([item(
            ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.1",
            ReferencedSOPInstanceUID=cts[0].StudyInstanceUID,
            RTReferencedSeriesSequence=Sequence([item(
                SeriesInstanceUID=ct_series,
                ContourImageSequence=Sequence(contour_image))]))]))])
    rt.StructureSetROISequence = Sequence([item(
        ROINumber=1, ReferencedFrameOfReferenceUID=frame_of_ref, ROIName="BODY",
        ROIGenerationAlgorithm="MANUAL")])
    mid = cts[3]
    z = str(mid.ImagePositionPatient[2])
    pts = []
    for x, y in [(-150, -50), (150, -50), (150, 150), (-150, 150)]:
        pts += [str(x), str(y), z]
    rt.ROIContourSequence = Sequence([item(
        ReferencedROINumber=1, ROIDisplayColor=[255, 0, 0],
        ContourSequence=Sequence([item(
            ContourImageSequence=Sequence([item(
                ReferencedSOPClassUID=mid.SOPClassUID,
                ReferencedSOPInstanceUID=mid.SOPInstanceUID)]),
            ContourGeometricType="CLOSED_PLANAR", NumberOfContourPoints=4,
            ContourData=pts)]))])
    rt.RTROIObservationsSequence = Sequence([item(
        ObservationNumber=1, ReferencedROINumber=1, RTROIInterpretedType="EXTERNAL",
        ROIInterpreter="")])
    rt.ApprovalStatus = "UNAPPROVED"
    save(rt, os.path.join(d, "rtstruct.dcm"))

    # --- Basic Text SR
    sr = new_object(srcs[0], BASIC_TEXT_SR, uid(b, 6, 2), uid(b, 6, 1), "SR", 1004)
    sr.SeriesDescription = "report"
    sr.CompletionFlag = "COMPLETE"
    sr.VerificationFlag = "UNVERIFIED"
    sr.ValueType = "CONTAINER"
    sr.ConceptNameCodeSequence = Sequence([code("11528-7", "LN", "Radiology Report")])
    sr.ContinuityOfContent = "SEPARATE"
    sr.PerformedProcedureCodeSequence = Sequence([])
    sr.CurrentRequestedProcedureEvidenceSequence = Sequence([item(
        StudyInstanceUID=cts[0].StudyInstanceUID,
        ReferencedSeriesSequence=Sequence([item(
            SeriesInstanceUID=ct_series,
            ReferencedSOPSequence=Sequence(contour_image))]))])
    sr.ContentSequence = Sequence([item(
        RelationshipType="CONTAINS", ValueType="TEXT",
        ConceptNameCodeSequence=Sequence([code("121071", "DCM", "Finding")]),
        TextValue="Test fixture of lessmore; no findings.")])
    save(sr, os.path.join(d, "sr.dcm"))

    # --- CT localizer: coronal projection of the 16 pancreas slices, own series
    allsrc = pancreas_files()
    proj = np.stack([small(s).astype(np.float64).mean(axis=0) for s in allsrc])  # 16 x 64
    scout = np.rint(np.repeat(proj, 4, axis=0)).astype(np.uint16)  # 64 x 64, top = 1-026
    top = pydicom.dcmread(allsrc[0], stop_before_pixels=True)
    ds = derive(allsrc[0], uid(b, 7, 1), uid(b, 7, 2), 1000,
                ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"],
                SeriesDescription="topogram", InstanceNumber="1",
                ImageOrientationPatient=["1", "0", "0", "0", "0", "-1"],
                ImagePositionPatient=[str(top.ImagePositionPatient[0]), "0",
                                      str(top.ImagePositionPatient[2])],
                PixelSpacing=["0.75", ds_times(top.PixelSpacing[1], 8)],
                SliceLocation="0")
    set_native(ds, scout)
    save(ds, os.path.join(d, "localizer.dcm"))


# ----------------------------------------------------------- 8. dcm2niix ----
def make_dcm2niix():
    out = os.path.join(OUT, "dcm2niix")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "series")
        write_ct_series(src, B["dcm2niix"], pancreas_files(), lambda k: f"{k + 1:02d}.dcm",
                        1301, SeriesDescription="dcm2niix input")
        conv = os.path.join(tmp, "out")
        os.makedirs(conv)
        r = subprocess.run(["dcm2niix", "-z", "y", "-f", "pancreas", "-o", conv, src],
                           check=True, capture_output=True, text=True)
        made = sorted(os.listdir(conv))
        assert made == ["pancreas.json", "pancreas.nii.gz"], (made, r.stdout)
        # the gzip stream (pigz or internal) is re-packed with mtime 0 so that
        # a rerun gives the same bytes whatever compressor dcm2niix used
        with gzip.open(os.path.join(conv, "pancreas.nii.gz"), "rb") as fh:
            nii = fh.read()
        write_gz(os.path.join(out, "pancreas.nii.gz"), nii)
        shutil.copyfile(os.path.join(conv, "pancreas.json"), os.path.join(out, "pancreas.json"))
        version = r.stdout.splitlines()[0] if r.stdout else ""

    img = nib.load(os.path.join(out, "pancreas.nii.gz"))
    # ct_inter.nii.gz: same voxels as int16 stored = HU + 1024, scl_inter -1024
    stored = np.rint(img.get_fdata() + 1024).astype(np.int16)
    assert np.array_equal(stored.astype(np.float64) - 1024, img.get_fdata())
    hdr = img.header.copy()
    hdr.set_data_dtype(np.int16)
    new = nib.Nifti1Image(stored, img.affine, hdr)
    new.header.set_slope_inter(1.0, -1024.0)
    new.header["descrip"] = b"lessmore fixture: int16 + scl_inter -1024"
    raw = new.to_bytes()
    check = nib.Nifti1Image.from_bytes(raw)
    assert check.get_data_dtype() == np.int16
    assert check.dataobj.slope == 1.0 and check.dataobj.inter == -1024.0
    assert np.array_equal(check.get_fdata(), img.get_fdata())
    write_gz(os.path.join(out, "ct_inter.nii.gz"), raw)
    return version


def write_gz(path, data):
    with open(path, "wb") as fh:
        fh.write(gzip.compress(data, compresslevel=6, mtime=0))


# ------------------------------------------------------------- golden ----
def read_any(path):
    """pydicom read of a Part-10 file or a bare implicit-VR-LE dataset."""
    ds = pydicom.dcmread(path, force=True)
    if "TransferSyntaxUID" not in ds.file_meta:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        ds.is_little_endian = True
        ds.is_implicit_VR = True
    return ds


def fg_value(ds, f, seq, attr):
    """attr of functional group seq for frame f (per-frame overrides shared),
    else the top-level attribute, else None."""
    for groups in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        if groups in ds:
            g = ds[groups][f if groups.startswith("Per") else 0]
            if seq in g and attr in g[seq][0]:
                return g[seq][0][attr].value
    return ds.get(attr)


def is_multiframe(ds):
    return "PerFrameFunctionalGroupsSequence" in ds or int(ds.get("NumberOfFrames", 1) or 1) > 1


def frames_of(ds):
    """[(frame index, IPP, IOP, slope, intercept)] of a dataset."""
    n = int(ds.get("NumberOfFrames", 1) or 1)
    out = []
    for f in range(n):
        if is_multiframe(ds):
            ipp = fg_value(ds, f, "PlanePositionSequence", "ImagePositionPatient")
            iop = fg_value(ds, f, "PlaneOrientationSequence", "ImageOrientationPatient")
            slope = fg_value(ds, f, "PixelValueTransformationSequence", "RescaleSlope")
            inter = fg_value(ds, f, "PixelValueTransformationSequence", "RescaleIntercept")
        else:
            ipp, iop = ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient")
            slope, inter = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
        out.append((f, ipp, iop, 1.0 if slope is None else float(slope),
                    0.0 if inter is None else float(inter)))
    return out


def stored_values(ds, arr):
    """Stored values as int64, sign-extended from BitsStored when
    PixelRepresentation is 1 (whatever the decoder left in the high bits)."""
    a = arr.astype(np.int64)
    if int(ds.PixelRepresentation) == 1:
        bits = int(ds.BitsStored)
        mask = (1 << bits) - 1
        sign = 1 << (bits - 1)
        a = ((a & mask) ^ sign) - sign
    return a


def values(modality, s, slope, intercept):
    """What lessmore must produce from stored values s (int64)."""
    if modality in (None, "", "CT"):
        s = s.copy()
        s[s == -2000] = 0
        if slope != 1:
            s = np.trunc(s.astype(np.float64) * slope).astype(np.int64)
        return s + int(math.trunc(intercept))
    return s.astype(np.float64) * slope + intercept


def num(x):
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 2 ** 53 else x


def slice_stats(v):
    u8 = minmax_u8(v)
    assert u8.dtype == np.uint8 and u8.flags.c_contiguous
    return {"min": num(v.min()), "max": num(v.max()),
            "sum": num(v.astype(np.float64).sum()),
            "u8_sha256": hashlib.sha256(u8.tobytes()).hexdigest()}


def median_step(zs, thickness):
    zs = sorted(zs)
    steps = sorted(abs(b - a) for a, b in zip(zs, zs[1:]))
    if steps and steps[len(steps) // 2] > 0:
        return steps[len(steps) // 2]
    return thickness if thickness and thickness > 0 else 1.0


def decode(ds, handlers):
    """pixel_array with the first handler of handlers that can decode it."""
    errors = []
    for h in handlers:
        d = copy.deepcopy(ds)
        try:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                d.convert_pixel_data(handler_name=h)
            return d.pixel_array, h, [str(x.message) for x in w]
        except Exception as e:  # noqa: BLE001 - report and try the next
            errors.append(f"{h}: {type(e).__name__}: {e}")
    raise RuntimeError("; ".join(errors))


HANDLERS = ["numpy", "rle", "gdcm", "pillow"]


def volume_golden(vol_id, base, files, handlers=HANDLERS, extra=None):
    """Golden record of one DICOM volume: files relative to base."""
    slices, thickness, first_n = [], None, None
    decoders, notes = set(), []
    for name in sorted(files, key=lambda s: s.encode()):
        ds = read_any(os.path.join(base, name))
        arr, h, w = decode(ds, handlers)
        decoders.add(h)
        notes += [m for m in w if m not in notes]
        fr = frames_of(ds)
        if len(fr) == 1 and arr.ndim == 2:
            arr = arr[None]
        assert arr.shape[0] == len(fr)
        modality = ds.get("Modality")
        if thickness is None:
            thickness = fg_value(ds, 0, "PixelMeasuresSequence", "SliceThickness")
            thickness = float(thickness) if thickness not in (None, "") else None
        for f, ipp, iop, slope, inter in fr:
            if first_n is None and iop is not None and len(iop) == 6:
                iop = [float(x) for x in iop]
                first_n = np.cross(np.array(iop[:3]), np.array(iop[3:]))
            z = None
            if ipp is not None and len(ipp) == 3 and first_n is not None:
                z = float(np.dot(np.array([float(x) for x in ipp]), first_n))
            inst = ds.get("InstanceNumber")
            v = values(modality, stored_values(ds, arr[f]), slope, inter)
            slices.append({"file": name, "frame": f, "z": z,
                           "instance": None if inst in (None, "") else int(float(inst)),
                           "slope": slope, "intercept": inter, "modality": modality,
                           "rows": arr.shape[1], "columns": arr.shape[2],
                           **slice_stats(v)})
    if all(s["z"] is not None for s in slices):
        zs = [s["z"] for s in slices]
        assert len(set(zs)) == len(zs), vol_id
        slices.sort(key=lambda s: s["z"])
        spacing = median_step(zs, thickness)
    else:
        slices.sort(key=lambda s: (s["instance"] if s["instance"] is not None else 0,
                                   s["file"].encode(), s["frame"]))
        spacing = thickness if thickness and thickness > 0 else 1.0
    rec = {"volume": vol_id, "files": sorted(files, key=lambda s: s.encode()),
           "frames": len(slices), "rows": slices[0]["rows"], "columns": slices[0]["columns"],
           "modality": slices[0]["modality"], "decoder": sorted(decoders),
           "order": [[s["file"], s["frame"]] for s in slices],
           "z": [s["z"] for s in slices], "spacing": spacing}
    if notes:
        rec["pydicom_warnings"] = notes
    rec.update(extra or {})
    rec["slices"] = [{k: s[k] for k in ("slope", "intercept", "min", "max", "sum", "u8_sha256")}
                     for s in slices]
    return rec


def nifti_golden(vol_id, path):
    img = nib.load(path)
    data = img.get_fdata()  # nibabel's scaled values, float64
    with gzip.open(path, "rb") as fh:  # the header as on disk (nibabel's
        hdr = nib.Nifti1Header.from_fileobj(fh)  # loaded header has scl_* NaN)
    slices = []
    for k in range(data.shape[2]):
        slices.append(slice_stats(np.ascontiguousarray(data[:, :, k].T)))
    return {"volume": vol_id, "format": "nifti", "shape": [int(x) for x in data.shape],
            "frames": int(data.shape[2]), "rows": int(data.shape[1]),
            "columns": int(data.shape[0]),
            "dtype_on_disk": str(img.get_data_dtype()),
            "scl_slope": num(img.dataobj.slope), "scl_inter": num(img.dataobj.inter),
            "header_scl_slope": num(hdr["scl_slope"]), "header_scl_inter": num(hdr["scl_inter"]),
            "zooms": [float(x) for x in hdr.get_zooms()],
            "qform_code": int(hdr["qform_code"]), "sform_code": int(hdr["sform_code"]),
            "affine": [[float(x) for x in row] for row in img.affine],
            "slices": slices}


def j2k_decoders_report():
    """What the available decoders return for signed13-j2k/j1.dcm, as raw
    16-bit words (before lessmore's own sign extension)."""
    import gdcm
    path = os.path.join(OUT, "signed13-j2k", "j1.dcm")
    truth = signed13_values(0, ge_files(SIGNED13_SRC)[0])
    rep = {"file": "signed13-j2k/j1.dcm", "true_min": int(truth.min()),
           "true_max": int(truth.max())}

    def describe(a):
        a = np.asarray(a).astype(np.int64)
        return {"dtype": None, "min": int(a.min()), "max": int(a.max()),
                "equals_true_values": bool(np.array_equal(a, truth)),
                "equals_unsigned_13bit": bool(np.array_equal(a, truth & 0x1FFF))}

    ds = pydicom.dcmread(path)
    for h in ("gdcm", "pillow"):
        arr, _, w = decode(ds, [h])
        d = describe(arr)
        d["dtype"] = str(arr.dtype)
        if w:
            d["warnings"] = w
        rep[f"pydicom_{h}"] = d
    # GDCM's own C++ decoder, without pydicom's J2K corrections
    r = gdcm.ImageReader()
    r.SetFileName(path)
    assert r.Read()
    im = r.GetImage()
    pf = im.GetPixelFormat()
    buf = im.GetBuffer()
    if isinstance(buf, str):  # the binding hands bytes over as surrogate-escaped str
        buf = buf.encode("utf-8", "surrogateescape")
    raw = np.frombuffer(buf, dtype="<i2" if pf.GetPixelRepresentation() else "<u2")
    raw = raw.reshape(64, 64)
    d = describe(raw)
    d["dtype"] = str(raw.dtype)
    d["pixel_format"] = {"bits_allocated": pf.GetBitsAllocated(), "bits_stored": pf.GetBitsStored(),
                         "high_bit": pf.GetHighBit(),
                         "pixel_representation": pf.GetPixelRepresentation()}
    rep["gdcm_ImageReader"] = d
    # gdcmconv --raw, the result read back natively
    with tempfile.TemporaryDirectory() as tmp:
        outp = os.path.join(tmp, "raw.dcm")
        subprocess.run(["gdcmconv", "--raw", path, outp], check=True, capture_output=True)
        back = pydicom.dcmread(outp)
        raw = np.frombuffer(back.PixelData, dtype="<u2").astype(np.int64).reshape(64, 64)
        signed = np.where(raw >= 32768, raw - 65536, raw)
        d = describe(signed)
        d["dtype"] = "int16 words of PixelData"
        d["header"] = {"BitsAllocated": int(back.BitsAllocated), "BitsStored": int(back.BitsStored),
                       "HighBit": int(back.HighBit),
                       "PixelRepresentation": int(back.PixelRepresentation)}
        rep["gdcmconv_raw"] = d
    assert rep["pydicom_gdcm"]["equals_true_values"] and rep["pydicom_pillow"]["equals_true_values"]
    return rep


def quirks_golden():
    done, failed = [], []
    for root, dirs, files in os.walk(QUIRKS):
        dirs.sort()
        for n in sorted(files):
            if n.endswith(".md"):
                continue
            rel = os.path.relpath(os.path.join(root, n), QUIRKS)
            try:
                ds = read_any(os.path.join(root, n))
                ts = ds.file_meta.TransferSyntaxUID
                extra = {"transfer_syntax": str(ts), "lossy": bool(
                    ts in ("1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.81",
                           "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")),
                    "bits_stored": int(ds.BitsStored),
                    "pixel_representation": int(ds.PixelRepresentation),
                    "series_uid": str(ds.get("SeriesInstanceUID", "")),
                    "sop_uid": str(ds.get("SOPInstanceUID", ""))}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rec = volume_golden("dicom-quirks/" + rel, QUIRKS, [rel], extra=extra)
                if str(ts).startswith("1.2.840.10008.1.2.4.9"):
                    # cross-check the two J2K decoders
                    a, _, _ = decode(ds, ["gdcm"])
                    b, _, _ = decode(ds, ["pillow"])
                    rec["gdcm_equals_pillow"] = bool(np.array_equal(
                        stored_values(ds, a), stored_values(ds, b)))
                done.append(rec)
            except Exception as e:  # noqa: BLE001
                failed.append({"file": rel, "error": f"{type(e).__name__}: {e}"})
    return done, failed


def golden(dcm2niix_version):
    vols = []

    def files_in(folder):
        base = os.path.join(OUT, folder)
        out = []
        for root, dirs, fs in os.walk(base):
            dirs.sort()
            out += [os.path.relpath(os.path.join(root, f), base) for f in fs]
        return sorted(out, key=lambda s: s.encode())

    for name in ("enhanced-ct", "enhanced-ct-rescale"):
        vols.append(volume_golden(name, os.path.join(OUT, name), files_in(name)))
    bad = pydicom.dcmread(os.path.join(OUT, "enhanced-bad", "enhanced.dcm"))
    iops = sorted({tuple(float(x) for x in f[2]) for f in frames_of(bad)})
    vols.append({"volume": "enhanced-bad", "files": ["enhanced.dcm"], "frames": 16,
                 "refused": True, "reason": "inconsistent ImageOrientationPatient",
                 "orientations": [list(o) for o in iops]})
    for name in ("pet", "signed13", "signed13-j2k"):
        vols.append(volume_golden(name, os.path.join(OUT, name), files_in(name)))
    vols.append(volume_golden("split", os.path.join(OUT, "split"), files_in("split")))
    for name in ("copies/a", "copies/b", "far/x/y", "other/z"):
        vols.append(volume_golden(name, os.path.join(OUT, name), files_in(name)))
    dup = [f for f in files_in("duplicate-sop") if f != "s4.dcm"]
    vols.append(volume_golden("duplicate-sop", os.path.join(OUT, "duplicate-sop"), dup, extra={
        "skipped": [{"file": "s4.dcm", "reason": "duplicate SOPInstanceUID",
                     "same_as": "s4-copy.dcm"}]}))
    vols.append(volume_golden("headless", os.path.join(OUT, "headless"), files_in("headless")))
    cts = [f for f in files_in("with-seg") if f.startswith("ct")]
    vols.append(volume_golden("with-seg", os.path.join(OUT, "with-seg"), cts, extra={
        "skipped": [{"file": "localizer.dcm", "reason": "localizer"},
                    {"file": "rtstruct.dcm", "reason": "rt"},
                    {"file": "seg.dcm", "reason": "segmentation"},
                    {"file": "sr.dcm", "reason": "sr"}]}))
    for n in ("ct_inter.nii.gz", "pancreas.nii.gz"):
        vols.append(nifti_golden("dcm2niix/" + n, os.path.join(OUT, "dcm2niix", n)))
    by_id = {v["volume"]: v for v in vols}

    def same(a, b, ignore=()):
        strip = [{k: x for k, x in s.items() if k not in ignore} for s in by_id[a]["slices"]]
        return strip == [{k: x for k, x in s.items() if k not in ignore}
                         for s in by_id[b]["slices"]]
    # cross-checks: the variants must give the same values as their plain twins
    assert same("enhanced-ct", "enhanced-ct-rescale", ("intercept",))
    assert same("signed13", "signed13-j2k")
    assert same("copies/a", "copies/b")
    assert same("dcm2niix/pancreas.nii.gz", "dcm2niix/ct_inter.nii.gz")
    quirks, failed = quirks_golden()
    import gdcm
    return {"generator": "tests/data/make_reader_fixtures.py",
            "versions": {"pydicom": pydicom.__version__, "numpy": np.__version__,
                         "nibabel": nib.__version__, "pillow": PIL.__version__,
                         "gdcm": gdcm.Version.GetVersion(), "dcm2niix": dcm2niix_version},
            "volumes": vols,
            "signed13_j2k_decoders": j2k_decoders_report(),
            "dicom_quirks": quirks,
            "dicom_quirks_not_decoded": failed}


def dump_golden(doc, path):
    def dump(o):
        return json.dumps(o, separators=(",", ":"))

    def block(key, items, last):
        lines = [f" {dump(key)}:["]
        for i, v in enumerate(items):
            head = {k: x for k, x in v.items() if k != "slices"}
            end = "," if i + 1 < len(items) else ""
            if "slices" not in v:
                lines.append("  " + dump(head) + end)
                continue
            lines.append("  " + dump(head)[:-1] + ',"slices":[')
            for j, s in enumerate(v["slices"]):
                lines.append("   " + dump(s) + ("," if j + 1 < len(v["slices"]) else ""))
            lines.append("  ]}" + end)
        lines.append(" ]" + ("" if last else ","))
        return lines

    lines = ["{",
             f' "generator":{dump(doc["generator"])},',
             f' "versions":{dump(doc["versions"])},']
    lines += block("volumes", doc["volumes"], False)
    lines.append(f' "signed13_j2k_decoders":{dump(doc["signed13_j2k_decoders"])},')
    lines += block("dicom_quirks", doc["dicom_quirks"], False)
    lines += block("dicom_quirks_not_decoded", doc["dicom_quirks_not_decoded"], True)
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == doc
    with open(path, "w") as fh:
        fh.write(text)


# --------------------------------------------------------------- main ----
def check_tools():
    missing = [t for t in ("opj_compress", "dcm2niix", "gdcmconv") if not shutil.which(t)]
    try:
        import gdcm  # noqa: F401
    except ImportError:
        missing.append("python3-gdcm")
    if missing:
        sys.exit("missing: " + ", ".join(missing) +
                 " (apt-get install libopenjp2-tools dcm2niix libgdcm-tools python3-gdcm)")


def main():
    check_tools()
    import gdcm
    gdcm.Trace.WarningOff()
    warnings.simplefilter("ignore", UserWarning)  # bad_sequence.dcm's non-UID UIDs
    readme = os.path.join(OUT, "README.md")
    keep = open(readme).read() if os.path.exists(readme) else None
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    if keep is not None:  # README.md is written by hand, not generated
        with open(readme, "w") as fh:
            fh.write(keep)
    enhanced("enhanced-ct")
    enhanced("enhanced-ct-rescale", per_frame_rescale=True)
    enhanced("enhanced-bad", bad_orientation=True)
    make_pet()
    make_signed13()
    make_signed13_j2k()
    make_split_copies()
    make_duplicate_sop()
    make_headless()
    make_with_seg()
    version = make_dcm2niix()
    doc = golden(version)
    dump_golden(doc, GOLDEN)
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"wrote {OUT} ({total} bytes) and {GOLDEN}")


if __name__ == "__main__":
    main()
