"""reduce_array and hash_slices: the CLI's decisions on the same voxels saved as NIfTI (by
nibabel), for every method, dtype and memory layout; dhash against Pillow."""
import nibabel as nib
import numpy as np
import pytest
from PIL import Image

import lessmore
from conftest import cli, manifest


def cli_decisions(volume, tmp_path, *args):
    """The CLI's kept/match/score/hash per slice for `volume` (Z, Y, X) saved as NIfTI."""
    path = tmp_path / "v.nii.gz"
    nib.save(nib.Nifti1Image(np.ascontiguousarray(volume).transpose(2, 1, 0), np.eye(4)), str(path))
    out = tmp_path / "out"
    cli("reduce", path, "-o", out, "--format", "none", "-q", *args)
    [v] = manifest(out)["volumes"]
    s = v["slices"]
    kept = np.array([x["kept"] for x in s])
    match = np.array([-1 if x["match"] is None else x["match"] for x in s])
    score = np.array([np.nan if x["score"] is None else x["score"] for x in s], dtype=float)
    return kept, match, score, [x.get("hash") for x in s]


METHODS = [
    (dict(threshold=6), ["--threshold", "6"]),
    (dict(method="hash", fraction=0.3), ["--fraction", "0.3"]),
    (dict(method="ssim", threshold=0.8), ["--method", "ssim", "--threshold", "0.8"]),
    (dict(method="mi", fraction=0.5, bins=32), ["--method", "mi", "--fraction", "0.5", "--bins", "32"]),
    (dict(method="everyn", every=4), ["--method", "everyn", "--every", "4"]),
    (dict(method="deepnet", threshold=0.95), ["--method", "deepnet", "--threshold", "0.95"]),
    (dict(threshold=8, intensity="window:40,400", neighbours=5),
     ["--threshold", "8", "--intensity", "window:40,400", "--neighbours", "5"]),
]


@pytest.mark.parametrize("options,args", METHODS, ids=[" ".join(a) for _, a in METHODS])
def test_equal_to_the_cli_for_every_method(sample_volume, tmp_path, options, args):
    r = lessmore.reduce_array(sample_volume, **options)
    kept, match, score, hashes = cli_decisions(sample_volume, tmp_path, *args)
    np.testing.assert_array_equal(r.mask, kept)
    np.testing.assert_array_equal(r.kept, np.flatnonzero(kept))
    np.testing.assert_array_equal(r.match, match)
    np.testing.assert_array_equal(r.score, score)
    if options.get("method", "hash") == "hash":
        assert r.features == hashes


def variants(v):
    v = v.astype(np.int16)
    yield "float32", v.astype(np.float32)
    yield "float64 scaled", v.astype(np.float64) * 0.37 + 3
    yield "uint16", (v.astype(np.int32) + 1024).clip(0).astype(np.uint16)
    yield "int32", v.astype(np.int32) * 1000
    yield "int8", (v // 16).clip(-128, 127).astype(np.int8)
    yield "uint8", ((v.astype(np.int32) + 1024) // 16).clip(0, 255).astype(np.uint8)
    yield "flipped view", v[:, ::-1, :]
    yield "strided view", v[::2, :, 1::2]
    yield "fortran order", np.asfortranarray(v)
    # int16 in C order is read where it lies (no copy): its edge cases
    yield "slices of a larger array", v[3:]
    yield "reversed slices", v[::-1]
    yield "big-endian", v.astype(">i2")
    yield "unaligned", np.frombuffer(b"\0" + v.tobytes(), dtype=np.int16, offset=1).reshape(v.shape)
    readonly = v.copy()
    readonly.setflags(write=False)
    yield "read-only", readonly


@pytest.mark.parametrize("name", [n for n, _ in variants(np.zeros((1, 1, 1)))])
def test_any_dtype_and_strides(sample_volume, tmp_path, name):
    v = dict(variants(sample_volume))[name]
    before = v.copy()
    r = lessmore.reduce_array(v, threshold=6)
    np.testing.assert_array_equal(v, before)
    kept, match, score, hashes = cli_decisions(v, tmp_path, "--threshold", "6")
    np.testing.assert_array_equal(r.mask, kept)
    np.testing.assert_array_equal(r.match, match)
    assert r.features == hashes


def pillow_dhash(u8, size=8):
    """imagehash 4.3.1's dhash: LANCZOS to (size+1) x size, then left < right, as hex."""
    px = np.asarray(Image.fromarray(u8).convert("L").resize((size + 1, size), Image.LANCZOS), dtype=np.int32)
    bits = (px[:, 1:] > px[:, :-1]).flatten()
    value = int("".join("1" if b else "0" for b in bits), 2)
    return format(value, "0" + str((bits.size + 3) // 4) + "x")


def test_hash_slices_is_pillows_dhash(sample_volume):
    u8 = ((sample_volume.astype(np.int32) + 1024) // 12).clip(0, 255).astype(np.uint8)
    assert lessmore.hash_slices(u8, intensity="none") == [pillow_dhash(s) for s in u8]
    assert lessmore.hash_slices(u8[3], intensity="none") == pillow_dhash(u8[3])
    assert lessmore.hash_slices(u8, hash_size=12, intensity="none") == [pillow_dhash(s, 12) for s in u8]


def test_hash_slices_equal_the_manifest(sample_volume, tmp_path):
    _, _, _, hashes = cli_decisions(sample_volume, tmp_path, "--threshold", "6")
    assert lessmore.hash_slices(sample_volume) == hashes


def test_bad_arrays_and_options(sample_volume):
    with pytest.raises(ValueError, match="volume: expected a 3-D array"):
        lessmore.reduce_array(np.zeros((2, 3, 4, 5)), threshold=6)
    with pytest.raises(TypeError, match="volume: expected an integer or float array"):
        lessmore.reduce_array(np.zeros((2, 8, 8), dtype=bool), threshold=6)
    with pytest.raises(TypeError, match="volume: expected an integer or float array"):
        lessmore.reduce_array(np.zeros((2, 8, 8), dtype=complex), threshold=6)
    with pytest.raises(TypeError, match="format"):
        lessmore.reduce_array(sample_volume, threshold=6, format="npy")
    with pytest.raises(TypeError, match="unit"):  # per slice; reduce_array takes units (test_units.py)
        lessmore.features(sample_volume, unit="slab:4")
    with pytest.raises(lessmore.UsageError, match="threshold"):
        lessmore.reduce_array(sample_volume, threshold=-1)
    with pytest.raises(lessmore.UsageError, match="intensity none"):
        lessmore.reduce_array(sample_volume, threshold=6, intensity="none")


def test_input_errors_mirror_the_cli(tmp_path):
    tiny = np.random.default_rng(1).integers(0, 100, size=(4, 3, 3)).astype(np.int16)
    with pytest.raises(lessmore.InputError):
        lessmore.reduce_array(tiny, method="ssim", threshold=0.9)
    assert issubclass(lessmore.InputError, lessmore.Error) and not issubclass(lessmore.InputError, ValueError)
