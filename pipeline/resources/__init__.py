"""Where nazar's shipped files are found: its data files, the default model, the target list.

Each file has one copy in the source tree. The package's own data (lexicons,
behavioural templates) lives here, in ``pipeline/resources/``. The default model
(``models/default/``) and the target list (``configs/targets.yaml``) live where a
user of a checkout edits and retrains them; building a wheel copies them in here
(as ``default_model/`` and ``targets.yaml``, see ``setup.py``), so an installed
nazar finds them without a checkout. The lookups below take the copy inside the
package when there is one, else the checkout's.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PACKAGE_DIR", "CHECKOUT_DIR", "data_file", "default_model_dir", "targets_file", "SHIPPED",
           "default_checkpoint_dir"]

#: This folder, inside the installed package.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository root, when the package is used from a checkout (an editable install).
CHECKOUT_DIR = PACKAGE_DIR.parent.parent
#: Files of the checkout that a wheel carries inside the package: checkout path → path here.
SHIPPED = {"models/default": "default_model", "configs/targets.yaml": "targets.yaml"}


def data_file(name: str) -> Path:
    """A data file of the package (``keywords.yaml``, ``behaviour.yaml``, ...)."""
    return PACKAGE_DIR / name


def _shipped(checkout_path: str) -> Path:
    packaged = PACKAGE_DIR / SHIPPED[checkout_path]
    return packaged if packaged.exists() else CHECKOUT_DIR / checkout_path


def default_model_dir() -> Path:
    """The embedded default model: ``$NAZAR_MODEL`` if set, else the packaged copy, else ``models/default``."""
    env = os.environ.get("NAZAR_MODEL")
    if env:
        return Path(env)
    return _shipped("models/default")


def targets_file() -> Path:
    """The stance-target list: the packaged copy, else ``configs/targets.yaml`` of the checkout."""
    return _shipped("configs/targets.yaml")


def default_checkpoint_dir(name: str = "e5-small") -> Path:
    """Where built checkpoints live (never in the repository): ``$NAZAR_CACHE/NAME`` when
    ``NAZAR_CACHE`` is set, else ``~/.cache/nazar/NAME``."""
    root = os.environ.get("NAZAR_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "nazar"
    return base / name
