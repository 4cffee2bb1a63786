"""The contract every model kind honours (flair's BaseModelTest idea).

A test module subclasses :class:`BaseModelTest`, sets ``kind`` and, where the
kind can memorise a toy set, ``overfit_params``; pytest collects the subclass.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.classifiers.base import NotFittedError, kind_class, load_model
from pipeline.data import labels_of
from pipeline.schema import FIELDS, LABELS


class BaseModelTest:
    kind: str = ""
    params: dict = {}
    #: Parameters with which the kind fits a dozen comments exactly; None: not expected to.
    overfit_params: dict | None = None
    #: Comments used for the overfit test.
    overfit_size = 12

    def make(self, **params):
        return kind_class(self.kind)(**{**self.params, **params})

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, gold_records):
        texts = [r["text"] for r in gold_records]
        return cls().make().fit(texts, labels_of(gold_records)), texts

    def test_fit_returns_self(self, gold_records):
        model = self.make()
        assert model.fit([r["text"] for r in gold_records[:20]], labels_of(gold_records[:20])) is model

    def test_unfitted_model_raises(self):
        with pytest.raises(NotFittedError):
            self.make().predict_proba(["سلام"])

    def test_predict_proba_shape_and_classes(self, fitted):
        model, texts = fitted
        proba = model.predict_proba(texts[:7])
        assert set(proba) == set(FIELDS)
        for f in FIELDS:
            assert model.classes_[f] == list(LABELS[f])
            assert proba[f].shape == (7, len(LABELS[f]))
            assert np.all(proba[f] >= 0)
            np.testing.assert_allclose(proba[f].sum(axis=1), 1.0, atol=1e-6)

    def test_predict_is_argmax_of_proba(self, fitted):
        model, texts = fitted
        proba = model.predict_proba(texts)
        pred = model.predict(texts)
        for f in FIELDS:
            assert pred[f] == [model.classes_[f][i] for i in proba[f].argmax(axis=1)]

    def test_empty_input(self, fitted):
        model, _ = fitted
        proba = model.predict_proba([])
        assert all(proba[f].shape == (0, len(LABELS[f])) for f in FIELDS)

    def test_batched_equals_one_at_a_time(self, fitted):
        model, texts = fitted
        together = model.predict_proba(texts[:5])
        for i, t in enumerate(texts[:5]):
            alone = model.predict_proba([t])
            for f in FIELDS:
                np.testing.assert_allclose(alone[f][0], together[f][i], atol=1e-5)

    def test_save_load_gives_identical_probabilities(self, fitted, tmp_path):
        model, texts = fitted
        model.save(tmp_path / "m")
        again = load_model(tmp_path / "m")
        assert type(again) is type(model)
        before, after = model.predict_proba(texts), again.predict_proba(texts)
        for f in FIELDS:
            np.testing.assert_allclose(before[f], after[f], atol=1e-6)

    def test_saved_files_execute_no_code(self, fitted, tmp_path):
        model, _ = fitted
        model.save(tmp_path / "m")
        for path in (p for p in (tmp_path / "m").rglob("*") if p.is_file()):
            assert path.suffix in {".json", ".npz", ".safetensors", ".txt", ".md", ".yaml"}, path
            if path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as data:
                    for key in data.files:
                        assert data[key].dtype != object

    def test_model_carries_its_normaliser_settings(self, gold_records, tmp_path):
        model = self.make(normalizer={"digits": "persian"})
        model.fit([r["text"] for r in gold_records], labels_of(gold_records)).save(tmp_path / "m")
        meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
        assert meta["normalizer"]["digits"] == "persian"
        again = load_model(tmp_path / "m")
        assert again.normalizer_config == model.normalizer_config
        assert again.normalize(["123"]) == ["۱۲۳"]

    def test_unknown_label_is_rejected(self):
        with pytest.raises(ValueError, match="unknown label"):
            self.make().fit(["الف", "ب"], {"sentiment": ["GOOD", "NEGATIVE"]})

    def test_missing_labels_train_only_the_labelled_fields(self, gold_records):
        texts = [r["text"] for r in gold_records]
        y = labels_of(gold_records)
        # Only three comments carry a Telegram label, all FAVOR: were the unlabelled ones read as some
        # label, that head would learn it; left out, the head knows FAVOR alone.
        y["stance_telegram"] = [None] * (len(texts) - 3) + ["FAVOR"] * 3
        model = self.make().fit(texts, y)
        assert model.predict_proba(texts[:2])["stance_telegram"].shape == (2, 3)
        if self.kind != "keyword":  # the rule model learns nothing from labels
            assert set(model.predict(texts)["stance_telegram"]) == {"FAVOR"}

    def test_overfit_then_save_and_load(self, gold_records, tmp_path):
        if self.overfit_params is None:
            pytest.skip(f"{self.kind} is not expected to memorise a training set")
        records = gold_records[: self.overfit_size]
        texts = [r["text"] for r in records]
        y = labels_of(records)
        model = self.make(**self.overfit_params).fit(texts, y)
        assert model.predict(texts) == {f: y[f] for f in FIELDS}
        model.save(tmp_path / "m")
        assert load_model(tmp_path / "m").predict(texts) == {f: y[f] for f in FIELDS}
