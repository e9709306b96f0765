"""The commands as functions. Keyword arguments are the option model's keys (the CLI's
long options with '_' for '-'), passed to the engine as the text a user would type, so
defaults, parsing and validation are the CLI's own (include/lessmore/options.hpp)."""
import json
import os
import re

from . import _lessmore as _ext
from ._lessmore import UsageError

_OPTIONS = _ext.options()
# The engine's decoder worker (include/lessmore/decoder_pool.hpp), installed beside the extension.
_DECODER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lessmore-decoder")


def options(command="reduce"):
    """The keywords `command` takes: a list of dicts (key, option, help, default, choices)."""
    if command not in _OPTIONS:
        raise ValueError(f"command: unknown command {command!r} (one of {', '.join(_OPTIONS)})")
    return [dict(o) for o in _OPTIONS[command]]


def version():
    return _ext.version()


def _keyword_message(message, command):
    """A CLI message with its option names written as the Python keywords ('--hash-size' ->
    'hash_size', '-o/--output' -> 'output'; a positional's name, e.g. 'INPUT', where the
    message starts with it). Paths in the message are left alone."""
    options = sorted(_OPTIONS.get(command, []), key=lambda o: len(o["option"]), reverse=True)
    for o in options:
        name, key = o["option"], o["key"]
        if o["positional"]:
            if message.startswith(name + ":"):
                message = key + message[len(name):]
        else:
            message = re.sub(r"(?<![\w/.-])(?:-[A-Za-z]/)?" + re.escape(name) + r"(?![\w-])", key, message)
    return re.sub(r"^-o (?=\S)", "output ", message)


def _engine(command, call, *args):
    try:
        return call(*args)
    except UsageError as e:
        raise UsageError(_keyword_message(str(e), command)) from None


