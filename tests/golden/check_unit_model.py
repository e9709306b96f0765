#!/usr/bin/python3
"""`lessmore reduce --unit patch|slab --method deepnet --model M.pt` with a 3-D model
(docs/models.md, section "3-D models") against torch's own forward pass.

The models are those tests/data/export_torch_models.py exports (weights=None, seeded):
- unit3d.pt (depth 8, 8-bit, an embedding) on patch:8,48,48:8,40,40: each unit's block is
  made here from nibabel's voxels — one min-max over the unit (reference_preprocessing.py's
  minmax_u8), each slice area-resized 48 -> 24 (2 x 2 means, rounded half up, as OpenCV's
  INTER_AREA does for a factor of 2), (v / 255 - 0.5) / 0.25 — and run through
  torch.jit.load(unit3d.pt) one unit at a time; lessmore's --save-features rows equal torch's
  embeddings within 1e-4, its scores numpy's cosine of them within 1e-5, and its kept units,
  matches and scores those of the leader walk replayed on them (check_units.py);
- unit3d_map.pt (any depth, values "hu", a 5-D feature map pooled by lessmore) on
  patch:6,40,40:6,30,30: the HU values clipped to [-300, 400], resized 40 -> 20 by 2 x 2
  means in float, (v / 350 - 0.1) / 0.5, torch's map averaged over D, H and W here;
- --threads 1 --batch 1 and --threads 2 --batch 3 write byte-identical features and the same
  decisions; --scope dataset on the volume and its copy in another patient folder removes
  the copy's surviving units (cosine 1) through the run records' text features;
- usage errors, each one line and exit 2 before OUT is made: a 2-D model on units, a
  depth-8 model on slab:4, a fixed-depth model on slab:24mm, the 3-D model as ONNX.

Usage: check_unit_model.py LESSMORE SOURCE_DIR MODELS_DIR. Exit 0 when every check passes;
else prints each failure and exits 1; 77 (skipped) without torch or the exported models.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np

try:
    import torch
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e}")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_preprocessing import minmax_u8  # noqa: E402
import check_units  # noqa: E402  (the leader replay, one copy)

torch.set_num_threads(1)
failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def grid(shape, size, stride):
    """Unit origins, z-major (docs/methods.md, "Unit geometry")."""
    axes = [range(0, n - s + 1, st) for n, s, st in zip(shape, size, stride)]
    return [(z, y, x) for z in axes[0] for y in axes[1] for x in axes[2]]


def halve_u8(u8):
    """2 x 2 area means of a uint8 (D, H, W) block, rounded half up (OpenCV INTER_AREA, factor 2)."""
    s = u8.astype(np.int64)
    s = s[:, 0::2, 0::2] + s[:, 1::2, 0::2] + s[:, 0::2, 1::2] + s[:, 1::2, 1::2]
    return ((s + 2) // 4).astype(np.float64)


def halve_f(v):
    """2 x 2 area means of a float (D, H, W) block."""
    v = v.astype(np.float32)
    return ((v[:, 0::2, 0::2] + v[:, 1::2, 0::2] + v[:, 0::2, 1::2] + v[:, 1::2, 1::2]) / 4).astype(np.float64)


def forward(model, blocks, pool):
    """torch's embeddings of preprocessed (D, H, W) blocks, one unit per forward pass."""
    out = []
    with torch.no_grad():
        for b in blocks:
            y = model(torch.from_numpy(b.astype(np.float32)[None, None])).numpy()[0].astype(np.float64)
            out.append(y.reshape(y.shape[0], -1).mean(axis=1) if pool else y.reshape(-1))
    return np.array(out)


def cosine_matrix(e):
    u = e / np.linalg.norm(e, axis=1)[:, None]
    return u @ u.T


def threshold_between(cos):
    """A threshold in the widest gap between the pairs' cosines near their 70th percentile,
    so float32 rounding cannot change a decision."""
    v = np.unique(cos[np.triu_indices(len(cos), 1)])
    k0 = int(0.7 * (len(v) - 1))
    ks = range(max(0, k0 - 15), min(len(v) - 1, k0 + 15))
    k = max(ks, key=lambda i: v[i + 1] - v[i])
    return float((v[k] + v[k + 1]) / 2), float(v[k + 1] - v[k])


