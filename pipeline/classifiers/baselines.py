"""Reference baselines that every evaluation shows beside real models."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import json
import numpy as np

from ..schema import LABELS
from .base import Model

__all__ = ["MajorityModel"]


class MajorityModel(Model):
    """Predicts each field's most frequent training label, with the training label frequencies as probabilities."""

    kind = "majority"

    def _fit(self, norm_texts, labels) -> None:
        self.prior_ = {}
        for field in self.fields:
            counts = Counter(lab for lab in labels[field] if lab is not None)
            total = sum(counts.values()) or 1
            self.prior_[field] = [counts.get(lab, 0) / total for lab in LABELS[field]]

    def _predict_proba(self, norm_texts):
        n = len(norm_texts)
        return {f: np.tile(np.asarray(self.prior_[f], dtype=np.float64), (n, 1)) for f in self.fields}

    def _save_weights(self, directory: Path) -> None:
        (directory / "prior.json").write_text(json.dumps(self.prior_, indent=2) + "\n", encoding="utf-8")

    def _load_weights(self, directory: Path) -> None:
        self.prior_ = json.loads((directory / "prior.json").read_text(encoding="utf-8"))
