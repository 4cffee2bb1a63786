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


@pytest.fixture(scope="module")
def lexicon_model(gold_records):
    """An encoder whose sentiment head sees the tone-word counts, and its training texts."""
    from pipeline.classifiers.encoder import EncoderModel
    from pipeline.data import labels_of

    texts = [r["text"] for r in gold_records]
    return EncoderModel(lexicon=True).fit(texts, labels_of(gold_records)), texts


@pytest.fixture(scope="module")
def tone_model(gold_records):
    """An encoder with tone-word counts for every head, split by target for the stance heads."""
    from pipeline.classifiers.encoder import EncoderModel
    from pipeline.data import labels_of

    texts = [r["text"] for r in gold_records]
    model = EncoderModel(lexicon=["stance_domestic", "stance_telegram", "sentiment"], tone_by_target=True)
    return model.fit(texts, labels_of(gold_records))


class TestEncoderLexicon:
    """The encoder's ``lexicon`` parameter."""


    def test_only_the_sentiment_head_sees_the_counts(self, lexicon_model):
        model, _ = lexicon_model
        assert model.lexicon_fields == ("sentiment",)
        assert set(model.heads_) == {"mentions", "lexicon"}

    def test_saved_model_keeps_its_own_word_list(self, lexicon_model, tmp_path, monkeypatch):
        from pipeline import lexicon
        from pipeline.classifiers.base import load_model

        model, texts = lexicon_model
        model.save(tmp_path / "m")
        meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
        assert meta["sentiment_lexicon"]["positive"] == load_lexicon().positive
        # A different shipped list must not change the saved model's features.
        monkeypatch.setattr(lexicon, "_default", lambda: SentimentLexicon(TOY))
        again = load_model(tmp_path / "m")
        before, after = model.predict_proba(texts), again.predict_proba(texts)
        for f in before:
            np.testing.assert_allclose(after[f], before[f], atol=1e-12)

    def test_model_without_its_word_list_is_refused(self, lexicon_model, tmp_path):
        from pipeline.classifiers.base import ModelError, load_model

        model, _ = lexicon_model
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


class TestToneByTarget:
    """The encoder's ``tone_by_target`` parameter: tone-word counts split by the target named."""


    def test_counts_land_in_the_block_of_the_named_target(self, tone_model):
        from pipeline.lexicon import FEATURES

        texts = ["ایتا افتضاحه و خیلی بده", "تلگرام عالیه", "هوا خیلی خوبه"]
        X = tone_model._inputs(tone_model.normalize(texts))["mentions+lexicon"]
        k = len(FEATURES)
        tone, dom, tel = X[:, -3 * k:-2 * k], X[:, -2 * k:-k], X[:, -k:]
        assert tone[0, FEATURES.index("lex_negative")] > 0 and tone[1, FEATURES.index("lex_positive")] > 0
        np.testing.assert_array_equal(dom[0], tone[0])   # names a domestic app
        np.testing.assert_array_equal(tel[0], 0)
        np.testing.assert_array_equal(tel[1], tone[1])   # names Telegram
        np.testing.assert_array_equal(dom[1], 0)
        assert tone[2].any() and not dom[2].any() and not tel[2].any()  # names neither

    def test_sentiment_head_is_unchanged_by_it(self, tone_model):
        X = tone_model._inputs(tone_model.normalize(["خیلی عالیه"]))
        assert X["lexicon"].shape[1] == tone_model.heads_["lexicon"].coef_["sentiment"].shape[1]
        assert X["mentions+lexicon"].shape[1] > X["lexicon"].shape[1]

    def test_without_tone_for_the_stance_heads_it_adds_nothing(self, gold_records):
        from pipeline.classifiers.encoder import EncoderModel

        plain = EncoderModel(lexicon=True)
        split = EncoderModel(lexicon=True, tone_by_target=True)
        texts = [r["text"] for r in gold_records[:5]]
        for name in ("mentions", "lexicon"):
            assert (plain._inputs(plain.normalize(texts))[name].shape
                    == split._inputs(split.normalize(texts))[name].shape)

    def test_non_boolean_is_refused(self):
        from pipeline.classifiers.encoder import EncoderModel

        with pytest.raises(ValueError, match="'tone_by_target' must be true or false"):
            EncoderModel(tone_by_target="yes")
