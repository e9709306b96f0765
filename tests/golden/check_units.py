#!/usr/bin/python3
"""`lessmore reduce --unit slab|patch` end to end against independent implementations
(docs/methods.md, section "3-D units"; docs/output.md, sections "Unit rows" and "Unit files").

For the bundled NIfTI sample (nibabel), the pancreas DICOM series and the tilted-gantry GE
series (pydicom), lessmore is run with several units and methods, and

- every written unit's NIfTI, loaded with nibabel, holds exactly the source's voxel block
  [z0:z0+Z, y0:y0+Y, x0:x0+X] (nibabel's/pydicom's values; NIfTI axes i, j, k = x, y, z), and
  its NPY the same block in (z, y, x); every voxel of the unit, mapped through its affine
  and back through the source's (nibabel's affine for NIfTI; for DICOM the slices' own
  ImagePositionPatient / ImageOrientationPatient / PixelSpacing), lands on the source
  voxel it came from (within 1e-3 voxel), so the unit sits exactly in patient space;
- the decisions follow from scores computed here: SSIM and NMI with scikit-image on the
  unit blocks mapped to 8 bits (one min-max over the unit), HASH as imagehash's dhash of
  each slice — of a patch, each slice cropped to the patch's rows and columns, mapped on the
  crop's own min-max — (reference_preprocessing.py, Pillow) compared position by position,
  max over the positions; the leader walk, pairs and everyn replayed here in Python give the same
  kept units, matches and scores (scores within 1e-8);
- the manifests are the same for --threads 1 and 2;
- `lessmore score --unit` writes the matrix of those same scores over the volume's grid of
  whole units (listed here in z, y, x order), the diagonal included.

Usage: check_units.py LESSMORE SOURCE_DIR. Exit 0 when every check passes; else prints each
failure and exits 1.
"""
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np
import pydicom
from skimage.metrics import normalized_mutual_information, structural_similarity

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_preprocessing import dhash_hex, dicom_hu, minmax_u8  # noqa: E402

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


# ---- sources as independent readers give them: voxels [z, y, x] and each voxel's place --------

def nifti_source(path):
    img = nib.load(path)
    data = np.asarray(img.dataobj)  # values as stored (the sample has no scaling)
    stack = np.transpose(data, (2, 1, 0))  # [k, j, i] = [z, y, x]
    affine = img.affine  # voxel (i, j, k) = (x, y, z) -> RAS

    def world(z, y, x):
        return (affine @ np.array([x, y, z, 1.0]))[:3]
    return stack, world


def dicom_source(folder):
    datasets = [pydicom.dcmread(os.path.join(folder, f)) for f in sorted(os.listdir(folder)) if f.endswith(".dcm")]
    iop = np.array(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    datasets.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, dtype=float), normal)))
    stack = np.stack([dicom_hu(d) for d in datasets])
    lps_to_ras = np.array([-1.0, -1.0, 1.0])

    def world(z, y, x):
        d = datasets[int(z)]
        row_spacing, col_spacing = (float(v) for v in d.PixelSpacing)  # DICOM: rows then columns
        p = np.array(d.ImagePositionPatient, dtype=float) + x * col_spacing * iop[:3] + y * row_spacing * iop[3:]
        return p * lps_to_ras
    return stack, world


# ---- what lessmore should have decided, computed here --------------------------------------------

def block(stack, u):
    (z, y, x), (d, h, w) = u["origin"], u["size"]
    return stack[z:z + d, y:y + h, x:x + w]


