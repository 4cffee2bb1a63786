"""Tone-word counts for the sentiment head.

A :class:`SentimentLexicon` counts the praise and complaint words of a comment
(``pipeline/resources/sentiment_lexicon.yaml``), turning a hit round when a
negator follows it within ``negation_window`` words ("خوب نیست" counts as a
complaint, "مشکلی نداره" as praise) or a pre-negator comes just before it
("بدون مشکل"). The counts are features: a model learns
their weights from its training data; the list itself says nothing about labels.

Matching is insensitive to Arabic ي/ك, to space vs half-space between the parts
of a phrase and to the listed suffixes (خوبه، مشکلی). A model that uses the
lexicon saves its own copy (:meth:`SentimentLexicon.to_dict`), so a later edit of
the YAML file never changes a saved model.
"""
from __future__ import annotations

import bisect
import functools
import os
import re
from pathlib import Path
from typing import Any

from .normalize import MATCH_FOLD, PERSIAN_LETTERS
from .resources import data_file

__all__ = ["SentimentLexicon", "load_lexicon", "FEATURES"]

_PKG_FILE = data_file("sentiment_lexicon.yaml")

#: The matching fold of the targets, and the tatweel (ـ, a stretched letter) dropped.
_FOLD = str.maketrans({**MATCH_FOLD, "ـ": None})
_LETTERS = PERSIAN_LETTERS
_BOUNDARY = f"[{_LETTERS}a-z0-9_]"
_WORD = re.compile(rf"{_BOUNDARY}+")

#: Feature names, in column order.
FEATURES = ("lex_positive", "lex_negative", "lex_balance", "lex_negated")


def _fold(text: str) -> str:
    return text.translate(_FOLD).lower()


def _term_regex(term: str) -> str:
    parts = [p for p in _fold(term).split() if p]
    return r" ?".join(re.escape(p) for p in parts)


def _str_list(data: dict, key: str) -> list[str]:
    value = data.get(key, []) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"sentiment lexicon: '{key}' must be a list of non-empty strings")
    return [v.strip() for v in value]


class SentimentLexicon:
    """Counts tone words; see the module doc. Build it from a dict (the YAML schema)."""

    def __init__(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict):
            raise ValueError("sentiment lexicon: expected a mapping with 'positive' and 'negative' lists")
        self.positive = _str_list(data, "positive")
        self.negative = _str_list(data, "negative")
        if not self.positive or not self.negative:
            raise ValueError("sentiment lexicon: 'positive' and 'negative' must both be non-empty")
        self.negators = _str_list(data, "negators")
        self.pre_negators = _str_list(data, "pre_negators")
        self.suffixes = _str_list(data, "suffixes")
        self.negation_window = int(data.get("negation_window", 2))
        if self.negation_window < 0:
            raise ValueError("sentiment lexicon: 'negation_window' must be >= 0")
        self.version = data.get("version", 1)
        terms = [(t, 1) for t in self.positive] + [(t, -1) for t in self.negative]
        # Longest first, so that «بدترین» is one hit and not «بد» + rest.
        terms.sort(key=lambda tp: -len(_fold(tp[0])))
        self._polarity = [p for _, p in terms]
        suffix = "|".join(re.escape(_fold(s)) for s in sorted(set(self.suffixes), key=len, reverse=True))
        suffix_part = f"(?:{suffix})?" if suffix else ""
        wordy = re.compile(_BOUNDARY)
        words = "|".join(f"(?P<t{i}>{_term_regex(t)})" for i, (t, _) in enumerate(terms) if wordy.search(_fold(t)))
        # Emoji and other symbols are not words: no boundaries or suffixes, and they may touch a word.
        symbols = "|".join(f"(?P<t{i}>{_term_regex(t)})" for i, (t, _) in enumerate(terms)
                           if not wordy.search(_fold(t)))
        alts = [f"(?<!{_BOUNDARY})(?:{words}){suffix_part}(?!{_BOUNDARY})"] if words else []
        alts += [f"(?:{symbols})"] if symbols else []
        self._regex = re.compile("|".join(alts))
        self._negators = {_fold(n).replace(" ", "") for n in self.negators}
        self._pre_negators = {_fold(n).replace(" ", "") for n in self.pre_negators}

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "negation_window": self.negation_window,
                "suffixes": list(self.suffixes), "negators": list(self.negators),
                "pre_negators": list(self.pre_negators),
                "positive": list(self.positive), "negative": list(self.negative)}

    def hits(self, text: str) -> list[tuple[str, int, bool]]:
        """``(matched text, polarity after negation, negated)`` for each hit, in order."""
        if not isinstance(text, str) or not text:
            return []
        folded = _fold(text)
        matches = list(self._regex.finditer(folded))
        if not matches:
            return []
        words = [(w.start(), w.group()) for w in _WORD.finditer(folded)]
        starts = [start for start, _ in words]
        out = []
        for m in matches:
            polarity = self._polarity[int(m.lastgroup[1:])]
            after = bisect.bisect_left(starts, m.end())
            following = [w for _, w in words[after:after + self.negation_window]]
            before = bisect.bisect_left(starts, m.start()) - 1
            negated = (any(w in self._negators for w in following)
                       or (before >= 0 and words[before][1] in self._pre_negators))
            out.append((m.group(), -polarity if negated else polarity, negated))
        return out

    def features(self, text: str) -> dict[str, float]:
        """``lex_positive`` / ``lex_negative`` (hits after negation), ``lex_balance`` (their
        difference, each side capped at 3) and ``lex_negated`` (hits turned round)."""
        hits = self.hits(text)
        pos = sum(p > 0 for _, p, _ in hits)
        neg = sum(p < 0 for _, p, _ in hits)
        return {"lex_positive": float(pos), "lex_negative": float(neg),
                "lex_balance": float(min(pos, 3) - min(neg, 3)),
                "lex_negated": float(sum(n for _, _, n in hits))}


def load_lexicon(path: str | os.PathLike | None = None) -> SentimentLexicon:
    """The lexicon at ``path``, else the one shipped in the package."""
    if path is None:
        return _default()
    from .io import read_yaml_mapping

    p = Path(path)
    data = read_yaml_mapping(p, "sentiment lexicon", ValueError, missing=FileNotFoundError)
    try:
        return SentimentLexicon(data)
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from exc


@functools.lru_cache(maxsize=1)
def _default() -> SentimentLexicon:
    return load_lexicon(_PKG_FILE)
