"""info, sweep and compare as functions: the JSON the CLI prints, as Python objects."""
import json

import pytest

import lessmore
from conftest import cli


def test_info_equals_the_cli(sample):
    r = lessmore.info(sample)
    assert r.data == json.loads(cli("info", sample, "--json").stdout)
    assert r.volumes[0]["size"] == [122, 101, 30]


def test_sweep_equals_the_cli(sample):
    r = lessmore.sweep(sample, thresholds=[2, 6, 10])
    assert r.data == json.loads(cli("sweep", sample, "--thresholds", "2,6,10", "--json").stdout)
    assert [row["threshold"] for row in r.thresholds] == [2, 6, 10] and r.method == "hash"


def test_compare_equals_the_cli(sample, tmp_path):
    lessmore.reduce(sample, tmp_path / "a", threshold=6)
    lessmore.reduce(sample, tmp_path / "b", threshold=8)
    r = lessmore.compare(tmp_path / "a", tmp_path / "b")
    printed = json.loads(cli("compare", tmp_path / "a", tmp_path / "b", "--json").stdout)
    assert r.total == printed["total"] and r.volumes == printed["volumes"]
    assert r.identical is False and r.changed_slices == printed["changed_slices"]


def test_compare_refuses_a_folder_without_a_run(tmp_path):
    with pytest.raises(lessmore.UsageError):
        lessmore.compare(tmp_path, tmp_path)


def test_options_come_from_the_option_model():
    keys = [o["key"] for o in lessmore.options("reduce")]
    assert "threshold" in keys and "hash_size" in keys and "json" not in keys
    with pytest.raises(ValueError, match="command"):
        lessmore.options("nope")
