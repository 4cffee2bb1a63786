"""Labels already made, read from a file and scored like a model: :class:`SavedPredictions`."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..data import DataError, iter_records
from ..io import prob_column
from ..schema import FIELDS, LABELS


class SavedPredictions:
    """Labels already made, read from a file and scored like a model on the gold records they cover.

    The file is a ``nazar label`` output (JSONL with ``probs``, or CSV/TSV with ``p_FIELD_LABEL``
    columns) or any labelled file with an ``id`` and label columns (see
    :func:`pipeline.data.iter_records`); without probabilities a label counts as probability 1.
    Every gold id must be in the file; its other records are ignored. It answers only for the
    texts of ``records``, in their order, which is how :func:`evaluate` asks.
    """

    kind = "predictions"
    version = ""

    def __init__(self, path: str | Path, records: Sequence[dict], name: str | None = None) -> None:
        self.name = name or Path(path).name
        wanted = {str(r["id"]) for r in records}
        found: dict[str, dict] = {}
        for where, _, rec in iter_records(path):
            if not isinstance(rec, dict) or "id" not in rec:
                raise DataError(f"{where}: expected a record with an 'id'")
            rid = str(rec["id"])
            if rid in wanted:
                if rid in found:
                    raise DataError(f"{where}: duplicate id {rid!r}")
                found[rid] = rec
        missing = [str(r["id"]) for r in records if str(r["id"]) not in found]
        if missing:
            raise DataError(f"{path}: {len(missing)} of the {len(records)} gold ids have no prediction "
                            f"(e.g. {', '.join(missing[:5])})")
        self.fields = tuple(f for f in FIELDS if all(f in found[str(r["id"])] for r in records))
        if not self.fields:
            raise DataError(f"{path}: no label column ({', '.join(FIELDS)}) holds a label for every gold id")
        self._texts = [r["text"] for r in records]
        rows = [found[str(r["id"])] for r in records]
        self._proba = {f: np.array([self._row(rec, f, path) for rec in rows]) for f in self.fields}
        self._labels = {f: [rec[f] for rec in rows] for f in self.fields}

    @staticmethod
    def _row(rec: dict, field_name: str, path) -> list[float]:
        labels = LABELS[field_name]
        label = rec[field_name]
        if label not in labels:
            raise DataError(f"{path}: id {rec['id']!r}: unknown label {label!r} for {field_name!r}")
        nested = (rec.get("probs") or {}).get(field_name) if isinstance(rec.get("probs"), dict) else None
        flat = [rec.get(prob_column(field_name, lab)) for lab in labels]
        try:
            if isinstance(nested, dict) and all(lab in nested for lab in labels):
                return [float(nested[lab]) for lab in labels]
            if all(v not in (None, "") for v in flat):
                return [float(v) for v in flat]
        except (TypeError, ValueError):
            raise DataError(f"{path}: id {rec['id']!r}: a probability of {field_name!r} is not a number") from None
        return [1.0 if lab == label else 0.0 for lab in labels]

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "kind": self.kind}

    def normalize(self, texts: Sequence[str]) -> list[str]:
        if list(texts) != self._texts:
            raise ValueError("saved predictions answer only for the gold records they were read for")
        return list(texts)

    def predict_proba_normalized(self, norm_texts: Sequence[str]) -> dict[str, np.ndarray]:
        return dict(self._proba)

    def labels_from_proba(self, proba: Mapping[str, np.ndarray]) -> dict[str, list[str]]:
        """The labels the file holds (scored as they are, whatever its probabilities say)."""
        return {f: list(v) for f, v in self._labels.items()}