def scorer(method, stack, units, hash_size=8):
    if method == "hash":
        # each in-plane crop (a slab: the whole slice) mapped to 8 bits on its own min-max and
        # dhashed; a slab's crops are its slices, so this is also the slab rule
        crop_hash = {}

        def hashes(u):
            (z, y, x), (d, h, w) = u["origin"], u["size"]
            out = []
            for i in range(d):
                key = (z + i, y, x, h, w)
                if key not in crop_hash:
                    crop_hash[key] = int(dhash_hex(minmax_u8(stack[z + i, y:y + h, x:x + w]), hash_size), 16)
                out.append(crop_hash[key])
            return out

        def score(a, b):
            return max(bin(p ^ q).count("1") for p, q in zip(hashes(units[a]), hashes(units[b])))
        return score, False
    u8 = {}

    def get(i):
        if i not in u8:
            u8[i] = minmax_u8(block(stack, units[i]))
        return u8[i]

    if method == "ssim":
        return (lambda a, b: structural_similarity(get(a), get(b), win_size=7, gaussian_weights=False,
                                                   use_sample_covariance=True, data_range=255)), True
    return (lambda a, b: normalized_mutual_information(get(a), get(b), bins=100)), True


def unit_grid(shape, size, stride):
    """The whole units of a volume of `shape` (z, y, x), origins on the stride's grid, z-major."""
    axes = [range(0, n - k + 1, st) for n, k, st in zip(shape, size, stride)]
    return [{"origin": [z, y, x], "size": list(size)} for z in axes[0] for y in axes[1] for x in axes[2]]


def check_score(lessmore, tmp, name, path, stack, unit, size, stride, method):
    """`score --unit` against the scores computed here, in .npy and .csv."""
    where = f"score {name} --unit {unit} -m {method}"
    units = unit_grid(stack.shape, size, stride)
    score, higher = scorer(method, stack, units)
    expected = np.array([[score(i, j) for j in range(len(units))] for i in range(len(units))])
    for ext in ("npy", "csv"):
        out = tmp / f"score-{name}-{method}.{ext}"
        r = subprocess.run([lessmore, "score", str(path), "--unit", unit, "-m", method, "-o", str(out), "--force", "-q"], capture_output=True, text=True)
        if r.returncode != 0:
            fail(where, f"exit {r.returncode}: {r.stderr.strip()}")
            return
        if ext == "npy":
            got = np.load(out)
        else:
            lines = out.read_text().splitlines()
            if lines[0] != "unit," + ",".join(str(i) for i in range(len(units))):
                fail(where, f"csv header {lines[0][:60]!r}")
            got = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
        if got.shape != expected.shape:
            fail(where, f"{ext}: shape {got.shape}, expected {expected.shape}")
        elif not np.allclose(got, expected, rtol=0, atol=1e-8 if higher else 0):
            k = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
            fail(where, f"{ext}: score {k} is {got[k]!r}, expected {expected[k]!r}")
    print(f"ok: {where}: {len(units)} x {len(units)}")


def similar(higher, s, t):
    return not math.isnan(s) and (s >= t if higher else s <= t)


def leader(n, score, higher, t, neighbours=None):
    """docs/methods.md: keep a unit unless similar to an already kept one; kept units are
    tried from the most recent back, the first similar one is the match; with --neighbours K
    only kept units at most K apart in grid order."""
    kept, match, sc = [True] * n, [None] * n, [None] * n
    kept_list = []
    for i in range(n):
        for j in reversed(kept_list):
            if neighbours is not None and i - j > neighbours:
                break
            s = score(i, j)
            if similar(higher, s, t):
                kept[i], match[i], sc[i] = False, j, s
                break
        if kept[i]:
            kept_list.append(i)
    return kept, match, sc


