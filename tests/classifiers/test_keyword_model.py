"""The keyword rule baseline: the shared model contract, plus its rules."""
from __future__ import annotations

import pytest

from model_contract import BaseModelTest
from pipeline.classifiers.base import ModelError, kind_class


@pytest.fixture(scope="module")
def rules():
    return kind_class("keyword")().fit(["متن"], {})


class TestKeywordModel(BaseModelTest):
    kind = "keyword"

    def test_fit_needs_no_labels(self, rules):
        assert rules.predict(["سلام"])["stance_domestic"] == ["NONE"]

    @pytest.mark.parametrize("text, field, label", [
        ("پیام‌رسان ایتا خیلی خوبه", "stance_domestic", "FAVOR"),
        ("پیام‌رسان روبیکا رو حذف کردم", "stance_domestic", "AGAINST"),
        ("پیام‌رسان ایتا خوب نیست", "stance_domestic", "AGAINST"),
        ("نه به تلگرام", "stance_telegram", "AGAINST"),
        ("تلگرام بهتر از ایتا است", "stance_telegram", "FAVOR"),
        ("تلگرام بهتر از ایتا است", "stance_domestic", "AGAINST"),
        ("نهایتا همه چیز عالی شد", "stance_domestic", "NONE"),
        ("هوا امروز عالیه", "sentiment", "POSITIVE"),
        ("غذا افتضاح بود", "sentiment", "NEGATIVE"),
        ("آره جون خودت، پیام‌رسان ایتا عالیه", "stance_domestic", "AGAINST"),
    ])
    def test_rules(self, rules, text, field, label):
        assert rules.predict([text])[field] == [label]

    def test_spelling_variants_give_the_same_labels(self, rules):
        a = rules.predict(["پیام‌رسان ایتا رو نصب کردم"])
        b = rules.predict(["پيامرسان ايتا رو نصب كردم"])
        assert a == b

    def test_missing_lexicon_is_a_clear_error(self, tmp_path):
        with pytest.raises(ModelError, match="lexicon not found"):
            kind_class("keyword")(lexicon=str(tmp_path / "none.yaml")).fit(["x"], {})

    def test_unreadable_lexicon_is_a_clear_error(self, tmp_path):
        path = tmp_path / "cues.yaml"
        path.write_text("favor: [عالی\n", encoding="utf-8")
        with pytest.raises(ModelError, match="cues.yaml: invalid YAML"):
            kind_class("keyword")(lexicon=str(path)).fit(["x"], {})
