"""Loading and validating labelled comment sets (gold, synthetic, held-out).

Every record needs a string ``id`` and a non-empty string ``text``. Labelled
sets carry the three label fields with values from :data:`pipeline.schema.LABELS`.
Any problem is reported as a :class:`DataError` naming the file and line.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from .schema import FIELDS, LABELS

__all__ = ["DataError", "load_labelled", "load_many", "label_counts", "labels_of"]


class DataError(ValueError):
    """A labelled data file breaks the schema; the message names file and line."""


def _check_record(rec: object, where: str, fields: Sequence[str]) -> dict:
    if not isinstance(rec, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(rec).__name__}")
    for key in ("id", "text"):
        if key not in rec:
            raise DataError(f"{where}: missing field {key!r}")
    if not isinstance(rec["id"], (str, int)) or isinstance(rec["id"], bool):
        raise DataError(f"{where}: field 'id' must be a string or an integer")
    if not isinstance(rec["text"], str) or not rec["text"].strip():
        raise DataError(f"{where}: field 'text' must be a non-empty string")
    for field in fields:
        if field not in rec:
            raise DataError(f"{where}: missing field {field!r}")
        if rec[field] not in LABELS[field]:
            allowed = "/".join(LABELS[field])
            raise DataError(f"{where}: unknown label {rec[field]!r} for {field!r} (expected {allowed})")
    out = dict(rec)
    out["id"] = str(rec["id"])
    return out


def load_labelled(path: str | Path, fields: Sequence[str] = FIELDS) -> list[dict]:
    """Read a labelled JSONL file, validating every line.

    ``fields`` names the label fields each record must carry (all three by
    default). Blank lines are skipped; duplicate ids are an error.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    records: list[dict] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: invalid JSON ({exc.msg})") from None
            rec = _check_record(rec, where, fields)
            if rec["id"] in seen:
                raise DataError(f"{where}: duplicate id {rec['id']!r} (first on line {seen[rec['id']]})")
            seen[rec["id"]] = lineno
            records.append(rec)
    if not records:
        raise DataError(f"{path}: no records")
    return records


def load_many(paths: Iterable[str | Path], fields: Sequence[str] = FIELDS) -> list[dict]:
    """Concatenate several labelled files (ids must be unique within each file)."""
    out: list[dict] = []
    for p in paths:
        out.extend(load_labelled(p, fields))
    return out


def labels_of(records: Sequence[dict], fields: Sequence[str] = FIELDS) -> dict[str, list]:
    """Column view of the labels: ``{field: [label or None, ...]}``."""
    return {f: [r.get(f) for r in records] for f in fields}


def label_counts(records: Sequence[dict], fields: Sequence[str] = FIELDS) -> dict[str, dict[str, int]]:
    """Counts of each label per field, every allowed label listed (zeros included)."""
    out = {}
    for f in fields:
        c = Counter(r.get(f) for r in records)
        out[f] = {lab: c.get(lab, 0) for lab in LABELS[f]}
    return out
