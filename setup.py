"""Builds lessmore's extension with this repository's CMake project (docs/python.md,
section "Installing"): setuptools drives CMake, as scikit-build-core (not in Debian 12)
would. LESSMORE_BUILD_DIR names a build folder configured with -DLESSMORE_PYTHON=ON to
reuse (scripts/setup.sh passes its own); otherwise build-python/ is configured here."""
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).parent.resolve()
os.makedirs(ROOT / "build-python", exist_ok=True)  # egg_info writes there


def _configured_with_python(build):
    cache = build / "CMakeCache.txt"
    return cache.is_file() and "LESSMORE_PYTHON:BOOL=ON" in cache.read_text(errors="replace")


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        given = os.environ.get("LESSMORE_BUILD_DIR")
        build = Path(given).resolve() if given else ROOT / "build-python"
        if not _configured_with_python(build):
            subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                                   "-DLESSMORE_PYTHON=ON", "-DLESSMORE_BUILD_TESTS=OFF",
                                   "-DLESSMORE_BUILD_BENCHMARKS=OFF", f"-DPython3_EXECUTABLE={sys.executable}"])
        jobs = os.environ.get("LESSMORE_JOBS") or str(os.cpu_count() or 2)
        subprocess.check_call(["cmake", "--build", str(build), "--target", "lessmore_python", "-j", jobs])
        # The decoder worker the engine starts for third-party decoders, beside the extension.
        staged = build / "python" / "lessmore"
        built = glob.glob(str(build / "python" / "lessmore" / "_lessmore*.so"))
        if len(built) != 1:
            raise RuntimeError(f"setup.py: expected one _lessmore*.so in {build / 'python' / 'lessmore'}, found {built}")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)
        worker = target.parent / "lessmore-decoder"
        shutil.copyfile(staged / "lessmore-decoder", worker)
        worker.chmod(0o755)
        # The model runtimes (ONNX normalisation, LibTorch), opened only when a model needs
        # them, from modules/ beside the extension (src/io/model_runtimes.cpp).
        modules = target.parent / "modules"
        modules.mkdir(exist_ok=True)
        for module in glob.glob(str(staged / "modules" / "*.so")):
            shutil.copyfile(module, modules / Path(module).name)


setup(
    packages=["lessmore"],
    package_dir={"": "python"},
    ext_modules=[Extension("lessmore._lessmore", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": "build-python/setuptools"}, "egg_info": {"egg_base": "build-python"}},
)
