"""Reference baselines that every evaluation shows beside real models.

``MajorityModel`` predicts the most frequent training label; ``KeywordModel``
is a rule model with no training, built on the target mentions of
:mod:`pipeline.targets` and the cue lexicon ``pipeline/resources/keywords.yaml``.
"""
from __future__ import annotations

import bisect
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np

from ..schema import LABELS
from ..targets import find_mentions
from ..resources import data_file
from .base import Model, ModelError
from .params import Param

__all__ = ["MajorityModel", "KeywordModel", "load_keywords", "KEYWORDS_FILE"]


class MajorityModel(Model):
    """Predicts each field's most frequent training label, with the training label frequencies as probabilities."""

    kind = "majority"
    param_types = {"seed": Param("int", nullable=True, help="random seed")}
    param_names = tuple(param_types)

    def _fit(self, norm_texts, labels) -> None:
        self.prior_ = {}
        for field in self.fields:
            counts = Counter(lab for lab in labels[field] if lab is not None)
            total = sum(counts.values()) or 1
            self.prior_[field] = [counts.get(lab, 0) / total for lab in LABELS[field]]

    def _predict_proba(self, norm_texts):
        n = len(norm_texts)
        return {f: np.tile(np.asarray(self.prior_[f], dtype=np.float64), (n, 1)) for f in self.fields}

    def _save_weights(self, directory: Path) -> None:
        (directory / "prior.json").write_text(json.dumps(self.prior_, indent=2) + "\n", encoding="utf-8")

    def _load_weights(self, directory: Path) -> None:
        self.prior_ = json.loads((directory / "prior.json").read_text(encoding="utf-8"))


#: The cue lexicon shipped with the package (see its header for the format).
KEYWORDS_FILE = data_file("keywords.yaml")

_FOLD = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "\u200c": " ", "أ": "ا", "إ": "ا"})
_CLAUSE = re.compile(r"[.!?؟؛;،,\n…]+")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_SUFFIXES = ("", "ه", "ی", "یه", "ای", "ها", "های", "تر", "ترین", "تره", "ست", "ش", "شون", "ید", "ن", "م")
_CATEGORIES = ("positive", "negative", "favor", "against", "sarcasm", "better", "worse")


def _fold(text: str) -> str:
    return text.translate(_FOLD).lower()


def load_keywords(path: str | Path | None = None) -> dict:
    """Read and check a cue lexicon YAML (default: the packaged ``keywords.yaml``)."""
    from ..io import read_yaml_mapping

    path = Path(path) if path is not None else KEYWORDS_FILE
    data = read_yaml_mapping(path, "keyword lexicon", ModelError)
    out = {"window": int(data.get("window", 6)), "negation_window": int(data.get("negation_window", 2)),
           "stance_weight": float(data.get("stance_weight", 2.0))}
    for key in _CATEGORIES + ("negators_before", "negators_after"):
        words = data.get(key) or []
        if not isinstance(words, list) or not all(isinstance(w, (str, int)) for w in words):
            raise ModelError(f"{path}: {key!r} must be a list of words")
        out[key] = [str(w) for w in words]
    return out


class _Matcher:
    """Finds lexicon entries in a token list, ignoring spaces/half-spaces inside entries."""

    def __init__(self, lexicon: dict) -> None:
        self.entries: list[tuple[str, str, int]] = []  # (joined form, category, max tokens)
        for cat in _CATEGORIES + ("negators_before", "negators_after"):
            for word in lexicon[cat]:
                parts = _fold(word).split()
                if parts:
                    self.entries.append(("".join(parts), cat, len(parts) + 1))
        # longest first, so that «بهتر از» wins over «بهتر»
        self.entries.sort(key=lambda e: -len(e[0]))
        self.max_tokens = max((e[2] for e in self.entries), default=1)

    def find(self, tokens: list[str]) -> list[tuple[int, int, str]]:
        """Non-overlapping matches ``(first token, last token + 1, category)``, left to right."""
        out = []
        i = 0
        while i < len(tokens):
            hit = None
            for joined, cat, span in self.entries:
                concat = ""
                for j in range(i, min(i + span, len(tokens))):
                    concat += tokens[j]
                    if len(concat) > len(joined) + 4:
                        break
                    if concat.startswith(joined) and concat[len(joined):] in _SUFFIXES:
                        # negators and sarcasm markers match exactly; opinion words take suffixes
                        if concat == joined or cat in ("positive", "negative", "favor", "against"):
                            hit = (i, j + 1, cat)
                            break
                if hit:
                    break
            if hit:
                out.append(hit)
                i = hit[1]
            else:
                i += 1
        return out


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


