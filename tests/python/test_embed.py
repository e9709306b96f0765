"""lessmore.reduce(..., embed=f): a Python function as DeepNet's model. Its decisions equal
the CLI's from the same embeddings (--features) and, for a torch model, the CLI's TorchScript
run; a failure inside the function reaches the caller as the function's own exception and
leaves OUT resumable; outputs that are not embeddings are refused naming `embed`."""
import json
import os
import shutil
import signal
import threading

import numpy as np
import pytest

import lessmore
from conftest import SAMPLE, cli, manifest

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float64)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float64)


class Projection:
    """A pure-NumPy embedder: 8 x 8 mean pooling, then a fixed seeded random projection to
    32 values, each row on its own (float64, so a row's result never depends on the batch).
    Records every batch it is given."""

    def __init__(self, dim=32):
        self.dim = dim
        self.batches = []
        self.outputs = []
        self.lock = threading.Lock()

    def __call__(self, batch):
        n, c, h, w = batch.shape
        pooled = batch.astype(np.float64).reshape(n, c, h // 8, 8, w // 8, 8).mean(axis=(3, 5))
        matrix = np.random.default_rng(7).standard_normal((c * (h // 8) * (w // 8), self.dim))
        out = np.stack([row.reshape(-1) @ matrix for row in pooled]).astype(np.float32)
        with self.lock:
            self.batches.append(batch.copy())
            self.outputs.append(out)
        return out


def slices_of(m):
    """Per volume id: each slice's kept flag, match and score (the decisions)."""
    return {v["id"]: [(s["kept"], s.get("match"), s.get("score")) for s in v["slices"]] for v in m["volumes"]}


@pytest.fixture(scope="module")
def two_volumes(tmp_path_factory):
    """Two volumes: the sample and the sample upside down."""
    import nibabel as nib
    d = tmp_path_factory.mktemp("inputs")
    shutil.copy(SAMPLE, d / "a.nii.gz")
    img = nib.load(str(SAMPLE))
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj)[:, ::-1, :].copy(), img.affine, img.header), str(d / "b.nii.gz"))
    return d


def test_batches_are_float32_nchw_with_the_imagenet_preprocessing(tmp_path):
    f = Projection()
    lessmore.reduce(SAMPLE, tmp_path / "out", method="deepnet", threshold=0.99, embed=f)
    batches = f.batches[1:]  # the first is the blank trial batch, before anything is written
    assert f.batches[0].shape == (1, 3, 224, 224)
    assert sum(len(b) for b in batches) == 30 and all(len(b) <= 32 for b in batches)
    for b in batches:
        assert b.dtype == np.float32 and b.shape[1:] == (3, 224, 224) and b.flags.c_contiguous
        grey = b.astype(np.float64) * STD[None, :, None, None] + MEAN[None, :, None, None]  # x / 255 per channel
        np.testing.assert_allclose(grey[:, 0], grey[:, 1], atol=1e-5)
        np.testing.assert_allclose(grey[:, 0], grey[:, 2], atol=1e-5)
        levels = grey * 255
        np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
        assert levels.min() > -1e-3 and levels.max() < 255 + 1e-3


def test_decisions_equal_the_cli_from_the_same_features(tmp_path, two_volumes):
    f = Projection()
    feats = tmp_path / "features"
    s = lessmore.reduce(two_volumes, tmp_path / "py", method="deepnet", threshold=0.995, embed=f, save_features=feats)
    assert s.failed == 0 and 0 < s.kept < s.slices
    # What was saved is what the function returned, row for row.
    returned = {row.tobytes() for out in f.outputs[1:] for row in out}
    saved = [np.load(feats / name) for name in sorted(os.listdir(feats)) if name.endswith(".npy")]
    assert sum(len(a) for a in saved) == s.slices
    assert all(row.tobytes() in returned for a in saved for row in a)
    cli("reduce", two_volumes, "-o", tmp_path / "cli", "--method", "deepnet", "--threshold", "0.995",
        "--features", feats, "-q")
    py, ref = manifest(tmp_path / "py"), manifest(tmp_path / "cli")
    assert slices_of(py) == slices_of(ref)
    assert py["summary"]["kept"] == ref["summary"]["kept"]


def test_manifest_records_the_callback_and_its_input(tmp_path):
    lessmore.reduce(SAMPLE, tmp_path / "out", method="deepnet", threshold=0.99, embed=Projection(),
                    input_size=[112, 96], batch=8)
    p = manifest(tmp_path / "out")["parameters"]
    assert p["model"] == "callback" and p["model_runtime"] == "callback"
    assert p["model_sha256"] == "" and p["model_sidecar"] is None
    assert p["input_size"] == [112, 96] and p["channels"] == 3 and p["values"] == "8bit"
    assert p["scale"] == pytest.approx(1 / 255) and p["mean"] == pytest.approx(list(MEAN))
    assert p["std"] == pytest.approx(list(STD)) and p["embedding_size"] == 32 and p["batch"] == 8
    # Later commands work from the embeddings the records keep.
    r = lessmore.Run(tmp_path / "out")
    assert int(r.slices["kept"].sum()) == manifest(tmp_path / "out")["summary"]["kept"]


def test_threads_and_batch_do_not_change_anything(tmp_path, two_volumes):
    runs = {}
    for threads, batch in [(1, 32), (2, 32), (2, 3)]:
        out, feats = tmp_path / f"t{threads}b{batch}", tmp_path / f"f{threads}b{batch}"
        lessmore.reduce(two_volumes, out, method="deepnet", threshold=0.995, embed=Projection(), threads=threads,
                        batch=batch, save_features=feats)
        runs[(threads, batch)] = (slices_of(manifest(out)),
                                  {n: np.load(feats / n) for n in os.listdir(feats) if n.endswith(".npy")})
    ref_slices, ref_feats = runs[(1, 32)]
    for key, (slices, feats) in runs.items():
        assert slices == ref_slices, key
        assert feats.keys() == ref_feats.keys()
        for n in feats:
            np.testing.assert_array_equal(feats[n], ref_feats[n])


def test_reduce_array_and_sweep_take_embed(tmp_path, sample_volume):
    f = Projection()
    lessmore.reduce(SAMPLE, tmp_path / "out", method="deepnet", threshold=0.995, embed=f)
    kept = [s["kept"] for s in manifest(tmp_path / "out")["volumes"][0]["slices"]]
    a = lessmore.reduce_array(sample_volume, method="deepnet", threshold=0.995, embed=Projection())
    assert list(a.mask) == kept
    sw = lessmore.sweep(SAMPLE, method="deepnet", thresholds=[0.995], embed=Projection())
    assert sw.thresholds[0]["kept"] == sum(kept)


class Boom:
    """Raises on its n-th call (the first is the trial batch)."""

    def __init__(self, n, error):
        self.calls, self.n, self.error, self.inner = 0, n, error, Projection()
        self.lock = threading.Lock()

    def __call__(self, batch):
        with self.lock:
            self.calls += 1
            call = self.calls
        if call == self.n:
            raise self.error
        return self.inner(batch)


class MyError(Exception):
    pass


@pytest.mark.parametrize("error", [RuntimeError("boom"), MyError("custom, with its type")])
def test_an_exception_in_embed_is_raised_as_it_is_and_out_stays_resumable(tmp_path, two_volumes, error):
    out = tmp_path / "out"
    with pytest.raises(type(error)) as e:
        lessmore.reduce(two_volumes, out, method="deepnet", threshold=0.995, batch=4, embed=Boom(4, error))
    assert type(e.value) is type(error) and str(e.value) == str(error)
    assert not (out / "manifest.json").exists()
    s = lessmore.reduce(two_volumes, out, method="deepnet", threshold=0.995, batch=4, embed=Projection(), resume=True)
    lessmore.reduce(two_volumes, tmp_path / "fresh", method="deepnet", threshold=0.995, batch=4, embed=Projection())
    assert s.failed == 0 and slices_of(manifest(out)) == slices_of(manifest(tmp_path / "fresh"))


def test_an_exception_in_the_trial_batch_writes_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="^boom$"):
        lessmore.reduce(SAMPLE, tmp_path / "out", method="deepnet", threshold=0.9, embed=Boom(1, RuntimeError("boom")))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    with pytest.raises(RuntimeError, match="^boom$"):
        lessmore.reduce_array(np.zeros((3, 16, 16), np.int16), method="deepnet", threshold=0.9,
                              embed=Boom(2, RuntimeError("boom")))


