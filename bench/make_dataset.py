#!/usr/bin/python3
"""Make a realistic dataset of N small CT volumes from the real CT in
/work/shared/data/ct, for tests and benchmarks.

Volume i depends only on (seed, i), never on N or on which worker makes it, so
"--volumes 50" gives byte-identical copies of the first 50 volumes of
"--volumes 200" with the same seed.  For each volume:

  * source: the pancreas DICOM series (134 slices, weight 0.5), the GE head
    series (28 slices, gantry tilt, stacked in order along its slice normal;
    weight 0.2) or nifti/example_ct.nii.gz (112 slices, slice k is
    data[:, :, k].T, padded with air to square; weight 0.3);
  * a random contiguous z-range (50-100 % of the source) resampled along z by
    linear interpolation to a random slice count in [slices-min, slices-max]
    (this makes neighbouring slices realistically redundant);
  * in-plane area-average downsampling to size x size (done once per source;
    it commutes with the linear z interpolation);
  * jitter: random left-right flip, sub-pixel in-plane shift of up to +-3 px
    (bilinear, edge replicated), gain 0.95-1.05 on attenuation relative to air
    (HU' = gain * (HU + 1000) - 1000), offset +-20 HU, Gaussian noise with
    sigma 4-6 HU; rounded and clipped to [-1024, 3071] HU (12-bit CT range).

Volume i is written as DICOM iff floor((i+1)*f) > floor(i*f), f =
--dicom-fraction (so every prefix of the dataset has the same mix):
  DICOM:  OUT/patient{i:04d}/series/IM{k:04d}  CT Image Storage, explicit VR
          little endian, uint16 stored = HU + 1024 (RescaleIntercept -1024,
          slope 1, BitsStored 12), identity ImageOrientationPatient,
          ImagePositionPatient z = k * spacing, InstanceNumber k + 1.
  NIfTI:  OUT/patient{i:04d}/ct.nii.gz  int16 HU, shape (size, size, n) with
          data[:, :, k] = slice_k.T, affine = the DICOM geometry in RAS.
OUT/dataset.json lists every volume's parameters (lessmore skips .json files).

Usage: make_dataset.py OUT_DIR --volumes N [--slices-min 150] [--slices-max 250]
                       [--size 128] [--seed 0] [--dicom-fraction 0.5]
                       [--workers 2] [--force]
"""
import argparse
import hashlib
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import sys
import time

import cv2
import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicom_source  # noqa: E402
from dicom_source import ds_str, read_dicom_dir  # noqa: E402

DATA = "/work/shared/data/ct"
# (name, kind, path, weight)
SOURCES = [
    ("pancreas-ct-cb-001", "dicom", os.path.join(DATA, "pancreas-ct-cb-001"), 0.5),
    ("ge-head-tilt", "dicom", os.path.join(DATA, "ge-head-tilt"), 0.2),
    ("example_ct", "nifti", os.path.join(DATA, "nifti", "example_ct.nii.gz"), 0.3),
]
HU_MIN, HU_MAX = -1024, 3071
INTERCEPT = -1024
# Same UID root as make_series.py; branch 3 is this generator.
UID_ROOT = "1.2.826.0.1.3680043.10.543.3."
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
PATIENT_DIR = re.compile(r"^patient\d{4,}$")


# --- sources -------------------------------------------------------------------

