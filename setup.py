"""Build hook: a wheel carries the checkout's default model and target list inside the package.

Everything else is declared in pyproject.toml; see pipeline/resources/__init__.py for how the
files are found at run time.
"""
import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = runpy.run_path(str(ROOT / "pipeline" / "resources" / "__init__.py"))["SHIPPED"]


class BuildPyWithResources(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads them from the checkout
            return
        dest = Path(self.build_lib) / "pipeline" / "resources"
        for src, name in SHIPPED.items():
            src, target = ROOT / src, dest / name
            if target.is_dir():
                shutil.rmtree(target)
            if src.is_dir():
                shutil.copytree(src, target)
            else:
                shutil.copy2(src, target)


setup(cmdclass={"build_py": BuildPyWithResources})
