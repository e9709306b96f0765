"""3-D units from Python (docs/python.md, "3-D units"): reduce_array(unit=...) decides what
the CLI decides for the same voxels saved by nibabel; Run.source_voxels of a unit row and
lessmore.torch.KeptUnits give nibabel's voxels of the unit's block (numpy slicing of the
source), from NPY and NIfTI alike, with DataLoader workers (fork and spawn)."""
import json
import shutil

import nibabel as nib
import numpy as np
import pytest

import lessmore
from conftest import SAMPLE, cli, manifest


def save(volume, path):
    """`volume` (Z, Y, X) as NIfTI by nibabel (data[x, y, z]), identity affine."""
    nib.save(nib.Nifti1Image(np.ascontiguousarray(volume).transpose(2, 1, 0), np.eye(4)), str(path))


def cli_units(volume, tmp_path, *args):
    """The CLI's manifest volume (its units) for `volume` saved as NIfTI."""
    path = tmp_path / "v.nii.gz"
    save(volume, path)
    out = tmp_path / "out"
    cli("reduce", path, "-o", out, "--format", "none", "-q", *args)
    m = manifest(out)
    return m["volumes"], m["skipped"]


METHODS = [
    (dict(unit="slab:4", threshold=6), ["--unit", "slab:4", "--threshold", "6"]),
    (dict(unit="slab:4:3", fraction=0.5), ["--unit", "slab:4:3", "--fraction", "0.5"]),
    (dict(unit="patch:8,32,32", threshold=10), ["--unit", "patch:8,32,32", "--threshold", "10"]),
    (dict(unit="patch:4,40,48:4,30,30", threshold=8, intensity="window:40,400"),
     ["--unit", "patch:4,40,48:4,30,30", "--threshold", "8", "--intensity", "window:40,400"]),
    (dict(unit="slab:8", method="ssim", threshold=0.5), ["--unit", "slab:8", "--method", "ssim", "--threshold", "0.5"]),
    (dict(unit="patch:8,48,48", method="mi", fraction=0.5, bins=32),
     ["--unit", "patch:8,48,48", "--method", "mi", "--fraction", "0.5", "--bins", "32"]),
    (dict(unit="slab:3:2", method="everyn", every=3), ["--unit", "slab:3:2", "--method", "everyn", "--every", "3"]),
    (dict(unit="slab:5mm", threshold=6), ["--unit", "slab:5mm", "--threshold", "6"]),
]


def assert_equal_to_manifest(r, v):
    units = v["units"]
    assert len(r) == len(units) > 0
    assert r.unit == v["unit"]
    np.testing.assert_array_equal(r.index, [u["index"] for u in units])
    np.testing.assert_array_equal(r.origin, [u["origin"] for u in units])
    np.testing.assert_array_equal(r.size, [u["size"] for u in units])
    np.testing.assert_array_equal(r.mask, [u["kept"] for u in units])
    np.testing.assert_array_equal(r.match, [-1 if u["match"] is None else u["match"] for u in units])
    np.testing.assert_array_equal(r.score, np.array([np.nan if u["score"] is None else u["score"] for u in units], float))
    assert r.dropped == [{"origin": tuple(d["origin"]), "size": tuple(d["size"])} for d in v["dropped_units"]]
    assert r.pairs == v["pairs"] and len(r.kept) == v["kept"]


@pytest.mark.parametrize("options,args", METHODS, ids=[" ".join(a) for _, a in METHODS])
def test_reduce_array_units_equal_the_cli(sample_volume, tmp_path, options, args):
    r = lessmore.reduce_array(sample_volume, **options)
    [v], _ = cli_units(sample_volume, tmp_path, *args)
    assert_equal_to_manifest(r, v)
    # the DataFrame holds the same rows, in Run.units' columns
    assert list(r.units.columns) == ["unit", "first_slice", "end_slice", "origin_z", "origin_y", "origin_x",
                                     "size_z", "size_y", "size_x", "kept", "match", "score"]
    assert r.units["end_slice"].tolist() == [u["origin"][0] + u["size"][0] for u in v["units"]]
    assert r.units["match"].tolist() == [pd_na(u["match"]) for u in v["units"]]
    assert r.skipped is None


