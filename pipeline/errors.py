"""The one error type nazar reports, and the check for optional dependencies.

Every expected failure (bad input, a bad config, a missing model, a missing
optional package, a refused output) is a :class:`NazarError` subclass: the
command line prints its message as one ``nazar: error:`` line and exits with
its :attr:`~NazarError.exit_code`. Library callers can catch ``NazarError``
or the stage's own subclass (``ConfigError``, ``LabelError``, ...).
"""
from __future__ import annotations

import importlib.util

__all__ = ["NazarError", "NazarWarning", "MissingDependency", "EXTRAS", "require"]


class NazarError(Exception):
    """An expected failure, with a message meant for the user."""

    #: The command line's exit status for this error.
    exit_code = 1


class NazarWarning(UserWarning):
    """Something the user should know that does not stop the job (the CLI prints ``nazar: warning:``)."""


class MissingDependency(NazarError, ImportError):
    """An optional package that a requested feature needs is not installed."""


#: Optional packages: module → (what needs it, the extra that installs it).
EXTRAS: dict[str, tuple[str, str]] = {
    "pyarrow": ("Parquet input and output", "parquet"),
    "ray": ("the ray engine", "ray"),
    "torch": ("transformer models", "transformer"),
    "transformers": ("transformer models", "transformer"),
    "datasets": ("transformer training", "transformer"),
    "matplotlib": ("the HTML report's plots", "report"),
    "openpyxl": ("Excel input", "xlsx"),
    "zstandard": ("zstd-compressed input", "zstd"),
}


def require(module: str, what: str | None = None) -> None:
    """Raise :class:`MissingDependency` unless ``module`` can be imported (found, not imported).

    Jobs call this before they read any input, so a missing package fails in the
    first second, not after an hour of labelling. ``what`` names the feature in
    the message (default: the one in :data:`EXTRAS`).
    """
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return
    feature, extra = EXTRAS.get(module, (module, None))
    hint = f"pip install 'nazar[{extra}]'" if extra else f"pip install {module}"
    if module == "torch":
        hint = "pip install torch==2.13.0 (the CPU build), then " + hint
    raise MissingDependency(f"{what or feature} needs the '{module}' package, which is not installed: {hint}")
