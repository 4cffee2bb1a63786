"""Labelling: records in, one labelled record (or one reject) out per input.

:func:`label_file` streams a JSONL, CSV/TSV, Parquet, JSON-array, text or Excel file (or standard
input) through the model in chunks. Each chunk is written atomically as a part file into a work
directory beside the output (``OUTPUT.parts/``) and a manifest records the progress, so that a
run killed at any moment continues with ``resume=True``; at the end the parts are joined into the
output (JSONL, CSV, TSV or Parquet by its extension) in input order, rejected records go to
``OUTPUT.rejects.jsonl`` with their line number, id and reason, and the work directory is
removed. The counts always reconcile (``read == labelled + rejected``).

Modules: :mod:`~pipeline.label.labeller` (the :class:`BatchLabeller`, the run's summary, the
progress line, the duplicate-id policies: what every engine shares), :mod:`~pipeline.label.job`
(the local engine and :func:`label_file`), :mod:`~pipeline.label.resume` (the manifest of an
interrupted run and its checks), :mod:`~pipeline.label.ray_engine` (the same labeller on a Ray
cluster, ``engine="ray"``; Ray is imported only there).
"""
from .job import ENGINES, label_file
from .labeller import (DUPLICATE_POLICIES, BatchLabeller, ByCounts, DuplicateIds, LabelError, LabelInterrupted,
                       LabelSummary, duplicate_ids, reason_kind, rejects_path, shared_ids, work_dir)

__all__ = ["BatchLabeller", "ByCounts", "LabelSummary", "LabelError", "LabelInterrupted", "label_file", "rejects_path",
           "work_dir", "ENGINES", "DuplicateIds", "DUPLICATE_POLICIES", "duplicate_ids", "shared_ids", "reason_kind"]
