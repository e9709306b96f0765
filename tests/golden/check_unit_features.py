#!/usr/bin/python3
"""`lessmore reduce --unit slab|patch` with per-unit features (docs/models.md, section
"Features of 3-D units") against numpy and Pillow.

- --method deepnet --features DIR on units: embeddings made here (numpy, seeded; some units
  near-copies of earlier ones), one row per unit in grid order; the kept units, matches and
  scores are those of numpy's cosine of the float32 rows replayed through the leader walk
  (and, for pairs, the kept count and each removed unit's score);
- --save-features on those units writes back exactly the rows read (float32), and a run
  from the saved folder gives the same manifest decisions;
- --save-features with --method hash on slabs and patches: each unit's row is the bits of
  its crops' dhashes (reference_preprocessing.py: Pillow LANCZOS, imagehash's rule),
  position by position, and index.csv gives each volume's unit count;
- --scope patient|dataset on units (docs/methods.md, section "Scope on units"): two volumes
  sharing identical slabs and a copy in another patient folder, HASH slabs and DeepNet
  patches from --features; the cross-volume pass replayed here (each volume's own leader
  walk, then earlier volumes' surviving units, the most similar match) gives the same
  removed units, matches, match volumes and scores, their files are gone, and --threads 1
  and 2 agree.

Usage: check_unit_features.py LESSMORE SOURCE_DIR. Exit 0 when every check passes; else
prints each failure and exits 1.
"""
import csv
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_preprocessing import dhash_hex, minmax_u8  # noqa: E402
import check_units  # noqa: E402  (the leader replay, one copy)

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def grid(shape, size, stride):
    """Unit origins, z-major (docs/methods.md, "Unit geometry"): 0, S, 2S, ... while the unit fits."""
    axes = [range(0, n - s + 1, st) for n, s, st in zip(shape, size, stride)]
    return [(z, y, x) for z in axes[0] for y in axes[1] for x in axes[2]]


