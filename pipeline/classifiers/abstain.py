"""Calibrated abstention: how readily a stance head says NONE, chosen on held-out predictions.

A stance head trained with balanced class weights gives a stance too readily where most
comments take none (a real dump). ``abstain`` rescales the NONE probability of each stance
field by a weight ``w`` and renormalises the row, so that the most probable label, and every
probability written out, agree: ``w > 1`` means NONE unless the model is surer of a stance.

:func:`choose_none_weight` picks ``w`` from :data:`WEIGHTS` to maximise macro-F1 on
out-of-fold probabilities (the model's inner cross-validation on its own training data);
a tie goes to the weight nearest 1, so the rule changes nothing unless it helps.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..metrics import field_metrics
from ..schema import LABELS, STANCE_FIELDS

__all__ = ["WEIGHTS", "reweight", "choose_none_weight", "check_abstain"]

#: The NONE weights tried, from readier to give a stance (0.5) to more reluctant (8).
WEIGHTS: tuple[float, ...] = (0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0, 5.66, 8.0)


def reweight(proba: np.ndarray, field: str, weight: float) -> np.ndarray:
    """``proba`` (rows over ``LABELS[field]``) with the NONE column scaled by ``weight``, renormalised."""
    if weight == 1.0 or len(proba) == 0:
        return proba
    out = np.array(proba, dtype=np.float64, copy=True)
    out[:, LABELS[field].index("NONE")] *= weight
    total = out.sum(axis=1, keepdims=True)
    return np.divide(out, total, out=np.array(proba, dtype=np.float64), where=total > 0)


def choose_none_weight(gold: Sequence[str], proba: np.ndarray, field: str) -> float:
    """The weight of :data:`WEIGHTS` under which ``proba`` scores the best macro-F1 against ``gold``."""
    best, best_key = 1.0, None
    for w in WEIGHTS:
        pred = [LABELS[field][i] for i in reweight(proba, field, w).argmax(axis=1)]
        f1 = field_metrics(list(gold), pred, field)["macro_f1"]
        key = (round(f1, 6), -abs(np.log(w)))
        if best_key is None or key > best_key:
            best, best_key = w, key
    return float(best)


def check_abstain(value, fields: Sequence[str]) -> bool | dict[str, float]:
    """Validate an ``abstain`` parameter: false, true (choose the weights when fitting), or
    ``{stance field: weight}`` fixed by hand."""
    if value in (None, False):
        return False
    if value is True:
        return True
    if isinstance(value, Mapping):
        out = {}
        for f, w in value.items():
            if f not in STANCE_FIELDS or f not in fields:
                raise ValueError(f"abstain: {f!r} is not a stance field of this model "
                                 f"({', '.join(x for x in fields if x in STANCE_FIELDS)})")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w < 1000:
                raise ValueError(f"abstain: the weight of {f} must be a positive number, not {w!r}")
            out[f] = float(w)
        return out
    raise ValueError(f"abstain must be true, false or a mapping of stance field to weight, not {value!r}")
