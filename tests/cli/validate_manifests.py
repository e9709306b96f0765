#!/usr/bin/python3
"""Checks the manifests lessmore's CLI tests produced against what docs/output.md defines.

Usage: validate_manifests.py SCHEMA DOC FOLDER

FOLDER holds copies of every manifest.json (and its manifest.csv beside it, as
NAME.json / NAME.csv) that a CLI test's run wrote (tests/test_support.cpp copies them when
LESSMORE_MANIFEST_COLLECT is set). Each manifest.json must validate against SCHEMA
(docs/manifest.schema.json, with the jsonschema package: Debian's python3-jsonschema), and
each manifest.csv, read with the one pandas.read_csv line of DOC (docs/output.md, section
"manifest.csv"), must have the documented columns and types and hold, row for row, the
JSON's slices. Exit 0 when all pass, 1 naming every file and field at fault, 77 (skipped)
when FOLDER holds no manifest (no CLI test ran).
"""
import json
import math
import pathlib
import sys

import jsonschema
import pandas as pd

# The CSV's columns in order: a slice field, or (volume field, element) for the volume's.
COLUMNS = [
    ("volume", ("id", None)), ("index", "index"), ("file", "file"), ("z", "z"), ("kept", "kept"),
    ("match", "match"), ("match_volume", "match_volume"), ("score", "score"), ("hash", "hash"),
    ("output", "output"), ("output_npy", "output_npy"), ("output_png", "output_png"),
    ("source", ("source", None)), ("format", ("format", None)), ("patient", ("patient", None)),
    ("study", ("study", None)), ("series", ("series", None)), ("dtype", ("dtype", None)),
    ("position_x", ("position", 0)), ("position_y", ("position", 1)), ("position_z", ("position", 2)),
    ("row_cosine_x", ("orientation", 0)), ("row_cosine_y", ("orientation", 1)),
    ("row_cosine_z", ("orientation", 2)), ("column_cosine_x", ("orientation", 3)),
    ("column_cosine_y", ("orientation", 4)), ("column_cosine_z", ("orientation", 5)),
    ("column_spacing", ("spacing", 0)), ("row_spacing", ("spacing", 1)), ("slice_spacing", ("spacing", 2)),
    ("png_offset", ("png_offset", None)),
]
# A --unit slab|patch run's CSV: one row per unit (docs/output.md, section "Unit rows").
UNIT_COLUMNS = [
    ("volume", ("id", None)), ("unit", "index"), ("first_slice", "first_slice"), ("end_slice", "end_slice"),
    ("origin_z", ("origin", 0)), ("origin_y", ("origin", 1)), ("origin_x", ("origin", 2)),
    ("size_z", ("size", 0)), ("size_y", ("size", 1)), ("size_x", ("size", 2)), ("kept", "kept"),
    ("match", "match"), ("match_volume", "match_volume"), ("score", "score"), ("output", "output"),
    ("output_npy", "output_npy"), ("unit_spec", ("unit", None)), ("source", ("source", None)), ("format", ("format", None)),
    ("patient", ("patient", None)), ("study", ("study", None)), ("series", ("series", None)),
    ("dtype", ("dtype", None)),
]
UNIT_INTEGERS = {"unit", "first_slice", "end_slice", "origin_z", "origin_y", "origin_x", "size_z", "size_y",
                 "size_x"}
INTEGERS = {"index", "match", "png_offset"} | UNIT_INTEGERS
FLOATS = {"z", "score", "position_x", "position_y", "position_z", "row_cosine_x", "row_cosine_y",
          "row_cosine_z", "column_cosine_x", "column_cosine_y", "column_cosine_z", "column_spacing",
          "row_spacing", "slice_spacing"}


