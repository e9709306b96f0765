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


def test_split_equals_the_cli(tmp_path):
    import shutil
    from conftest import SAMPLE
    for patient in ("p1", "p2", "p3"):
        (tmp_path / "data" / patient).mkdir(parents=True)
        shutil.copy(SAMPLE, tmp_path / "data" / patient / "ct.nii.gz")
    out = tmp_path / "out"
    cli("reduce", tmp_path / "data", "-o", out, "-t", "6", "--progress", "none")
    r = lessmore.split(out, tmp_path / "py.json", fractions=(0.5, 0.5), seed=3)
    p = cli("split", out, "-o", tmp_path / "cli.json", "--fractions", "0.5,0.5", "--seed", "3")
    assert p.returncode == 0, p.stderr
    written = json.loads((tmp_path / "cli.json").read_text())["lessmore"]
    assert r.data == written
    assert r.data == json.loads((tmp_path / "py.json").read_text())["lessmore"]
    # The CLI's table, from the same summary: its split rows and the largest group.
    rows = {line.split()[0]: line.split()[1:4] for line in p.stdout.splitlines()[1:3]}
    assert {q["name"]: [str(q["units"]), str(q["groups"]), str(q["slices"])] for q in r.parts} == rows
    assert r.largest == written["largest_group"] and len(r.largest["units"]) == 3
    assert r.leaky == written["leaky_groups"] and r.cross_split_pairs == 0 == written["cross_split_pairs"]
    assert r.excluded == written["excluded"] and r.json == str(tmp_path / "py.json")
    assert r.csv == str(tmp_path / "py.csv")


def test_compare_refuses_a_folder_without_a_run(tmp_path):
    with pytest.raises(lessmore.UsageError):
        lessmore.compare(tmp_path, tmp_path)


def test_options_come_from_the_option_model():
    keys = [o["key"] for o in lessmore.options("reduce")]
    assert "threshold" in keys and "hash_size" in keys and "json" not in keys
    with pytest.raises(ValueError, match="command"):
        lessmore.options("nope")
