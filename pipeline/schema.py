"""The label schema shared by every stage: fields and their allowed labels."""
from __future__ import annotations

__all__ = ["FIELDS", "LABELS", "STANCE_FIELDS", "FAVOR_AGAINST"]

#: The three labels each comment receives, in output order.
FIELDS: tuple[str, ...] = ("stance_domestic", "stance_telegram", "sentiment")

#: Allowed values per field, sorted (the order of ``classes_`` in every model).
LABELS: dict[str, tuple[str, ...]] = {
    "stance_domestic": ("AGAINST", "FAVOR", "NONE"),
    "stance_telegram": ("AGAINST", "FAVOR", "NONE"),
    "sentiment": ("NEGATIVE", "NEUTRAL", "POSITIVE"),
}

#: Fields scored with SemEval-2016's F_avg (mean F1 of FAVOR and AGAINST).
STANCE_FIELDS: tuple[str, ...] = ("stance_domestic", "stance_telegram")
FAVOR_AGAINST: tuple[str, ...] = ("FAVOR", "AGAINST")
