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
    assert_damaged_metadata_refused(tmp_path / "m", "target_list",
                                    [{"no targets": True}, {"targets": [{"aliases": ["x"]}]}, {"targets": [7]}])


def assert_damaged_metadata_refused(model_dir, key, bad_values):
    """Each bad value of ``key`` in model.json makes loading fail with a ModelError naming the key."""
    meta_path = model_dir / "model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    for bad in bad_values:
        meta[key] = bad
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        with pytest.raises(ModelError, match=key):
            load_model(model_dir)


class TestEnsembleModel(BaseModelTest):
    """The sentence encoder and the n-gram model, their probabilities averaged."""

    kind = "ensemble"
    params = {"members": [{"kind": "encoder"}, {"kind": "tfidf"}]}
    overfit_params = {"members": [{"kind": "encoder", "params": {"C": 100.0}},
                                  {"kind": "tfidf", "params": {"C": 100.0}}]}


class TestAbstainingTfidfModel(BaseModelTest):
    """A kind with calibrated abstention: NONE weights chosen by its inner cross-validation."""

    kind = "tfidf"
    params = {"abstain": True}


def test_ensemble_probabilities_are_the_weighted_mean_of_its_members(gold_records, tmp_path):
    from pipeline.classifiers.base import kind_class

    texts, y = [r["text"] for r in gold_records], labels_of(gold_records)
    ens = kind_class("ensemble")(members=[{"kind": "tfidf", "params": {"C": 2.0}}, {"kind": "majority"}],
                                 weights=[3, 1]).fit(texts, y)
    tfidf = kind_class("tfidf")(C=2.0).fit(texts, y).predict_proba(texts[:6])
    majority = kind_class("majority")().fit(texts, y).predict_proba(texts[:6])
    got = ens.predict_proba(texts[:6])
    for f in got:
        np.testing.assert_allclose(got[f], 0.75 * tfidf[f] + 0.25 * majority[f], atol=1e-9)
    ens.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "members" / "0" / "model.json").read_text(encoding="utf-8"))["kind"] == "tfidf"


@pytest.mark.parametrize("params, needle", [
    ({"members": [{"kind": "tfidf"}]}, "at least two"),
    ({"members": [{"kind": "tfidf"}, {"kind": "ensemble"}]}, "cannot hold another ensemble"),
    ({"members": [{"kind": "tfidf"}, {"kind": "tfidf", "param": {}}]}, "member 1"),
    ({"members": [{"kind": "tfidf"}, {"kind": "majority"}], "weights": [1]}, "2 positive numbers"),
    ({"members": [{"kind": "tfidf"}, {"kind": "majority"}], "weights": [1, -1]}, "2 positive numbers"),
])
def test_ensemble_params_are_checked(params, needle):
    from pipeline.classifiers.base import kind_class

    with pytest.raises(ValueError, match=needle):
        kind_class("ensemble")(**params)


def test_a_member_param_typo_is_an_error_when_the_ensemble_is_built():
    from pipeline.classifiers.base import kind_class

    model = kind_class("ensemble")(members=[{"kind": "tfidf", "params": {"CC": 1}}, {"kind": "majority"}])
    with pytest.raises(ValueError, match="member 0 .tfidf.*CC"):
        model.check_params()


def test_reweighting_none_moves_labels_towards_none_and_keeps_rows_summing_to_one():
    from pipeline.classifiers.abstain import reweight

    p = np.array([[0.5, 0.1, 0.4], [0.1, 0.8, 0.1]])  # AGAINST, FAVOR, NONE
    up = reweight(p, "stance_domestic", 2.0)
    np.testing.assert_allclose(up.sum(axis=1), 1.0)
    assert up[0].argmax() == 2 and up[1].argmax() == 1  # a sure stance survives, a doubtful one does not
    assert (up[:, 2] > p[:, 2]).all()
    np.testing.assert_array_equal(reweight(p, "stance_domestic", 1.0), p)


