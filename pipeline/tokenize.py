"""Sentence and word tokenisation over normalised text (hazm's tokenisers).

``sentences(text)`` and ``words(text)`` expect text that went through
:class:`pipeline.normalize.Normalizer`; they do not normalise themselves.
Placeholders (``<url>``, ``<email>``, ``<user>``, ``<phone>``) stay one token,
words keep their half-spaces, and emoji are separate tokens. hazm is imported
on first use only.
"""
from __future__ import annotations

import functools
import re

__all__ = ["sentences", "words"]

_PLACEHOLDER = re.compile(r"<(?:url|email|user|phone)>")
_EMOJI = re.compile("([\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF])")
_MARK = {f"<{k}>": f"QZQ{k}QZQ" for k in ("url", "email", "user", "phone")}
_UNMARK = {v: k for k, v in _MARK.items()}


@functools.lru_cache(maxsize=1)
def _word_tokenizer():
    from hazm import WordTokenizer

    try:  # hazm 0.10 / 0.12
        return WordTokenizer(join_verb_parts=False, separate_emoji=False)
    except TypeError:  # pragma: no cover - other hazm versions
        return WordTokenizer()


@functools.lru_cache(maxsize=1)
def _sentence_tokenizer():
    from hazm import SentenceTokenizer

    return SentenceTokenizer()


def sentences(text: str) -> list[str]:
    """Split normalised text into sentences (hazm's SentenceTokenizer; blank ones dropped)."""
    if not isinstance(text, str) or not text.strip():
        return []
    return [s.strip() for s in _sentence_tokenizer().tokenize(text) if s.strip()]


def words(text: str) -> list[str]:
    """Split normalised text into word tokens (hazm's WordTokenizer, verb parts not joined)."""
    if not isinstance(text, str) or not text.strip():
        return []
    text = _PLACEHOLDER.sub(lambda m: " " + _MARK[m.group(0)] + " ", text)
    text = _EMOJI.sub(r" \1 ", text)
    return [_UNMARK.get(tok, tok) for tok in _word_tokenizer().tokenize(text) if tok.strip()]
