"""A written slice or unit file read back, in the values a training pipeline asks for."""
import numpy as np


def parse_values(values):
    """("stored"|"hu"|"minmax"|"window", center, width) from the text; ValueError naming it."""
    if values in (None, "stored"):
        return ("stored", 0.0, 0.0)
    if values in ("hu", "minmax"):
        return (values, 0.0, 0.0)
    if isinstance(values, str) and values.startswith("window:"):
        try:
            c, w = (float(x) for x in values[len("window:"):].split(","))
        except ValueError:
            raise ValueError(f"values: {values!r} is not window:CENTER,WIDTH (e.g. window:40,400)") from None
        if not (w > 0 and np.isfinite(c) and np.isfinite(w)):
            raise ValueError(f"values: window width must be positive in {values!r}")
        return ("window", c, w)
    raise ValueError(f"values: unknown {values!r} (use stored, hu, minmax or window:C,W)")


def _load_nifti(path):
    """A unit's NIfTI (docs/output.md, "Unit files") as its NPY holds it: nibabel's array
    (x, y, z) transposed to (z, y, x), in the stored dtype (scl_slope 0: values as stored)."""
    import nibabel as nib
    img = nib.load(path)
    return np.ascontiguousarray(np.asanyarray(img.dataobj).transpose(2, 1, 0))


def read_slice(path, values="stored"):
    """The file's array (a slice's PNG or NPY, a unit's NPY or NIfTI, (z, y, x)) in `values`
    (text, or what parse_values made of it). "minmax" maps the whole array (a unit as one
    block, docs/methods.md, "Intensity of a unit")."""
    kind, center, width = values if isinstance(values, tuple) else parse_values(values)
    path = str(path)
    if path.endswith(".npy"):
        a = np.load(path, allow_pickle=False)
    elif path.endswith((".nii.gz", ".nii")):
        a = _load_nifti(path)
    else:
        if kind != "stored":
            raise ValueError(f"values: {values!r} needs the voxel values, but the run wrote PNG (8-bit) slices; "
                             f"reduce with format='npy' or 'both'")
        from PIL import Image
        with Image.open(path) as im:
            a = np.asarray(im)
    if kind == "stored":
        return a
    a = a.astype(np.float32)
    if kind == "hu":
        return a
    if kind == "minmax":
        finite = a[np.isfinite(a)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        out = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        return np.where(np.isfinite(out), out, 0).astype(np.float32)
    lo = center - width / 2
    return ((np.clip(a, lo, lo + width) - lo) / width).astype(np.float32)
