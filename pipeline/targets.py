"""Mentions of the stance targets (domestic messengers, Telegram) in a comment.

The target list lives in YAML, ``configs/targets.yaml`` (a wheel carries it
inside the package). :func:`load_targets` reads an explicit path, else that
default list.

Matching works on the text as given (spans index into it) but is insensitive
to case, Arabic ي/ك, and space vs half-space vs nothing between the parts of an
alias; it is best run on normalised text. It is word-boundary aware (نهایتا
holds no ایتا) and lets common suffixes through (تلگرامی، ایتارو، سروشو).
Ambiguous aliases (بله "yes", گپ "chat", سروش a person's name) count only
when the context says "app": an app cue word within ``context_window`` words,
another target mention within ``list_window`` words, or (except for
``strict`` targets) an ``app_before`` word such as «تو» ("in") just before.
Up to two suffixes may follow a name (تلگرامیم، تلگرامیا).
"""
from __future__ import annotations

import copy
import functools
import os
import re
from dataclasses import dataclass
from typing import Any

from .normalize import PERSIAN_LETTERS, fold_for_matching

__all__ = ["Mention", "TargetSet", "load_targets", "find_mentions", "mention_features"]


_LETTERS = PERSIAN_LETTERS
_WORD_CHAR = f"[{_LETTERS}a-z0-9_]"
_SUFFIXES = ["ی", "ها", "های", "هایی", "ش", "و", "رو", "را", "م", "مون", "شون", "ه", "ای", "یه", "یی", "ست", "هاش",
             "ی‌ها", "ا", "یا", "یم", "ید", "ین", "ت", "تون"]
_WORD = re.compile(f"{_WORD_CHAR}+")
_SENT_START = re.compile(r"(?:^|[.!?؟\n:؛])\s*$")


@dataclass(frozen=True)
class Mention:
    """One mention: target id, its group ("domestic" | "telegram"), span, surface text."""

    target: str
    group: str
    start: int
    end: int
    text: str


#: Same-length folding used for matching (offsets stay valid).
_fold = fold_for_matching


def _alias_regex(alias: str) -> str:
    alias = _fold(alias).strip()
    parts = [p for p in re.split(r"\s+", alias) if p]
    latin = all(re.fullmatch(r"[a-z0-9.+_ ]+", p) for p in parts)
    joiner = r"[ \-_.]?" if latin else r" ?"
    return joiner.join(re.escape(p) for p in parts)


