"""lessmore.torch.KeptSlices: values equal to the NPY files and to an independent windowing
of nibabel's voxels; every kept slice once with 0 and 2 workers (fork and spawn)."""
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402

import lessmore  # noqa: E402
from lessmore.torch import KeptSlices  # noqa: E402
from conftest import ROOT, SAMPLE  # noqa: E402


def test_import_lessmore_needs_no_torch():
    code = "import sys; sys.modules['torch'] = None; import lessmore; print(lessmore.Run.__name__)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    assert p.returncode == 0 and p.stdout.strip() == "Run", p.stderr


def test_values_equal_the_npy_files_and_nibabel(npy_run, sample_volume):
    run = lessmore.Run(npy_run)
    hu = KeptSlices(run, values="hu", with_meta=True)
    assert len(hu) == int(run.slices["kept"].sum())
    win = KeptSlices(npy_run, values="window:40,400")
    for i in range(len(hu)):
        x, meta = hu[i]
        assert x.dtype == torch.float32 and x.shape == (1, 101, 122)
        np.testing.assert_array_equal(x[0].numpy(), np.load(npy_run / meta["output_npy"]).astype(np.float32))
        voxels = sample_volume[meta["index"]].astype(np.float64)  # nibabel's, (Y, X)
        expected = (np.clip(voxels, -160, 240) + 160) / 400
        np.testing.assert_allclose(win[i][0].numpy(), expected, rtol=0, atol=1e-6)


def test_png_run_by_default(tmp_path):
    out = tmp_path / "png"
    lessmore.reduce(SAMPLE, out, threshold=6)
    ds = KeptSlices(out)
    x = ds[0]
    assert x.dtype == torch.float32 and float(x.max()) <= 255 and float(x.max()) > 1
    with pytest.raises(ValueError, match="values"):
        KeptSlices(out, values="hu")
    with pytest.raises(ValueError, match="values"):
        KeptSlices(out, values="window:1")


def test_split_keeps_one_splits_volumes(npy_run, tmp_path):
    import json
    f = tmp_path / "splits.json"
    kept = lessmore.Run(npy_run).kept
    training = [{"image": "x", "volume": v, "patient": "p", "slice": int(i)} for v, i in zip(kept["volume"], kept["index"])]
    f.write_text(json.dumps({"training": training, "validation": []}))
    assert len(KeptSlices(npy_run, split=(f, "validation"))) == 0
    assert len(KeptSlices(npy_run, split=(f, "training"))) == len(KeptSlices(npy_run))
    with pytest.raises(ValueError, match="split"):
        KeptSlices(npy_run, split=(f, "test"))
    f.write_text(json.dumps({"training": training[1:]}))
    assert len(KeptSlices(npy_run, split=(f, "training"))) == len(training) - 1
    assert len(KeptSlices(npy_run, split=["example_ct_sm.nii.gz"])) == len(training)


@pytest.mark.parametrize("workers,context", [(0, None), (2, "fork"), (2, "spawn")])
def test_dataloader_yields_every_kept_slice_once(npy_run, workers, context):
    ds = KeptSlices(npy_run, values="hu", with_meta=True)
    loader = DataLoader(ds, batch_size=4, num_workers=workers, multiprocessing_context=context)
    seen = []
    for x, meta in loader:
        assert x.shape[1:] == (1, 101, 122)
        seen += list(zip(meta["volume"], meta["index"].tolist()))
    run = lessmore.Run(npy_run)
    expected = [(r["volume"], r["index"]) for _, r in run.kept.iterrows()]
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))


def test_simclr_example_runs(tmp_path):
    example = ROOT / "examples" / "simclr_pipeline.py"
    assert len(example.read_text().splitlines()) <= 60
    p = subprocess.run([sys.executable, str(example), str(SAMPLE), str(tmp_path / "out")], capture_output=True,
                       text=True, env=os.environ, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "step 3" in p.stdout


def test_split_from_python_keeps_copies_together(tmp_path):
    import json
    import shutil
    for patient in ("p1", "p2"):
        (tmp_path / "data" / patient).mkdir(parents=True)
        shutil.copy(SAMPLE, tmp_path / "data" / patient / "ct.nii.gz")
    out = tmp_path / "out"
    lessmore.reduce(tmp_path / "data", out, threshold=6, format="npy")
    r = lessmore.split(out, tmp_path / "s.json", fractions=(0.5, 0.5))
    assert r.cross_split_pairs == 0
    assert len(r.largest["units"]) == 2  # the copy ties the two patients into one group
    datalist = json.loads((tmp_path / "s.json").read_text())
    parts = [KeptSlices(out, split=(tmp_path / "s.json", name)) for name in ("training", "validation")]
    assert [len(p) for p in parts] == [len(datalist["training"]), len(datalist["validation"])]
    assert sum(len(p) for p in parts) + r.excluded == len(KeptSlices(out))
    with pytest.raises(ValueError, match="fractions"):
        lessmore.split(out, tmp_path / "t.json", fractions=(0.5, 0.6))
