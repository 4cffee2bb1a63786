"""Hypothesis properties of pipeline.normalize: total, idempotent, letter-preserving."""
from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.normalize import Normalizer

_NORM = Normalizer()
_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Persian-heavy alphabet with the troublemakers of real dumps
_ALPHABET = list("آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیءئؤ") + list("يكىةأإۀ") + [
    " ", " ", " ", "\u200c", "\u200d", "\u200f", "\u202b", "\u0640", "\u064e", "\u0651",
    "۱", "٢", "3", "!", "؟", "?", ".", "،", "#", "@", "_", "\n", "😍", "👍", "a", "b",
]
persianish = st.text(alphabet=st.sampled_from(_ALPHABET), max_size=60)
anything = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80)

# documented character mappings: source letter -> letters it may become
_MAPPED = {"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "ۀ": "هی"}


@_SETTINGS
@given(anything)
def test_never_raises_on_any_unicode(text):
    assert isinstance(_NORM(text), str)


@_SETTINGS
@given(st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=5), persianish)
def test_lone_surrogates_and_nul(sur, text):
    out = _NORM(sur + "\x00" + text + sur)
    assert "\x00" not in out
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in out)
    out.encode("utf-8")  # always encodable


def test_huge_string():
    text = ("پیامرسانهای داخلی خیلیییی خوبن!!! " * 20000)
    out = _NORM(text)
    assert out.startswith("پیام\u200cرسان\u200cهای")


@_SETTINGS
@given(persianish)
def test_idempotent_persianish(text):
    once = _NORM(text)
    assert _NORM(once) == once


@_SETTINGS
@given(anything)
def test_idempotent_anything(text):
    once = _NORM(text)
    assert _NORM(once) == once


def _letters(text: str) -> str:
    """Persian letters of a text after the documented mappings, repeats squashed."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        ch = _MAPPED.get(ch, ch)
        for c in ch:
            if c in "آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیءئؤ" and (len(out) < 1 or out[-1] != c):
                out.append(c)
    return "".join(out)


@_SETTINGS
@given(st.text(alphabet=st.sampled_from(list("آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیءئؤيكىةأإ") + [" ", "\u200c", "\u0640", "\u064e"]), max_size=50))
def test_letters_only_change_by_documented_mappings(text):
    # with no entities, digits or punctuation, only the documented mappings,
    # repeat squashing and half-space/space changes may touch the letters
    assert _letters(_NORM(text)) == _letters(text)


@_SETTINGS
@given(persianish)
def test_no_wrong_halfspaces(text):
    out = _NORM(text)
    joining = set("بپتثجچحخسشصضطظعغفقکگلمنهیئ")
    for i, ch in enumerate(out):
        if ch == "\u200c":
            assert 0 < i < len(out) - 1
            assert out[i - 1] in joining
            assert out[i + 1] != "\u200c" and not out[i + 1].isspace()


@_SETTINGS
@given(persianish)
def test_digits_script_is_uniform(text):
    out = _NORM(text)
    assert not any(c in "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩" for c in out)
