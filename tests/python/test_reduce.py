"""lessmore.reduce: the CLI's decisions and manifest, its errors, progress on the calling
thread, the GIL released, Ctrl-C leaving OUT resumable."""
import shutil
import signal
import threading
import time

import pytest

import lessmore
from conftest import cli, decisions, manifest


def test_same_manifest_as_the_cli(sample, tmp_path):
    cli("reduce", sample, "-o", tmp_path / "cli", "--threshold", "6", "-q")
    s = lessmore.reduce([sample], tmp_path / "py", threshold=6)
    assert decisions(manifest(tmp_path / "py")) == decisions(manifest(tmp_path / "cli"))
    assert (tmp_path / "py" / "manifest.csv").read_bytes() == (tmp_path / "cli" / "manifest.csv").read_bytes()
    m = manifest(tmp_path / "cli")
    assert s.kept == m["summary"]["kept"] and s.slices == m["summary"]["slices"]
    assert s.errors == [] and [v["id"] for v in s.volumes] == [v["id"] for v in m["volumes"]]


@pytest.mark.parametrize("options,args", [
    (dict(method="ssim", fraction=0.5), ["--method", "ssim", "--fraction", "0.5"]),
    (dict(method="everyn", every=3, format="npy"), ["--method", "everyn", "--every", "3", "--format", "npy"]),
    (dict(threshold=4, intensity="window:40,400", strategy="pairs"),
     ["--threshold", "4", "--intensity", "window:40,400", "--strategy", "pairs"]),
])
def test_options_mean_what_the_cli_options_mean(sample, tmp_path, options, args):
    cli("reduce", sample, "-o", tmp_path / "cli", *args, "-q")
    lessmore.reduce(sample, tmp_path / "py", **options)
    assert decisions(manifest(tmp_path / "py")) == decisions(manifest(tmp_path / "cli"))


