"""The annotation loop: choose what to label, exchange it with annotators, merge, audit.

* :mod:`.records` — the labelled-record format the loop reads and writes, and its checks;
* :mod:`.select` — ``nazar annotate select``: the comments of a dump most worth labelling;
* :mod:`.exchange` — Label Studio tasks and exports, CSV/TSV sheets, both ways;
* :mod:`.merge` — agreement between annotators and the merged gold file;
* :mod:`.audit` — cross-validated predictions that flag likely label errors in a gold file;
* :mod:`.terminal` — a labeller in the terminal for one annotator.

Each step reads and writes JSONL records (``id``, ``text``, the three label fields and
whatever else the input carried), so any step can be replaced by another tool.
"""
from __future__ import annotations

from ..errors import NazarError

__all__ = ["AnnotateError"]


class AnnotateError(NazarError, ValueError):
    """An annotation step cannot run: a bad batch, export or annotator file, or a refused output."""
