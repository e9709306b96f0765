#!/usr/bin/python3
"""What a general near-duplicate tool does with a collection of features: compare every
item with every other in one global collection (imagededup's default brute-force search
over hashes; fastdup's exact flat search over embeddings), here vectorised with numpy.

Usage: reference_global_dedup.py hash N THRESHOLD     64-bit hashes, Hamming <= THRESHOLD
       reference_global_dedup.py cosine N THRESHOLD   256-value embeddings, cosine >= THRESHOLD
Prints one line: "<mode> N=<n> pairs=<similar pairs> seconds=<s>" (the all-pairs time;
generating the features is not timed). The cost of an all-pairs search does not depend on
the values, so random features stand in for a dataset's.
"""
import sys
import time

import numpy as np


def hash_pairs(n, threshold, rng):
    codes = rng.integers(0, 2**63, size=n, dtype=np.int64).view(np.uint64)
    table = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.uint8)
    start = time.perf_counter()
    pairs = 0
    block = 256
    for i in range(0, n, block):
        x = (codes[i:i + block, None] ^ codes[None, :]).view(np.uint16)
        d = table[x].reshape(x.shape[0], -1, 4).sum(axis=2, dtype=np.uint16)
        pairs += int(np.count_nonzero(d <= threshold))
    return (pairs - n) // 2, time.perf_counter() - start


def cosine_pairs(n, threshold, rng):
    x = np.maximum(rng.standard_normal((n, 256), dtype=np.float32), 0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    start = time.perf_counter()
    pairs = 0
    block = 2048
    for i in range(0, n, block):
        pairs += int(np.count_nonzero(x[i:i + block] @ x.T >= threshold))
    return (pairs - n) // 2, time.perf_counter() - start


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("hash", "cosine"):
        sys.exit(__doc__)
    mode, n, threshold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    rng = np.random.default_rng(0)
    pairs, seconds = (hash_pairs if mode == "hash" else cosine_pairs)(n, threshold, rng)
    print(f"{mode} N={n} pairs={pairs} seconds={seconds:.3f}")


if __name__ == "__main__":
    main()
