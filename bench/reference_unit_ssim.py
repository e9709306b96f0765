#!/usr/bin/python3
"""scikit-image's 3-D SSIM and NMI on 16x512x512 uint8 unit pairs, for bench/bench_units.sh.

The units are real CT: the 16 slices of tests/data/ct/pancreas-ct-cb-001 stacked in
file-name order, one min-max over the stack (reference_preprocessing.minmax_u8), paired
with the same stack rolled by one slice. scikit-image's time does not depend on the
content (uniform filters and element-wise arithmetic over every voxel).

Prints one line per metric: "<metric> median <rate> pairs/s over <n> pairs".
Usage: /usr/bin/python3 reference_unit_ssim.py [SECONDS_PER_METRIC]
"""

import os
import statistics
import sys
import time

import numpy as np
import pydicom
from skimage.metrics import normalized_mutual_information, structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "golden"))
from reference_preprocessing import dicom_hu, minmax_u8  # noqa: E402

DATA = os.path.join(HERE, "..", "tests", "data", "ct", "pancreas-ct-cb-001")


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    files = sorted(f for f in os.listdir(DATA) if f.endswith(".dcm"))
    stack = np.stack([dicom_hu(pydicom.dcmread(os.path.join(DATA, f))) for f in files])
    a = minmax_u8(stack)
    b = np.roll(a, 1, axis=0)
    assert a.shape == (16, 512, 512)
    for name, fn in (("ssim3d", lambda: structural_similarity(a, b, data_range=255)),
                     ("nmi3d", lambda: normalized_mutual_information(a, b, bins=100))):
        times = []
        start = time.perf_counter()
        while not times or time.perf_counter() - start < seconds:
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        print(f"{name} median {1.0 / statistics.median(times):.4f} pairs/s over {len(times)} pairs", flush=True)


if __name__ == "__main__":
    main()
