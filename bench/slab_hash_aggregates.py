#!/usr/bin/python3
"""Slab HASH: how many slab:K units the leader walk keeps with the max and the mean of the
position-by-position dhash distances (docs/methods.md, "Slab HASH"), next to slice HASH.

Independent of lessmore: slices mapped per slice (minmax_u8) and hashed with imagehash's
dhash as tests/golden/reference_preprocessing.py defines them; the leader walk keeps a unit
iff its aggregate distance to every kept unit is above the threshold.

Usage: /usr/bin/python3 slab_hash_aggregates.py VOLUME.nii [K]
  VOLUME.nii: e.g. the 600-slice thin volume of bench/make_thin_volume.py.
"""
import os
import sys

import nibabel as nib
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
from reference_preprocessing import dhash_hex, minmax_u8  # noqa: E402


def main():
    data = np.asarray(nib.load(sys.argv[1]).dataobj)
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    hashes = [int(dhash_hex(minmax_u8(data[:, :, z].T)), 16) for z in range(data.shape[2])]
    units = [hashes[o:o + k] for o in range(0, len(hashes) - k + 1, k)]

    def dist(a, b):
        return [bin(x ^ y).count("1") for x, y in zip(a, b)]

    def leader(items, distance, t):
        kept = []
        for i, u in enumerate(items):
            if all(distance(u, items[j]) > t for j in kept):
                kept.append(i)
        return len(kept)

    print(f"{len(hashes)} slices, slab:{k} -> {len(units)} units")
    print("| threshold | slices kept | slab:K kept, max | slab:K kept, mean |")
    print("|---:|---:|---:|---:|")
    for t in (3, 6, 12):
        s = leader(hashes, lambda a, b: bin(a ^ b).count("1"), t)
        mx = leader(units, lambda a, b: max(dist(a, b)), t)
        mn = leader(units, lambda a, b: sum(dist(a, b)) / len(a), t)
        print(f"| {t} | {s}/{len(hashes)} | {mx}/{len(units)} | {mn}/{len(units)} |")


if __name__ == "__main__":
    main()