def test_chosen_none_weight_is_one_unless_another_scores_better():
    from pipeline.classifiers.abstain import choose_none_weight

    gold = ["NONE"] * 8 + ["FAVOR", "AGAINST"]
    sure = np.array([[0.05, 0.05, 0.9]] * 8 + [[0.05, 0.9, 0.05], [0.9, 0.05, 0.05]])
    assert choose_none_weight(gold, sure, "stance_domestic") == 1.0
    # A head that gives a doubtful stance to NONE comments: a higher weight fixes them.
    eager = sure.copy()
    eager[:4] = [0.1, 0.5, 0.4]
    assert choose_none_weight(gold, eager, "stance_domestic") > 1.0


def test_abstain_weights_are_fitted_saved_and_used(gold_records, tmp_path):
    from pipeline.classifiers.abstain import WEIGHTS
    from pipeline.classifiers.base import kind_class

    texts, y = [r["text"] for r in gold_records], labels_of(gold_records)
    fitted = kind_class("tfidf")(abstain=True).fit(texts, y)
    assert set(fitted.none_weight_) == {"stance_domestic", "stance_telegram"}
    assert all(w in WEIGHTS for w in fitted.none_weight_.values())
    fixed = kind_class("tfidf")(abstain={"stance_domestic": 500}).fit(texts, y)
    assert set(fixed.predict(texts)["stance_domestic"]) == {"NONE"}
    assert len(set(fixed.predict(texts)["stance_telegram"])) > 1  # the other head is left alone
    fixed.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    assert meta["none_weight"] == {"stance_domestic": 500.0} and meta["params"]["abstain"] == {"stance_domestic": 500}
    again = load_model(tmp_path / "m")
    assert set(again.predict(texts)["stance_domestic"]) == {"NONE"}


@pytest.mark.parametrize("value, needle", [("yes", "true, false or a mapping"),
                                           ({"sentiment": 2.0}, "not a stance field"),
                                           ({"stance_domestic": 0}, "positive number")])
def test_bad_abstain_values_are_refused(value, needle):
    from pipeline.classifiers.base import kind_class

    with pytest.raises(ValueError, match=needle):
        kind_class("tfidf")(abstain=value)


def test_a_damaged_none_weight_is_a_model_error(gold_records, tmp_path):
    from pipeline.classifiers.base import kind_class

    kind_class("tfidf")().fit([r["text"] for r in gold_records], labels_of(gold_records)).save(tmp_path / "m")
    assert_damaged_metadata_refused(tmp_path / "m", "none_weight", [{"stance_domestic": -1}, [2.0]])


class TestHashedTfidfModel(BaseModelTest):
    """TF-IDF over hashed n-grams: no vocabulary in the saved model."""

    kind = "tfidf"
    params = {"hashing": 4096}
    overfit_params = {"C": 100.0, "hashing": 4096}

    def test_saves_no_ngram_of_its_training_texts(self, fitted, tmp_path, gold_records):
        model, _ = fitted
        model.save(tmp_path / "m")
        assert not (tmp_path / "m" / "vocab.json").exists()
        word = next(w for w in gold_records[0]["text"].split() if len(w) > 3)
        for path in (tmp_path / "m").iterdir():
            assert word.encode("utf-8") not in path.read_bytes(), path

    def test_bad_hashing_is_refused(self):
        with pytest.raises(ValueError, match="hashing"):
            self.make(hashing=3).check_params()


def test_abstain_fits_three_inner_models_for_both_stance_heads(gold_records, monkeypatch):
    from pipeline.classifiers.base import kind_class

    cls = kind_class("tfidf")
    calls = []
    real_fit = cls._fit
    monkeypatch.setattr(cls, "_fit", lambda self, *a: calls.append(1) or real_fit(self, *a))
    cls(abstain=True).fit([r["text"] for r in gold_records], labels_of(gold_records))
    assert len(calls) == 1 + cls.ABSTAIN_FOLDS
