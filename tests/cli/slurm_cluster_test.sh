#!/bin/bash
# The README's SLURM recipe on a real single-node SLURM: munged, slurmctld and slurmd
# started on localhost in a scratch folder (proctrack/linuxproc, no cgroups, no
# accounting), scripts/slurm/lessmore-array.sh submitted as a 3-task array with
# --scope dataset, scripts/slurm/lessmore-merge.sh after it (afterok), and the merged OUT
# compared with a single-machine run: same decisions (lessmore compare), same manifest
# apart from timing, same slice files.
# Usage: slurm_cluster_test.sh LESSMORE_BINARY SOURCE_DIR
# Exit 0 pass, 1 fail, 77 skipped (SLURM not installed, or slurmctld cannot start here).
set -uo pipefail
lessmore="$1"
src="$2"
skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }

for c in munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol; do
    command -v "$c" >/dev/null || skip "$c is not installed (Debian: slurm-wlm, munge)"
done
tmp="$(mktemp -d /tmp/lessmore-slurm.XXXXXX)"
chmod 755 "$tmp"
pids=()
cleanup() {
    [ -n "${SLURM_CONF:-}" ] && scontrol shutdown >/dev/null 2>&1
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    sleep 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# --- munge, with a key and socket of its own --------------------------------------------
mungekey --create --keyfile="$tmp/munge.key" >/dev/null 2>&1 || skip "mungekey cannot create a key"
munged --force --foreground --key-file="$tmp/munge.key" --socket="$tmp/munge.sock" \
    --pid-file="$tmp/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munged.seed" 2>"$tmp/munged.out.log" &
pids+=($!)
for _ in $(seq 50); do [ -S "$tmp/munge.sock" ] && break; sleep 0.1; done
[ -S "$tmp/munge.sock" ] || skip "munged did not start ($(tail -n 3 "$tmp/munged.log" 2>/dev/null))"

# --- slurmctld and slurmd on this host, on ports of their own ----------------------------
node="$(hostname -s)"
port=$((20000 + RANDOM % 20000))
mkdir -p "$tmp/state" "$tmp/spool"
export SLURM_CONF="$tmp/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=lessmoretest
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge.sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
NodeName=$node CPUs=$(nproc) RealMemory=2000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -i -f "$SLURM_CONF" >"$tmp/slurmctld.out.log" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$node" >"$tmp/slurmd.out.log" 2>&1 &
pids+=($!)
up=""
for _ in $(seq 100); do
    if sinfo -h -o %T 2>/dev/null | grep -qE "^idle"; then up=1; break; fi
    sleep 0.2
done
[ -n "$up" ] || skip "slurmctld/slurmd did not come up here: $(tail -n 3 "$tmp/slurmctld.log" "$tmp/slurmd.log" 2>/dev/null | tr '\n' ' ')"
echo "slurm: node $node idle (controller port $port)" >&2

# --- a small dataset with copies across volumes -----------------------------------------
data="$tmp/data"
mkdir -p "$data/dicom"
cp -r "$src/tests/data/readers/copies/a" "$data/dicom/a"
cp -r "$src/tests/data/readers/copies/b" "$data/dicom/b"
cp -r "$src/tests/data/readers/pet" "$data/dicom/pet"
cp -r "$src/tests/data/dicom/philips" "$data/dicom/philips"
cp -r "$src/tests/data/dicom/two-series" "$data/dicom/two-series"
cp "$src/data/sample/example_ct_sm.nii.gz" "$data/sample.nii.gz"
cp "$src/data/sample/example_ct_sm.nii.gz" "$data/sample-copy.nii.gz"

"$lessmore" reduce "$data" -o "$tmp/single" -t 6 --scope dataset -q >/dev/null || fail "single-machine run"

# --- the documented scripts, submitted as documented -----------------------------------
export DATA="$data" WORK="$tmp/work" OUT="$tmp/merged" LESSMORE="$lessmore" SCOPE=dataset THRESHOLD=6
mkdir -p "$WORK"
jid="$(sbatch --parsable --array=1-3 --cpus-per-task=1 --mem=200 --time=00:05:00 \
        --output="$tmp/task-%a.log" "$src/scripts/slurm/lessmore-array.sh")" || fail "sbatch of the array"
mid="$(sbatch --parsable --dependency=afterok:"$jid" --cpus-per-task=1 --mem=200 --time=00:05:00 \
        --output="$tmp/merge.log" "$src/scripts/slurm/lessmore-merge.sh")" || fail "sbatch of the merge"
echo "slurm: array job $jid, merge job $mid" >&2
for _ in $(seq 600); do
    [ -z "$(squeue -h -j "$jid,$mid" 2>/dev/null)" ] && break
    sleep 0.2
done
[ -z "$(squeue -h -j "$jid,$mid" 2>/dev/null)" ] && [ -f "$OUT/manifest.json" ] || fail "the jobs did not finish with a merged manifest"
for i in 1 2 3; do [ -f "$WORK/shard-$i/manifest.json" ] || fail "shard $i has no manifest"; done

# --- the cluster's result is the single machine's ---------------------------------------
"$lessmore" compare "$tmp/single" "$OUT" >"$tmp/compare.log" || fail "compare: decisions differ"
/usr/bin/python3 - "$tmp/single/manifest.json" "$OUT/manifest.json" <<'PY' || fail "manifests differ"
import json, sys
def stable(p):
    m = json.load(open(p))
    for k in ("run", "shard"):
        m.pop(k, None)
    m["summary"].pop("seconds", None)
    for v in m["volumes"]:
        v.pop("seconds", None)
    return m
a, b = stable(sys.argv[1]), stable(sys.argv[2])
assert a == b, "manifests differ"
assert a["summary"]["removed_across_volumes"] > 0, "the dataset should hold copies"
print("slurm: %d volumes, %d kept, %d removed across volumes, duplicates %s" % (
    a["summary"]["volumes"], a["summary"]["kept"], a["summary"]["removed_across_volumes"],
    [(d["volume"], d["of"]) for d in a["duplicates"]]), file=sys.stderr)
PY
diff <(cd "$tmp/single/slices" && find . -type f | sort) <(cd "$OUT/slices" && find . -type f | sort) >&2 \
    || fail "slice files differ"
echo "PASS: 3 array tasks and the merge on SLURM equal the single-machine run" >&2
