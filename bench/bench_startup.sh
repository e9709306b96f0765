#!/usr/bin/env bash
# Start-up of commands that need no heavy state, against `true` and against a previous
# build, in one run: `lessmore --version`, `--help` and `info` on a small input (a 16-slice
# NIfTI and a 16-slice DICOM series from tests/data). Every command is run RUNS times per
# round, the programs interleaved within each round; wall clock and CPU time (user + system,
# from wait4) per run are reported as medians, and "net" is the program's wall time minus
# that of `true` (what starting any process costs here).
#
# Usage: bench/bench_startup.sh [NEW_BIN] [BASE_BIN]
#   NEW_BIN   default: build/apps/lessmore of this tree
#   BASE_BIN  default: /work/bin/lessmore-a711b3e (the build before the start-up work)
# Environment: BENCH_RUNS runs per command and round (20), BENCH_ROUNDS rounds (5).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
NEW_BIN="${1:-$HERE/../build/apps/lessmore}"
BASE_BIN="${2:-/work/bin/lessmore-a711b3e}"
[ -x "$NEW_BIN" ] || die "no lessmore binary at $NEW_BIN"
[ -x "$BASE_BIN" ] || die "no base binary at $BASE_BIN"
DATA="$HERE/../tests/data"

"$PY" - "$NEW_BIN" "$BASE_BIN" "$DATA" "${BENCH_RUNS:-20}" "${BENCH_ROUNDS:-5}" <<'PYEOF'
import os, statistics, subprocess, sys, time
new, base, data, runs, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
nifti = os.path.join(data, "ct/nifti")
nii = sorted(os.path.join(nifti, f) for f in os.listdir(nifti) if f.endswith((".nii", ".nii.gz")))
dicom = os.path.join(data, "ct/pancreas-ct-cb-001")
commands = [("--version", ["--version"]), ("--help", ["--help"]),
            ("info small .nii(.gz)", ["info", nii[0]]), ("info 16-slice DICOM series", ["info", dicom])]
devnull = os.open(os.devnull, os.O_WRONLY)

def once(argv):
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                                                   (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench_startup: {' '.join(argv)} failed")
    return wall * 1e3, (ru.ru_utime + ru.ru_stime) * 1e3

true_bin = "/bin/true"
res = {}
for _ in range(rounds):
    for _ in range(runs):
        res.setdefault(("true", ""), []).append(once([true_bin]))
    for label, args in commands:
        for which, b in (("base", base), ("new", new)):
            for _ in range(runs):
                res.setdefault((which, label), []).append(once([b] + args))

def med(key, k):
    return statistics.median(v[k] for v in res[key])

t_wall = med(("true", ""), 0)
load = os.getloadavg()
print(f"Start-up, median of {runs * rounds} runs each ({rounds} rounds of {runs}, interleaved); "
      f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; base = {base}.")
print()
print(f"`true`: {t_wall:.2f} ms wall, {med(('true', ''), 1):.2f} ms CPU.")
print()
print("| command | base wall ms | new wall ms | new net of `true` ms | base CPU ms | new CPU ms | new/base (wall) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for label, _ in commands:
    bw, nw = med(("base", label), 0), med(("new", label), 0)
    bc, nc = med(("base", label), 1), med(("new", label), 1)
    print(f"| `lessmore {label}` | {bw:.1f} | {nw:.1f} | {nw - t_wall:.1f} | {bc:.1f} | {nc:.1f} | {nw / bw:.2f} |")
PYEOF
