"""lessmore.Run: DataFrames equal to the manifests the CLI wrote, typed; load(row) equal to
the written files (read by numpy and Pillow)."""
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import lessmore
from conftest import cli, manifest


def test_slices_equal_the_csv(npy_run):
    run = lessmore.Run(npy_run)
    csv = pd.read_csv(npy_run / "manifest.csv", keep_default_na=True)
    assert len(run.slices) == len(csv) == 30
    for c in csv.columns:
        if c not in run.slices.columns:
            assert csv[c].isna().all(), c  # a column with no value in any row is left out of the JSON too
            continue
        a, b = run.slices[c], csv[c]
        if a.dtype == object:
            assert [x if isinstance(x, str) else None for x in a] == [x if isinstance(x, str) else None for x in b], c
        else:
            np.testing.assert_array_equal(a.astype("float64").to_numpy(na_value=np.nan),
                                          b.astype("float64").to_numpy(), err_msg=c)


def test_dtypes(npy_run):
    s = lessmore.Run(npy_run).slices
    assert s["kept"].dtype == bool and s["index"].dtype == np.int64
    assert s["score"].dtype == np.float64 and str(s["match"].dtype) == "Int64"
    assert s["volume"].dtype == object and s["z"].dtype == np.float64


def test_volumes_parameters_errors_equal_the_json(npy_run):
    run = lessmore.Run(npy_run)
    m = manifest(npy_run)
    assert run.parameters == m["parameters"] and run.errors == m["errors"] and run.skipped == m["skipped"]
    [v] = m["volumes"]
    row = run.volumes.iloc[0]
    assert row["id"] == v["id"] and row["kept"] == v["kept"] and row["pairs"] == v["pairs"]
    assert [row["size_x"], row["size_y"], row["size_z"]] == v["size"]
    assert [row["spacing_x"], row["spacing_y"], row["spacing_z"]] == v["spacing"]
    assert run.kept["index"].tolist() == [s["index"] for s in v["slices"] if s["kept"]]


def test_load_reads_the_written_files(npy_run):
    run = lessmore.Run(npy_run)
    for _, row in run.kept.iterrows():
        npy = np.load(npy_run / row["output_npy"])
        stored = run.load(row)
        assert stored.dtype == npy.dtype
        np.testing.assert_array_equal(stored, npy)
        np.testing.assert_array_equal(run.load(row, values="hu"), npy.astype(np.float32))
    first = run.kept.index[0]
    assert run.load(int(first)).shape == npy.shape
    removed = run.slices[~run.slices["kept"]].iloc[0]
    with pytest.raises(ValueError, match="row: slice"):
        run.load(removed)


def test_png_run(sample, tmp_path):
    cli("reduce", sample, "-o", tmp_path / "o", "--threshold", "6", "-q")
    run = lessmore.Run(tmp_path / "o")
    row = run.kept.iloc[0]
    with Image.open(tmp_path / "o" / row["output"]) as im:
        np.testing.assert_array_equal(run.load(row), np.asarray(im))
    with pytest.raises(ValueError, match="values:.*PNG"):
        run.load(row, values="hu")


def test_not_a_run_is_a_usage_error(tmp_path):
    with pytest.raises(lessmore.UsageError, match="no finished lessmore run"):
        lessmore.Run(tmp_path)


def test_a_damaged_record_is_refused_naming_it(npy_run, tmp_path):
    import shutil
    out = tmp_path / "copy"
    shutil.copytree(npy_run, out)
    [record] = (out / ".lessmore" / "records").glob("*.json")
    data = json.loads(record.read_text())
    data["volumes"][0]["slices"][0]["output"] = "../../etc/passwd"
    record.write_text(json.dumps(data))
    with pytest.raises(lessmore.UsageError, match="output"):
        lessmore.Run(out)


def test_source_voxels_are_nibabels(npy_run, sample_volume):
    run = lessmore.Run(npy_run)
    for _, row in run.slices.iloc[[0, 7, 29]].iterrows():
        voxels, geometry = run.source_voxels(row)
        assert voxels.dtype == np.int16 and geometry["dtype"] == "int16"
        np.testing.assert_array_equal(voxels, sample_volume[row["index"]])
        assert geometry["spacing"] == (3.0, 3.0, 3.0) and geometry["z"] == row["z"]
        if row["kept"]:
            np.testing.assert_array_equal(voxels, run.load(row))


def test_source_voxels_of_a_volume_gone_is_a_usage_error(sample, tmp_path):
    import shutil
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(sample, data / "v.nii.gz")
    lessmore.reduce(data, tmp_path / "o", threshold=6)
    run = lessmore.Run(tmp_path / "o")
    (data / "v.nii.gz").unlink()
    (data / "w.nii.gz").write_bytes(b"")
    with pytest.raises(lessmore.UsageError, match="v.nii.gz: not among the run's inputs"):
        run.source_voxels(0)


def test_a_unit_run_has_units_and_no_slice_rows(sample, tmp_path):
    """A --unit slab run (docs/output.md, "Unit rows"): .units equals manifest.csv as pandas
    reads it and the manifest's units; no slice rows; lessmore.split deals the kept units as
    the CLI does."""
    import shutil
    for patient in ("p1", "p2"):
        (tmp_path / "data" / patient).mkdir(parents=True)
        shutil.copy(sample, tmp_path / "data" / patient / "ct.nii.gz")
    out = tmp_path / "out"
    cli("reduce", tmp_path / "data", "-o", out, "--unit", "slab:4", "-m", "everyn", "--every", "2", "-q")
    run = lessmore.Run(out)
    m = manifest(out)
    assert run.parameters == m["parameters"] and run.parameters["unit"] == "slab:4:4"
    assert len(run.slices) == 0 and "index" in run.slices.columns
    csv = pd.read_csv(out / "manifest.csv", keep_default_na=True)
    assert list(run.units.columns) == list(csv.columns)
    assert len(run.units) == len(csv) == sum(len(v["units"]) for v in m["volumes"]) == 14  # 30 slices: 7 slabs each
    for c in ("volume", "output", "unit_spec"):
        assert [x if isinstance(x, str) else None for x in run.units[c]] == \
               [x if isinstance(x, str) else None for x in csv[c]], c
    for c in ("unit", "first_slice", "end_slice", "origin_z", "size_x", "kept"):
        assert run.units[c].tolist() == csv[c].tolist(), c
    assert run.units["kept"].dtype == bool and run.units["unit"].dtype == np.int64
    assert run.volumes["id"].tolist() == [v["id"] for v in m["volumes"]]
    assert "units" not in run.volumes.columns and "unit" in run.volumes.columns
    r = lessmore.split(out, tmp_path / "py.json", fractions=(0.5, 0.5), seed=1)
    p = cli("split", out, "-o", tmp_path / "cli.json", "--fractions", "0.5,0.5", "--seed", "1")
    assert p.returncode == 0, p.stderr
    written = json.loads((tmp_path / "cli.json").read_text())
    assert r.data == written["lessmore"] and r.data["unit"] == "slab:4:4" and r.data["threshold"] is None
    rows = written["training"] + written["validation"]
    assert len(rows) == int(run.units["kept"].sum()) == 8
    assert {row["patient"] for row in written["training"]}.isdisjoint({row["patient"] for row in written["validation"]})
