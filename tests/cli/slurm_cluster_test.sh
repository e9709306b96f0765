#!/bin/bash
# docs/clusters.md, "On one machine", run as written: its blocks tagged slurm-test
# (tests/cli/doc_blocks.py extracts them) as one shell session, from a folder that holds
# only links to the sources and the build, with a temporary HOME. They install lessmore
# into ~/.local, start a private SLURM with scripts/slurm/single-node.sh, submit
# scripts/slurm/lessmore-array.sh as a 3-task array (--scope dataset, one input unreadable)
# and lessmore-merge.sh after it, wait, reduce the same data on one machine and stop SLURM.
# Then the checks: the merged OUT equals the single-machine run (lessmore compare, the
# manifest apart from timings, the slice files); the tasks ran the installed lessmore found
# on PATH; the shard with the unreadable input counts as done; nothing was written to the
# folder the commands ran from. Then SLURM is started again (twice: the second start finds
# it running), the page's submit and watch blocks (tagged slurm-submit) run again with a
# LESSMORE that does not exist: every task must fail with 127 and the merge with 3 instead
# of waiting; resubmitting only the failed shards must then finish the run alike.
# Usage: slurm_cluster_test.sh SOURCE_DIR BUILD_DIR
# Exit 0 pass, 1 fail, 77 skipped (slurm-wlm or munge not installed).
set -uo pipefail
src="$(cd "$1" && pwd)"
build="$(cd "$2" && pwd)"
PATH="$PATH:/usr/sbin:/sbin"
for c in munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol; do
    command -v "$c" >/dev/null || { echo "SKIP: $c is not installed (Debian: slurm-wlm, munge)" >&2; exit 77; }
done

tmp="$(mktemp -d /tmp/lessmore-slurm.XXXXXX)"
home="$tmp/home"
here="$tmp/src"  # where the page's commands run: links to the sources and the build only
mkdir -p "$home" "$here"
ln -s "$src/scripts" "$src/data" "$src/tests" "$here/"
ln -s "$build" "$here/build"
cluster="$home/lessmore-slurm"
demo="$home/lessmore-demo"
node_sh=(env HOME="$home" bash "$src/scripts/slurm/single-node.sh")

