"""Each model kind against the shared contract, plus kind-specific behaviour."""
from __future__ import annotations

import json

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
    from pipeline.resources import default_model_dir

    model = load_model(default_model_dir())
    # Plain cases of each stance: praise and contempt of a domestic app, defence of Telegram and a call to
    # filter it; every one names its target and says where it stands.
    texts = ["سروش خیلی خوبه، همه بیاید سروش", "ایتا آشغاله، هیچکس ازش استفاده نمیکنه",
             "تلگرام بهترین پیام‌رسانه، فیلترش نکنید", "تلگرام باید فیلتر بشه، جاسوس خونه است"]
    expected = {"stance_domestic": ["FAVOR", "AGAINST", "NONE", "NONE"],
                "stance_telegram": ["NONE", "NONE", "FAVOR", "AGAINST"],
                "sentiment": ["POSITIVE", "NEGATIVE", "POSITIVE", "NEGATIVE"]}
    proba, pred = model.predict_proba(texts), model.predict(texts)
    for f, p in proba.items():
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
        assert [model.classes_[f][i] for i in p.argmax(axis=1)] == list(pred[f])  # columns in classes_ order
        assert list(pred[f]) == expected[f], f


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


def test_encoder_keeps_its_own_target_list(gold_records, tmp_path, monkeypatch):
    """Editing the target list after training must not change a saved model's features."""
    from pipeline import targets
    from pipeline.classifiers.encoder import EncoderModel
    from pipeline.data import labels_of

    texts = [r["text"] for r in gold_records]
    model = EncoderModel().fit(texts, labels_of(gold_records))
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    assert meta["target_list"] == targets.load_targets().to_dict()
    # A list that knows no target at all: the saved model must not notice.
    monkeypatch.setattr(targets, "load_targets", lambda path=None: targets.TargetSet({"targets": []}))
    again = load_model(tmp_path / "m")
    before, after = model.predict_proba(texts), again.predict_proba(texts)
    for f in before:
        np.testing.assert_allclose(after[f], before[f], atol=1e-12)


def test_encoder_with_a_bad_saved_target_list_is_refused(gold_records, tmp_path):
    from pipeline.classifiers.encoder import EncoderModel
    from pipeline.data import labels_of

    EncoderModel().fit([r["text"] for r in gold_records], labels_of(gold_records)).save(tmp_path / "m")
    meta_path = tmp_path / "m" / "model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    for bad in ({"no targets": True}, {"targets": [{"aliases": ["x"]}]}, {"targets": [7]}):
        meta["target_list"] = bad
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        with pytest.raises(ModelError, match="target_list"):
            load_model(tmp_path / "m")