def embeddings(n, dim, seed, copies):
    """Seeded float32 rows; copies {i: j}: row i is row j scaled and slightly perturbed."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n, dim)).astype(np.float32)
    for i, j in copies.items():
        e[i] = (2.5 * e[j] + 0.01 * rng.standard_normal(dim)).astype(np.float32)
    return e


def write_features(folder, rows_by_id):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "index.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("volume", "file", "slices"))
        for vid, rows in rows_by_id.items():
            name = vid.replace("/", "+") + ".npy"
            np.save(folder / name, rows)
            w.writerow((vid, name, len(rows)))


def cosine_matrix(e):
    u = e.astype(np.float64)
    norms = np.linalg.norm(u, axis=1)
    u = u / np.where(norms == 0, 1, norms)[:, None]
    return u @ u.T


def leader(n, score, t):
    """The leader replay of check_units.py, higher scores more similar (cosine)."""
    return check_units.leader(n, score, True, t)


def run(lessmore, args, out, where):
    r = subprocess.run([lessmore, "reduce", *args, "-o", str(out), "--progress", "none", "-q"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(where, f"exit {r.returncode}: {r.stderr.strip()}")
        return None
    return json.loads((out / "manifest.json").read_text())


def decisions(manifest):
    return [[{k: u[k] for k in ("index", "origin", "size", "kept", "match", "score")} for u in v["units"]]
            for v in manifest["volumes"]]


def check_saved_rows(where, folder, vid, want):
    path = folder / (vid.replace("/", "+") + ".npy")
    if not path.exists():
        fail(where, f"{path.name} not written")
        return
    got = np.load(path)
    if got.dtype != np.float32 or got.shape != want.shape or not np.array_equal(got, want):
        fail(where, f"{path.name}: {got.dtype} {got.shape}, expected float32 {want.shape} equal to the rows")
    rows = list(csv.reader(open(folder / "index.csv")))
    if rows != [["volume", "file", "slices"], [vid, path.name, str(len(want))]]:
        fail(where, f"index.csv {rows}")


def check_deepnet(lessmore, tmp, sample, vid, shape):
    # slab:4:2, leader at 0.95: units 3, 7 and 9 copies of earlier ones
    size, stride = (4, shape[1], shape[2]), (2, shape[1], shape[2])
    n = len(grid(shape, size, stride))
    e = embeddings(n, 24, 7, {3: 1, 7: 2, 9: 3})
    feats = tmp / "feats"
    write_features(feats, {vid: e})
    where = "slab:4:2 deepnet --features"
    saved = tmp / "saved"
    m = run(lessmore, [sample, "--unit", "slab:4:2", "-m", "deepnet", "--features", str(feats), "-t", "0.95",
                       "--format", "none", "--save-features", str(saved)], tmp / "d1", where)
    if m is not None:
        units = m["volumes"][0]["units"]
        cos = cosine_matrix(e)
        k, match, sc = leader(n, lambda i, j: cos[i, j], 0.95)
        if [u["kept"] for u in units] != k:
            fail(where, f"kept {[u['kept'] for u in units]}, numpy's cosine gives {k}")
        for u in units:
            i = u["index"]
            if u["match"] != match[i]:
                fail(where, f"unit {i}: match {u['match']}, expected {match[i]}")
            elif sc[i] is not None and abs(u["score"] - sc[i]) > 1e-8:
                fail(where, f"unit {i}: score {u['score']!r}, numpy gives {sc[i]!r}")
        if sum(k) == n or sum(k) < n - 3:
            fail(where, f"the copies should be removed: {sum(k)} of {n} kept")
        if m["parameters"].get("model") != f"features:{feats}":
            fail(where, f"model {m['parameters'].get('model')!r}")
        check_saved_rows(where + " --save-features", saved, vid, e)
        again = run(lessmore, [sample, "--unit", "slab:4:2", "-m", "deepnet", "--features", str(saved), "-t", "0.95",
                               "--format", "none"], tmp / "d2", where + " from its saved features")
        if again is not None and decisions(again) != decisions(m):
            fail(where, "the run from the saved features decided otherwise")
        print(f"ok: {where}: {sum(k)} of {n} units kept; saved rows equal; round trip identical")

    # patches, pairs to half the units
    size, stride = (8, 40, 40), (8, 30, 30)
    n = len(grid(shape, size, stride))
    e = embeddings(n, 16, 11, {1: 0, 5: 4})
    feats = tmp / "feats-patch"
    write_features(feats, {vid: e})
    where = "patch:8,40,40:8,30,30 deepnet --features -f 0.5"
    m = run(lessmore, [sample, "--unit", "patch:8,40,40:8,30,30", "-m", "deepnet", "--features", str(feats), "-f",
                       "0.5", "--format", "none"], tmp / "d3", where)
    if m is not None:
        units = m["volumes"][0]["units"]
        cos = cosine_matrix(e)
        kept = sum(u["kept"] for u in units)
        if len(units) != n or kept != int(np.ceil(round(0.5 * n, 9))):
            fail(where, f"{kept} of {len(units)} kept; expected {int(np.ceil(0.5 * n))} of {n}")
        for u in units:
            if not u["kept"] and abs(u["score"] - cos[u["index"], u["match"]]) > 1e-8:
                fail(where, f"unit {u['index']}: score {u['score']!r}, numpy gives {cos[u['index'], u['match']]!r}")
        print(f"ok: {where}: {kept} of {n} units kept")


def check_hash_saved(lessmore, tmp, sample, vid, stack):
    for unit, size, stride in (("slab:4:3", (4,) + stack.shape[1:], (3,) + stack.shape[1:]),
                               ("patch:3,48,48:2,40,40", (3, 48, 48), (2, 40, 40))):
        where = f"{unit} hash --save-features"
        saved = tmp / ("hash-" + unit.replace(":", "-").replace(",", "-"))
        m = run(lessmore, [sample, "--unit", unit, "-m", "hash", "-t", "6", "--format", "none", "--save-features",
                           str(saved)], tmp / ("h-" + saved.name), where)
        if m is None:
            continue
        origins = grid(stack.shape, size, stride)
        if [tuple(u["origin"]) for u in m["volumes"][0]["units"]] != origins:
            fail(where, "the units are not the grid")
            continue
        rows = []
        for z, y, x in origins:
            bits = []
            for k in range(size[0]):
                h = int(dhash_hex(minmax_u8(stack[z + k, y:y + size[1], x:x + size[2]])), 16)
                bits += [(h >> (63 - b)) & 1 for b in range(64)]
            rows.append(bits)
        check_saved_rows(where, saved, vid, np.array(rows, dtype=np.float32))
        print(f"ok: {where}: {len(origins)} rows of {size[0]} dhashes")


def cross_pass(volumes, score, t, higher):
    """docs/methods.md, section "Scope": volumes in id order; a unit kept by its volume is
    removed when similar to a unit that survived in an earlier volume, its match the most
    similar one (ties: the earliest in pass order). volumes: [(id, [unit index kept])]."""
    survivors, removed = [], {}
    for vid, kept in volumes:
        added = []
        for i in kept:
            best = None
            for sv, sj in survivors:
                s = score((vid, i), (sv, sj))
                if (s >= t if higher else s <= t) and (best is None or (s > best[2] if higher else s < best[2])):
                    best = (sv, sj, s)
            if best is None:
                added.append((vid, i))
            else:
                removed[(vid, i)] = best
        survivors += added
    return removed


def check_scope_against(where, m, volumes_kept, score, t, higher, out, files_of):
    removed = cross_pass(volumes_kept, score, t, higher)
    by_id = {v["id"]: v for v in m["volumes"]}
    for vid, kept in volumes_kept:
        for u in by_id[vid]["units"]:
            i = u["index"]
            if (vid, i) in removed:
                sv, sj, s = removed[(vid, i)]
                if u["kept"] or u["match_volume"] != sv or u["match"] != sj or abs(u["score"] - s) > 1e-8:
                    fail(where, f"{vid} unit {i}: kept {u['kept']} match {u['match_volume']}:{u['match']} "
                                f"score {u['score']}, expected removed by {sv}:{sj} at {s}")
                if u["output"] is not None:
                    fail(where, f"{vid} unit {i}: removed across volumes but output {u['output']}")
            elif i in kept:
                if not u["kept"] or u["match_volume"] is not None:
                    fail(where, f"{vid} unit {i}: removed by {u['match_volume']}:{u['match']}, expected kept")
                for f in (u["output"], u["output_npy"]):
                    if f and not (out / f).exists():
                        fail(where, f"{vid} unit {i}: {f} missing")
    # every removed unit's files (as a run without --scope writes them) are gone
    for (vid, i) in removed:
        for f in files_of.get((vid, i), []):
            if (out / f).exists():
                fail(where, f"{vid} unit {i}: {f} outlived the cross-volume pass")
    return len(removed)


def unit_files(manifest):
    """(volume, unit) -> the files a run wrote for it."""
    if manifest is None:
        return {}
    return {(v["id"], u["index"]): [f for f in (u["output"], u["output_npy"]) if f]
            for v in manifest["volumes"] for u in v["units"]}


def check_scope(lessmore, tmp, stack, affine, header):
    """Two volumes sharing identical slabs (b: a's slices 0-47, then a's slices mirrored in x)
    and a copy of a in another patient folder."""
    ds = tmp / "ds"
    (ds / "p1").mkdir(parents=True)
    (ds / "p2").mkdir(parents=True)
    data = np.transpose(stack, (2, 1, 0))  # back to nibabel's (x, y, z)
    b = data.copy()
    b[:, :, 48:] = data[::-1, :, 48:]
    vols = {"p1/a.nii.gz": stack, "p1/b.nii.gz": np.transpose(b, (2, 1, 0)), "p2/c.nii.gz": stack}
    nib.save(nib.Nifti1Image(data, affine, header), ds / "p1" / "a.nii.gz")
    nib.save(nib.Nifti1Image(b, affine, header), ds / "p1" / "b.nii.gz")
    nib.save(nib.Nifti1Image(data, affine, header), ds / "p2" / "c.nii.gz")
    shape = stack.shape
    origins = grid(shape, (8,) + shape[1:], (8,) + shape[1:])
    hashes = {vid: [int(dhash_hex(minmax_u8(s)), 16) for s in st] for vid, st in vols.items()}

    def hash_score(x, y):
        (va, a), (vb, b_) = x, y
        za, zb = origins[a][0], origins[b_][0]
        return max(bin(hashes[va][za + k] ^ hashes[vb][zb + k]).count("1") for k in range(8))

    def own_kept(vid):  # each volume's own leader walk at the same threshold
        k, _, _ = leader(len(origins), lambda i, j: -hash_score((vid, i), (vid, j)), -4)
        return [i for i in range(len(origins)) if k[i]]

    for scope, groups in (("patient", [["p1/a.nii.gz", "p1/b.nii.gz"], ["p2/c.nii.gz"]]),
                          ("dataset", [["p1/a.nii.gz", "p1/b.nii.gz", "p2/c.nii.gz"]])):
        where = f"slab:8 hash --scope {scope}"
        ms = []
        alone = run(lessmore, [str(ds), "--unit", "slab:8", "-m", "hash", "-t", "4", "--format", "both"],
                    tmp / f"s-{scope}-alone", where + " (without --scope)")
        files_of = unit_files(alone)
        for threads in ("1", "2"):
            m = run(lessmore, [str(ds), "--unit", "slab:8", "-m", "hash", "-t", "4", "--scope", scope, "--format",
                               "both", "-j", threads], tmp / f"s-{scope}-{threads}", where)
            ms.append(m)
        if None in ms:
            continue
        if decisions(ms[0]) != decisions(ms[1]):
            fail(where, "the manifests of --threads 1 and 2 differ")
        removed = 0
        for members in groups:
            removed += check_scope_against(where, ms[0], [(v, own_kept(v)) for v in members], hash_score, 4, False,
                                           tmp / f"s-{scope}-1", files_of)
        dup = [d["volume"] for d in ms[0].get("duplicates", [])]
        if removed < (6 if scope == "patient" else 20) or (scope == "dataset") != (dup == ["p2/c.nii.gz"]):
            fail(where, f"{removed} units removed across volumes, duplicates {dup}")
        print(f"ok: {where}: {removed} units removed across volumes")

    # DeepNet from --features on patches: b's rows for its first half copy a's
    size, stride = (8, 40, 40), (8, 30, 30)
    po = grid(shape, size, stride)
    n = len(po)
    ea = embeddings(n, 16, 5, {})
    eb = embeddings(n, 16, 6, {})
    shared = [i for i, (z, _, _) in enumerate(po) if z + 8 <= 48]
    eb[shared] = ea[shared] * 3
    ec = embeddings(n, 16, 8, {})
    rows = {"p1/a.nii.gz": ea, "p1/b.nii.gz": eb, "p2/c.nii.gz": ec}
    feats = tmp / "scope-feats"
    write_features(feats, rows)
    cos = {(x, y): cosine_matrix(np.vstack([rows[x], rows[y]]))[:n, n:] for x in rows for y in rows}
    where = "patch deepnet --features --scope dataset"
    alone = run(lessmore, [str(ds), "--unit", "patch:8,40,40:8,30,30", "-m", "deepnet", "--features", str(feats), "-t",
                           "0.97", "--format", "npy"], tmp / "s-deepnet-alone", where + " (without --scope)")
    m = run(lessmore, [str(ds), "--unit", "patch:8,40,40:8,30,30", "-m", "deepnet", "--features", str(feats), "-t",
                       "0.97", "--scope", "dataset", "--format", "npy"], tmp / "s-deepnet", where)
    if m is not None:
        def score(x, y):
            return cos[(x[0], y[0])][x[1], y[1]]
        kept = [(vid, [i for i in range(n) if leader(n, lambda a, b_: score((vid, a), (vid, b_)), 0.97)[0][i]])
                for vid in sorted(rows)]
        removed = check_scope_against(where, m, kept, score, 0.97, True, tmp / "s-deepnet", unit_files(alone))
        if removed != len(shared):
            fail(where, f"{removed} units removed across volumes, expected the {len(shared)} shared ones")
        print(f"ok: {where}: {removed} units removed across volumes")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    lessmore, root = sys.argv[1], pathlib.Path(sys.argv[2])
    sample_path = root / "tests" / "data" / "ct" / "nifti" / "example_ct.nii.gz"
    img = nib.load(sample_path)
    stack = np.transpose(np.asarray(img.dataobj), (2, 1, 0))  # [z, y, x]
    vid = sample_path.name
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        check_deepnet(lessmore, tmp, str(sample_path), vid, stack.shape)
        check_hash_saved(lessmore, tmp, str(sample_path), vid, stack)
        check_scope(lessmore, tmp, stack, img.affine, img.header)
    for message in failures:
        print(message)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