def _paths(value):
    if isinstance(value, (str, bytes, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value]


class Result:
    """A command's result: its JSON as attributes (and `data`, the whole dict)."""

    def __init__(self, data):
        self.data = data
        for k, v in data.items():
            setattr(self, k, v)

    def __repr__(self):
        keys = ", ".join(self.data)
        return f"<lessmore {type(self).__name__}: {keys}>"


class ReduceSummary(Result):
    """lessmore.reduce's result: summary counts (slices, kept, failed, ...), per-volume
    counts (`volumes`), `errors` and `skipped` as the manifest lists them, `output`."""

    def __init__(self, data, output):
        super().__init__(data)
        for k, v in data["summary"].items():
            setattr(self, k if k != "volumes" else "volume_count", v)
        self.output = output
        self.duplicates = data.get("duplicates", [])

    def run(self):
        """The finished run as data (lessmore.Run)."""
        from .run import Run
        return Run(self.output)


def reduce(inputs, output, *, progress=None, embed=None, **options):
    """Reduce `inputs` (files or folders) into `output`, as `lessmore reduce` does, with the
    same options as keywords (method="hash", threshold=6, ...). Inputs that fail are listed
    in the result's .errors, not raised. `progress(event: dict)` is called on the calling
    thread. The GIL is released while the engine works; Ctrl-C (KeyboardInterrupt) stops it
    and leaves `output` resumable (resume=True). `embed(batch) -> embeddings` is DeepNet's
    model as a Python function (docs/python.md, "Your own model: embed=")."""
    options.update(inputs=_paths(inputs), output=os.fspath(output))
    text = _engine("reduce", _ext.reduce, options, progress, _DECODER, embed)
    return ReduceSummary(json.loads(text), os.fspath(output))


def info(inputs, *, progress=None, **options):
    """The volumes the inputs hold, from their headers (`lessmore info --json`)."""
    options["inputs"] = _paths(inputs)
    return Result(json.loads(_engine("info", _ext.info, options, progress, _DECODER)))


def sweep(inputs, *, progress=None, embed=None, **options):
    """Slices kept per threshold, per volume and in total (`lessmore sweep --json`);
    thresholds as a list or "A:B:STEP"; `embed` as reduce's."""
    options["inputs"] = _paths(inputs)
    t = options.get("thresholds")
    if isinstance(t, (list, tuple)):
        options["thresholds"] = ",".join(str(v) for v in t)
    return Result(json.loads(_engine("sweep", _ext.sweep, options, progress, _DECODER, embed)))


def compare(a, b, **options):
    """The kept-slice decisions of two finished runs side by side (`lessmore compare`)."""
    options.update(a=os.fspath(a), b=os.fspath(b))
    return Result(json.loads(_engine("compare", _ext.compare, options)))


class SplitSummary(Result):
    """lessmore.split's result: the "lessmore" block of the datalist it wrote (`data`; its
    keys as attributes: `method`, `threshold`, `splits`, `largest_group`, `excluded`,
    `cross_split_pairs`, `leaky_groups`, `assignment`, ...), the names the CLI's table uses
    for them (`parts`: one dict per split with its `name`; `largest`; `leaky`), and the files
    written (`json`, `csv`)."""

    def __init__(self, data, json_path, csv_path):
        super().__init__(data)
        self.parts = [dict(name=name, **part) for name, part in data.get("splits", {}).items()]
        self.largest = data["largest_group"]
        self.leaky = data["leaky_groups"]
        self.json = json_path
        self.csv = csv_path


def split(run, output, fractions=(0.8, 0.1, 0.1), *, progress=None, **options):
    """Deals a finished run's kept slices to training/validation[/test] so that units tied
    by similar slices stay together (`lessmore split`, docs/split.md); writes the datalist
    OUTPUT (.json) and its CSV beside it, and returns its summary (SplitSummary: `.parts`,
    `.largest`, `.excluded`, `.cross_split_pairs`, `.leaky`, ...)."""
    options.update(run=os.fspath(run), output=os.fspath(output))
    if isinstance(fractions, str):
        fractions = fractions.split(",")
    options["fractions"] = [str(f) for f in fractions]
    text, json_path, csv_path = _engine("split", _ext.split, options, progress)
    return SplitSummary(json.loads(text), json_path, csv_path)


# What only a run over files uses: refused by the array functions (`unit` by the per-slice
# features; reduce_array reduces units).
_FILE_ONLY = {"inputs", "output", "format", "flat", "force", "resume", "shard", "max_memory", "report", "scope",
              "scope_threshold", "patient_depth", "duplicate_fraction", "order", "include_localizers"}


def _array_options(name, options, refused=frozenset()):
    for key in options:
        if key in _FILE_ONLY:
            raise TypeError(f"{name}() got an unexpected keyword argument '{key}' (only for reduce over files)")
        if key in refused:
            raise TypeError(f"{name}() got an unexpected keyword argument '{key}' (per-slice only; "
                            f"reduce_array takes units)")
    return options


class ArrayReduction:
    """reduce_array's result: `kept` (indices), `mask`, `match` (-1: none), `score` (NaN:
    none) and `features` (the metric's text per slice, e.g. the dhash) per slice, `pairs`."""

    def __init__(self, d):
        import numpy as np
        self.mask = d["mask"]
        self.kept = np.flatnonzero(self.mask)
        self.match = d["match"]
        self.score = d["score"]
        self.features = d["features"]
        self.pairs = d["pairs"]

    def __len__(self):
        return len(self.mask)

    def __repr__(self):
        return f"<lessmore ArrayReduction: {len(self.kept)} of {len(self.mask)} slices kept>"


class UnitArrayReduction:
    """reduce_array(..., unit="slab:K" | "patch:Z,Y,X")'s result, per unit in grid order:
    `index`, `origin` and `size` (N x 3, voxels, z, y, x), `mask`, `kept` (indices of the
    kept units), `match` (the kept unit a removed one stands for; -1: none), `score` (NaN:
    none); `units`, the same as a DataFrame with the columns of lessmore.Run's `.units`
    (`unit`, `first_slice`, `end_slice`, `origin_z`..`size_x`, `kept`, `match` (Int64),
    `score`); `unit` (the unit resolved for the volume), `dropped` (the partial units at the
    edges: dicts of origin and size), `skipped` (why no whole unit fits, else None) and
    `pairs` (units compared)."""

    def __init__(self, d):
        import numpy as np
        import pandas as pd
        self.index = d["index"]
        self.origin = d["origin"]
        self.size = d["size"]
        self.mask = d["kept"]
        self.kept = np.flatnonzero(self.mask)
        self.match = d["match"]
        self.score = d["score"]
        self.unit = d["unit"]
        self.dropped = d["dropped"]
        self.skipped = d["skipped"]
        self.pairs = d["pairs"]
        columns = {"unit": self.index, "first_slice": self.origin[:, 0], "end_slice": self.origin[:, 0] + self.size[:, 0]}
        for k, axis in enumerate("zyx"):
            columns[f"origin_{axis}"] = self.origin[:, k]
        for k, axis in enumerate("zyx"):
            columns[f"size_{axis}"] = self.size[:, k]
        columns["kept"] = self.mask
        columns["match"] = pd.array([None if m < 0 else int(m) for m in self.match], dtype="Int64")
        columns["score"] = self.score
        self.units = pd.DataFrame(columns)

    def __len__(self):
        return len(self.mask)

    def __repr__(self):
        return f"<lessmore UnitArrayReduction: {len(self.kept)} of {len(self.mask)} units kept ({self.unit})>"


def reduce_array(volume, *, embed=None, **options):
    """What `lessmore reduce` decides for a (Z, Y, X) NumPy volume (any integer or float
    dtype, any strides): the same as for these voxels saved as NIfTI. Options as reduce's
    (method, threshold or fraction, intensity, ..., embed); nothing is written. With
    `unit="slab:K[:S]"` or `"patch:Z,Y,X[:SZ,SY,SX]"` the volume's 3-D units are reduced
    (UnitArrayReduction; millimetres take the slice spacing as 1 mm, as for an array saved
    with an identity affine)."""
    d = _engine("reduce", _ext.reduce_array, volume, _array_options("reduce_array", options), embed)
    if "units" in d:
        return UnitArrayReduction(dict(d["units"], pairs=d["pairs"]))
    return ArrayReduction(d)


def features(slices, method="hash", **options):
    """Each slice's feature text as the manifest records it, for a (N, H, W) batch or one
    (H, W) slice, mapped to 8 bits by `intensity` (default minmax, as reduce)."""
    options["method"] = method
    return _engine("reduce", _ext.features, slices, _array_options("features", options, refused={"unit"}))


def hash_slices(slices, hash_size=8, intensity=None):
    """The dhash of each slice (hex, imagehash's str()), bit-exact with the paper's; slices
    are mapped to 8 bits by `intensity` first (default minmax as reduce; "none" for 8-bit
    images used as they are). A list for (N, H, W), one text for (H, W)."""
    import numpy as np
    one = np.ndim(slices) == 2
    hashes = features(slices, method="hash", hash_size=hash_size, intensity=intensity)
    return hashes[0] if one else hashes
