"""lessmore.torch.KeptSlices and KeptUnits: torch Datasets over a run's kept slices and a
unit run's kept 3-D units (docs/python.md). Imported on its own: `import lessmore` never needs torch. The dataset holds only paths and
plain metadata (no engine object, thread pool or open file), so DataLoader workers made by
fork or spawn each start clean."""
import json
import os

import numpy as np
import torch
from torch.utils.data import Dataset

from ._values import parse_values, read_slice
from .run import Run


def _split_rows(rows, split, key="slice", column="index"):
    """The rows of one split. `split`: (file, name) of a `lessmore split` datalist (its
    entries name a slice: "volume" and "slice", the manifest's index; a unit run's entries
    "volume" and "unit", docs/split.md "Unit runs"; what the split left out is in no split),
    or an iterable of volume ids."""
    if isinstance(split, tuple) and len(split) == 2 and isinstance(split[1], str):
        path, name = split
        with open(os.fspath(path), encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict) or not isinstance(data.get(name), list):
            raise ValueError(f"split: {os.fspath(path)} has no split {name!r}")
        entries = data[name]
        if any(not isinstance(e, dict) or "volume" not in e or key not in e for e in entries):
            raise ValueError(f"split: {os.fspath(path)}: an entry of {name!r} has no 'volume' and {key!r}"
                             + (" (a datalist of a unit run? use KeptUnits)" if key == "slice" else
                                " (a datalist of a slice run? use KeptSlices)"))
        wanted = {(str(e["volume"]), int(e[key])) for e in entries}
        keys = zip(rows["volume"].astype(str), rows[column].astype(int))
        return rows[[k in wanted for k in keys]]
    if isinstance(split, (str, bytes, os.PathLike)):
        raise ValueError("split: give (datalist file, split name) or an iterable of volume ids, not one path")
    return rows[rows["volume"].isin({str(v) for v in split})]


class _KeptFiles(Dataset):
    """What KeptSlices and KeptUnits share: the kept rows' files, read as float32 tensors with
    a channel axis first, `transform` applied, with_meta=True giving (tensor, dict)."""

    def _collect(self, run, rows, values, transform, with_meta, meta_of=None):
        self.values = values
        self.transform = transform
        self.with_meta = with_meta
        self.paths = []
        self.meta = []
        for r, m in zip(rows.to_dict("records"), _collatable(rows).to_dict("records")):
            path = run.file_of(r)
            if path is None:
                continue
            if meta_of is not None:
                m.update(meta_of(r))
            self.paths.append(str(path))
            self.meta.append(m)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        a = read_slice(self.paths[i], self._values)
        x = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None]
        if self.transform is not None:
            x = self.transform(x)
        return (x, self.meta[i]) if self.with_meta else x


class KeptSlices(_KeptFiles):
    """The kept slices of `run` (a lessmore.Run or its OUT folder), in the run's order, as
    float32 tensors 1 x H x W in `values` ("stored": the written file as it is, PNG 0..255 or
    NPY voxels; "hu", "minmax", "window:C,W": from NPY output). `split` keeps one split's
    slices (see _split_rows); `transform` is applied to the tensor; with_meta=True returns (tensor, dict)."""

    def __init__(self, run, split=None, values="stored", transform=None, with_meta=False):
        self._values = parse_values(values)  # ValueError before any file is read
        run = run if isinstance(run, Run) else Run(run)
        if run.units is not None:
            raise ValueError(f"run: {run.path} is a unit run (unit {run.parameters.get('unit')}): it has no kept "
                             f"slices; use lessmore.torch.KeptUnits")
        rows = run.kept
        if split is not None:
            rows = _split_rows(rows, split)
        self._collect(run, rows, values, transform, with_meta)
        if values not in (None, "stored") and any(not p.endswith(".npy") for p in self.paths):
            raise ValueError(f"values: {values!r} needs the voxel values, but the run wrote PNG (8-bit) slices; "
                             f"reduce with format='npy' or 'both'")


class KeptUnits(_KeptFiles):
    """The kept 3-D units of a unit run (`reduce --unit slab|patch`; a lessmore.Run or its OUT
    folder), in the run's order (volumes, then grid order), as float32 tensors 1 x D x H x W
    (channel first, as MONAI expects), read from the files the run wrote: the NPY when it
    wrote one, else the NIfTI (with nibabel, transposed back to z, y, x, so both give the
    same tensor). `values`: "stored" (the file's values: the voxels, or with --export-values
    window the window's [0, 1]), "hu" (the voxels as float32), "minmax" (one minimum and
    maximum over the whole unit, to [0, 1]), "window:C,W". `split` keeps one split's units:
    (file, name) of a datalist `lessmore split` wrote on the run (its entries' `volume` and
    `unit`), or an iterable of volume ids. `transform` is applied to the tensor; with
    with_meta=True each item is (tensor, dict): the unit's row (missing text "", missing
    numbers NaN) with `origin` and `size` as int64 arrays (z, y, x), all collatable by
    torch's default_collate."""

    def __init__(self, run, split=None, values="stored", transform=None, with_meta=False):
        self._values = parse_values(values)  # ValueError before any file is read
        run = run if isinstance(run, Run) else Run(run)
        if run.units is None:
            raise ValueError(f"run: {run.path} is a slice run (no --unit slab|patch): it has no kept units; "
                             f"use lessmore.torch.KeptSlices")
        exported = run.parameters.get("export_values", "")
        if str(exported).startswith("window:") and self._values[0] != "stored":
            raise ValueError(f"values: {values!r} needs the voxel values, but the run wrote the window {exported} "
                             f"(export_values); use values='stored', or reduce with another export_values")
        rows = run.kept_units
        if split is not None:
            rows = _split_rows(rows, split, key="unit", column="unit")
        self._collect(run, rows, values, transform, with_meta, lambda r: {
            "origin": np.array([r["origin_z"], r["origin_y"], r["origin_x"]], dtype=np.int64),
            "size": np.array([r["size_z"], r["size_y"], r["size_x"]], dtype=np.int64)})


def _collatable(rows):
    """The rows with no gaps torch's default_collate cannot take: text gaps "", numbers NaN."""
    out = rows.copy()
    for c in out.columns:
        if out[c].dtype == object:  # text: pandas reads a missing text as NaN
            out[c] = out[c].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else v)
        elif str(out[c].dtype) in ("Int64", "boolean"):
            out[c] = out[c].astype("float64") if out[c].isna().any() else out[c].astype(str(out[c].dtype).lower())
    return out
