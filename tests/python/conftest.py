"""Shared fixtures of the Python package's tests (run by ctest: tests/python/CMakeLists.txt).
The CLI binary is the reference: the package must decide what it decides."""
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "example_ct_sm.nii.gz"


def cli_path():
    path = os.environ.get("LESSMORE_CLI")
    if not path:
        pytest.skip("LESSMORE_CLI (the lessmore binary) not set")
    return path


def cli(*args, check=True):
    """Runs the lessmore binary; returns the CompletedProcess."""
    p = subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True)
    if check and p.returncode not in (0, 1):
        raise AssertionError(f"lessmore {' '.join(map(str, args))}: exit {p.returncode}: {p.stderr}")
    return p


def manifest(out):
    with open(Path(out) / "manifest.json", encoding="utf-8") as f:
        return json.load(f)


def decisions(m):
    """A manifest without what differs between two runs of the same decisions: the run
    block (timings, command, threads) and the per-volume seconds."""
    m = dict(m)
    m.pop("run", None)
    m["summary"] = {k: v for k, v in m["summary"].items() if k != "seconds"}
    m["volumes"] = [{k: v for k, v in vol.items() if k != "seconds"} for vol in m["volumes"]]
    return m


@pytest.fixture(scope="session")
def sample():
    return SAMPLE


@pytest.fixture(scope="session")
def sample_volume():
    """The sample's voxels as (Z, Y, X), from nibabel (data[x, y, z])."""
    import nibabel as nib
    import numpy as np
    img = nib.load(str(SAMPLE))
    return np.asarray(img.dataobj).transpose(2, 1, 0)


@pytest.fixture(scope="session")
def npy_run(tmp_path_factory):
    """The sample reduced by the CLI with PNG and NPY output (HASH-6)."""
    out = tmp_path_factory.mktemp("npy") / "out"
    cli("reduce", SAMPLE, "-o", out, "--threshold", "6", "--format", "both", "-q")
    return out
