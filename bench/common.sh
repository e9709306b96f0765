# shellcheck shell=bash disable=SC2034
# (sourced, not run; PY, MED_WALL and MED_RSS_MB are for the sourcing script)
#
# Helpers shared by the bench/*.sh scripts: source "$HERE/common.sh" after
# `set -euo pipefail`. Defines PY and functions only; time_runs uses the
# caller's WORK folder.

PY=/usr/bin/python3   # Debian's python: numpy, pydicom, nibabel, cv2, Pillow, scikit-image

# die MESSAGE: prints "<script name>: MESSAGE" on stderr and exits 1.
die() { echo "$(basename "$0" .sh): $*" >&2; exit 1; }

# median: the median of the numbers on stdin, one per line (an odd count
# prints the middle line unchanged).
median() { sort -g | awk '{a[NR]=$1} END {m=int((NR+1)/2); print (NR%2) ? a[m] : (a[m]+a[m+1])/2}'; }

# warm PATH...: reads every file under PATH once, so timed runs (and every
# tool compared) read from the page cache.
warm() { find "$@" -type f -print0 | xargs -0 cat >/dev/null; }

have_gnu_time() { /usr/bin/time -f "%e %M" true >/dev/null 2>&1; }

# need_gnu_time: GNU time, installed only when missing and apt-get is usable.
need_gnu_time() {
    have_gnu_time && return
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        echo "installing GNU time ..." >&2
        apt-get install -y time >/dev/null 2>&1 \
            || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null; }
    fi
    have_gnu_time || die "GNU time (/usr/bin/time) is required"
}

# time_runs LABEL COUNT OUT_DIR CMD...: runs CMD COUNT times under GNU time
# (OUT_DIR wiped before each run, outside the timing; CMD's output goes to
# WORK/LABEL.log and is shown if it fails) and sets MED_WALL (s) / MED_RSS_MB
# to the medians. MB is 2^20 bytes (GNU time reports RSS in KiB). GNU time's
# %M is the peak RSS of the largest single process in the tree, not a sum.
time_runs() {
    local label="$1" count="$2" out="$3"; shift 3
    local tfile="$WORK/time-$label.txt" log="$WORK/$label.log" walls=() rss=() i w m
    for ((i = 1; i <= count; i++)); do
        rm -rf "$out"
        if ! /usr/bin/time -f "%e %M" -o "$tfile" "$@" >"$log" 2>&1; then
            echo "run '$label' failed:" >&2; cat "$log" >&2; [ -f "$tfile" ] && cat "$tfile" >&2; exit 1
        fi
        read -r w m <"$tfile"
        walls+=("$w"); rss+=("$m")
        echo "  $label run $i: ${w} s, $(awk -v m="$m" 'BEGIN {printf "%.0f", m / 1024}') MB peak RSS" >&2
    done
    MED_WALL="$(printf '%s\n' "${walls[@]}" | median)"
    MED_RSS_MB="$(printf '%s\n' "${rss[@]}" | median | awk '{printf "%.0f", $1 / 1024}')"
}

# --- generated datasets (make_dataset.py); need WORK, SEED and HERE set ---------------

# ds_total DIR VOLUMES SIZE SMIN SMAX: prints the slice count if DIR holds a complete
# dataset made with exactly these parameters (and seed) by the current
# make_dataset.py (same generator_sha256), else fails.
ds_total() {
    "$PY" - "$@" "$SEED" "$HERE" <<'EOF'
import json, os, sys
d = sys.argv[1]
vols, size, smin, smax, seed = map(int, sys.argv[2:7])
sys.path.insert(0, sys.argv[7])
from make_dataset import generator_sha256
try:
    m = json.load(open(os.path.join(d, "dataset.json")))
except (OSError, ValueError):
    sys.exit(1)
want = dict(volumes=vols, size=size, slices_min=smin, slices_max=smax, seed=seed,
            dicom_fraction=0.5, generator_sha256=generator_sha256())
if any(m.get(k) != v for k, v in want.items()):
    sys.exit(1)
if not all(os.path.exists(os.path.join(d, v["path"])) for v in m["volume_list"]):
    sys.exit(1)
print(m["total_slices"])
EOF
}

# make_ds NAME VOLUMES SIZE SMIN SMAX: generates $WORK/NAME unless present; sets DS_SLICES.
make_ds() {
    local name="$1" vols="$2" size="$3" smin="$4" smax="$5" dir="$WORK/$1"
    if DS_SLICES="$(ds_total "$dir" "$vols" "$size" "$smin" "$smax")"; then
        echo "dataset $name: present ($DS_SLICES slices)" >&2
        return
    fi
    echo "dataset $name: generating $vols volumes of ${size}x${size} ..." >&2
    # Into a scratch folder, renamed when complete: an interrupted run never
    # leaves a half dataset that looks present.
    rm -rf "$dir" "$dir.partial"
    "$PY" "$HERE/make_dataset.py" "$dir.partial" --volumes "$vols" --size "$size" \
        --slices-min "$smin" --slices-max "$smax" --seed "$SEED" >&2
    mv "$dir.partial" "$dir"
    DS_SLICES="$(ds_total "$dir" "$vols" "$size" "$smin" "$smax")" \
        || die "make_dataset.py did not produce a complete dataset in $dir"
}
