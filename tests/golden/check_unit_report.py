#!/usr/bin/python3
"""`lessmore report` on a unit run (docs/output.md, section "Unit rows"; docs/usage.md, section
"report"): each unit's thumbnail is its middle slice, cropped to the unit, checked against the
source read by nibabel.

The bundled NIfTI sample (30 slices, 122 x 101) is reduced with `--unit slab:4` (EveryN 2)
and `--unit patch:4,48,64` (EveryN 2) and `--report`; the contact sheet in report.html is
decoded with Pillow, and each KEPT unit's cell (dimmed removed cells are left out) is
compared with the unit's middle slice (origin z + size z // 2), min-max mapped to 8 bits
(reference_preprocessing.minmax_u8, over the whole slice), cropped to the unit's rows and
columns and resized by Pillow to the cell's size: the correlation must be above 0.97 and
above that with the slices two before and two after (so the picture is that slice, not a
neighbour), and the kept cells' count equals the manifest's kept units.

Usage: check_unit_report.py LESSMORE SOURCE_DIR. Exit 0 when every check passes; else prints
each failure and exits 1.
"""
import base64
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_preprocessing import minmax_u8  # noqa: E402

THUMB, LABEL = 96, 16  # report.cpp's defaults: thumbnail size and label band
failures = []


def check(ok, message):
    if not ok:
        failures.append(message)


def sheet_of(report):
    html = report.read_text(encoding="utf-8")
    images = re.findall(r'class="sheet"[^>]*src="data:image/jpeg;base64,([^"]+)"', html)
    check(len(images) == 1, f"{report}: {len(images)} contact sheets, expected 1")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(images[0]))).convert("L"), dtype=np.float64)


def correlation(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-12))


def run_case(lessmore, sample, unit, tmp):
    out = tmp / unit.replace(":", "_").replace(",", "_")
    p = subprocess.run([lessmore, "reduce", str(sample), "-o", str(out), "--unit", unit, "-m", "everyn", "--every",
                        "2", "--report", "-q"], capture_output=True, text=True)
    check(p.returncode == 0, f"{unit}: reduce --report exit {p.returncode}: {p.stderr}")
    if p.returncode != 0:
        return
    manifest = json.loads((out / "manifest.json").read_text())
    [volume] = manifest["volumes"]
    sheet = sheet_of(out / "report.html")
    voxels = np.asarray(nib.load(str(sample)).dataobj).transpose(2, 1, 0)  # (z, y, x)
    units = volume["units"]
    columns = min(len(units), 12)
    kept = 0
    for i, u in enumerate(units):
        if not u["kept"]:
            continue
        kept += 1
        (z0, y0, x0), (zs, ys, xs) = u["origin"], u["size"]
        scale = THUMB / max(xs, ys)
        tw, th = max(1, int(xs * scale)), max(1, int(ys * scale))
        cx = i % columns * (THUMB + 4) + 2 + (THUMB - tw) // 2
        cy = i // columns * (THUMB + LABEL + 4) + 2 + (THUMB - th) // 2
        # One pixel in from each edge: the green frame of a kept cell borders the thumbnail.
        cell = sheet[cy + 1:cy + th - 1, cx + 1:cx + tw - 1]

        def picture(z):
            s = minmax_u8(voxels[z])[y0:y0 + ys, x0:x0 + xs]
            small = np.asarray(Image.fromarray(s).resize((tw, th), Image.BILINEAR), dtype=np.float64)
            return small[1:th - 1, 1:tw - 1]

        middle = z0 + zs // 2
        own = correlation(cell, picture(middle))
        check(own > 0.97, f"{unit}: unit {i}: correlation {own:.3f} with its middle slice {middle}")
        for other in (middle - 2, middle + 2):
            if 0 <= other < voxels.shape[0]:
                c = correlation(cell, picture(other))
                check(own > c, f"{unit}: unit {i}: slice {other} fits better ({c:.3f}) than the middle ({own:.3f})")
    check(kept == volume["kept"] and kept > 0, f"{unit}: {kept} kept cells, manifest says {volume['kept']}")
    html = (out / "report.html").read_text(encoding="utf-8")
    check(f"{len(units)} units" in html, f"{unit}: report.html does not count {len(units)} units")


def main():
    lessmore, source = sys.argv[1], pathlib.Path(sys.argv[2])
    sample = source / "data" / "sample" / "example_ct_sm.nii.gz"
    with tempfile.TemporaryDirectory() as d:
        for unit in ("slab:4", "patch:4,48,64"):
            run_case(lessmore, sample, unit, pathlib.Path(d))
    for f in failures:
        print("FAIL:", f)
    print(f"check_unit_report: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