def run(lessmore, args, out, where, expect=0):
    r = subprocess.run([lessmore, "reduce", *args, "-o", str(out), "--progress", "none", "-q"],
                       capture_output=True, text=True)
    if r.returncode != expect:
        fail(where, f"exit {r.returncode}, expected {expect}: {r.stderr.strip()}")
        return None
    if expect != 0:
        return r
    return json.loads((out / "manifest.json").read_text())


def saved_rows(folder, vid):
    return np.load(folder / (vid.replace("/", "+") + ".npy"))


def check_model(lessmore, tmp, sample, vid, stack, models, name, unit, size, stride, prep, pool):
    where = f"{unit} --model {name}.pt"
    model = torch.jit.load(str(models / f"{name}.pt"))
    origins = grid(stack.shape, size, stride)
    blocks = [prep(stack[z:z + size[0], y:y + size[1], x:x + size[2]]) for z, y, x in origins]
    want = forward(model, blocks, pool)
    cos = cosine_matrix(want)
    t, gap = threshold_between(cos)
    saved = tmp / f"saved-{name}"
    m = run(lessmore, [sample, "--unit", unit, "-m", "deepnet", "--model", str(models / f"{name}.pt"), "-t", repr(t),
                       "--format", "none", "--save-features", str(saved)], tmp / f"r-{name}", where)
    if m is None:
        return
    got = saved_rows(saved, vid)
    if got.dtype != np.float32 or got.shape != want.shape:
        fail(where, f"saved {got.dtype} {got.shape}, torch gives {want.shape}")
        return
    err = np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))
    if err > 1e-4:
        fail(where, f"embeddings differ from torch's by {err:.3g}")
    units = m["volumes"][0]["units"]
    if [tuple(u["origin"]) for u in units] != origins:
        fail(where, "the units are not the grid")
        return
    kept, match, sc = check_units.leader(len(origins), lambda i, j: cos[i, j], True, t)
    for u in units:
        i = u["index"]
        if u["kept"] != kept[i] or u["match"] != match[i]:
            fail(where, f"unit {i}: kept {u['kept']} match {u['match']}, torch's cosine gives {kept[i]} {match[i]}")
        elif sc[i] is not None and abs(u["score"] - sc[i]) > 1e-5:
            fail(where, f"unit {i}: score {u['score']!r}, torch's cosine gives {sc[i]!r}")
    if all(kept) or not any(kept):
        fail(where, f"threshold {t} decides nothing: {sum(kept)} of {len(kept)} kept")
    desc = m["parameters"]
    if desc.get("model_runtime") != "torchscript" or desc.get("depth") != json.loads(
            (models / f"{name}.json").read_text())["depth"]:
        fail(where, f"recorded runtime {desc.get('model_runtime')!r} depth {desc.get('depth')!r}")
    print(f"ok: {where}: {len(units)} units, embeddings within {err:.2g} of torch's, "
          f"{sum(kept)} kept at {t:.6f} (gap {gap:.2g})")
    return t


def check_determinism(lessmore, tmp, sample, vid, models, unit, t):
    where = f"{unit} --model unit3d.pt threads/batch"
    outs = []
    for j, b in (("1", "1"), ("2", "3")):
        saved = tmp / f"det-{j}"
        m = run(lessmore, [sample, "--unit", unit, "-m", "deepnet", "--model", str(models / "unit3d.pt"), "-t",
                           repr(t), "--format", "none", "--save-features", str(saved), "-j", j, "--batch", b],
                tmp / f"d-{j}", where)
        if m is None:
            return
        outs.append(((saved / (vid + ".npy")).read_bytes(),
                     [{k: u[k] for k in ("kept", "match", "score")} for u in m["volumes"][0]["units"]]))
    if outs[0][0] != outs[1][0]:
        fail(where, "-j 1 --batch 1 and -j 2 --batch 3 saved different embeddings")
    if outs[0][1] != outs[1][1]:
        fail(where, "-j 1 --batch 1 and -j 2 --batch 3 decided otherwise")
    print(f"ok: {where}: identical")