def test_embed_on_units_is_refused_as_a_2d_model(sample_volume):
    # A callback is handed slices (N x C x H x W): on units it is refused before it runs,
    # as a 2-D --model is (docs/models.md, section "3-D models").
    calls = []

    def f(batch):
        calls.append(batch.shape)
        return Projection()(batch)

    with pytest.raises(lessmore.UsageError, match=r"^unit slab:4:4: method deepnet: embed= \(a callback\) embeds 2-D slices"):
        lessmore.reduce_array(sample_volume, unit="slab:4", method="deepnet", threshold=0.9, embed=f)
    assert calls == [(1, 3, 224, 224)]  # only the trial batch, before any unit


def test_ctrl_c_while_embed_runs_stops_the_run(tmp_path, two_volumes):
    calls = []

    def interrupted(batch):
        calls.append(len(batch))
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does; Python raises it on the main thread
        return Projection()(batch)

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        lessmore.reduce(two_volumes, out, method="deepnet", threshold=0.995, batch=2, threads=1, embed=interrupted)
    assert len(calls) < 31 and not (out / "manifest.json").exists()
    s = lessmore.reduce(two_volumes, out, method="deepnet", threshold=0.995, batch=2, embed=Projection(), resume=True)
    assert s.failed == 0 and s.slices == 60


