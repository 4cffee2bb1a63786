"""TF-IDF baseline: word and character n-grams → one logistic head per field.

Saved as ``vocab.json`` (the n-gram vocabularies in column order), ``tfidf.npz``
(IDF weights) and ``heads.npz`` (coefficients); nothing is pickled.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .base import Model
from .heads import LinearHeads

__all__ = ["TfidfModel", "TfidfFeatures"]


class TfidfFeatures:
    """Word (1–2)-grams and character (2–5)-grams within word boundaries, sublinear TF."""

    def __init__(self, word_ngrams=(1, 2), char_ngrams=(2, 5), min_df: int = 1,
                 max_features: int | None = 50000) -> None:
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams)
        self.min_df = min_df
        self.max_features = max_features
        self.vectorizers_: dict = {}

    def _make(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        common = dict(sublinear_tf=True, min_df=self.min_df, max_features=self.max_features,
                      dtype=np.float64, lowercase=True)
        return {
            "word": TfidfVectorizer(analyzer="word", ngram_range=self.word_ngrams,
                                    token_pattern=r"(?u)\b\w+\b", **common),
            "char": TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngrams, **common),
        }

    def fit_transform(self, texts):
        from scipy.sparse import hstack

        self.vectorizers_ = self._make()
        return hstack([v.fit_transform(texts) for v in self.vectorizers_.values()]).tocsr()

    def transform(self, texts):
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self.vectorizers_.values()]).tocsr()

    def save(self, directory: Path) -> None:
        vocab, arrays = {}, {}
        for key, vec in self.vectorizers_.items():
            terms = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
            vocab[key] = terms
            arrays[f"{key}.idf"] = vec.idf_
        (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        np.savez(directory / "tfidf.npz", **arrays)

    def load(self, directory: Path) -> "TfidfFeatures":
        vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        self.vectorizers_ = self._make()
        with np.load(directory / "tfidf.npz", allow_pickle=False) as arrays:
            for key, vec in self.vectorizers_.items():
                vec.vocabulary_ = {term: i for i, term in enumerate(vocab[key])}
                vec.idf_ = arrays[f"{key}.idf"]
        return self


class TfidfModel(Model):
    """Word and character n-gram TF-IDF features with per-field logistic regression.

    Parameters (``params`` in a config): ``C`` (default 4.0), ``word_ngrams``
    ``[1, 2]``, ``char_ngrams`` ``[2, 5]``, ``max_features`` 50000, ``seed`` 0.
    """

    kind = "tfidf"
    param_names = ("C", "word_ngrams", "char_ngrams", "max_features", "seed")

    def _features(self) -> TfidfFeatures:
        p = self.params
        return TfidfFeatures(word_ngrams=p.get("word_ngrams", (1, 2)), char_ngrams=p.get("char_ngrams", (2, 5)),
                             max_features=p.get("max_features", 50000))

    def _heads(self) -> LinearHeads:
        return LinearHeads(self.fields, C=self.params.get("C", 4.0), seed=self.params.get("seed", 0))

    def _fit(self, norm_texts, labels) -> None:
        self.features_ = self._features()
        X = self.features_.fit_transform(norm_texts)
        self.heads_ = self._heads().fit(X, labels)

    def _predict_proba(self, norm_texts):
        return self.heads_.predict_proba(self.features_.transform(norm_texts))

    def _save_weights(self, directory: Path) -> None:
        self.features_.save(directory)
        self.heads_.save(directory / "heads.npz")

    def _load_weights(self, directory: Path) -> None:
        self.features_ = self._features().load(directory)
        self.heads_ = self._heads().load(directory / "heads.npz")