class KeywordModel(Model):
    """A rule model with no training: target mentions plus a Persian cue lexicon.

    Sentiment: the sum of the opinion cues of the comment (positive +1,
    negative -1, stance acts ±``stance_weight``), each flipped by a negator
    just before or after it; a sarcasm marker turns a positive sum negative.
    Stance toward a target group: the cues within ``window`` words of the
    group's mentions (``pipeline.targets.find_mentions``) in the same clause,
    with the same negation and sarcasm rules; «A بهتر از B» favours A and goes
    against B. A group that is not mentioned gets NONE; a mentioned group
    with no cue near it takes the comment's sum when it is the only group
    mentioned. Probabilities are a softmax over ``(-s, +s, 0.5)``, so a zero
    sum gives NONE/NEUTRAL.

    ``fit`` learns nothing (labels are only validated); ``params["lexicon"]``
    may name another lexicon YAML. The lexicon in use is saved as
    ``lexicon.json``.
    """

    kind = "keyword"
    param_types = {"lexicon": Param("str", nullable=True, help="a lexicon YAML file"), "seed": Param("int", nullable=True, help="random seed")}
    param_names = tuple(param_types)

    def _fit(self, norm_texts, labels) -> None:
        self.lexicon_ = load_keywords(self.params.get("lexicon"))
        self._matcher = None

    @property
    def matcher(self) -> _Matcher:
        if getattr(self, "_matcher", None) is None:
            self._matcher = _Matcher(self.lexicon_)
        return self._matcher

    # -- scoring ---------------------------------------------------------------
    def _polarities(self, tokens: list[str]) -> tuple[list[tuple[int, int, float, str]], bool, list]:
        """Signed cues ``(start, end, value, category)``, whether sarcasm is marked, comparatives."""
        lex = self.lexicon_
        matches = self.matcher.find(tokens)
        weight = {"positive": 1.0, "negative": -1.0, "favor": lex["stance_weight"], "against": -lex["stance_weight"]}
        nw = lex["negation_window"]
        cues, sarcasm, comparatives = [], False, []
        for start, end, cat in matches:
            if cat == "sarcasm":
                sarcasm = True
            elif cat in ("better", "worse"):
                comparatives.append((start, end, 1.0 if cat == "better" else -1.0))
            elif cat in weight:
                value = weight[cat]
                before = any(c == "negators_before" and 0 < start - e + 1 <= nw for s, e, c in matches)
                after = any(c == "negators_after" and 0 <= s - end < nw for s, e, c in matches)
                if before or after:  # «اصلا خوب نیست» is one negation, not two
                    value = -value
                cues.append((start, end, value, cat))
        return cues, sarcasm, comparatives

    def _score(self, text: str) -> tuple[float, dict[str, float | None]]:
        """Sentiment sum and, per target group, a stance sum (``None``: not mentioned)."""
        window = self.lexicon_["window"]
        total, sarcasm_any = 0.0, False
        group: dict[str, float | None] = {"domestic": None, "telegram": None}
        for clause in _CLAUSE.split(text):
            if not clause.strip():
                continue
            spans = [(m.start(), m.end()) for m in _TOKEN.finditer(clause)]
            tokens = [_fold(clause[s:e]) for s, e in spans]
            cues, sarcasm, comparatives = self._polarities(tokens)
            sarcasm_any |= sarcasm
            total += sum(v for _, _, v, _ in cues)
            starts = [s for s, _ in spans]
            positions: dict[str, list[int]] = {}
            for m in find_mentions(clause):
                k = max(bisect.bisect_right(starts, m.start) - 1, 0)
                positions.setdefault(m.group, []).append(k)
            for g, ks in positions.items():
                near = sum(v for s, e, v, _ in cues if any(s - window <= k < e + window for k in ks))
                for cs, ce, sign in comparatives:
                    others = [h for h in positions if h != g]
                    if not others:
                        continue
                    if any(k < cs for k in ks) and any(k >= ce for h in others for k in positions[h]):
                        near += 2 * sign
                    elif any(k >= ce for k in ks) and any(k < cs for h in others for k in positions[h]):
                        near -= 2 * sign
                group[g] = (group[g] or 0.0) + near
        if sarcasm_any:  # irony anywhere in the comment turns its praise into criticism
            total = -total if total > 0 else total
            group = {g: (-v if v is not None and v > 0 else v) for g, v in group.items()}
        mentioned = [g for g, v in group.items() if v is not None]
        if len(mentioned) == 1 and group[mentioned[0]] == 0:
            group[mentioned[0]] = total
        return total, group

    def _predict_proba(self, norm_texts):
        out = {f: np.zeros((len(norm_texts), len(LABELS[f]))) for f in self.fields}
        for i, text in enumerate(norm_texts):
            total, group = self._score(text)
            for f in self.fields:
                if f == "sentiment":  # NEGATIVE, NEUTRAL, POSITIVE
                    out[f][i] = _softmax(np.array([-total, 0.5, total]))
                else:  # AGAINST, FAVOR, NONE
                    s = group["domestic" if f == "stance_domestic" else "telegram"]
                    out[f][i] = [0.05, 0.05, 0.9] if s is None else _softmax(np.array([-s, s, 0.5]))
        return out

    def _save_weights(self, directory: Path) -> None:
        (directory / "lexicon.json").write_text(json.dumps(self.lexicon_, ensure_ascii=False, indent=2) + "\n",
                                                encoding="utf-8")

    def _load_weights(self, directory: Path) -> None:
        path = directory / "lexicon.json"
        if not path.is_file():
            raise ModelError(f"{directory}: missing lexicon.json")
        self.lexicon_ = json.loads(path.read_text(encoding="utf-8"))
        self._matcher = None
