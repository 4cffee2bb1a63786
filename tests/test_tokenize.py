from __future__ import annotations

from pipeline.normalize import Normalizer
from pipeline.tokenize import sentences, words

Z = "\u200c"


def test_words_keep_halfspaces_and_placeholders():
    text = Normalizer()("پیامرسانهای داخلی خوبن؟ @ali ببین https://t.me/x 😍😍")
    toks = words(text)
    assert f"پیام{Z}رسان{Z}های" in toks
    assert "<user>" in toks and "<url>" in toks
    assert toks.count("😍") == 2
    assert "؟" in toks


def test_words_split_punctuation():
    assert words("سلام، دنیا!") == ["سلام", "،", "دنیا", "!"]


def test_words_do_not_join_verb_parts():
    assert words("خواهم رفت") == ["خواهم", "رفت"]


def test_words_numbers():
    assert "3.5" in words("3.5 درصد")


def test_sentences():
    assert sentences("سلام! خوبی؟ من خوبم.") == ["سلام!", "خوبی؟", "من خوبم."]


def test_empty():
    assert words("") == [] and sentences("  ") == []
    assert words(None) == []  # type: ignore[arg-type]
