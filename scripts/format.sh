#!/usr/bin/env bash
# clang-format over lessmore's own C++ (not tests/data, which holds fixtures as found).
#   bash scripts/format.sh           reformat in place
#   bash scripts/format.sh --check   fail, listing the files, when any is not formatted (CI)
# Uses clang-format 14 (Debian 12's clang-format package) and the committed .clang-format.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
tool="$(command -v clang-format-14 || command -v clang-format || true)"
[ -n "$tool" ] || { echo "format: clang-format is not installed (Debian: clang-format)" >&2; exit 2; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' | grep -v '^tests/data/')
if [ "${1:-}" = --check ]; then
    bad=()
    for f in "${files[@]}"; do
        "$tool" --style=file "$f" | cmp -s - "$f" || bad+=("$f")
    done
    if ((${#bad[@]})); then
        echo "format: not formatted (run: bash scripts/format.sh):" >&2
        printf '  %s\n' "${bad[@]}" >&2
        exit 1
    fi
    echo "format: ${#files[@]} files formatted" >&2
else
    "$tool" --style=file -i "${files[@]}"
fi
