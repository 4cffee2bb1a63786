"""The model card states what is true of the config and data it was trained from."""
from __future__ import annotations

import pytest

from conftest import ROOT, write_jsonl
from pipeline.config import ConfigError, load_config
from pipeline.data import label_counts
from pipeline.train import RARE_CLASS, train

REVIEWS = [("غذا خیلی خوشمزه بود و سریع رسید", "HAPPY"), ("سرد و بی‌کیفیت بود، دیگه سفارش نمیدم", "SAD"),
           ("بسته‌بندی عالی بود", "HAPPY"), ("پیک دیر اومد و غذا خراب بود", "SAD"),
           ("کیفیتش خوب بود", "HAPPY"), ("اصلا ارزش نداشت", "SAD"), ("بی‌نظیر بود", "HAPPY")]
MAPPING = "{sentiment: {from: label, map: {HAPPY: POSITIVE, SAD: NEGATIVE, SO_SO: NEUTRAL}}}"


@pytest.fixture()
def reviews(tmp_path):
    return write_jsonl(tmp_path / "reviews.jsonl",
                       [{"id": f"r{i}", "text": t, "label": lab} for i, (t, lab) in enumerate(REVIEWS)])


def _card(out):
    return (out / "README.md").read_text(encoding="utf-8")


def _limits(card):
    return card.split("## Limits", 1)[1]


def test_a_sentiment_only_model_says_so_and_what_it_never_predicts(tmp_path, reviews):
    config = load_config(ROOT / "configs" / "tfidf.yaml",
                         [f"data.gold=[{reviews}]", "data.fields=[sentiment]", f"data.labels={MAPPING}",
                          "cv=null", "card=null"])
    out = tmp_path / "model"
    model, _ = train(config, out, log=lambda msg: None)
    card = _card(out)
    header = card.split("## Training data", 1)[0]
    assert "`sentiment`" in header and "stance" not in header
    assert "`sentiment` NEUTRAL: no training comment has this label, so the model never predicts it." in card
    assert "NEUTRAL" not in model.predict([t for t, _ in REVIEWS] + ["معمولی بود", "نظری ندارم"])["sentiment"]
    assert "No cross-validated figures" in _limits(card)
    assert "state-media" not in card


def test_a_label_only_the_extra_files_hold_is_named_with_its_count(tmp_path, reviews):
    neutral = write_jsonl(tmp_path / "neutral.jsonl",
                          [{"id": f"n{i}", "text": t, "label": "SO_SO"} for i, t in enumerate(["معمولی بود", "بد نبود"])])
    config = load_config(ROOT / "configs" / "tfidf.yaml",
                         [f"data.gold=[{reviews}]", f"data.extra=[{neutral}]", "data.fields=[sentiment]",
                          f"data.labels={MAPPING}", "cv.folds=2", "cv.repeats=1"])
    out = tmp_path / "model"
    train(config, out, baselines=(), log=lambda msg: None)
    limits = _limits(_card(out))
    assert "`sentiment` NEUTRAL: only the extra files hold this label (2 comments)" in limits
    assert f"cross-validation on {len(REVIEWS)} gold comments" in limits


def test_rare_gold_classes_and_the_configs_own_words(tmp_path, gold_path, gold_records):
    config = load_config(ROOT / "configs" / "tfidf.yaml",
                         [f"data.gold=[{gold_path}]", "cv=null",
                          "card={intended_use: For the tests only., limits: [A limit of this config.]}"])
    out = tmp_path / "model"
    train(config, out, log=lambda msg: None)
    card = _card(out)
    assert "For the tests only." in card and "Batch labelling" not in card
    limits = _limits(card)
    assert limits.rstrip().splitlines()[-3] == "- A limit of this config. (from the config's `card.limits`)"
    rare = 0
    for field, counts in label_counts(gold_records).items():
        line = next((x for x in limits.splitlines() if x.startswith(f"- `{field}`") and "poorly" in x), "")
        for label, n in counts.items():
            named = f"{label}: {n} gold comment" in line or f"{label} {n}" in line
            assert named == (0 < n < RARE_CLASS), (field, label, n)
            rare += named
    assert rare, "the gold set has no class rarer than RARE_CLASS; the test checks nothing"


def test_a_tiny_gold_set_names_its_rare_labels_once_per_field(tmp_path, reviews):
    config = load_config(ROOT / "configs" / "tfidf.yaml",
                         [f"data.gold=[{reviews}]", "data.fields=[sentiment]", f"data.labels={MAPPING}",
                          "cv=null", "card=null"])
    out = tmp_path / "model"
    train(config, out, log=lambda msg: None)
    limits = _limits(_card(out))
    assert "- `sentiment`: NEGATIVE 3 and POSITIVE 4 gold comments, so their figures are poorly estimated." in limits


@pytest.mark.parametrize("card, message", [
    ("{limits: 3}", "card.limits: expected a list of non-empty strings"),
    ("{limits: ['']}", "card.limits: expected a list of non-empty strings"),
    ("{intended_use: [a, b]}", "card.intended_use: expected a string"),
    ("{notes: x}", "card: unknown key"),
])
def test_a_bad_card_section_is_a_config_error(card, message):
    with pytest.raises(ConfigError, match=message):
        load_config(ROOT / "configs" / "tfidf.yaml", [f"card={card}"])


def test_a_single_limit_may_be_a_string():
    config = load_config(ROOT / "configs" / "tfidf.yaml", ["card={limits: Only one.}"])
    assert config.card.limits == ("Only one.",)
