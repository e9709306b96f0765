#!/usr/bin/python3
"""The fenced blocks of docs/clusters.md, so that the tests run what the page says.

  doc_blocks.py PAGE TAG      print the shell blocks whose info string has TAG, in page
                              order, as one script (the tests run it)
  doc_blocks.py --check PAGE  every shell block is either run by a test (tagged with one of
                              TAGS) or says "not run by the tests" on its first line; each
                              tag is used; every YAML block parses, and the shell script of
                              a container whose command is ["sh", "-c"] passes `sh -n`.
Exit 0 ok, 1 the page breaks a rule (each broken rule printed on one line), 2 usage.
"""
import re
import subprocess
import sys

TAGS = ("slurm-test", "slurm-submit", "parallel-test")  # slurm_cluster_test.sh (the first two), parallel_recipe_test.sh
SHELLS = ("sh", "bash", "shell")
UNTESTED = "not run by the tests"


def blocks(page):
    """(line number, language, tags, text) of each fenced block."""
    out, fence, lines = [], None, []
    with open(page, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"^(```+)(.*)$", line.rstrip("\n"))
            if fence is None and m:
                fence, info, start, lines = m.group(1), m.group(2).split(), n, []
            elif fence is not None and line.rstrip("\n") == fence:
                out.append((start, info[0] if info else "", info[1:], "".join(lines)))
                fence = None
            elif fence is not None:
                lines.append(line)
    if fence is not None:
        sys.exit(f"{page}: the block opened on line {start} is not closed")
    return out


def container_scripts(doc):
    """The sh -c scripts of the containers in a Kubernetes object."""
    if isinstance(doc, dict):
        if doc.get("command") == ["sh", "-c"] and isinstance(doc.get("args"), list):
            yield doc["args"][0]
        for v in doc.values():
            yield from container_scripts(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from container_scripts(v)


def check(page):
    import yaml  # Debian: python3-yaml

    errors, used = [], set()
    for line, lang, tags, text in blocks(page):
        where = f"{page}:{line}"
        if lang in SHELLS:
            known = [t for t in tags if t in TAGS]
            unknown = [t for t in tags if t not in TAGS]
            if unknown:
                errors.append(f"{where}: unknown tag(s) {' '.join(unknown)} (known: {' '.join(TAGS)})")
            first = text.splitlines()[0] if text else ""
            if not known and not (first.startswith("#") and UNTESTED in first):
                errors.append(f"{where}: a shell block neither tagged for a test nor marked '# ... {UNTESTED}'")
            if known and first.startswith("#") and UNTESTED in first:
                errors.append(f"{where}: tagged for a test but marked '{UNTESTED}'")
            used.update(known)
        elif lang == "yaml":
            try:
                doc = yaml.safe_load(text)
            except yaml.YAMLError as e:
                errors.append(f"{where}: YAML does not parse: {str(e).splitlines()[0]}")
                continue
            scripts = list(container_scripts(doc))
            if not scripts:
                errors.append(f"{where}: no container with command [sh, -c]")
            for script in scripts:
                r = subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True)
                if r.returncode != 0:
                    errors.append(f"{where}: the container's script is not valid sh: {r.stderr.strip()}")
    for tag in TAGS:
        if tag not in used:
            errors.append(f"{page}: no shell block is tagged {tag}")
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        return check(argv[2])
    if len(argv) == 3 and argv[2] in TAGS:
        parts = [f"# {argv[1]}, line {line}\n{text}" for line, lang, tags, text in blocks(argv[1])
                 if lang in SHELLS and argv[2] in tags]
        if not parts:
            print(f"{argv[1]}: no shell block tagged {argv[2]}", file=sys.stderr)
            return 1
        sys.stdout.write("\n".join(parts))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