def load_dicom_source(path):
    """HU volume (z, rows, cols) float32 ordered along the slice normal, the
    pixel spacing (row, col) and the mean slice step in mm."""
    slices = [ds for _, ds in read_dicom_dir(path) if "PixelData" in ds]
    iop = np.array(slices[0].ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(iop[:3], iop[3:])
    dist = [float(np.dot(np.array(ds.ImagePositionPatient, float), normal)) for ds in slices]
    order = np.argsort(dist, kind="stable")
    vol = np.stack([slices[j].pixel_array.astype(np.float32) * float(slices[j].RescaleSlope)
                    + float(slices[j].RescaleIntercept) for j in order])
    d = np.sort(dist)
    step = float((d[-1] - d[0]) / (len(d) - 1))
    sp = [float(v) for v in slices[0].PixelSpacing]
    return vol, (sp[0], sp[1]), step


def load_nifti_source(path):
    img = nib.load(path)
    data = np.asarray(img.dataobj)
    vol = np.stack([data[:, :, k].T.astype(np.float32) for k in range(data.shape[2])])
    z = [float(v) for v in img.header.get_zooms()[:3]]
    # data[:, :, k].T has rows along the array's axis 1 and columns along axis 0.
    return vol, (z[1], z[0]), z[2]


def prepare_source(kind, path, size):
    """Loads a source and area-averages every slice to size x size (non-square
    slices are first padded with air to square). Returns float32 (z, size,
    size), the new in-plane pixel spacing and the source slice step."""
    vol, (sr, sc), step = load_dicom_source(path) if kind == "dicom" else load_nifti_source(path)
    vol = np.clip(vol, HU_MIN, HU_MAX)
    _, r, c = vol.shape
    fov = max(r * sr, c * sc)  # mm, square field of view after padding
    if r * sr != c * sc:
        # Pad the shorter side (in mm) with air, centred.
        pr = max(0, int(round(fov / sr)) - r)
        pc = max(0, int(round(fov / sc)) - c)
        vol = np.pad(vol, ((0, 0), (pr // 2, pr - pr // 2), (pc // 2, pc - pc // 2)),
                     constant_values=-1000.0)
    out = np.empty((vol.shape[0], size, size), np.float32)
    for k in range(vol.shape[0]):
        out[k] = cv2.resize(vol[k], (size, size), interpolation=cv2.INTER_AREA)
    return out, fov / size, step


_SRC = {}  # name -> (volume, pixel spacing mm, slice step mm); filled before forking


def load_sources(size, names):
    for name, kind, path, _ in SOURCES:
        if name in names and name not in _SRC:
            _SRC[name] = prepare_source(kind, path, size)


# --- per-volume parameters -----------------------------------------------------

def is_dicom(i, fraction):
    return math.floor((i + 1) * fraction + 1e-9) > math.floor(i * fraction + 1e-9)


def volume_params(seed, i, smin, smax, fraction, src_len):
    """Every random choice of volume i, from its own generator (seed, i).
    src_len: name -> number of source slices (independent of --size)."""
    rng = np.random.default_rng([seed, i])
    w = np.array([s[3] for s in SOURCES])
    src = SOURCES[int(rng.choice(len(SOURCES), p=w / w.sum()))][0]
    n = int(rng.integers(smin, smax + 1))
    ns = src_len[src]
    length = float(rng.uniform(0.5, 1.0)) * (ns - 1)  # z-range in source slice units
    start = float(rng.uniform(0.0, ns - 1 - length))
    return dict(
        index=i, source=src, slices=n, z_start=start, z_length=length,
        flip=bool(rng.random() < 0.5),
        shift=[float(v) for v in rng.uniform(-3.0, 3.0, size=2)],  # (dx, dy) px
        gain=float(rng.uniform(0.95, 1.05)),
        offset=float(rng.uniform(-20.0, 20.0)),
        noise_sigma=float(rng.uniform(4.0, 6.0)),
        noise_seed=int(rng.integers(0, 2**63 - 1)),
        format="dicom" if is_dicom(i, fraction) else "nifti",
    )


def render(p):
    """The int16 HU volume (n, size, size) of parameters p, plus spacings."""
    src, pix, step = _SRC[p["source"]]
    n = p["slices"]
    z = p["z_start"] + p["z_length"] * np.linspace(0.0, 1.0, n)
    z0 = np.clip(np.floor(z).astype(np.int64), 0, src.shape[0] - 1)
    z1 = np.minimum(z0 + 1, src.shape[0] - 1)
    t = (z - z0).astype(np.float32)[:, None, None]
    vol = src[z0] * (1.0 - t) + src[z1] * t
    if p["flip"]:
        vol = vol[:, :, ::-1]
    dx, dy = p["shift"]
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    size = vol.shape[1]
    out = np.empty_like(vol)
    for k in range(n):
        cv2.warpAffine(vol[k], m, (size, size), dst=out[k], flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    g = np.float32(p["gain"])
    out *= g
    out += np.float32(g * 1000.0 - 1000.0 + p["offset"])
    noise = np.random.default_rng(p["noise_seed"]).standard_normal(out.shape, dtype=np.float32)
    noise *= np.float32(p["noise_sigma"])
    out += noise
    np.rint(out, out=out)
    np.clip(out, HU_MIN, HU_MAX, out=out)
    dz = round(step * p["z_length"] / (n - 1), 4) if n > 1 else round(step, 4)
    return out.astype(np.int16), round(pix, 4), dz


# --- writers -----------------------------------------------------------------------

def dicom_template(seed, i, size, pix, dz):
    base = f"{UID_ROOT}{seed}.{i}"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = base + ".4.1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID_ROOT + "0"  # fixed: output must not depend on pydicom's version
    meta.ImplementationVersionName = "LESSMORE_BENCH"
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyDate = "20000101"
    ds.StudyTime = "120000"
    ds.AccessionNumber = ""
    ds.Modality = "CT"
    ds.Manufacturer = "lessmore make_dataset.py"
    ds.ReferringPhysicianName = ""
    ds.SeriesDescription = f"synthetic CT seed {seed} volume {i}"
    ds.PatientName = f"Bench^{i:04d}"
    ds.PatientID = f"bench-{seed}-{i:04d}"
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.SliceThickness = ds_str(dz)
    ds.KVP = "120"
    ds.StudyInstanceUID = base + ".1"
    ds.SeriesInstanceUID = base + ".2"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = 1
    ds.ImagePositionPatient = ["0", "0", "0"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = base + ".3"
    ds.PositionReferenceIndicator = ""
    ds.SliceLocation = "0"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = size
    ds.Columns = size
    ds.PixelSpacing = [ds_str(pix), ds_str(pix)]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.RescaleIntercept = str(INTERCEPT)
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.PixelData = b"\0" * (size * size * 2)
    ds["PixelData"].VR = "OW"
    return ds, base


def write_dicom(folder, vol, seed, i, pix, dz):
    n, size, _ = vol.shape
    series = os.path.join(folder, "series")
    os.makedirs(series)
    ds, base = dicom_template(seed, i, size, pix, dz)
    x0 = -pix * (size - 1) / 2.0  # centre of the first pixel, image centred on 0
    stored = (vol.astype(np.int32) - INTERCEPT).astype("<u2")
    total = 0
    for k in range(n):
        uid = f"{base}.4.{k + 1}"
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.InstanceNumber = k + 1
        z = ds_str(k * dz)
        ds.ImagePositionPatient = [ds_str(x0), ds_str(x0), z]
        ds.SliceLocation = z
        ds.PixelData = stored[k].tobytes()
        path = os.path.join(series, f"IM{k:04d}")
        ds.save_as(path, write_like_original=False)
        total += os.path.getsize(path)
    return total


def write_nifti(folder, vol, pix, dz):
    n, size, _ = vol.shape
    os.makedirs(folder)
    data = np.ascontiguousarray(vol.transpose(2, 1, 0))  # data[:, :, k] = slice_k.T
    x0 = -pix * (size - 1) / 2.0
    # DICOM (LPS) geometry of write_dicom, in NIfTI's RAS: x and y negated.
    aff = np.array([[-pix, 0, 0, -x0],
                    [0, -pix, 0, -x0],
                    [0, 0, dz, 0.0],
                    [0, 0, 0, 1]], dtype=np.float64)
    img = nib.Nifti1Image(data, aff)
    img.header.set_data_dtype(np.int16)
    img.header.set_xyzt_units("mm")
    img.set_qform(aff, code=1)
    img.set_sform(aff, code=1)
    path = os.path.join(folder, "ct.nii.gz")
    img.to_filename(path)
    return os.path.getsize(path)


def make_volume(job):
    out_dir, seed, p = job
    vol, pix, dz = render(p)
    folder = os.path.join(out_dir, f"patient{p['index']:04d}")
    if p["format"] == "dicom":
        nbytes = write_dicom(folder, vol, seed, p["index"], pix, dz)
    else:
        nbytes = write_nifti(folder, vol, pix, dz)
    return p["index"], nbytes, pix, dz


# --- main ------------------------------------------------------------------------------

def generator_sha256():
    """SHA-256 of this script followed by dicom_source.py: the code that decides
    the output bytes. bench_dataset.sh compares it to tell a reusable dataset."""
    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), dicom_source.__file__):
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def source_lengths():
    """Slice count of every source from headers only (cheap, size-independent)."""
    out = {}
    for name, kind, path, _ in SOURCES:
        if kind == "nifti":
            out[name] = int(nib.load(path).shape[2])
        else:
            out[name] = len(read_dicom_dir(path, stop_before_pixels=True))
    return out


def prepare_out(out_dir, force):
    os.makedirs(out_dir, exist_ok=True)
    entries = os.listdir(out_dir)
    patients = [e for e in entries if PATIENT_DIR.match(e)]
    other = [e for e in entries if not PATIENT_DIR.match(e) and e != "dataset.json"]
    if other:
        sys.exit(f"make_dataset: {out_dir} holds {other[0]!r}; use an empty or dedicated folder")
    if patients and not force:
        sys.exit(f"make_dataset: {out_dir} already holds a dataset; pass --force to replace it")
    for e in patients:
        shutil.rmtree(os.path.join(out_dir, e))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--volumes", type=int, required=True)
    ap.add_argument("--slices-min", type=int, default=150)
    ap.add_argument("--slices-max", type=int, default=250)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dicom-fraction", type=float, default=0.5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--force", action="store_true",
                    help="replace the patient folders of an earlier run in OUT_DIR")
    a = ap.parse_args()
    if a.volumes < 1 or a.size < 8 or a.workers < 1:
        sys.exit("make_dataset: need --volumes >= 1, --size >= 8, --workers >= 1")
    if not 2 <= a.slices_min <= a.slices_max:
        sys.exit("make_dataset: need 2 <= --slices-min <= --slices-max")
    if not 0.0 <= a.dicom_fraction <= 1.0:
        sys.exit("make_dataset: --dicom-fraction must be in [0, 1]")
    if a.seed < 0:
        sys.exit("make_dataset: --seed must be >= 0")

    t0 = time.monotonic()
    prepare_out(a.out_dir, a.force)
    src_len = source_lengths()
    params = [volume_params(a.seed, i, a.slices_min, a.slices_max, a.dicom_fraction, src_len)
              for i in range(a.volumes)]
    # Load (and downsample) only the sources in use, once, before forking: the
    # workers inherit them copy-on-write.
    load_sources(a.size, {p["source"] for p in params})
    for name, (vol, _, _) in _SRC.items():
        assert vol.shape[0] == src_len[name], (name, vol.shape, src_len[name])

    jobs = [(a.out_dir, a.seed, p) for p in params]
    # Biggest volumes first for better load balance; results are per-volume so
    # the order does not change any output byte.
    jobs.sort(key=lambda j: -j[2]["slices"])
    if a.workers == 1:
        results = [make_volume(j) for j in jobs]
    else:
        with mp.get_context("fork").Pool(a.workers) as pool:
            results = list(pool.imap_unordered(make_volume, jobs, chunksize=1))
    geo = {i: (pix, dz) for i, _, pix, dz in results}
    nbytes = sum(r[1] for r in results)
    for p in params:
        p["pixel_spacing_mm"], p["slice_spacing_mm"] = geo[p["index"]]
        p["path"] = f"patient{p['index']:04d}/" + ("series" if p["format"] == "dicom" else "ct.nii.gz")
    meta = dict(generator="bench/make_dataset.py", generator_sha256=generator_sha256(), seed=a.seed,
                volumes=a.volumes, size=a.size, slices_min=a.slices_min, slices_max=a.slices_max,
                dicom_fraction=a.dicom_fraction, total_slices=sum(p["slices"] for p in params),
                volume_list=params)
    with open(os.path.join(a.out_dir, "dataset.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    dt = time.monotonic() - t0
    ndicom = sum(p["format"] == "dicom" for p in params)
    print(f"make_dataset: {a.volumes} volumes ({ndicom} DICOM, {a.volumes - ndicom} NIfTI), "
          f"{meta['total_slices']} slices of {a.size}x{a.size}, {nbytes} bytes "
          f"({nbytes / 2**20:.1f} MiB) written, {dt:.1f} s")


if __name__ == "__main__":
    main()
