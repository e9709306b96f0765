"""The original authors' slice preprocessing and imagehash 4.3.1's dhash, written
independently of lessmore. Shared by the golden-value and fixture generators
(make_dhash_golden.py, make_similarity_golden.py, ../data/make_dicom_fixtures.py)
so that they all follow one definition. Needs numpy and Pillow; dicom_hu takes
a pydicom dataset.
"""

import numpy as np
from PIL import Image

LANCZOS = Image.Resampling.LANCZOS  # == Image.LANCZOS == 1


def dicom_hu(ds):
    """int16 HU slice of a pydicom dataset, in int16 throughout as the authors
    do: raw -2000 -> 0; a slope != 1 is applied in float64 and truncated back
    to int16; then the intercept is added."""
    p = ds.pixel_array.astype(np.int16)
    p[p == -2000] = 0
    slope = float(ds.RescaleSlope) if "RescaleSlope" in ds else 1.0
    # lessmore uses the DICOM default 0 when the tag is absent (the authors used -1024;
    # CT files always carry the tag, so real data never sees the difference).
    intercept = float(ds.RescaleIntercept) if "RescaleIntercept" in ds else 0.0
    if slope != 1:
        p = (slope * p.astype(np.float64)).astype(np.int16)
    p = p + np.int16(intercept)
    assert p.dtype == np.int16
    return p


def to_u8(v):
    """float64 -> uint8, round half to even, saturating."""
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


def minmax_u8(x):
    """The authors' "minmax" 8-bit image: (x - min) / (max - min) * 255 in
    float64, then to_u8; a constant slice gives all zeros."""
    x = np.asarray(x, dtype=np.float64)
    mn, mx = x.min(), x.max()
    if mx == mn:
        return np.zeros(x.shape, dtype=np.uint8)
    return to_u8((x - mn) / (mx - mn) * 255)


def binary_array_to_hex(arr):
    """imagehash 4.3.1 _binary_array_to_hex."""
    bit_string = "".join(str(b) for b in 1 * np.asarray(arr).flatten())
    width = int(np.ceil(len(bit_string) / 4))
    return "{:0>{width}x}".format(int(bit_string, 2), width=width)


def dhash_hex(u8, hash_size=8):
    """imagehash 4.3.1 dhash of an 8-bit image, as its hex string: Pillow LANCZOS
    resize to (hash_size + 1) x hash_size, then "pixel < right neighbour" per
    row. (imagehash's convert("L") first is a no-op on an "L" image.)"""
    img = Image.fromarray(np.ascontiguousarray(u8, dtype=np.uint8), mode="L")
    px = np.asarray(img.resize((hash_size + 1, hash_size), LANCZOS))
    return binary_array_to_hex(px[:, 1:] > px[:, :-1])