@pytest.mark.parametrize("bad, message", [
    (lambda b: np.zeros((len(b) + 1, 8), np.float32), r"embed: returned an array of shape \(2, 8\) for a batch of 1"),
    (lambda b: np.zeros((len(b),), np.float32), r"embed: returned an array of shape \(1,\)"),
    (lambda b: np.zeros((len(b), 2, 3), np.float32), r"embed: .*shape \(1, 2, 3\)"),
    (lambda b: np.full((len(b), 8), np.nan, np.float32), r"embed: returned a value that is not finite \(row 0"),
    (lambda b: np.zeros((len(b), 8), np.int64), r"embed: returned an array of dtype int64"),
    (lambda b: "no", r"embed: returned a str, not a NumPy array of floats"),
    (lambda b: None, r"embed: returned a NoneType, not a NumPy array of floats"),
    (lambda b: np.zeros((len(b), 0), np.float32), r"embed: returned an empty array"),
])
def test_what_is_not_an_embedding_is_refused_before_anything_is_written(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        lessmore.reduce(SAMPLE, tmp_path / "out", method="deepnet", threshold=0.9, embed=bad)
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_bad_later_batch_stops_the_run_naming_embed(tmp_path, two_volumes):
    def later_nan(batch):
        out = Projection()(batch)
        if len(batch) == 3:
            out[1, 5] = np.inf
        return out

    def later_dim(batch):
        return Projection(32 if len(batch) == 1 else 16)(batch)

    out = tmp_path / "nan"
    with pytest.raises(ValueError, match=r"^embed: returned a value that is not finite \(row 1 of the batch, value 5\)"):
        lessmore.reduce(two_volumes, out, method="deepnet", threshold=0.995, batch=3, embed=later_nan)
    assert not (out / "manifest.json").exists()
    with pytest.raises(ValueError, match=r"embed: returned an array of shape \(\d+, 16\) after \(\d+, 32\) for an"):
        lessmore.reduce(two_volumes, tmp_path / "dim", method="deepnet", threshold=0.995, embed=later_dim)


def test_embed_goes_with_deepnet_only_and_alone(tmp_path, sample_volume):
    f = Projection()
    with pytest.raises(ValueError, match=r'^embed: is DeepNet\'s model; it needs method="deepnet", not "hash"'):
        lessmore.reduce(SAMPLE, tmp_path / "a", threshold=6, embed=f)
    with pytest.raises(ValueError, match=r"^embed and model: give one, not both"):
        lessmore.reduce(SAMPLE, tmp_path / "b", method="deepnet", threshold=0.9, model="m.onnx", embed=f)
    with pytest.raises(ValueError, match=r"^embed and features: give one, not both"):
        lessmore.sweep(SAMPLE, method="deepnet", features=str(tmp_path), thresholds=[0.9], embed=f)
    with pytest.raises(ValueError, match=r'not "ssim"'):
        lessmore.reduce_array(sample_volume, method="ssim", threshold=0.9, embed=f)
    with pytest.raises(TypeError, match=r"^embed: expected a callable"):
        lessmore.reduce(SAMPLE, tmp_path / "c", method="deepnet", threshold=0.9, embed=3)
    with pytest.raises(ValueError, match=r"layout"):
        lessmore.reduce(SAMPLE, tmp_path / "d", method="deepnet", threshold=0.9, embed=f, layout="NHWC")
    assert not any(p.exists() for p in [tmp_path / "a", tmp_path / "b", tmp_path / "c", tmp_path / "d"])


def test_input_description_by_keyword(tmp_path, sample_volume):
    seen = []

    def record(batch):
        seen.append(batch.copy())
        return batch.reshape(len(batch), -1)[:, ::64] + 2.0

    # 1 channel of HU clipped to [-1000, 1000], / 1000: what a CT encoder takes.
    lessmore.reduce(SAMPLE, tmp_path / "out", method="deepnet", threshold=0.99, channels=1, values="hu",
                    window=[-1000, 1000], scale=0.001, mean=0, std=1, input_size=[61, 50], embed=record)
    b = np.concatenate(seen[1:])
    assert b.shape == (30, 1, 50, 61) and b.dtype == np.float32
    # HU clipped to the window and scaled lies in [-1, 1], and an area resize keeps the mean
    # (nibabel's voxels, clipped and scaled, as the reference).
    hu = np.clip(sample_volume.astype(np.float64), -1000, 1000) / 1000
    assert b.min() >= -1 and b.max() <= 1 and abs(float(b.mean()) - float(hu.mean())) < 0.05
    p = manifest(tmp_path / "out")["parameters"]
    assert p["values"] == "hu" and p["window"] == [-1000, 1000] and p["channels"] == 1 and p["input_size"] == [61, 50]


def test_a_torch_model_as_embed_equals_it_as_torchscript(tmp_path):
    torch = pytest.importorskip("torch", reason="python3-torch is not installed")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=4), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 16, 3, stride=2), torch.nn.Tanh(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
    with torch.no_grad():
        torch.jit.trace(net, torch.zeros(1, 3, 224, 224)).save(str(tmp_path / "m.pt"))
    with open(tmp_path / "m.json", "w") as f:  # the same preprocessing as embed's defaults
        json.dump({"input_size": 224, "scale": 1 / 255, "mean": list(MEAN), "std": list(STD)}, f)

    def embed(batch):
        with torch.no_grad():
            return net(torch.from_numpy(batch)).detach().numpy()

    cli("reduce", SAMPLE, "-o", tmp_path / "cli", "--method", "deepnet", "--model", tmp_path / "m.pt",
        "--fraction", "0.5", "--save-features", tmp_path / "fc", "-q")
    lessmore.reduce(SAMPLE, tmp_path / "py", method="deepnet", fraction=0.5, embed=embed,
                    save_features=tmp_path / "fp")
    kept = {k: [s["kept"] for s in manifest(tmp_path / k)["volumes"][0]["slices"]] for k in ("cli", "py")}
    assert kept["cli"] == kept["py"] and 0 < sum(kept["py"]) < 30
    a = np.load(tmp_path / "fc" / "example_ct_sm.nii.gz.npy")
    b = np.load(tmp_path / "fp" / "example_ct_sm.nii.gz.npy")
    assert a.shape == b.shape == (30, 16)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)