def pairs_fraction(n, score, higher, fraction):
    """docs/methods.md, "pairs": most similar pair first; remove the one with the more similar
    mean to the other kept units (ties: the later); stop at ceil(fraction * n)."""
    m = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(i + 1, n):
            m[i, j] = m[j, i] = score(i, j)
    target = max(1, math.ceil(round(fraction * n, 9)))
    order = sorted(((i, j) for i in range(n) for j in range(i + 1, n)),
                   key=lambda p: ((-m[p] if higher else m[p]), p[0], p[1]))
    kept = [True] * n
    left = n
    for i, j in order:
        if left <= target:
            break
        if not (kept[i] and kept[j]):
            continue

        def mean(a, other):
            vals = [m[a, k] for k in range(n) if kept[k] and k != a and k != other and not math.isnan(m[a, k])]
            vals.append(m[a, other])
            return sum(vals) / len(vals)
        # the exact tie rules are kernels' (tests/kernels/test_pruning.cpp); here only the kept count
        # and each removed unit's match score are checked
        mi, mj = mean(i, j), mean(j, i)
        drop = j if (mj >= mi if higher else mj <= mi) else i
        kept[drop] = False
        left -= 1
    return kept, m


# ---- runs --------------------------------------------------------------------------------------

def run(lessmore, args, out):
    r = subprocess.run([lessmore, "reduce", *args, "-o", str(out), "--progress", "none", "-q"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(" ".join(args), f"exit {r.returncode}: {r.stderr.strip()}")
        return None
    return json.loads((out / "manifest.json").read_text())


def exported(values, block):
    """The unit's file values for --export-values: window:C,W is clip(x, C - W/2, C + W/2)
    - (C - W/2), over W, in float64 rounded to float32 (as a slice's NPY); anything else the
    values as read."""
    if not values or not values.startswith("window:"):
        return block
    c, w = (float(v) for v in values[len("window:"):].split(","))
    lo = c - w / 2.0
    return ((np.clip(block.astype(np.float64), lo, c + w / 2.0) - lo) / w).astype(np.float32)


def check_files(where, out, volume, stack, world, values=None):
    for u in volume["units"]:
        if not u["kept"]:
            continue
        expect = exported(values, block(stack, u))
        files = [f for f in (u["output"], u["output_npy"]) if f]
        if not files:
            fail(where, f"unit {u['index']}: kept but nothing written")
        for rel in files:
            path = out / rel
            if rel.endswith(".npy"):
                got = np.load(path)
                if got.shape != expect.shape or got.dtype != expect.dtype or not np.array_equal(got, expect):
                    fail(where, f"{rel}: NPY is not the source block {u['origin']} {u['size']}")
                continue
            img = nib.load(path)
            data = np.asarray(img.dataobj)
            if (data.shape != expect.shape[::-1] or data.dtype != expect.dtype
                    or not np.array_equal(np.transpose(data, (2, 1, 0)), expect)):
                fail(where, f"{rel}: NIfTI data is not the source block {u['origin']} {u['size']}")
            if int(img.header["sform_code"]) != 1:
                fail(where, f"{rel}: sform_code {img.header['sform_code']}")
            # the qform (a rotation, pixdim and qfac) holds the same affine where the axes are
            # orthogonal; a sheared (tilted) affine has none
            axes = img.affine[:3, :3] / np.linalg.norm(img.affine[:3, :3], axis=0)
            orthogonal = np.abs(axes.T @ axes - np.eye(3)).max() < 1e-6
            if int(img.header["qform_code"]) != (1 if orthogonal else 0):
                fail(where, f"{rel}: qform_code {img.header['qform_code']} for "
                            f"{'orthogonal' if orthogonal else 'sheared'} axes")
            elif orthogonal and np.abs(img.get_qform() - img.affine).max() > 1e-4 * np.abs(img.affine).max():
                fail(where, f"{rel}: qform {img.get_qform().round(4)} is not the sform {img.affine.round(4)}")
            # every corner and the centre of the unit, through its affine, onto the source voxel
            d, h, w = u["size"]
            z0, y0, x0 = u["origin"]
            # An unevenly spaced unit's affine takes its mean step (docs/output.md, "Unit files"):
            # its first and last slices are exact, the ones between only when the steps are even.
            steps = [np.linalg.norm(world(z0 + k + 1, y0, x0) - world(z0 + k, y0, x0)) for k in range(d - 1)]
            even = not steps or max(steps) - min(steps) < 1e-3
            corners = [(0, 0, 0), (d - 1, 0, 0), (0, h - 1, 0), (0, 0, w - 1), (d - 1, h - 1, w - 1)]
            for k, j, i in corners + ([(d // 2, h // 2, w // 2)] if even else []):
                got = (img.affine @ np.array([i, j, k, 1.0]))[:3]
                want = world(z0 + k, y0 + j, x0 + i)
                spacing = np.linalg.norm(img.affine[:3, :3], axis=0).min()
                if np.linalg.norm(got - want) > 1e-3 * spacing:
                    fail(where, f"{rel}: voxel ({i},{j},{k}) at {got.round(4)}, the source voxel is at "
                                f"{want.round(4)}")
                    break


def check_decisions(where, volume, stack, method, strategy, threshold=None, fraction=None, every=None,
                    neighbours=None):
    units = volume["units"]
    n = len(units)
    kept = [u["kept"] for u in units]
    if method == "everyn":
        want = [i % every == 0 for i in range(n)]
        if kept != want:
            fail(where, f"everyn kept {kept}, expected {want}")
        return
    score, higher = scorer(method, stack, units)
    if strategy == "leader":
        k, m, s = leader(n, score, higher, threshold, neighbours)
        if kept != k:
            fail(where, f"kept {kept}, expected {k}")
        for u in units:
            i = u["index"]
            if u["match"] != m[i]:
                fail(where, f"unit {i}: match {u['match']}, expected {m[i]}")
            elif s[i] is not None and abs(u["score"] - s[i]) > 1e-8:
                fail(where, f"unit {i}: score {u['score']!r}, scikit-image/imagehash gives {s[i]!r}")
        return
    k, matrix = pairs_fraction(n, score, higher, fraction)
    if sum(kept) != sum(k):
        fail(where, f"{sum(kept)} kept, expected {sum(k)}")
    for u in units:
        if not u["kept"]:
            if u["match"] is None or not kept[u["match"]]:
                fail(where, f"unit {u['index']}: match {u['match']} is not a kept unit")
            elif abs(u["score"] - matrix[u["index"], u["match"]]) > 1e-8:
                fail(where, f"unit {u['index']}: score {u['score']!r}, scikit-image gives "
                            f"{matrix[u['index'], u['match']]!r}")


def decisions_only(manifest):
    return [[{k: u[k] for k in ("index", "origin", "size", "kept", "match", "score", "output")} for u in v["units"]]
            for v in manifest["volumes"]]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    lessmore, root = sys.argv[1], pathlib.Path(sys.argv[2])
    ct = root / "tests" / "data" / "ct"
    sources = {
        "nifti": (ct / "nifti" / "example_ct.nii.gz", nifti_source(ct / "nifti" / "example_ct.nii.gz")),
        "pancreas": (ct / "pancreas-ct-cb-001", dicom_source(ct / "pancreas-ct-cb-001")),
        "tilted": (ct / "ge-head-tilt", dicom_source(ct / "ge-head-tilt")),
    }
    cases = [
        # source, unit, method args, (method, strategy, threshold, fraction, every)
        ("nifti", "slab:8:6", ["-m", "ssim", "-t", "0.55", "--format", "both"], ("ssim", "leader", 0.55, None, None)),
        ("nifti", "patch:8,40,40:8,30,30", ["-m", "mi", "-f", "0.5"], ("mi", "pairs", None, 0.5, None)),
        ("nifti", "slab:4", ["-m", "hash", "-t", "6"], ("hash", "leader", 6, None, None)),
        ("nifti", "slab:2:1", ["-m", "hash", "-t", "10", "--neighbours", "3"], ("hash", "leader", 10, None, None, 3)),
        ("nifti", "slab:10", ["-m", "everyn", "--every", "3", "--format", "npy"], ("everyn", None, None, None, 3)),
        ("pancreas", "slab:4:2", ["-m", "hash", "-t", "8", "--format", "both"], ("hash", "leader", 8, None, None)),
        # patch HASH: the dhashes of the patch's in-plane crops, max over the positions
        ("nifti", "patch:4,40,40:2,30,30", ["-m", "hash", "-t", "8"], ("hash", "leader", 8, None, None)),
        ("nifti", "patch:3,48,48:3,24,24", ["-m", "hash", "-f", "0.4", "--format", "npy"],
         ("hash", "pairs", None, 0.4, None)),
        ("pancreas", "patch:4,128,128:4,192,192", ["-m", "hash", "-t", "10", "--format", "both"],
         ("hash", "leader", 10, None, None)),
        ("pancreas", "patch:8,128,128:8,192,192", ["-m", "ssim", "-t", "0.6"], ("ssim", "leader", 0.6, None, None)),
        ("tilted", "slab:7:5", ["-m", "mi", "-t", "1.1"], ("mi", "leader", 1.1, None, None)),
        # tilted and, from slice 14 on, 7 mm instead of 4 mm apart: every slab written
        ("tilted", "slab:7:5", ["-m", "everyn", "--every", "1"], ("everyn", None, None, None, 1)),
        ("tilted", "patch:1,100,100:3,200,200", ["-m", "everyn", "--every", "1"], ("everyn", None, None, None, 1)),
        # the files' values: a window's [0, 1] float32, or HU as read
        ("pancreas", "slab:6:4", ["-m", "everyn", "--every", "2", "--format", "both", "--export-values",
                                  "window:40,400"], ("everyn", None, None, None, 2)),
        ("nifti", "patch:4,50,50", ["-m", "everyn", "--every", "5", "--format", "npy", "--export-values", "hu"],
         ("everyn", None, None, None, 5)),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for n, (name, unit, args, decision) in enumerate(cases):
            method, strategy, t, f, every = decision[:5]
            neighbours = decision[5] if len(decision) > 5 else None
            path, (stack, world) = sources[name]
            where = f"{name} --unit {unit} {' '.join(args)}"
            manifests = []
            for threads in ("1", "2"):
                out = tmp / f"{n}-{threads}"
                manifest = run(lessmore, [str(path), "--unit", unit, "-j", threads, *args], out)
                if manifest is None:
                    break
                manifests.append((out, manifest))
            if len(manifests) != 2:
                continue
            (out, manifest), (_, other) = manifests
            if decisions_only(manifest) != decisions_only(other):
                fail(where, "the manifests of --threads 1 and 2 differ")
            volumes = manifest["volumes"]
            if len(volumes) != 1 or not volumes[0]["units"]:
                fail(where, f"expected one volume with units, got {len(volumes)}")
                continue
            volume = volumes[0]
            check_decisions(where, volume, stack, method, strategy, t, f, every, neighbours)
            values = args[args.index("--export-values") + 1] if "--export-values" in args else None
            check_files(where, out, volume, stack, world, values)
            print(f"ok: {where}: {volume['kept']} of {len(volume['units'])} units kept")
        # score --unit: the same unit scores as a matrix
        nifti = sources["nifti"][1][0]
        check_score(lessmore, tmp, "nifti", sources["nifti"][0], nifti, "slab:8:6", (8, *nifti.shape[1:]), (6, 1, 1),
                    "ssim")
        check_score(lessmore, tmp, "pancreas", sources["pancreas"][0], sources["pancreas"][1][0],
                    "patch:4,128,128:4,192,192", (4, 128, 128), (4, 192, 192), "hash")
        check_score(lessmore, tmp, "tilted", sources["tilted"][0], sources["tilted"][1][0], "slab:7:5",
                    (7, *sources["tilted"][1][0].shape[1:]), (5, 1, 1), "mi")
    for message in failures:
        print(message)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
