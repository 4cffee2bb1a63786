"""Scoring predictions against gold labels.

Per field: ``n``, ``accuracy``, ``macro_f1`` (over the labels that occur in gold
or predictions) and, for the stance fields, SemEval-2016's ``f_avg``: the mean
F1 of FAVOR and AGAINST.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .schema import FAVOR_AGAINST, FIELDS, LABELS, STANCE_FIELDS

__all__ = ["field_metrics", "score", "Report", "evaluate_model"]


def _f1_per_label(gold: Sequence[str], pred: Sequence[str], label: str) -> float:
    tp = sum(1 for g, p in zip(gold, pred) if g == label and p == label)
    fp = sum(1 for g, p in zip(gold, pred) if g != label and p == label)
    fn = sum(1 for g, p in zip(gold, pred) if g == label and p != label)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def field_metrics(gold: Sequence[str], pred: Sequence[str], field_name: str) -> dict:
    """Metrics of one field; ``gold`` and ``pred`` are equal-length label lists."""
    if len(gold) != len(pred):
        raise ValueError(f"{field_name}: {len(gold)} gold labels but {len(pred)} predictions")
    n = len(gold)
    out: dict = {"n": n}
    if n == 0:
        out.update(accuracy=float("nan"), macro_f1=float("nan"))
        if field_name in STANCE_FIELDS:
            out["f_avg"] = float("nan")
        return out
    present = [lab for lab in LABELS[field_name] if lab in set(gold) | set(pred)]
    per = {lab: _f1_per_label(gold, pred, lab) for lab in LABELS[field_name]}
    out["accuracy"] = sum(g == p for g, p in zip(gold, pred)) / n
    out["macro_f1"] = float(np.mean([per[lab] for lab in present]))
    if field_name in STANCE_FIELDS:
        out["f_avg"] = float(np.mean([per[lab] for lab in FAVOR_AGAINST]))
    out["f1"] = per
    return out


def score(gold: Mapping[str, Sequence[str]], pred: Mapping[str, Sequence[str]],
          fields: Sequence[str] = FIELDS) -> dict[str, dict]:
    """Metrics for each field present in both ``gold`` and ``pred``."""
    return {f: field_metrics(list(gold[f]), list(pred[f]), f) for f in fields if f in gold and f in pred}


@dataclass(frozen=True)
class Report:
    """An evaluation result: metrics per field, plus what was evaluated."""

    fields: dict
    model: dict = field(default_factory=dict)
    gold: str = ""

    def to_dict(self) -> dict:
        return {"model": self.model, "gold": self.gold, "fields": self.fields}

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_table(self) -> str:
        rows = [("field", "n", "accuracy", "macro_f1", "f_avg")]
        for name, m in self.fields.items():
            f_avg = f"{m['f_avg']:.3f}" if "f_avg" in m else "-"
            rows.append((name, str(m["n"]), f"{m['accuracy']:.3f}", f"{m['macro_f1']:.3f}", f_avg))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = []
        for k, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def evaluate_model(model, records: Sequence[dict], gold_name: str = "") -> Report:
    """Predict ``records``' texts with ``model`` and score against their labels."""
    texts = [r["text"] for r in records]
    pred = model.predict(texts)
    gold = {f: [r[f] for r in records] for f in model.fields}
    return Report(fields=score(gold, pred, model.fields), model=model.describe(), gold=gold_name)
