"""Tone-word counts (pipeline.lexicon) and the encoder heads that use them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.lexicon import FEATURES, SentimentLexicon, load_lexicon

TOY = {"positive": ["خوب", "عالی", "زنده باد", "👍"], "negative": ["بد", "بدترین", "مشکل", "👎"],
       "negators": ["نیست", "نداره"], "pre_negators": ["بدون"], "suffixes": ["ه", "ی"], "negation_window": 2}


@pytest.fixture()
def toy():
    return SentimentLexicon(TOY)


def polarities(lex, text):
    return [p for _, p, _ in lex.hits(text)]


def test_counts_praise_and_complaint(toy):
    f = toy.features("سروش خوبه ولی بدترین پشتیبانی رو داره 👎")
    assert f["lex_positive"] == 1 and f["lex_negative"] == 2 and f["lex_balance"] == -1
    assert list(f) == list(FEATURES)


def test_longest_term_wins_and_word_boundaries_hold(toy):
    assert [h for h, _, _ in toy.hits("بدترین")] == ["بدترین"]
    # «بد» inside other words is not a hit
    assert toy.hits("بدون شک ابدی") == []


def test_negator_after_a_hit_turns_it_round(toy):
    assert polarities(toy, "اصلا خوب نیست") == [-1]
    assert polarities(toy, "هیچ مشکلی نداره") == [1]
    assert polarities(toy, "بدون مشکل") == [1]
    # beyond the window the negator belongs to something else
    assert polarities(toy, "خوب بود و قیمتش هم مناسب نیست") == [1]
    assert toy.features("اصلا خوب نیست")["lex_negated"] == 1


def test_matching_folds_arabic_letters_and_half_spaces(toy):
    assert polarities(toy, "عالي") == [1]
    assert polarities(toy, "زنده\u200cباد ایتا") == [1]
    assert polarities(toy, "زندهباد ایتا") == [1]


def test_emoji_need_no_word_boundary(toy):
    assert polarities(toy, "ایتا👍👍") == [1, 1]


def test_empty_and_non_text_give_zeros(toy):
    assert toy.features("") == dict.fromkeys(FEATURES, 0.0)
    assert toy.hits(None) == []


def test_to_dict_round_trips(toy):
    again = SentimentLexicon(json.loads(json.dumps(toy.to_dict())))
    text = "خوب نیست ولی بدون مشکل کار میکنه 👍"
    assert again.hits(text) == toy.hits(text)


@pytest.mark.parametrize("bad, message", [
    ({"positive": [], "negative": ["بد"]}, "non-empty"),
    ({"positive": "خوب", "negative": ["بد"]}, "list of non-empty strings"),
    ({"positive": ["خوب"], "negative": ["بد"], "negation_window": -1}, "negation_window"),
    (["خوب"], "mapping"),
])
def test_bad_lexicon_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        SentimentLexicon(bad)


def test_lexicon_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_lexicon(tmp_path / "missing.yaml")
    path = tmp_path / "lex.yaml"
    path.write_text("positive: [خوب\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lex.yaml"):
        load_lexicon(path)


def test_shipped_lexicon_loads_and_is_not_empty():
    lex = load_lexicon()
    assert lex.positive and lex.negative and lex.negators
    assert not set(lex.positive) & set(lex.negative)
    assert lex.features("خیلی عالیه")["lex_positive"] == 1


class TestEncoderLexicon:
    """The encoder's ``lexicon`` parameter."""

    @pytest.fixture(scope="class")
    def fitted(self, gold_records):
        from pipeline.classifiers.encoder import EncoderModel
        from pipeline.data import labels_of

        texts = [r["text"] for r in gold_records]
        return EncoderModel(lexicon=True).fit(texts, labels_of(gold_records)), texts

    def test_only_the_sentiment_head_sees_the_counts(self, fitted):
        model, _ = fitted
        assert model.lexicon_fields == ("sentiment",)
        assert set(model.heads_) == {"mentions", "lexicon"}

    def test_saved_model_keeps_its_own_word_list(self, fitted, tmp_path, monkeypatch):
        from pipeline import lexicon
        from pipeline.classifiers.base import load_model

        model, texts = fitted
        model.save(tmp_path / "m")
        meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
        assert meta["sentiment_lexicon"]["positive"] == load_lexicon().positive
        # A different shipped list must not change the saved model's features.
        monkeypatch.setattr(lexicon, "_default", lambda: SentimentLexicon(TOY))
        again = load_model(tmp_path / "m")
        before, after = model.predict_proba(texts), again.predict_proba(texts)
        for f in before:
            np.testing.assert_allclose(after[f], before[f], atol=1e-12)

    def test_model_without_its_word_list_is_refused(self, fitted, tmp_path):
        from pipeline.classifiers.base import ModelError, load_model

        model, _ = fitted
        model.save(tmp_path / "m")
        meta_path = tmp_path / "m" / "model.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        del meta["sentiment_lexicon"]
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        with pytest.raises(ModelError, match="sentiment_lexicon"):
            load_model(tmp_path / "m")

    def test_bad_parameter_is_refused(self):
        from pipeline.classifiers.encoder import EncoderModel

        with pytest.raises(ValueError, match="'lexicon' must be true, false or a list"):
            EncoderModel(lexicon="sentiment")
