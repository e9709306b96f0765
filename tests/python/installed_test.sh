#!/usr/bin/env bash
# The package as `bash scripts/setup.sh test` installs it (pip into BUILD/venv): importable
# from the venv, from its site-packages (not the source tree), and working. Skipped (77)
# when no venv was made (a plain cmake build).
# Usage: installed_test.sh BUILD tests/data/volume-files MODEL.onnx
set -euo pipefail
build="$(cd "$1" && pwd)"
data="$(cd "$2" && pwd)"
model="$(realpath "$3")"
venv="$build/venv"
[ -x "$venv/bin/python" ] || { echo "no $venv (made by scripts/setup.sh test)"; exit 77; }
cd /
env -u PYTHONPATH "$venv/bin/python" - "$data" "$model" <<'PY'
import sys
import tempfile
import numpy as np
import lessmore
assert "site-packages" in lessmore.__file__, lessmore.__file__
v = np.zeros((3, 16, 16), dtype=np.int16)
v[1, 4:8, 4:8] = 100
r = lessmore.reduce_array(v, threshold=0)
assert r.mask.tolist() == [True, True, False], r.mask
# NRRD and MetaImage need the installed decoder worker (lessmore-decoder beside the extension).
s = lessmore.reduce(sys.argv[1], tempfile.mkdtemp() + "/out", threshold=6)
assert s.failed == 0 and s.volume_count > 0, s.errors
# A user's ONNX model is normalised by the model module shipped in lessmore/modules/.
d = lessmore.reduce(sys.argv[1], tempfile.mkdtemp() + "/out", method="deepnet", threshold=0.99, model=sys.argv[2])
assert d.failed == 0 and d.volume_count > 0, d.errors
print("installed lessmore", lessmore.__version__, "at", lessmore.__file__)
PY