def pd_na(x):
    import pandas as pd
    return pd.NA if x is None else x


@pytest.mark.parametrize("name", ["float32", "strided view", "uint8"])
def test_reduce_array_units_any_dtype_and_strides(sample_volume, tmp_path, name):
    v = {"float32": sample_volume.astype(np.float32) * 0.5,
         "strided view": sample_volume[:, ::-1, 1::2],
         "uint8": ((sample_volume.astype(np.int32) + 1024) // 16).clip(0, 255).astype(np.uint8)}[name]
    r = lessmore.reduce_array(v, unit="patch:6,32,32:3,32,32", threshold=8)
    [m], _ = cli_units(v, tmp_path, "--unit", "patch:6,32,32:3,32,32", "--threshold", "8")
    assert_equal_to_manifest(r, m)


def test_reduce_array_volume_smaller_than_a_unit_is_skipped_as_by_the_cli(sample_volume, tmp_path):
    r = lessmore.reduce_array(sample_volume, unit="slab:40", threshold=6)
    volumes, skipped = cli_units(sample_volume, tmp_path, "--unit", "slab:40", "--threshold", "6")
    assert volumes == [] and len(skipped) == 1
    assert len(r) == 0 and len(r.kept) == 0 and r.pairs == 0
    assert "smaller than one unit" in r.skipped and "smaller than one unit" in skipped[0]["reason"]


def test_unit_options_are_refused_as_by_the_cli(sample_volume):
    with pytest.raises(lessmore.UsageError, match="unit"):
        lessmore.reduce_array(sample_volume, unit="slab:0")
    with pytest.raises(lessmore.UsageError, match="ssim"):
        lessmore.reduce_array(sample_volume, unit="slab:4", method="ssim", threshold=0.5)  # 4 < 7-voxel window
    with pytest.raises(TypeError, match="unit"):
        lessmore.features(sample_volume, unit="slab:4")
    with pytest.raises(TypeError, match="format"):
        lessmore.reduce_array(sample_volume, unit="slab:4", format="npy")


@pytest.fixture(scope="module")
def unit_runs(tmp_path_factory):
    """The sample in two patient folders, reduced by the CLI into slabs (NPY only, NIfTI
    only) and patches (both)."""
    root = tmp_path_factory.mktemp("units")
    for patient in ("p1", "p2"):
        (root / "data" / patient).mkdir(parents=True)
        shutil.copy(SAMPLE, root / "data" / patient / "ct.nii.gz")
    runs = {}
    for name, args in {"npy": ["--unit", "slab:4", "--format", "npy", "--export-values", "hu"],
                       "nifti": ["--unit", "slab:4", "--format", "nifti"],
                       "patch": ["--unit", "patch:8,48,40:6,40,40", "--format", "both"]}.items():
        runs[name] = root / name
        p = cli("reduce", root / "data", "-o", runs[name], "--threshold", "6", "-q", *args)
        assert p.returncode == 0, p.stderr
    runs["root"] = root
    return runs


def block(volume, row):
    z, y, x = (int(row[f"origin_{a}"]) for a in "zyx")
    d, h, w = (int(row[f"size_{a}"]) for a in "zyx")
    return volume[z:z + d, y:y + h, x:x + w]


@pytest.mark.parametrize("name", ["npy", "patch"])
def test_source_voxels_of_a_unit_are_nibabels_block(unit_runs, sample_volume, name):
    run = lessmore.Run(unit_runs[name])
    img = nib.load(str(SAMPLE))
    rows = run.units.iloc[[0, len(run.units) // 2, len(run.units) - 1]]
    for _, row in rows.iterrows():
        voxels, g = run.source_voxels(row)
        expected = block(sample_volume, row)
        assert voxels.dtype == np.int16 and g["dtype"] == "int16" and voxels.shape == expected.shape
        np.testing.assert_array_equal(voxels, expected)
        if row["kept"]:
            np.testing.assert_array_equal(voxels, np.load(run.path / row["output_npy" if name == "patch" else "output"]))
            np.testing.assert_array_equal(voxels, run.load(row))
        assert g["origin"] == tuple(int(row[f"origin_{a}"]) for a in "zyx")
        assert g["size"] == voxels.shape and g["spacing"] == (3.0, 3.0, 3.0)
        # each slice's position is the block's first voxel in LPS (nibabel's RAS, x and y negated)
        z0, y0, x0 = g["origin"]
        for k, position in enumerate(g["positions"]):
            ras = img.affine @ [x0, y0, z0 + k, 1]
            np.testing.assert_allclose(position, [-ras[0], -ras[1], ras[2]], atol=1e-3)
    first = run.units.iloc[0]
    np.testing.assert_array_equal(run.source_voxels(0)[0], block(sample_volume, first))


def test_source_voxels_of_a_unit_no_longer_in_the_volume(tmp_path, sample_volume):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SAMPLE, data / "v.nii.gz")
    out = tmp_path / "o"
    cli("reduce", data, "-o", out, "--unit", "slab:4", "--threshold", "6", "-q")
    run = lessmore.Run(out)
    save(sample_volume[:10], data / "v.nii.gz")
    with pytest.raises(lessmore.UsageError, match=r"v.nii.gz: is 10 x 101 x 122 voxels .*does not fit"):
        run.source_voxels(run.units.iloc[-1])
    np.testing.assert_array_equal(run.source_voxels(0)[0], sample_volume[0:4])


torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402

from lessmore.torch import KeptSlices, KeptUnits  # noqa: E402


def numpy_values(b, values):
    """The values KeptUnits promises, from nibabel's voxels, in float64."""
    b = b.astype(np.float64)
    if values == "hu":
        return b
    if values == "minmax":  # one minimum and maximum over the whole unit
        return (b - b.min()) / (b.max() - b.min())
    return (np.clip(b, -160, 240) + 160) / 400  # window:40,400


@pytest.mark.parametrize("values", ["hu", "minmax", "window:40,400"])
def test_kept_units_equal_nibabels_voxels_from_npy_and_nifti(unit_runs, sample_volume, values):
    npy = KeptUnits(unit_runs["npy"], values=values, with_meta=True)
    nifti = KeptUnits(lessmore.Run(unit_runs["nifti"]), values=values, with_meta=True)
    kept = lessmore.Run(unit_runs["npy"]).kept_units
    assert len(npy) == len(nifti) == len(kept) > 0
    assert npy.paths[0].endswith(".npy") and nifti.paths[0].endswith(".nii.gz")
    for i in range(len(npy)):
        (x, meta), (y, meta_nifti) = npy[i], nifti[i]
        assert x.dtype == torch.float32 and x.shape == (1, 4, 101, 122)
        assert torch.equal(x, y)  # NIfTI transposed back to z, y, x: the same tensor
        assert (meta["volume"], meta["unit"]) == (meta_nifti["volume"], meta_nifti["unit"])
        assert meta["origin"].tolist() == [meta["origin_z"], 0, 0] and meta["size"].tolist() == [4, 101, 122]
        expected = numpy_values(block(sample_volume, meta), values)
        np.testing.assert_allclose(x[0].numpy(), expected, rtol=0, atol=0 if values == "hu" else 1e-6)


def test_kept_units_stored_values_and_patches(unit_runs, sample_volume):
    run = lessmore.Run(unit_runs["patch"])
    ds = KeptUnits(run, with_meta=True)
    assert len(ds) == int(run.units["kept"].sum()) and all(p.endswith(".npy") for p in ds.paths)
    for i in range(len(ds)):
        x, meta = ds[i]
        assert x.shape == (1, *meta["size"].tolist())
        np.testing.assert_array_equal(x[0].numpy(), block(sample_volume, meta).astype(np.float32))
    flip = KeptUnits(run, transform=lambda t: t.flip(-1))
    assert torch.equal(flip[0], ds[0][0].flip(-1))


def test_the_wrong_dataset_for_a_run_names_the_other(unit_runs, npy_run, tmp_path):
    with pytest.raises(ValueError, match="unit run .*KeptUnits"):
        KeptSlices(unit_runs["npy"])
    with pytest.raises(ValueError, match="slice run .*KeptSlices"):
        KeptUnits(npy_run)
    with pytest.raises(ValueError, match="values"):
        KeptUnits(unit_runs["npy"], values="window:40")
    out = tmp_path / "win"
    cli("reduce", SAMPLE, "-o", out, "--unit", "slab:4", "--format", "npy", "--export-values", "window:40,400",
        "--threshold", "6", "-q")
    with pytest.raises(ValueError, match="values: 'hu' .*window:40,400"):
        KeptUnits(out, values="hu")
    assert len(KeptUnits(out)) > 0


def test_split_keeps_one_splits_units(unit_runs, tmp_path):
    out = unit_runs["npy"]
    r = lessmore.split(out, tmp_path / "s.json", fractions=(0.5, 0.5), seed=3)
    datalist = json.loads((tmp_path / "s.json").read_text())
    parts = {name: KeptUnits(out, split=(tmp_path / "s.json", name), with_meta=True) for name in ("training", "validation")}
    for name, ds in parts.items():
        assert len(ds) == len(datalist[name]) > 0
        assert sorted((m["volume"], m["unit"]) for m in ds.meta) == \
               sorted((e["volume"], e["unit"]) for e in datalist[name])
    assert sum(len(ds) for ds in parts.values()) + r.excluded == len(KeptUnits(out))
    patients = [{m["patient"] for m in ds.meta} for ds in parts.values()]
    assert patients[0].isdisjoint(patients[1])
    assert len(KeptUnits(out, split=["p1/ct.nii.gz"])) == len(KeptUnits(out)) // 2
    slices = tmp_path / "slices.json"  # a slice run's datalist
    slices.write_text(json.dumps({"training": [{"volume": "p1/ct.nii.gz", "slice": 0}]}))
    with pytest.raises(ValueError, match="split: .*'unit'.*KeptSlices"):
        KeptUnits(out, split=(slices, "training"))


@pytest.mark.parametrize("workers,context", [(0, None), (2, "fork"), (2, "spawn")])
def test_dataloader_yields_every_kept_unit_once(unit_runs, workers, context):
    ds = KeptUnits(unit_runs["nifti"], values="window:40,400", with_meta=True)
    loader = DataLoader(ds, batch_size=3, num_workers=workers, multiprocessing_context=context)
    seen = []
    for x, meta in loader:
        assert x.shape[1:] == (1, 4, 101, 122) and x.dtype == torch.float32
        assert meta["origin"].shape == (x.shape[0], 3) and meta["size"].tolist() == [[4, 101, 122]] * x.shape[0]
        seen += list(zip(meta["volume"], meta["unit"].tolist()))
    kept = lessmore.Run(unit_runs["nifti"]).kept_units
    expected = list(zip(kept["volume"], kept["unit"]))
    assert seen == expected and len(set(seen)) == len(seen)


def test_units_example_runs(tmp_path):
    import os
    import subprocess
    import sys
    from conftest import ROOT
    example = ROOT / "examples" / "units_pipeline.py"
    assert len(example.read_text().splitlines()) <= 60
    p = subprocess.run([sys.executable, str(example), str(SAMPLE), str(tmp_path / "out")], capture_output=True,
                       text=True, env=os.environ, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "kept 12 of 12 patches" in p.stdout and "step 3" in p.stdout
