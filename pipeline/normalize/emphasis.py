"""The emphasis that normalisation removes (elongated letters, runs of marks, emoji, kashida),
counted on the raw text."""
from __future__ import annotations

import re

from .chars import _CHAR_TABLE, _EMOJI_CLASS, _LETTER_CLASS, _SURROGATES


_ELONGATED = re.compile(rf"([{_LETTER_CLASS}a-zA-Z])\1{{2,}}")
_EMPH_PUNCT = re.compile(r"[!?؟]{2,}")
_EMOJI = re.compile(_EMOJI_CLASS)


def emphasis_features(text: str) -> dict[str, float]:
    """Emphasis that ``squash_repeats`` removes from the text, as numbers.

    Call it on the *raw* text: ``elongated`` (letters repeated 3+ times, e.g.
    خیلیییی), ``exclaim`` / ``question`` (counts of ! and ?/؟), ``punct_runs``
    (runs like ؟؟؟!!!), ``emoji`` (emoji count), ``kashida`` (ـ used to stretch).
    """
    if not isinstance(text, str):
        text = ""
    text = _SURROGATES.sub("", text).translate(_CHAR_TABLE_NO_KASHIDA)
    return {
        "elongated": float(len(_ELONGATED.findall(text))),
        "exclaim": float(text.count("!")),
        "question": float(text.count("?") + text.count("؟")),
        "punct_runs": float(len(_EMPH_PUNCT.findall(text))),
        "emoji": float(len(_EMOJI.findall(text))),
        "kashida": float(text.count("ـ")),
    }


_CHAR_TABLE_NO_KASHIDA = {k: v for k, v in _CHAR_TABLE.items() if k != ord("ـ")}
