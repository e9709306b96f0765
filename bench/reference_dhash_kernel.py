#!/usr/bin/python3
"""Python dhash kernel alone: Pillow LANCZOS resize to 9x8 + row diff.

Times exactly what imagehash.dhash() does per slice once the 8-bit image is
in memory (convert("L") + resize((9, 8), LANCZOS) + neighbour comparison),
on one core, for docs/performance.md's kernel-to-kernel ratio. Decoding, PNG I/O and
the DICOM read are deliberately excluded (bench_reduce.sh covers those).

The 512x512 8-bit slice is made from a real CT slice with the same HU +
min-max mapping as reference_hash_pipeline.py.

Usage: reference_dhash_kernel.py [--dicom FILE] [--iters 2000] [--rounds 5]
"""
import argparse
import os
import statistics
import sys
import time

import pydicom
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_hash_pipeline import dhash, get_pixels_hu, to_uint8  # noqa: E402

DEFAULT_DICOM = "/work/shared/data/ct/pancreas-ct-cb-001/1-067.dcm"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dicom", default=DEFAULT_DICOM,
                    help="source slice (default: a mid-abdomen slice)")
    ap.add_argument("--iters", type=int, default=2000, help="hashes per round")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    # Pin to one CPU so the number is a true single-core rate (Pillow's
    # resize is single-threaded anyway; this also stops migrations).
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    img = Image.fromarray(to_uint8(get_pixels_hu(pydicom.dcmread(args.dicom))))
    assert img.mode == "L" and img.size == (512, 512), (img.mode, img.size)

    bits = dhash(img)  # warm-up, and show the hash for cross-checking
    value = int("".join("1" if b else "0" for b in bits.ravel()), 2)

    rates = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for _ in range(args.iters):
            dhash(img)
        rates.append(args.iters / (time.perf_counter() - t0))

    print(f"slice {os.path.basename(args.dicom)} dhash {value:016x}")
    print(f"dhash kernel (Pillow {Image.__version__} LANCZOS 512x512 -> 9x8), "
          f"1 core: median {statistics.median(rates):.0f} slices/s, "
          f"best {max(rates):.0f} slices/s "
          f"({args.rounds} rounds x {args.iters})")


if __name__ == "__main__":
    main()
