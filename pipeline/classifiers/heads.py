"""Per-field logistic-regression heads over a shared feature matrix.

Fitting uses scikit-learn; prediction is plain numpy over the stored
coefficients, so the heads save to an ``.npz`` of float arrays and load without
executing code. Classes missing from a field's training labels get probability
zero; a field with a single training class always predicts it.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..schema import LABELS

__all__ = ["LinearHeads"]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class LinearHeads:
    """One multinomial logistic regression per field.

    ``C`` is the inverse regularisation strength; ``class_weight="balanced"``
    counters the tiny minority classes of stance data.
    """

    def __init__(self, fields: Sequence[str], C: float = 1.0, class_weight: str | None = "balanced",
                 max_iter: int = 2000, seed: int = 0) -> None:
        self.fields = tuple(fields)
        self.C = float(C)
        self.class_weight = class_weight
        self.max_iter = int(max_iter)
        self.seed = int(seed)
        self.coef_: dict[str, np.ndarray] = {}
        self.intercept_: dict[str, np.ndarray] = {}
        self.seen_: dict[str, np.ndarray] = {}  # indices into LABELS[field] the head predicts

    def fit(self, X, labels: Mapping[str, Sequence[str | None]]) -> "LinearHeads":
        from sklearn.linear_model import LogisticRegression

        n = X.shape[0]
        for field in self.fields:
            col = list(labels[field])
            keep = np.array([lab is not None for lab in col], dtype=bool)
            if not keep.any():
                raise ValueError(f"no training labels for {field!r}")
            y = np.array([LABELS[field].index(lab) for lab in col if lab is not None])
            seen = np.unique(y)
            dim = X.shape[1]
            if len(seen) == 1:
                coef = np.zeros((1, dim))
                intercept = np.zeros(1)
            else:
                lr = LogisticRegression(C=self.C, class_weight=self.class_weight,
                                        max_iter=self.max_iter, random_state=self.seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    lr.fit(X[keep] if keep.sum() < n else X, y)
                coef = np.asarray(lr.coef_, dtype=np.float64)
                intercept = np.asarray(lr.intercept_, dtype=np.float64)
                if len(seen) == 2:  # binary LR stores one row: expand to two logits
                    coef = np.vstack([-coef / 2, coef / 2])
                    intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
            self.coef_[field] = coef
            self.intercept_[field] = intercept
            self.seen_[field] = seen
        return self

    def predict_proba(self, X) -> dict[str, np.ndarray]:
        out = {}
        for field in self.fields:
            z = X @ self.coef_[field].T + self.intercept_[field]
            z = np.asarray(z)
            p = np.zeros((X.shape[0], len(LABELS[field])))
            p[:, self.seen_[field]] = _softmax(z)
            out[field] = p
        return out

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        out = {}
        for field in self.fields:
            out[f"{prefix}{field}.coef"] = self.coef_[field]
            out[f"{prefix}{field}.intercept"] = self.intercept_[field]
            out[f"{prefix}{field}.seen"] = self.seen_[field].astype(np.int64)
        return out

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **self.arrays())

    def load_arrays(self, data: Mapping[str, np.ndarray], prefix: str = "") -> "LinearHeads":
        """Take the heads from ``arrays()``-style arrays; ValueError if any is missing or malformed."""
        for field in self.fields:
            names = [f"{prefix}{field}.{part}" for part in ("coef", "intercept", "seen")]
            missing = [n for n in names if n not in data]
            if missing:
                raise ValueError(f"missing array(s) {', '.join(missing)}")
            coef, intercept, seen = (np.asarray(data[n]) for n in names)
            k = len(LABELS[field])
            if coef.dtype.kind != "f" or coef.ndim != 2 or not 1 <= coef.shape[0] <= k:
                raise ValueError(f"{names[0]}: expected a float matrix of at most {k} rows, "
                                 f"got {coef.dtype} {coef.shape}")
            if intercept.dtype.kind != "f" or intercept.shape != coef.shape[:1]:
                raise ValueError(f"{names[1]}: expected {coef.shape[0]} floats, got {intercept.dtype} {intercept.shape}")
            if (seen.dtype.kind not in "iu" or seen.shape != coef.shape[:1] or len(set(seen.tolist())) != len(seen)
                    or not all(0 <= i < k for i in seen.tolist())):
                raise ValueError(f"{names[2]}: expected {coef.shape[0]} distinct class indices below {k}")
            if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
                raise ValueError(f"{names[0]}: holds values that are not finite")
            self.coef_[field], self.intercept_[field], self.seen_[field] = coef, intercept, seen
        return self

    def load(self, path: Path) -> "LinearHeads":
        with np.load(path, allow_pickle=False) as data:
            return self.load_arrays({k: data[k] for k in data.files})
