"""lessmore from Python: the C++ engine (reduce, reduce_array, info, compare, sweep), a
finished run as pandas DataFrames (Run) and a PyTorch dataset (lessmore.torch, imported on
its own so that `import lessmore` never needs torch). See docs/python.md."""
from ._lessmore import Error, InputError, UsageError
from ._api import compare, features, hash_slices, info, options, reduce, reduce_array, split, sweep, version
from .run import Run

__all__ = ["Error", "InputError", "UsageError", "Run", "compare", "features", "hash_slices", "info", "options",
           "reduce", "reduce_array", "split", "sweep", "version"]
__version__ = version()
