"""A finished run as data: lessmore.Run(OUT). The engine reads OUT's typed records (the
reader merge, report and compare use) and gives the run as manifest.json would show it;
the DataFrames are built from whatever fields the records have, so a field the engine adds
is a column here without a change in Python."""
import io
import json
import os
from pathlib import Path

import numpy as np

from . import _lessmore as _ext
from ._api import _engine
from ._values import read_slice

_AXES = ("x", "y", "z")
# Real-valued fields the manifest may write without a fraction (a Hamming distance as a
# score, a whole position or spacing): float64 whatever the values look like.
_REAL = {"score", "z", "seconds", "spacing_x", "spacing_y", "spacing_z", "fraction"}


def _column(values, real=False):
    """A column with the dtype its values call for: bool, int64 (Int64 with gaps), float64
    (NaN for gaps), else object (text, None for gaps)."""
    import pandas as pd
    present = [v for v in values if v is not None]
    if real and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    if present and all(isinstance(v, bool) for v in present):
        return pd.array(values, dtype="boolean" if len(present) < len(values) else "bool")
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.array(values, dtype="Int64" if len(present) < len(values) else "int64")
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return pd.array(values, dtype=object)


# docs/output.md's pandas.read_csv line for manifest.csv ("manifest.csv"): text stays text,
# integers Int64 with gaps, floats exactly as written.
_TEXT = ("volume", "file", "match_volume", "hash", "output", "output_npy", "output_png", "source", "patient",
         "study", "series", "unit_spec")
_READ_CSV = dict(dtype={"index": "Int64", "match": "Int64", "png_offset": "Int64", **{c: str for c in _TEXT}},
                 keep_default_na=False, na_values=[""], float_precision="round_trip")


def _slice_table(text):
    """The slice table (manifest.csv's text, made by the engine from the records) as a
    DataFrame; an integer column without gaps becomes int64."""
    import pandas as pd
    frame = pd.read_csv(io.StringIO(text), **_READ_CSV)
    for c in frame.columns:
        if str(frame[c].dtype) == "Int64" and not frame[c].isna().any() and len(frame):
            frame[c] = frame[c].astype("int64")
    return frame


def _frame(rows):
    """Rows (dicts) to a DataFrame, columns in first-seen order; a list of 3 values becomes
    three columns <key>_x/_y/_z (size, spacing), other lists <key>_0, <key>_1, ..."""
    import pandas as pd
    flat = []
    for row in rows:
        out = {}
        for k, v in row.items():
            if isinstance(v, list) and all(not isinstance(x, (list, dict)) for x in v):
                names = _AXES if len(v) == 3 else range(len(v))
                for n, x in zip(names, v):
                    out[f"{k}_{n}"] = x
            else:
                out[k] = v
        flat.append(out)
    columns = []
    for row in flat:
        for k in row:
            if k not in columns:
                columns.append(k)
    return pd.DataFrame({k: _column([r.get(k) for r in flat], k in _REAL) for k in columns}, columns=columns)


def _is_unit(row):
    """A row of .units (docs/output.md, "Unit rows"), not of .slices."""
    return "origin_z" in row and "unit" in row


class Run:
    """A finished run in OUT: `.volumes` (one row per volume) and `.slices` (one row per
    slice, kept or not, `volume` its volume's id) as DataFrames, `.parameters`, `.errors`,
    `.skipped`, `.duplicates`; `load(row)` reads a kept slice's written file. A run made
    with --unit slab|patch has `.units` (one row per unit, manifest.csv's unit rows) and
    no slice rows; `.units` is None for a slice run."""

    def __init__(self, out, threads=0):
        self.path = Path(os.fspath(out))
        data = json.loads(_engine("report", _ext.run_json, os.fspath(out), int(threads)))
        self.version = data.get("version")
        self.parameters = data["parameters"]
        self.errors = data["errors"]
        self.skipped = data["skipped"]
        self.duplicates = data["duplicates"]
        self.volumes = _frame([{k: x for k, x in v.items() if k not in ("slices", "units", "dropped_units")}
                               for v in data["volumes"]])
        # One row per slice with its volume's fields: manifest.csv's rows, as the engine
        # makes them (docs/output.md defines every column).
        self.slices = _slice_table(data["slice_table"])
        self.units = _slice_table(data["unit_table"]) if "unit_table" in data else None

    @property
    def kept(self):
        """The kept slices' rows."""
        return self.slices[self.slices["kept"].astype(bool)]

    @property
    def kept_units(self):
        """A unit run's kept units' rows (None for a slice run)."""
        return None if self.units is None else self.units[self.units["kept"].astype(bool)]

    def file_of(self, row):
        """The file a kept slice (or unit) was written to: its NPY when the run wrote one
        (exact voxel values), else its PNG (a unit's NIfTI); None when nothing was written
        for it."""
        row = self._row(row)
        npy = row.get("output_npy")
        out = npy if isinstance(npy, str) else row.get("output")
        return None if not isinstance(out, str) else self.path / out

    def load(self, row, values="stored"):
        """A kept slice's array from the file the run wrote (file_of): "stored" as written
        (PNG uint8, NPY the voxel dtype), "hu" (NPY values as float32), "window:C,W" and
        "minmax" (NPY values to [0, 1]). `row`: a row of .slices or its position there; in a
        unit run a row of .units (or its position), the unit's (Z, Y, X) array from its NPY
        or NIfTI ("minmax" over the whole unit)."""
        path = self.file_of(row)
        if path is None:
            r = self._row(row)
            what = f"unit {r.get('unit')}" if _is_unit(r) else f"slice {r.get('index')}"
            raise ValueError(f"row: {what} of {r.get('volume')} has no written file (removed, "
                             f"or the run used format='none')")
        return read_slice(path, values)

    def source_voxels(self, row):
        """The slice's original voxels (Y x X, the voxel type the run read) and its geometry
        (id, source, format, spacing, z, file, dtype), read again from the source: the run's
        inputs are discovered again as `lessmore report` does (a path is never taken from a
        record). For a unit row (a unit run): the unit's voxels (Z x Y x X) and its geometry
        (id, source, format, spacing, dtype, origin, size, and per slice z, files, positions:
        each slice's position moved to the unit's first voxel)."""
        from ._api import _DECODER
        r = self._row(row)
        if _is_unit(r):
            origin = [int(r[f"origin_{a}"]) for a in "zyx"]
            size = [int(r[f"size_{a}"]) for a in "zyx"]
            return _engine("report", _ext.source_block, str(self.path), str(r["volume"]), origin, size, _DECODER)
        return _engine("report", _ext.source_slice, str(self.path), str(r["volume"]), int(r["index"]), _DECODER)

    def _row(self, row):
        if isinstance(row, (int, np.integer)):
            rows = self.slices if self.units is None else self.units
            return rows.iloc[int(row)].to_dict()
        return dict(row)

    def __len__(self):
        return len(self.slices)

    def __repr__(self):
        if self.units is not None:
            kept = int(self.units["kept"].sum()) if len(self.units) else 0
            return f"<lessmore Run {str(self.path)!r}: {len(self.volumes)} volumes, {kept} of {len(self.units)} units kept>"
        kept = int(self.slices["kept"].sum()) if len(self.slices) else 0
        return f"<lessmore Run {str(self.path)!r}: {len(self.volumes)} volumes, {kept} of {len(self.slices)} slices kept>"
