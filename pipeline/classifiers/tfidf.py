"""TF-IDF baseline: word and character n-grams → one logistic head per field.

Saved as ``vocab.json`` (the n-gram vocabularies in column order), ``tfidf.npz``
(IDF weights) and ``heads.npz`` (coefficients); nothing is pickled. With ``hashing: N``
the n-grams are hashed into N columns per analyzer instead, so the saved model holds no
vocabulary: no n-gram of its training texts is written out, which matters when the model is
shared and its training data may not be (the weights of unused columns are zero and compress
away).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .base import Model
from .params import Param
from .heads import LinearHeads

__all__ = ["TfidfModel", "TfidfFeatures"]


class TfidfFeatures:
    """Word (1–2)-grams and character (2–5)-grams within word boundaries, sublinear TF."""

    def __init__(self, word_ngrams=(1, 2), char_ngrams=(2, 5), min_df: int = 1,
                 max_features: int | None = 50000, hashing: int | None = None) -> None:
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams)
        self.min_df = min_df
        self.max_features = max_features
        self.hashing = hashing
        self.vectorizers_: dict = {}

    def _make(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        if self.hashing:
            return self._make_hashed()
        common = dict(sublinear_tf=True, min_df=self.min_df, max_features=self.max_features,
                      dtype=np.float64, lowercase=True)
        return {
            "word": TfidfVectorizer(analyzer="word", ngram_range=self.word_ngrams,
                                    token_pattern=r"(?u)\b\w+\b", **common),
            "char": TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngrams, **common),
        }

    def _make_hashed(self):
        from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
        from sklearn.pipeline import make_pipeline

        common = dict(n_features=int(self.hashing), alternate_sign=False, norm=None, lowercase=True,
                      dtype=np.float64)
        return {
            "word": make_pipeline(HashingVectorizer(analyzer="word", ngram_range=self.word_ngrams,
                                                    token_pattern=r"(?u)\b\w+\b", **common),
                                  TfidfTransformer(sublinear_tf=True)),
            "char": make_pipeline(HashingVectorizer(analyzer="char_wb", ngram_range=self.char_ngrams, **common),
                                  TfidfTransformer(sublinear_tf=True)),
        }

    def fit_transform(self, texts):
        from scipy.sparse import hstack

        self.vectorizers_ = self._make()
        return hstack([v.fit_transform(texts) for v in self.vectorizers_.values()]).tocsr()

    def transform(self, texts):
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self.vectorizers_.values()]).tocsr()

    def save(self, directory: Path) -> None:
        if self.hashing:
            np.savez(directory / "tfidf.npz", **{f"{key}.idf": pipe[-1].idf_ for key, pipe in self.vectorizers_.items()})
            return
        vocab, arrays = {}, {}
        for key, vec in self.vectorizers_.items():
            terms = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
            vocab[key] = terms
            arrays[f"{key}.idf"] = vec.idf_
        (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        np.savez(directory / "tfidf.npz", **arrays)

    def load(self, directory: Path) -> "TfidfFeatures":
        if self.hashing:
            self.vectorizers_ = self._make_hashed()
            with np.load(directory / "tfidf.npz", allow_pickle=False) as arrays:
                for key, pipe in self.vectorizers_.items():
                    idf = arrays[f"{key}.idf"]
                    if idf.shape != (int(self.hashing),):
                        raise ValueError(f"tfidf.npz: {key}.idf has shape {idf.shape}, expected ({self.hashing},)")
                    pipe[-1].idf_ = idf
            return self
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
    ``[1, 2]``, ``char_ngrams`` ``[2, 5]``, ``max_features`` 50000, ``hashing`` (null: keep a
    vocabulary; N: hash the n-grams into N columns per analyzer, no vocabulary saved), ``seed`` 0.
    """

    kind = "tfidf"
    param_types = {
        "C": Param("number", above=0, help="inverse regularisation of the logistic heads"),
        "word_ngrams": Param("ngram_range", help="word n-gram lengths"),
        "char_ngrams": Param("ngram_range", help="character n-gram lengths"),
        "max_features": Param("int", minimum=1, nullable=True, help="vocabulary size per analyzer"),
        "hashing": Param("int", minimum=2 ** 8, maximum=2 ** 24, nullable=True,
                         help="hash the n-grams into this many columns per analyzer"),
        "seed": Param("int", nullable=True, help="random seed"),
    }
    param_names = tuple(param_types)

    def _features(self) -> TfidfFeatures:
        p = self.params
        return TfidfFeatures(word_ngrams=p.get("word_ngrams", (1, 2)), char_ngrams=p.get("char_ngrams", (2, 5)),
                             max_features=p.get("max_features", 50000), hashing=p.get("hashing"))

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
