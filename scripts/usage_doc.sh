#!/usr/bin/env bash
# docs/usage.md quotes every command's --help verbatim between marker lines
#   <!-- lessmore CMD --help -->  ...  <!-- end -->
# so the manual cannot drift from the options the binary has.
#   --update  rewrite the quoted blocks from the binary's --help (after changing an option)
#   --check   fail, showing the difference, when a block differs or a command has none
# Usage: scripts/usage_doc.sh --update|--check LESSMORE_BINARY [DOC]
set -euo pipefail
mode="${1:-}"
bin="${2:-}"
doc="${3:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/docs/usage.md}"
case "$mode" in --update|--check) ;; *) echo "usage: $0 --update|--check LESSMORE_BINARY [DOC]" >&2; exit 2 ;; esac
[ -x "$bin" ] || { echo "usage_doc: $bin is not an executable" >&2; exit 2; }
[ -f "$doc" ] || { echo "usage_doc: $doc does not exist" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The commands, from the top-level help's "Subcommands:" list.
commands=$("$bin" --help | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}')
"$bin" --help > "$tmp/lessmore.help"
for c in $commands; do "$bin" "$c" --help > "$tmp/$c.help"; done

# Rebuild the document with every quoted block replaced by the binary's current text.
awk -v dir="$tmp" '
    /^<!-- lessmore( [a-z]+)? --help -->$/ {
        print; name = ($3 == "--help") ? "lessmore" : $3; file = dir "/" name ".help"
        print "```text"; while ((getline line < file) > 0) print line; close(file); print "```"
        seen[name] = 1; skipping = 1; next
    }
    /^<!-- end -->$/ { skipping = 0; print; next }
    !skipping { print }
    END { for (n in seen) print n > (dir "/seen") }
' "$doc" > "$tmp/usage.md"

missing=""
for c in lessmore $commands; do grep -qx "$c" "$tmp/seen" 2>/dev/null || missing+=" $c"; done
if [ "$mode" = --update ]; then
    cp "$tmp/usage.md" "$doc"
    [ -z "$missing" ] || echo "usage_doc: add a block '<!-- lessmore CMD --help -->' ... '<!-- end -->' for:$missing" >&2
    [ -z "$missing" ]
    exit
fi
status=0
if [ -n "$missing" ]; then
    echo "usage_doc: $doc quotes no --help for:$missing" >&2
    status=1
fi
if ! diff -u "$doc" "$tmp/usage.md" >&2; then
    echo "usage_doc: $doc differs from the binary's --help (run: bash scripts/usage_doc.sh --update $bin)" >&2
    status=1
fi
exit $status
