#!/usr/bin/python3
"""Reference HASH pipeline: what the paper authors' released scripts do.

Reproduces, for one series folder, the two steps of "Less is More"
(Wolfda95/Less_is_More):

1. PreTrain-Data_Preprocessing/LIDC_3DDICOM_to_2Dpng.py: every DICOM file,
   in sorted file-name order, is read with pydicom, converted to HU with the
   authors' get_pixels_hu(), min-max mapped to [0, 255] in float64 and saved
   as an 8-bit PNG with OpenCV. ALL slices are written, as the scripts do.
2. PreTrain-Data_Reduction/Hash_LIDC_Volume.py: every PNG, in sorted path
   order, is hashed with imagehash.dhash (reproduced inline below, imagehash
   is not installed), then the authors' exemplar loop keeps a slice and drops
   every remaining slice within Hamming distance <= threshold of it. Kept PNGs
   are copied to OUT_DIR/kept/.

Outputs: OUT_DIR/png/<name>.png (all), OUT_DIR/kept/<name>.png (kept),
OUT_DIR/kept.txt (kept source file names, walk order) and one stdout line
"slices N kept K seconds S".

--workers W parallelises only step 1 (read + PNG) with multiprocessing.Pool,
to give Python a fair multi-core number; hashing and selection stay
sequential, as in the authors' script.

Usage: reference_hash_pipeline.py SERIES_DIR OUT_DIR --threshold 6 [--workers 1]
"""
import argparse
import glob
import multiprocessing
import os
import shutil
import sys
import time

import cv2
import numpy as np
import pydicom
from PIL import Image


# --------------------------------------------------------------------------
# Step 1: DICOM -> PNG (LIDC_3DDICOM_to_2Dpng.py)
# --------------------------------------------------------------------------
def get_pixels_hu(ds):
    """The authors' get_pixels_hu(), unchanged in behaviour (int16 throughout,
    so raw values above 32767 wrap exactly as in their script)."""
    image = ds.pixel_array.astype(np.int16)
    image[image == -2000] = 0
    intercept = ds.RescaleIntercept if "RescaleIntercept" in ds else -1024
    slope = ds.RescaleSlope if "RescaleSlope" in ds else 1
    if slope != 1:
        image = (slope * image.astype(np.float64)).astype(np.int16)
    image += np.int16(intercept)
    return image


def to_uint8(p):
    """The authors' interval_mapping(p, p.min(), p.max(), 0, 255) followed by
    the float64 -> 8-bit conversion cv2.imwrite performs on save (round half
    to even, saturate). Done explicitly so the PNG does not depend on how an
    OpenCV build handles float input; with OpenCV 4.6 the bytes are identical
    to passing the float64 array (checked). A constant slice gives 0/0 = NaN
    there, which OpenCV saves as 0: we write zeros directly."""
    lo, hi = p.min(), p.max()
    if hi == lo:
        return np.zeros(p.shape, dtype=np.uint8)
    # p - lo stays int16 like in the authors' code (fine for CT ranges).
    v = (p - lo) / float(hi - lo) * 255
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


def dicom_to_png(job):
    src, dst = job
    ds = pydicom.dcmread(src)
    cv2.imwrite(dst, to_uint8(get_pixels_hu(ds)))


# --------------------------------------------------------------------------
# Step 2: hash + reduce (Hash_LIDC_Volume.py)
# --------------------------------------------------------------------------
def dhash(pil_image, hash_size=8):
    """imagehash.dhash(): LANCZOS (= ANTIALIAS) downscale to 9x8, then
    "right neighbour is larger" per row -> 64 booleans."""
    image = pil_image.convert("L").resize((hash_size + 1, hash_size),
                                          Image.LANCZOS)
    pixels = np.asarray(image)
    return pixels[:, 1:] > pixels[:, :-1]


def calculate_hash(path):
    return np.ravel(dhash(Image.open(path)))


def reduce_by_hash(paths, hashes, threshold):
    """The authors' exemplar loop: the first remaining slice is kept, then it
    and every remaining slice within Hamming distance <= threshold of it are
    removed. This keeps exactly the slices whose distance to every earlier
    kept slice is > threshold (a leader walk in `paths` order)."""
    names = list(paths)
    hash_array = np.asarray(hashes)
    kept = []
    while len(names) > 0:
        dist = np.logical_xor(hash_array[0], hash_array).sum(1)
        matches = np.where(dist <= threshold)[0]  # always contains 0 itself
        kept.append(names[matches[0]])
        hash_array = np.delete(hash_array, matches, axis=0)
        names = list(np.delete(np.asarray(names, dtype=object), matches))
    return kept


# --------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("series_dir")
    ap.add_argument("out_dir")
    # float like the authors' --boarder; 6 is the paper's best threshold.
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    if args.workers < 1:
        sys.exit("reference_hash_pipeline: --workers must be >= 1")

    png_dir = os.path.join(args.out_dir, "png")
    kept_dir = os.path.join(args.out_dir, "kept")
    for d in (png_dir, kept_dir):  # stale outputs would corrupt the glob below
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)

    t0 = time.perf_counter()

    # Plain sorted file-name order, every regular file (the series has no
    # extension, so the authors' ".dcm" filter would not apply).
    names = sorted(n for n in os.listdir(args.series_dir)
                   if os.path.isfile(os.path.join(args.series_dir, n)))
    jobs = [(os.path.join(args.series_dir, n), os.path.join(png_dir, n + ".png"))
            for n in names]
    if args.workers == 1:
        for job in jobs:
            dicom_to_png(job)
    else:
        with multiprocessing.Pool(args.workers) as pool:
            # chunks of a few files: low IPC overhead, still balanced.
            pool.map(dicom_to_png, jobs, chunksize=8)

    # The authors hash sorted(glob(folder/*)); for our names that is the same
    # order as the sorted source names.
    png_paths = sorted(glob.glob(png_dir + "/*"))
    hashes = [calculate_hash(p) for p in png_paths]
    kept = reduce_by_hash(png_paths, hashes, args.threshold)
    for p in kept:
        shutil.copy2(p, kept_dir)  # copy2, as in the authors' script

    seconds = time.perf_counter() - t0

    with open(os.path.join(args.out_dir, "kept.txt"), "w") as f:
        for p in kept:
            f.write(os.path.basename(p)[:-len(".png")] + "\n")
    print(f"slices {len(png_paths)} kept {len(kept)} seconds {seconds:.3f}")


if __name__ == "__main__":
    main()