def test_the_python_md_recipe_runs_as_written(tmp_path):
    pytest.importorskip("torch", reason="python3-torch is not installed")
    import re
    page = open(os.path.join(os.path.dirname(SAMPLE), "..", "..", "docs", "python.md"), encoding="utf-8").read()
    blocks = re.findall(r"^```python embed-test\n(.*?)^```$", page, flags=re.S | re.M)
    assert len(blocks) == 1
    (tmp_path / "ct").mkdir()
    shutil.copy(SAMPLE, tmp_path / "ct" / "a.nii.gz")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        scope = {}
        exec(compile(blocks[0], "docs/python.md", "exec"), scope)
    finally:
        os.chdir(cwd)
    assert scope["s"].slices == 30 and len(scope["a"]) == 4
    assert manifest(tmp_path / "out-embed")["parameters"]["embedding_size"] == 16


def test_later_commands_work_from_the_recorded_embeddings(tmp_path, two_volumes):
    out = tmp_path / "out"
    s = lessmore.reduce(two_volumes, out, method="deepnet", threshold=0.995, scope="dataset", embed=Projection())
    assert s.failed == 0
    # The upside-down copy is no duplicate of the sample, but its own slices repeat.
    split = lessmore.split(out, tmp_path / "split.json", floor="none")
    assert sum(p["slices"] for p in split.parts) == manifest(out)["summary"]["kept"]
    with pytest.raises(ValueError, match=r"^floor: .* took its embeddings from a Python function, .*give floor none"):
        lessmore.split(out, tmp_path / "split2.json")
    p = cli("report", out)
    assert p.returncode == 0 and (out / "report.html").exists(), p.stderr
