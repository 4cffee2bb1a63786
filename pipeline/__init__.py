"""nazar: stance and sentiment labelling of Persian reader comments.

The public API; heavy dependencies load only when a function needs them.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "__version__", "FIELDS", "LABELS", "Normalizer", "NormalizerConfig", "load_model", "load_labelled",
    "load_config", "train", "evaluate_model", "label_file", "BatchLabeller",
]

_LAZY = {
    "FIELDS": ".schema", "LABELS": ".schema",
    "Normalizer": ".normalize", "NormalizerConfig": ".normalize",
    "load_model": ".classifiers.base", "load_labelled": ".data", "load_config": ".config",
    "train": ".train", "evaluate_model": ".evaluate", "label_file": ".label", "BatchLabeller": ".label",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