def test_failed_inputs_are_listed_not_raised(sample, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(sample, data / "good.nii.gz")
    (data / "broken.nii.gz").write_bytes(b"\x1f\x8b not really gzip")
    cli("reduce", data, "-o", tmp_path / "cli", "--threshold", "6", "-q")
    s = lessmore.reduce(data, tmp_path / "py", threshold=6)
    assert len(s.errors) == 1 and s.errors[0]["path"].endswith("broken.nii.gz")
    assert s.errors == manifest(tmp_path / "cli")["errors"]
    assert s.failed == 1 and s.kept == manifest(tmp_path / "cli")["summary"]["kept"]


def cli_message(*args):
    p = cli(*args, check=False)
    assert p.returncode == 2, p.stderr
    return p.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("options,args,names", [
    (dict(threshold="abc"), ["--threshold", "abc"], "threshold"),
    (dict(), [], "threshold"),
    (dict(threshold=6, fraction=0.5), ["--threshold", "6", "--fraction", "0.5"], "fraction"),
    (dict(method="nope", threshold=6), ["--method", "nope", "--threshold", "6"], "nope"),
    (dict(threshold=6, hash_size=2.5), ["--threshold", "6", "--hash-size", "2.5"], "hash_size"),
    (dict(fraction=1.5), ["--fraction", "1.5"], "fraction"),
    (dict(threshold=6, strategy="best"), ["--threshold", "6", "--strategy", "best"], "strategy"),
    (dict(threshold=6, shard="3/2"), ["--threshold", "6", "--shard", "3/2"], "shard"),
])
def test_usage_errors_are_value_errors_with_the_cli_message(sample, tmp_path, options, args, names):
    with pytest.raises(ValueError) as e:
        lessmore.reduce(sample, tmp_path / "py", **options)
    assert isinstance(e.value, lessmore.UsageError)
    expected = cli_message("reduce", sample, "-o", tmp_path / "cli", *args)
    assert str(e.value) in lessmore._api._keyword_message(expected, "reduce")
    assert names in str(e.value)
    assert not (tmp_path / "py").exists()  # nothing written


def test_wrong_types_and_keywords_are_type_errors(sample, tmp_path):
    with pytest.raises(TypeError, match="thresh"):
        lessmore.reduce(sample, tmp_path / "o", thresh=6)
    with pytest.raises(TypeError, match="threshold"):
        lessmore.reduce(sample, tmp_path / "o", threshold={"a": 1})
    with pytest.raises(TypeError, match="force"):
        lessmore.reduce(sample, tmp_path / "o", threshold=6, force="yes")
    with pytest.raises(TypeError, match="json"):
        lessmore.reduce(sample, tmp_path / "o", threshold=6, json=True)  # CLI-only


def test_progress_is_called_on_the_calling_thread(sample, tmp_path):
    seen = []
    lessmore.reduce(sample, tmp_path / "o", threshold=6, progress=lambda e: seen.append((threading.get_ident(), e)))
    assert {t for t, _ in seen} == {threading.get_ident()}
    events = [e["event"] for _, e in seen]
    assert "volume_finished" in events and events[-1] == "finished"
    done = [e for _, e in seen if e["event"] == "volume_finished"][0]
    assert done["slices"] == 30 and done["kept"] == manifest(tmp_path / "o")["summary"]["kept"]


def progress_inside(call):
    """How often another Python thread ran while `call` was well under way: the times it
    ran after the call had been going for 20 ms (four switch intervals) and before it ended."""
    times, stop = [], threading.Event()

    def spin():
        while not stop.is_set():
            times.append(time.monotonic())
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    try:
        start = time.monotonic()
        call()
        end = time.monotonic()
    finally:
        stop.set()
        t.join()
    assert end - start > 0.1, "the call was too short to tell"
    return sum(start + 0.02 < x < end for x in times)


def test_the_gil_is_released(sample, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for k in range(16):  # long enough (~0.4 s on a quiet machine) to see the other thread run
        shutil.copy(sample, data / f"v{k}.nii.gz")
    n = progress_inside(lambda: lessmore.reduce(data, tmp_path / "o", method="ssim", threshold=0.99, threads=1))
    assert n > 10


def test_keyboard_interrupt_leaves_out_resumable(sample, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for k in range(6):
        shutil.copy(sample, data / f"v{k}.nii.gz")
    out = tmp_path / "out"

    def interrupt(e):
        if e["event"] == "volume_finished":
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        lessmore.reduce(data, out, threshold=6, threads=1, progress=interrupt)
    assert not (out / "manifest.json").exists()
    assert (out / ".lessmore" / "run.json").exists()
    skipped = []
    s = lessmore.reduce(data, out, threshold=6, resume=True,
                        progress=lambda e: skipped.append(e) if e["event"] == "source_skipped" else None)
    assert len(skipped) >= 1 and s.errors == []
    lessmore.reduce(data, tmp_path / "whole", threshold=6)
    a, b = decisions(manifest(out)), decisions(manifest(tmp_path / "whole"))
    a["summary"].pop("resumed", None)
    assert a["volumes"] == b["volumes"] and a["summary"] == b["summary"]


@pytest.mark.parametrize("data", ["volume-files", "readers/signed13-j2k", "readers"])
def test_third_party_decoders_run_in_the_packages_worker(tmp_path, data):
    # NRRD/MetaImage (ITK) and JPEG 2000 DICOM (GDCM) are decoded in worker processes: inside
    # Python these are the package's lessmore-decoder, not the interpreter.
    from conftest import ROOT
    source = ROOT / "tests" / "data" / data
    cli("reduce", source, "-o", tmp_path / "cli", "--threshold", "6", "-q")
    s = lessmore.reduce(source, tmp_path / "py", threshold=6)
    assert decisions(manifest(tmp_path / "py")) == decisions(manifest(tmp_path / "cli"))
    assert s.volume_count == manifest(tmp_path / "cli")["summary"]["volumes"] > 0


def test_an_exception_in_progress_stops_the_run_resumably(sample, tmp_path):
    def fail(e):
        if e["event"] == "volume_started":
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        lessmore.reduce(sample, tmp_path / "o", threshold=6, progress=fail)
    assert not (tmp_path / "o" / "manifest.json").exists()
    s = lessmore.reduce(sample, tmp_path / "o", threshold=6, resume=True)
    assert s.errors == [] and (tmp_path / "o" / "manifest.json").exists()


def test_reduce_array_releases_the_gil(sample_volume):
    import numpy as np
    volume = np.concatenate([sample_volume] * 10)  # 300 slices
    assert progress_inside(lambda: lessmore.reduce_array(volume, method="ssim", threshold=0.99, threads=1)) > 10


def test_units_as_the_cli(sample, tmp_path):
    """unit= is --unit (docs/methods.md, section "3-D units"); lessmore.Run reads a unit run."""
    cli("reduce", sample, "-o", tmp_path / "cli", "--unit", "slab:8", "--method", "ssim", "--threshold", "0.6", "-q")
    s = lessmore.reduce(sample, tmp_path / "py", unit="slab:8", method="ssim", threshold=0.6)
    assert decisions(manifest(tmp_path / "py")) == decisions(manifest(tmp_path / "cli"))
    assert (tmp_path / "py" / "manifest.csv").read_bytes() == (tmp_path / "cli" / "manifest.csv").read_bytes()
    m = manifest(tmp_path / "py")
    assert m["parameters"]["unit"] == "slab:8:8" and s.kept == m["summary"]["kept"] == m["volumes"][0]["kept"]
    assert all(u["output"].endswith(".nii.gz") for u in m["volumes"][0]["units"] if u["kept"])
    run = lessmore.Run(tmp_path / "py")
    assert run.units["kept"].tolist() == [u["kept"] for u in m["volumes"][0]["units"]] and len(run.slices) == 0
    with pytest.raises(lessmore.UsageError, match="unit"):
        lessmore.reduce(sample, tmp_path / "bad", unit="slab:4:0", method="everyn", every=2)
