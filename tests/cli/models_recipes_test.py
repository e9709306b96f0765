#!/usr/bin/python3
"""docs/models.md run as written: every fenced block tagged `models-test` (python blocks with
/usr/bin/python3, sh blocks with bash -e), in page order, in one fresh folder whose ct/
holds the bundled CT sample and a copy of it, with the build's lessmore first on PATH.

Usage: models_recipes_test.py SOURCE_DIR LESSMORE_BINARY
Exit 0 when every block succeeds, 1 naming the first block that fails, 77 (skipped) when
Debian's torch or torchvision is not installed, or the build has no TorchScript module.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doc_blocks import blocks  # noqa: E402

TAG = "models-test"


def main():
    src, binary = sys.argv[1], os.path.abspath(sys.argv[2])
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as e:
        print(f"skipped: {e} (bash scripts/setup.sh test installs python3-torch python3-torchvision)")
        return 77
    modules = os.path.join(os.path.dirname(os.path.dirname(binary)), "modules")
    if not os.path.exists(os.path.join(modules, "lessmore_torch.so")):
        print(f"skipped: no TorchScript module in {modules} (libtorch-dev was not installed at configure time)")
        return 77
    page = os.path.join(src, "docs", "models.md")
    todo = [(line, lang, text) for line, lang, tags, text in blocks(page) if TAG in tags]
    if not todo:
        print(f"{page}: no block tagged {TAG}")
        return 1
    work = tempfile.mkdtemp(prefix="lessmore-models-doc-")
    try:
        os.makedirs(os.path.join(work, "ct"))
        sample = os.path.join(src, "data", "sample", "example_ct_sm.nii.gz")
        shutil.copy(sample, os.path.join(work, "ct", "a.nii.gz"))
        shutil.copy(sample, os.path.join(work, "ct", "b.nii.gz"))
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        os.symlink(binary, os.path.join(bindir, "lessmore"))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
        # The Python package staged beside the binary's build (python/CMakeLists.txt), for
        # the embed= recipe; a build without it skips that recipe's block.
        package = os.path.join(os.path.dirname(os.path.dirname(binary)), "python")
        has_package = os.path.exists(os.path.join(package, "lessmore", "__init__.py"))
        env["PYTHONPATH"] = package + os.pathsep + env.get("PYTHONPATH", "")
        for line, lang, text in todo:
            if "import lessmore" in text and not has_package:
                print(f"--- {page}:{line} ({lang}): skipped, no Python package in {package}")
                continue
            cmd = ["/usr/bin/python3", "-c", text] if lang == "python" else ["bash", "-e", "-c", text]
            r = subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            print(f"--- {page}:{line} ({lang}): exit {r.returncode}\n{r.stdout[-3000:]}")
            if r.returncode != 0:
                print(f"{page}:{line}: the {lang} block failed (exit {r.returncode})")
                return 1
        # What the recipes promise: the features round trip gives the same manifest (cmp above),
        # and the features written from Python reduced both volumes.
        import json
        m = json.load(open(os.path.join(work, "reduced-features", "manifest.json")))
        assert [v["id"] for v in m["volumes"]] == ["a.nii.gz", "b.nii.gz"], m["volumes"]
        assert m["parameters"]["model"] == "features:features", m["parameters"]["model"]
        if has_package:
            m = json.load(open(os.path.join(work, "reduced-embed", "manifest.json")))
            assert m["parameters"]["model_runtime"] == "callback", m["parameters"]
            assert m["parameters"]["embedding_size"] == 2048, m["parameters"]["embedding_size"]
        print(f"{len(todo)} blocks of {page} ran as written")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
