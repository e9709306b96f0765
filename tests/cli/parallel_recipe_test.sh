#!/bin/bash
# docs/clusters.md's GNU parallel recipe run as written: its blocks tagged parallel-test
# (tests/cli/doc_blocks.py extracts them: install lessmore into ~/.local, make the demo
# dataset with its unreadable file, the parallel line and the merge) as one shell session
# with a temporary HOME, from a folder of links to the sources and the build. The merge
# runs only if every shard counted as done (the shard with the unreadable input exits 1),
# and its OUT must equal a single-machine run of the same data: same decisions (lessmore
# compare), same manifest apart from timings, same slice files.
# Usage: parallel_recipe_test.sh SOURCE_DIR BUILD_DIR
# Exit 0 pass, 1 fail, 77 skipped (GNU parallel not installed).
set -uo pipefail
src="$(cd "$1" && pwd)"
build="$(cd "$2" && pwd)"
command -v parallel >/dev/null || { echo "SKIP: GNU parallel is not installed (Debian: parallel)" >&2; exit 77; }

tmp="$(mktemp -d /tmp/lessmore-parallel.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
home="$tmp/home"
here="$tmp/src"
mkdir -p "$home" "$here"
ln -s "$src/scripts" "$src/data" "$src/tests" "$here/"
ln -s "$build" "$here/build"
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/doc.log" ] && tail -n 30 "$tmp/doc.log" >&2; exit 1; }

/usr/bin/python3 "$src/tests/cli/doc_blocks.py" "$src/docs/clusters.md" parallel-test >"$tmp/doc.sh" ||
    fail "no parallel-test blocks in docs/clusters.md"
(cd "$here" && env -u LESSMORE HOME="$home" timeout 100 bash -x "$tmp/doc.sh") >"$tmp/doc.log" 2>&1
demo="$home/lessmore-demo"
[ -f "$demo/par/merged/manifest.json" ] || fail "the recipe made no merged manifest"
grep -q "broken.nii.gz" "$tmp/doc.log" || fail "no shard reported the unreadable input"

# From the same folder as the recipe: the manifests record the input paths as given.
(cd "$demo" && "$build/apps/lessmore" reduce data -o "$tmp/single" --threshold 6 --scope dataset -q >/dev/null 2>&1)
[ -f "$tmp/single/manifest.json" ] || fail "single-machine run"
"$build/apps/lessmore" compare "$tmp/single" "$demo/par/merged" >/dev/null || fail "decisions differ"
/usr/bin/python3 - "$tmp/single/manifest.json" "$demo/par/merged/manifest.json" <<'PY' || fail "manifests differ"
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
assert a["summary"]["removed_across_volumes"] > 0 and [e["path"] for e in a["errors"]] == ["data/broken.nii.gz"]
PY
diff <(cd "$tmp/single/slices" && find . -type f | sort) <(cd "$demo/par/merged/slices" && find . -type f | sort) >&2 ||
    fail "slice files differ"
echo "PASS: docs/clusters.md's GNU parallel recipe (3 shards, one with an unreadable input) equals the single-machine run" >&2