def check_scope(lessmore, tmp, img, models, unit, t):
    where = f"{unit} --model unit3d.pt --scope dataset"
    ds = tmp / "ds"
    for p in ("p1", "p2"):
        (ds / p).mkdir(parents=True)
        nib.save(img, ds / p / "ct.nii.gz")
    m = run(lessmore, [str(ds), "--unit", unit, "-m", "deepnet", "--model", str(models / "unit3d.pt"), "-t", repr(t),
                       "--scope", "dataset", "--format", "none"], tmp / "scope", where)
    if m is None:
        return
    vols = {v["id"]: v for v in m["volumes"]}
    first, copy = vols["p1/ct.nii.gz"]["units"], vols["p2/ct.nii.gz"]["units"]
    # The copy's own walk removes what the first volume's removes; every unit it keeps is
    # then removed across volumes by an identical embedding (cosine 1).
    across = 0
    for f, u in zip(first, copy):
        if f["match_volume"] is not None:
            fail(where, f"unit {f['index']} of the first volume was removed across volumes")
        elif not f["kept"]:
            if u["kept"] or u["match_volume"] is not None or u["match"] != f["match"]:
                fail(where, f"copy unit {u['index']}: match {u['match_volume']}:{u['match']}, its own walk's is "
                            f"{f['match']}")
        elif u["kept"] or u["match_volume"] != "p1/ct.nii.gz" or abs(u["score"] - 1.0) > 1e-9:
            fail(where, f"copy unit {u['index']}: kept {u['kept']} match {u['match_volume']}:{u['match']} "
                        f"score {u['score']}, expected removed across volumes at cosine 1")
        else:
            across += 1
    if [d["volume"] for d in m.get("duplicates", [])] != ["p2/ct.nii.gz"]:
        fail(where, f"duplicates {m.get('duplicates')}")
    if across == 0 or any(u["kept"] for u in copy):
        fail(where, f"{across} units of the copy removed across volumes, {sum(u['kept'] for u in copy)} kept")
    print(f"ok: {where}: the copy's {across} surviving units removed across volumes, none kept")


def check_refusals(lessmore, tmp, sample, models):
    cases = [
        ("2-D model", ["--unit", "patch:8,48,48", "--model", str(models / "ct_cnn.pt")],
         ["--unit patch:8,48,48", "--model", "embeds 2-D slices"]),
        ("depth mismatch", ["--unit", "slab:4", "--model", str(models / "unit3d.pt")],
         ["--unit slab:4", "--model", "8 slices", "has 4"]),
        ("depth in mm", ["--unit", "slab:24mm", "--model", str(models / "unit3d.pt")],
         ["--unit slab:24mm", "--model", "not mm"]),
        ("3-D ONNX", ["--unit", "patch:8,48,48", "--model", str(models / "unit3d_graph.onnx")],
         ["--model", "3-D ONNX", "TorchScript"]),
    ]
    for what, args, words in cases:
        out = tmp / ("refused-" + what.replace(" ", "-"))
        r = run(lessmore, [sample, "-m", "deepnet", "-t", "0.9", *args], out, what, expect=2)
        if r is None:
            continue
        lines = r.stderr.strip().splitlines()
        if len(lines) != 1 or any(w not in lines[0] for w in words):
            fail(what, f"expected one line naming {words}: {r.stderr.strip()!r}")
        elif out.exists():
            fail(what, "OUT was made")
        else:
            print(f"ok: refused ({what}): {lines[0]}")


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    lessmore, root, models = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    if not (models / "unit3d.pt").exists():
        print(f"skipped: no {models / 'unit3d.pt'} (tests/data/export_torch_models.py)")
        return 77
    sample_path = root / "tests" / "data" / "ct" / "nifti" / "example_ct.nii.gz"
    img = nib.load(sample_path)
    stack = np.transpose(np.asarray(img.dataobj), (2, 1, 0))  # [z, y, x]
    vid = sample_path.name

    def prep_8bit(block):
        return (halve_u8(minmax_u8(block)) / 255 - 0.5) / 0.25

    def prep_hu(block):
        return (halve_f(np.clip(block.astype(np.float64), -300, 400)) / 350 - 0.1) / 0.5

    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        t = check_model(lessmore, tmp, str(sample_path), vid, stack, models, "unit3d", "patch:8,48,48:8,40,40",
                        (8, 48, 48), (8, 40, 40), prep_8bit, False)
        check_model(lessmore, tmp, str(sample_path), vid, stack, models, "unit3d_map", "patch:6,40,40:6,30,30",
                    (6, 40, 40), (6, 30, 30), prep_hu, True)
        if t is not None:
            check_determinism(lessmore, tmp, str(sample_path), vid, models, "patch:8,48,48:8,40,40", t)
            check_scope(lessmore, tmp, img, models, "patch:8,48,48:8,40,40", t)
        check_refusals(lessmore, tmp, str(sample_path), models)
    for message in failures:
        print(message)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
