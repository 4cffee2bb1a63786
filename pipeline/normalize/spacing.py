"""Repeated letters and marks (``squash_repeats``) and spacing around punctuation, digits and
emoji (``correct_spacing``, ``collapse_spaces``)."""
from __future__ import annotations

import re

from .chars import ZWNJ, _EMOJI_MOD, _EMOJI_RANGES, _LETTER_CLASS
from .halfspace import _lexicon


_REPEAT_RUN = re.compile(rf"([{_LETTER_CLASS}a-zA-Z])\1{{2,}}")
_REPEAT_WORD = re.compile(rf"[{_LETTER_CLASS}\u200c]*([{_LETTER_CLASS}])\1{{2,}}[{_LETTER_CLASS}\u200c]*")
_LATIN_REPEAT = re.compile(r"([a-zA-Z])\1{2,}")
_PUNCT_RUN = re.compile(r"[!?؟]{2,}")
_DOTS = re.compile(r" ?\.{3,}| ?…+")
_OTHER_PUNCT_RUN = re.compile(r"([.،,؛;:\-_*~=+])\1{3,}")
_MULTI_SPACE = re.compile(r"[ \t]+")
_SPACE_NL = re.compile(r" *\n *")
_MULTI_NL = re.compile(r"\n{3,}")
_PUNC_AFTER = r"\.:!،؛؟»\]\)\}"
_PUNC_BEFORE = r"«\[\(\{"
_SPACE_BEFORE_CLOSE = re.compile(rf" +([{_PUNC_AFTER}])")
_SPACE_AFTER_OPEN = re.compile(rf"([{_PUNC_BEFORE}]) +")
_NEED_SPACE_AFTER_DOT = re.compile(rf"([.:!])(?=[{_LETTER_CLASS}])")
_NEED_SPACE_AFTER = re.compile(rf"([،؛؟»\]\)\}}])(?=[^\s{_PUNC_AFTER}])")
_NEED_SPACE_BEFORE = re.compile(rf"(?<=[^\s{_PUNC_BEFORE}])([{_PUNC_BEFORE}])")
_DIGIT_LETTER = re.compile(rf"(?<=[0-9۰-۹])(?=[{_LETTER_CLASS}])|(?<=[{_LETTER_CLASS}])(?=[0-9۰-۹])")
_EMOJI_WORD = re.compile(
    rf"(?<=[\w\u200c])(?=[{_EMOJI_RANGES}])|(?<=[{_EMOJI_RANGES}{_EMOJI_MOD}])(?=[^\W_])"
)
_PLACEHOLDER_GLUE = re.compile(r"(?<=\w)(?=<(?:url|email|user|phone)>)|(?:(?<=<url>)|(?<=<user>)|(?<=<email>)|(?<=<phone>))(?=\w)")


def _squash_word(m: re.Match) -> str:
    word = m.group(0)
    one = _REPEAT_RUN.sub(r"\1", word)
    two = _REPEAT_RUN.sub(r"\1\1", word)
    try:
        lex = _lexicon()
    except Exception:  # pragma: no cover - hazm missing
        return two
    one_known = lex.known(one.replace(ZWNJ, "")) or one.replace(ZWNJ, "") in lex.compounds
    two_known = lex.known(two.replace(ZWNJ, "")) or two.replace(ZWNJ, "") in lex.compounds
    if one_known and not two_known:
        return one
    if two_known and not one_known:
        return two
    if one_known:
        return one
    # unknown either way: a run of three+ letters is emphasis; one copy is the
    # likelier word unless the letter is ه (laughter: ههههه -> هه)
    return one if not re.fullmatch("ه+", one.replace(ZWNJ, "")) else two


def _squash_punct(m: re.Match) -> str:
    seen: list[str] = []
    for ch in m.group(0):
        if ch == "?":
            ch = "؟" if "؟" in m.group(0) else "?"
        if ch not in seen:
            seen.append(ch)
    return "".join(seen)