cleanup() {
    [ -d "$cluster" ] && "${node_sh[@]}" stop "$cluster" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    local f
    for f in "$tmp/doc.log" "$demo"/work/logs/*.log "$tmp"/home2/lessmore-demo/work/logs/*.log "$cluster"/slurm*.log; do
        [ -f "$f" ] && { echo "--- $f (end)"; tail -n 25 "$f"; } >&2
    done
    exit 1
}

# --- the page, as written -------------------------------------------------------------
/usr/bin/python3 "$src/tests/cli/doc_blocks.py" "$src/docs/clusters.md" slurm-test >"$tmp/doc.sh" ||
    fail "no slurm-test blocks in docs/clusters.md"
# Only what a new shell has: none of the page's settings, no SLURM_CONF.
(cd "$here" && env -u SLURM_CONF -u LESSMORE -u DATA -u WORK -u OUT -u SHARDS -u SCOPE -u THRESHOLD -u LOGS \
    -u REDUCE_OPTIONS -u MERGE_OPTIONS HOME="$home" timeout 200 bash -x "$tmp/doc.sh") >"$tmp/doc.log" 2>&1
[ -f "$cluster/slurm.conf" ] || fail "the page's single-node.sh start made no $cluster/slurm.conf"
"${node_sh[@]}" status "$cluster" >/dev/null 2>&1 && fail "SLURM still running after the page's single-node.sh stop"
out="$demo/out"
[ -f "$out/manifest.json" ] || fail "the page's run made no $out/manifest.json"
grep -q "^the same decisions$" "$tmp/doc.log" || fail "the page's lessmore compare found different decisions"
[ -z "$(find "$here" -mindepth 1 -maxdepth 1 ! -type l)" ] || fail "files written where the commands ran: $(ls "$here")"

# --- the merged run is the single machine's -----------------------------------------------
/usr/bin/python3 - "$demo/single/manifest.json" "$out/manifest.json" <<'PY' || fail "manifests differ"
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
assert [e["path"].rsplit("/", 1)[-1] for e in a["errors"]] == ["broken.nii.gz"], a["errors"]
assert {"volume": "b", "of": "a"} in [{k: d[k] for k in ("volume", "of")} for d in a["duplicates"]], a["duplicates"]
print("slurm: %d volumes, %d kept, %d removed across volumes, duplicates %s, errors %s" % (
    a["summary"]["volumes"], a["summary"]["kept"], a["summary"]["removed_across_volumes"],
    [(d["volume"], d["of"]) for d in a["duplicates"]], [e["path"] for e in a["errors"]]), file=sys.stderr)
PY
diff <(cd "$demo/single/slices" && find . -type f | sort) <(cd "$out/slices" && find . -type f | sort) >&2 ||
    fail "slice files differ"

# --- the shards' outcomes and logs, as the page describes them ---------------------------
logs="$demo/work/logs"
for i in 1 2 3; do
    grep -q "^done " "$demo/work/status/shard-$i" 2>/dev/null || fail "shard $i: not recorded as done"
done
[ "$(grep -l "^done exit=1 " "$demo"/work/status/shard-* | wc -l)" -eq 1 ] || fail "not exactly one shard done with exit 1"
[ "$(find "$logs" -name 'lessmore-*_[123].log' | wc -l)" -eq 3 ] || fail "not one log per task in $logs: $(ls "$logs")"
[ "$(grep -l "$home/.local/bin/lessmore (lessmore " "$logs"/lessmore-*_[123].log | wc -l)" -eq 3 ] ||
    fail "the tasks did not all run the lessmore installed in ~/.local/bin"
grep -l "broken.nii.gz" "$logs"/lessmore-*_[123].log | xargs grep -q "done; the inputs above could not be read" ||
    fail "the log of the shard with broken.nii.gz does not say it is done with unreadable inputs"
grep -q "merged 3 shards into $out; some inputs could not be read" "$logs"/lessmore-merge-*.log ||
    fail "the merge log does not say it merged"

# --- the page's submit and watch again, with a lessmore that is not there ---------------
conf="$("${node_sh[@]}" start "$cluster" 2>"$tmp/start.err")" || fail "single-node.sh start (again): $(cat "$tmp/start.err")"
"${node_sh[@]}" start "$cluster" 2>&1 >/dev/null | grep -q "already running" || fail "a second start did not find SLURM running"
# The node is this machine, placed by CPUs and memory: a job asking for more is refused at once.
eval "$conf"
cpus="$(sinfo -h -o %c)"
mem="$(sinfo -h -o %m)"
[ "$cpus" -eq "$(nproc)" ] || fail "the node has $cpus CPUs, this machine $(nproc)"
scontrol show config | grep -q "^SelectTypeParameters *= CR_CPU_MEMORY" || fail "SelectTypeParameters is not CR_CPU_Memory"
(cd "$tmp" && sbatch --cpus-per-task=$((cpus + 1)) -o /dev/null --wrap true >/dev/null 2>&1) && fail "sbatch took a job with more CPUs than the node"
(cd "$tmp" && sbatch --mem=$((mem + 1)) -o /dev/null --wrap true >/dev/null 2>&1) && fail "sbatch took a job with more memory than the node"
home2="$tmp/home2"
mkdir -p "$home2/lessmore-demo"
cp -r "$demo/data" "$home2/lessmore-demo/data"
/usr/bin/python3 "$src/tests/cli/doc_blocks.py" "$src/docs/clusters.md" slurm-submit >"$tmp/submit.sh" ||
    fail "no slurm-submit blocks in docs/clusters.md"
(cd "$here" && eval "$conf" && env -u DATA -u WORK -u OUT -u SHARDS -u SCOPE -u THRESHOLD -u LOGS \
    HOME="$home2" LESSMORE="$home/nowhere/lessmore" PATH="$home/.local/bin:$PATH" timeout 90 bash -x "$tmp/submit.sh") \
    >"$tmp/doc.log" 2>&1
read -r array_job mid < <(sed -n 's/^array job \([0-9]*\), merge job \([0-9]*\)$/\1 \2/p' "$tmp/doc.log")
[ -n "${mid:-}" ] || fail "the page's submit printed no job ids"
eval "$conf"
export DATA="$home2/lessmore-demo/data" WORK="$home2/lessmore-demo/work" OUT="$home2/lessmore-demo/out"
export SHARDS=3 SCOPE=dataset THRESHOLD=6 PATH="$home/.local/bin:$PATH" HOME="$home2"
job_field() { scontrol show job "$1" | grep -o "$2=[^ ]*" | head -n 1; }
[ "$(job_field "$mid" ExitCode)" = "ExitCode=3:0" ] ||
    fail "merge after tasks without lessmore: $(job_field "$mid" JobState) $(job_field "$mid" ExitCode), expected exit 3"
for i in 1 2 3; do
    grep -q "cannot find '$home/nowhere/lessmore'" "$WORK/logs/lessmore-${array_job}_$i.log" ||
        fail "task $i's log does not say lessmore was not found"
done
[ "$(job_field "$array_job" ExitCode)" = "ExitCode=127:0" ] || fail "a task without lessmore: $(job_field "$array_job" ExitCode)"
grep -q "not merged: 3 of 3 shards are not done" "$WORK/logs/lessmore-merge-$mid.log" ||
    fail "the merge log does not name the failed shards"

# --- resubmitting only the failed shards (the page's "When something goes wrong") -----------
sizes=(--cpus-per-task=1 --mem=1G --time=00:10:00)
cd "$here" || fail "cd $here"
wait_jobs() {  # job ids: until squeue lists none (at most 90 s)
    for _ in $(seq 180); do squeue -h -j "$1" 2>/dev/null | grep -q . || return 0; sleep 0.5; done
    fail "jobs $1 still queued after 90 s: $(squeue -j "$1" 2>&1)"
}
submit() {  # array list, expected merge exit code: the array and the merge after it
    local jid
    jid="$(sbatch --parsable --array="$1" "${sizes[@]}" scripts/slurm/lessmore-array.sh)" || fail "sbatch of --array=$1"
    mid="$(sbatch --parsable --dependency=afterany:"$jid" "${sizes[@]}" scripts/slurm/lessmore-merge.sh)" ||
        fail "sbatch of the merge"
    wait_jobs "$jid,$mid"
    [ "$(job_field "$mid" ExitCode)" = "ExitCode=$2:0" ] ||
        fail "merge after --array=$1: $(job_field "$mid" JobState) $(job_field "$mid" ExitCode), expected exit $2"
    merge_log="$WORK/logs/lessmore-merge-$mid.log"
}
submit 1,3 3  # SHARDS stays 3: task 3 is shard 3/3
if ! grep -q "shard 2 failed (failed exit=127" "$merge_log" || ! grep -q "not merged: 1 of 3 shards are not done" "$merge_log" ||
    ! grep -q -- "--array=2 " "$merge_log"; then
    fail "the merge does not name shard 2 alone: $(cat "$merge_log")"
fi
submit 2 0
grep -q "merged 3 shards into $OUT" "$merge_log" || fail "the merge log does not say it merged"
"$build/apps/lessmore" compare "$out" "$OUT" >"$tmp/compare.log" || fail "redone shards: decisions differ from the page's run"
diff <(cd "$out/slices" && find . -type f | sort) <(cd "$OUT/slices" && find . -type f | sort) >&2 ||
    fail "redone shards: slice files differ"
[ -z "$(find "$here" -mindepth 1 -maxdepth 1 ! -type l)" ] || fail "files written where sbatch ran: $(ls "$here")"
echo "PASS: docs/clusters.md on a single-node SLURM equals the single-machine run; tasks without lessmore fail the merge (exit 3); redoing the failed shards finishes it" >&2