class TargetSet:
    """Compiled target list (see module doc for the YAML schema)."""

    def __init__(self, data: dict[str, Any]) -> None:
        """Compile ``data``; any malformed part is a :class:`ValueError`."""
        if not isinstance(data, dict) or "targets" not in data:
            raise ValueError("targets YAML needs a 'targets' list")
        try:
            self._compile(data)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed target list ({type(exc).__name__}: {exc})") from None

    def _compile(self, data: dict[str, Any]) -> None:
        self._data = copy.deepcopy(data)
        self.context_window = int(data.get("context_window", 6))
        self.list_window = int(data.get("list_window", 3))
        self.cues = [_fold(c).replace(" ", "") for c in data.get("app_cues", []) or []]
        self.app_before = {_fold(w).replace(" ", "") for w in data.get("app_before", []) or []}
        self.targets: dict[str, dict] = {}
        entries: list[tuple[str, str, bool]] = []  # (regex, target id, ambiguous)
        for t in data["targets"]:
            tid, group = str(t["id"]), str(t["group"])
            if group not in ("domestic", "telegram"):
                raise ValueError(f"target {tid}: group must be 'domestic' or 'telegram', not {group!r}")
            self.targets[tid] = {"group": group, "strict": bool(t.get("strict", False))}
            for alias in t.get("aliases", []) or []:
                entries.append((_alias_regex(str(alias)), tid, False))
            for alias in t.get("ambiguous_aliases", []) or []:
                entries.append((_alias_regex(str(alias)), tid, True))
        # longest alias first so that «تلگرام طلایی» wins over «تلگرام»
        entries.sort(key=lambda e: -len(e[0]))
        self._entries = entries
        suffix = "|".join(re.escape(s.replace("\u200c", " ")) for s in sorted(set(_SUFFIXES), key=len, reverse=True))
        alts = "|".join(f"(?P<a{i}>{rx})" for i, (rx, _, _) in enumerate(entries))
        self._regex = re.compile(
            rf"(?<![{_LETTERS}a-z0-9_])(?:{alts})(?: ?(?:{suffix})){{0,2}}(?![{_LETTERS}a-z0-9_+])"
        )

    def to_dict(self) -> dict[str, Any]:
        """The list as plain data (what the YAML held): ``TargetSet(ts.to_dict())`` rebuilds it."""
        return copy.deepcopy(self._data)

    @property
    def groups(self) -> dict[str, str]:
        return {tid: t["group"] for tid, t in self.targets.items()}

    def find(self, text: str) -> list[Mention]:
        if not isinstance(text, str) or not text:
            return []
        folded = _fold(text)
        raw: list[tuple[int, int, int, str, bool]] = []  # start, end, core_end, tid, ambiguous
        for m in self._regex.finditer(folded):
            name = m.lastgroup
            if name is None:
                continue
            idx = int(name[1:])
            _, tid, amb = self._entries[idx]
            core_end = m.end(name)
            raw.append((m.start(), m.end(), core_end, tid, amb))
        if not raw:
            return []
        words = [(w.start(), w.end(), w.group().replace(" ", "")) for w in _WORD.finditer(folded)]
        starts = [w[0] for w in words]

        def word_index(pos: int) -> int:
            import bisect

            return max(bisect.bisect_right(starts, pos) - 1, 0)

        sure = [r for r in raw if not r[4]]
        out: list[Mention] = []
        for start, end, core_end, tid, amb in raw:
            if amb and not self._app_context(folded, words, word_index, start, end, tid, sure):
                continue
            out.append(Mention(tid, self.targets[tid]["group"], start, core_end, text[start:core_end]))
        return out

    def _app_context(self, folded, words, word_index, start, end, tid, sure) -> bool:
        i = word_index(start)
        j = word_index(max(end - 1, start))
        if self.targets[tid]["strict"] and _SENT_START.search(folded[:start]):
            # «بله، ...» / «بله تلگرام بهتره»: sentence-initial بله is "yes"
            nxt = folded[end:end + 12].strip().replace(" ", "")
            if not any(nxt.startswith(c) for c in self.cues):
                return False
        # «تو سروش»: a word such as "in" just before; not for strict aliases («تو بله گفتی» is "you said yes")
        if (not self.targets[tid]["strict"] and i > 0 and words[i - 1][1] <= start
                and words[i - 1][2] in self.app_before):
            return True
        # another (unambiguous) target close by: a list such as «ایتا، بله و گپ»
        for s, e, _, other, _ in sure:
            k = word_index(s)
            if other != tid and (abs(k - i) <= self.list_window or abs(k - j) <= self.list_window):
                return True
        lo, hi = max(i - self.context_window, 0), min(j + self.context_window + 1, len(words))
        for k in range(lo, hi):
            if i <= k <= j:
                continue
            w = words[k][2]
            w2 = w + words[k + 1][2] if k + 1 < len(words) else w
            if any(w.startswith(c) or w2.startswith(c) for c in self.cues):
                return True
        return False


def load_targets(path: str | os.PathLike | None = None) -> TargetSet:
    """Load a target list: ``path``, else the default one (:func:`pipeline.resources.targets_file`)."""
    from .io import read_yaml_mapping
    from .resources import targets_file

    if path is None:
        path = targets_file()
    data = read_yaml_mapping(path, "target list", ValueError, missing=FileNotFoundError)
    try:
        return TargetSet(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


@functools.lru_cache(maxsize=1)
def _default() -> TargetSet:
    return load_targets()


def find_mentions(text: str, targets: TargetSet | None = None) -> list[Mention]:
    """All target mentions in ``text``, in order, as :class:`Mention` spans."""
    return (targets or _default()).find(text)


def mention_features(text: str, targets: TargetSet | None = None) -> dict[str, float]:
    """Cheap numeric features for a classifier.

    ``n_domestic`` / ``n_telegram`` (mention counts), ``has_domestic`` /
    ``has_telegram`` / ``has_both`` (0/1), ``n_targets`` (distinct targets),
    ``first_is_telegram`` (0/1, -1 when none), ``domestic_minus_telegram``,
    and ``mention_<id>`` for every target id of the list.
    """
    ts = targets or _default()
    mentions = ts.find(text)
    n_dom = sum(m.group == "domestic" for m in mentions)
    n_tel = sum(m.group == "telegram" for m in mentions)
    feats: dict[str, float] = {
        "n_domestic": float(n_dom),
        "n_telegram": float(n_tel),
        "has_domestic": float(n_dom > 0),
        "has_telegram": float(n_tel > 0),
        "has_both": float(n_dom > 0 and n_tel > 0),
        "n_targets": float(len({m.target for m in mentions})),
        "first_is_telegram": float(mentions[0].group == "telegram") if mentions else -1.0,
        "domestic_minus_telegram": float(n_dom - n_tel),
    }
    for tid in ts.targets:
        feats[f"mention_{tid}"] = float(sum(m.target == tid for m in mentions))
    return feats