def documented_read_csv(doc, name="m"):
    """The documented line, `m = pd.read_csv("OUT/manifest.csv", ...)` (a unit run's: `u = ...`), as a
    function of the path."""
    lines = [l.strip() for l in pathlib.Path(doc).read_text().splitlines()
             if l.strip().startswith(name + ' = pd.read_csv("OUT/manifest.csv"')]
    if len(lines) != 1:
        raise SystemExit(f"{doc}: expected one line 'm = pd.read_csv(\"OUT/manifest.csv\", ...)', found {len(lines)}")
    code = lines[0].replace('"OUT/manifest.csv"', "path", 1)
    return lambda path: eval(code.split("=", 1)[1], {"pd": pd, "path": path})


def value_of(volume, slice_, source):
    if isinstance(source, str):
        return slice_[source]
    field, element = source
    holder = slice_ if field in ("position", "origin", "size") else volume
    v = holder.get(field)
    return v if element is None or v is None else v[element]


def same(csv_value, json_value, column):
    missing = csv_value is None or csv_value is pd.NA or (isinstance(csv_value, float) and math.isnan(csv_value))
    if json_value is None:
        return missing
    if missing:
        return False
    if column in FLOATS:
        return float(csv_value) == float(json_value)  # the shortest decimal reads back exactly
    if column == "kept":
        return bool(csv_value) == json_value
    if column in INTEGERS:
        return int(csv_value) == json_value
    # Text a spreadsheet would run as a formula gets a leading apostrophe (docs/output.md).
    text = str(json_value)
    return str(csv_value) == ("'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text)


def check_csv(path, manifest, read_csv, faults):
    units = "unit" in manifest["parameters"]
    columns, rows_of = (UNIT_COLUMNS, "units") if units else (COLUMNS, "slices")
    m = read_csv[units](path)
    names = [c for c, _ in columns]
    if list(m.columns) != names:
        faults.append(f"{path}: columns {list(m.columns)} are not the documented {names}")
        return
    for column in names if len(m) else []:  # without rows pandas reads every column as object
        kind = str(m[column].dtype)
        want = ("int64", "Int64") if column in UNIT_INTEGERS else ("Int64",) if column in INTEGERS else ("float64",) if column in FLOATS else \
            ("bool", "boolean") if column == "kept" else ("object", "string")
        if kind not in want:
            faults.append(f"{path}: column '{column}' read as {kind}, not {want[0]}")
    rows = [(v, s) for v in manifest["volumes"] for s in v[rows_of]]
    if len(rows) != len(m):
        faults.append(f"{path}: {len(m)} rows for {len(rows)} slices in manifest.json")
        return
    records = m.to_dict("records")
    for k, ((volume, slice_), row) in enumerate(zip(rows, records)):
        for column, source in columns:
            if not same(row[column], value_of(volume, slice_, source), column):
                faults.append(f"{path}: row {k + 2} column '{column}' is {row[column]!r}, "
                              f"manifest.json has {value_of(volume, slice_, source)!r}")
                return


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    schema = json.loads(pathlib.Path(sys.argv[1]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    read_csv = {False: documented_read_csv(sys.argv[2]), True: documented_read_csv(sys.argv[2], "u")}
    manifests = sorted(pathlib.Path(sys.argv[3]).glob("*.json")) if pathlib.Path(sys.argv[3]).is_dir() else []
    if not manifests:
        print(f"no manifests in {sys.argv[3]} (no CLI test ran)")
        return 77
    faults = []
    for path in manifests:
        manifest = json.loads(path.read_text())
        for error in validator.iter_errors(manifest):
            where = "/".join(str(p) for p in error.absolute_path)
            faults.append(f"{path} ({manifest.get('run', {}).get('command', ['?'])[1:3]}): {where}: {error.message}")
        csv = path.with_suffix(".csv")
        if csv.exists():
            check_csv(csv, manifest, read_csv, faults)
        else:
            faults.append(f"{csv}: missing beside {path.name}")
    for fault in faults[:50]:
        print(fault)
    print(f"{len(manifests)} manifest(s) checked, {len(faults)} fault(s)")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
