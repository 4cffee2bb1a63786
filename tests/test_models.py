"""Each model kind against the shared contract, plus kind-specific behaviour."""
from __future__ import annotations

import numpy as np
import pytest

from model_contract import BaseModelTest
from pipeline.classifiers.base import ModelError, load_model
from pipeline.data import labels_of


class TestTfidfModel(BaseModelTest):
    kind = "tfidf"
    overfit_params = {"C": 100.0}


class TestEncoderModel(BaseModelTest):
    kind = "encoder"
    overfit_params = {"C": 100.0}


class TestMajorityModel(BaseModelTest):
    kind = "majority"

    def test_predicts_the_most_frequent_label(self, gold_records):
        from collections import Counter

        model = self.make().fit([r["text"] for r in gold_records], labels_of(gold_records))
        pred = model.predict(["هر متنی"])
        for f, labels in labels_of(gold_records).items():
            assert pred[f] == [Counter(labels).most_common(1)[0][0]]


def test_load_model_errors_are_clear(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing")
    with pytest.raises(ModelError, match="no model.json"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text('{"kind": "quantum"}', encoding="utf-8")
    with pytest.raises(ModelError, match="unknown model kind 'quantum'"):
        load_model(tmp_path)


def test_committed_default_model_loads_and_labels():
    from pipeline.label import default_model_dir

    model = load_model(default_model_dir())
    proba = model.predict_proba(["سروش خیلی خوبه", "تلگرام رو فیلتر کردند"])
    for f, p in proba.items():
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)


class TestEncoderLexiconModel(BaseModelTest):
    """The encoder with tone-word counts for the sentiment head (the default model's setting)."""

    kind = "encoder"
    params = {"lexicon": True}
    overfit_params = {"C": 100.0}


class TestEncoderToneByTargetModel(BaseModelTest):
    """The encoder with tone-word counts for every head, also split by the target named."""

    kind = "encoder"
    params = {"lexicon": ["stance_domestic", "stance_telegram", "sentiment"], "tone_by_target": True}
    overfit_params = {"C": 100.0}
