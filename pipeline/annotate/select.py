"""Choose the comments of a dump most worth labelling next.

:func:`select` streams a dump once (any input format ``nazar label`` reads), labels it with a
model and keeps two bounded pools, so memory depends on ``n``, not on the dump:

* the most uncertain comments: per field, one minus the margin between the two most
  probable labels, plus ``rare_weight`` times the probability of a rare label
  (Telegram FAVOR by default); a comment's score is its highest field score;
* a uniform random sample (the comments with the smallest seeded hash of their text).

From those pools the batch is drawn by ``strategy``:

* ``uncertainty`` — the highest scores;
* ``diverse`` — k-center over the random pool: each pick the comment farthest from those
  already picked;
* ``random`` — the random pool (an unbiased sample, for evaluation);
* ``mixed`` (default) — ``random_share`` of the batch at random, the rest by score times
  distance to what is already picked (uncertain, but spread over the dump).

Distances are cosine distances between the model's own embeddings where the model has an
encoder, else between character n-gram vectors. Under every strategy, near-duplicates
(character n-gram cosine ≥ ``duplicate_threshold``) are never picked together, nor are
comments whose id or text is already in a gold file. Everything is deterministic for a seed.
"""
from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ..io import Item, input_format, read_items
from ..schema import FIELDS, LABELS
from . import AnnotateError
from .records import PREDICTION_KEYS, gold_keys, text_key

__all__ = ["STRATEGIES", "DEFAULT_RARE", "Selection", "select", "uncertainty"]

STRATEGIES = ("mixed", "uncertainty", "diverse", "random")
#: Labels rare in real comments whose probability raises a comment's score.
DEFAULT_RARE: dict[str, tuple[str, ...]] = {"stance_telegram": ("FAVOR",)}


@dataclass
class Selection:
    """The chosen records (in pick order) and the counts of the pass over the dump."""

    records: list[dict]
    counts: Counter = field(default_factory=Counter)
    rejects: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        c = self.counts
        by = Counter(r["selection"]["by"] for r in self.records)
        parts = [f"read {c['read']} records", f"{c['rejected']} rejected", f"{c['in_gold']} already in gold",
                 f"{c['repeated']} repeats of a kept text"]
        chosen = ", ".join(f"{v} {k}" for k, v in sorted(by.items()))
        return f"{'; '.join(parts)}; chose {len(self.records)} ({chosen or 'none'})"


def uncertainty(proba: Mapping[str, np.ndarray], classes: Mapping[str, Sequence[str]],
                rare: Mapping[str, Sequence[str]] = DEFAULT_RARE, rare_weight: float = 0.5) -> np.ndarray:
    """One score per row: the highest over fields of ``1 - margin`` (+ ``rare_weight`` × P(rare label))."""
    scores = None
    for f, p in proba.items():
        p = np.asarray(p, dtype=np.float64)
        top = np.sort(p, axis=1)
        s = 1.0 - (top[:, -1] - top[:, -2]) if p.shape[1] > 1 else np.zeros(len(p))
        for lab in rare.get(f, ()):
            if lab in classes[f]:
                s = s + rare_weight * p[:, list(classes[f]).index(lab)]
        scores = s if scores is None else np.maximum(scores, s)
    return scores if scores is not None else np.zeros(0)


def _hash(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}\0{key}".encode("utf-8"), digest_size=8).digest(), "big")


def _char_vectors(keys: Sequence[str]):
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), n_features=2 ** 18, alternate_sign=False,
                            norm="l2")
    return vec.transform(list(keys))


class _Pool:
    """The ``size`` entries with the largest priority seen so far (ties broken by hash), one per text key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.heap: list[tuple[float, int, str]] = []
        self.entries: dict[str, dict] = {}

    def offer(self, priority: float, tiebreak: int, key: str, entry: dict) -> None:
        if self.size <= 0 or key in self.entries:
            return
        item = (priority, tiebreak, key)
        if len(self.heap) < self.size:
            heapq.heappush(self.heap, item)
        elif item > self.heap[0]:
            _, _, old = heapq.heapreplace(self.heap, item)
            del self.entries[old]
        else:
            return
        self.entries[key] = entry

    def ranked(self) -> list[dict]:
        return [self.entries[k] for _, _, k in sorted(self.heap, reverse=True)]


def _labelled(entry_rec: dict, labeller, k: int, labels: dict[str, list], score: float) -> dict:
    rec = {key: v for key, v in entry_rec.items() if key not in FIELDS and key not in PREDICTION_KEYS}
    rec["predicted"] = {f: labels[f][k] for f in labeller.model.fields}
    rec["probs"] = labels["probs"][k]
    rec["model"] = labeller.model_info
    rec["selection"] = {"score": round(float(score), 4)}
    return rec


def select(dump: str | Path, n: int, model=None, strategy: str = "mixed", *, seed: int = 13,
           gold: Sequence[str | Path] = (), random_share: float = 0.2, pool_factor: int = 5,
           rare: Mapping[str, Sequence[str]] = DEFAULT_RARE, rare_weight: float = 0.5,
           duplicate_threshold: float = 0.8, fmt: str | None = None, text_field: str = "text",
           id_field: str = "id", chunk_size: int = 256,
           progress: Callable[[int, int | None], None] | None = None) -> Selection:
    """The ``n`` comments of ``dump`` most worth labelling (see the module docstring).

    ``model``: a model directory, a loaded model or a :class:`~pipeline.label.BatchLabeller`
    (default: the default model). ``gold``: labelled files whose ids and texts are skipped.
    ``progress(records read, input position)`` is called after each chunk.
    """
    from ..label import BatchLabeller

    if strategy not in STRATEGIES:
        raise AnnotateError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if n < 1:
        raise AnnotateError(f"-n must be at least 1, got {n}")
    if not 0.0 <= random_share <= 1.0:
        raise AnnotateError(f"random share must be between 0 and 1, got {random_share}")
    for f, labs in rare.items():
        if f not in LABELS or any(lab not in LABELS[f] for lab in labs):
            raise AnnotateError(f"rare label {f}={','.join(labs)}: not a field and label of {', '.join(FIELDS)}")
    dump = Path(dump)
    if not dump.is_file():
        raise AnnotateError(f"{dump}: no such file")
    fmt = fmt or input_format(dump)
    gold_ids, gold_texts = gold_keys(gold)
    labeller = model if isinstance(model, BatchLabeller) else BatchLabeller(model)
    classes = labeller.classes

    n_random = {"random": n, "mixed": int(round(random_share * n))}.get(strategy, 0)
    n_rest = n - n_random
    # Spares: a pick may be refused as a near-duplicate of another.
    uncertain = _Pool(0 if strategy in ("random", "diverse") else max(pool_factor * n_rest, n_rest + 50))
    sample = _Pool(max(pool_factor * n, n + 50) if strategy in ("random", "diverse") else 2 * n_random + 50)
    counts: Counter = Counter()
    rejects: list[dict] = []

    def handle(chunk: list[Item]) -> None:
        ok = []
        in_chunk: set[str] = set()
        for it in chunk:
            counts["read"] += 1
            if not it.ok:
                counts["rejected"] += 1
                rejects.append({"line": it.line, "id": it.id, "reason": it.reason})
                continue
            key = text_key(it.record["text"])
            if it.id in gold_ids or key in gold_texts:
                counts["in_gold"] += 1
                continue
            if key in in_chunk or key in uncertain.entries or key in sample.entries:
                counts["repeated"] += 1
                continue
            in_chunk.add(key)
            ok.append((it, key))
        if not ok:
            return
        proba = labeller.proba([it.record["text"] for it, _ in ok])
        scores = uncertainty(proba, classes, rare, rare_weight)
        labels = labeller.labels_from(proba)
        for k, (it, key) in enumerate(ok):
            h = _hash(seed, key)
            entry = {"rec": _labelled(dict(it.record, id=it.id), labeller, k, labels, scores[k]),
                     "key": key, "score": float(scores[k])}
            uncertain.offer(float(scores[k]), -h, key, entry)
            sample.offer(-h, 0, key, entry)

    chunk: list[Item] = []
    last = None
    for item in read_items(dump, fmt, text_field=text_field, id_field=id_field):
        chunk.append(item)
        last = item
        if len(chunk) >= chunk_size:
            handle(chunk)
            chunk = []
            if progress:
                progress(counts["read"], last.end)
    if chunk:
        handle(chunk)
    if progress and last is not None:
        progress(counts["read"], last.end)
    counts["candidates"] = len(set(uncertain.entries) | set(sample.entries))
    picked = _pick(strategy, n_random, n_rest, uncertain.ranked(), sample.ranked(), labeller,
                   duplicate_threshold)
    records = []
    for order, (entry, by) in enumerate(picked, 1):
        rec = entry["rec"]
        rec["selection"].update(by=by, order=order, strategy=strategy, seed=seed)
        records.append(rec)
    return Selection(records, counts, rejects)


def _embeddings(entries: list[dict], labeller) -> np.ndarray | None:
    """L2-normalised model embeddings of the entries' texts, or ``None`` when the model has no encoder."""
    embed = getattr(labeller.model, "embed", None)
    if embed is None or not entries:
        return None
    texts = labeller.model.normalize([e["rec"]["text"] for e in entries])
    try:
        x = np.asarray(embed(texts), dtype=np.float64)
    except AttributeError:  # an ensemble none of whose members has an encoder
        return None
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def _pick(strategy: str, n_random: int, n_rest: int, uncertain: list[dict], sample: list[dict], labeller,
          threshold: float) -> list[tuple[dict, str]]:
    """The picks, in order: random ones first, then the rest by the strategy; never two near-duplicates."""
    pool: list[dict] = list({e["key"]: e for e in sample + uncertain}.values())
    if not pool:
        return []
    index = {e["key"]: i for i, e in enumerate(pool)}
    chars = _char_vectors([e["key"] for e in pool])  # L2-normalised: a dot product is a cosine
    blocked = np.zeros(len(pool), dtype=bool)
    picked: list[tuple[dict, str]] = []

    def take(i: int, by: str) -> None:
        picked.append((pool[i], by))
        near = np.asarray((chars @ chars[i].T).todense()).ravel()
        blocked[near >= threshold] = True
        blocked[i] = True

    for e in sample:
        if len(picked) >= n_random:
            break
        i = index[e["key"]]
        if not blocked[i]:
            take(i, "random")
    if strategy == "random" or n_rest == 0:
        return picked
    if strategy == "uncertainty":
        for e in uncertain:
            if len(picked) >= n_random + n_rest:
                break
            i = index[e["key"]]
            if not blocked[i]:
                take(i, "uncertainty")
        return picked
    # k-center (diverse: over the random pool, unweighted; mixed: over the uncertain pool, weighted by score).
    members = [index[e["key"]] for e in (sample if strategy == "diverse" else uncertain)]
    if not members:
        return picked
    already = [index[e["key"]] for e, _ in picked]
    space = members + [i for i in already if i not in set(members)]
    vectors = _embeddings([pool[i] for i in space], labeller)
    if vectors is None:
        vectors = chars[space]
        sim_to = lambda j: np.asarray((vectors[: len(members)] @ vectors[j].T).todense()).ravel()  # noqa: E731
    else:
        sim_to = lambda j: vectors[: len(members)] @ vectors[j]  # noqa: E731
    weight = np.ones(len(members)) if strategy == "diverse" else \
        np.array([pool[i]["score"] for i in members]) + 1e-6
    distance = np.ones(len(members))
    for i in already:  # the random picks already cover part of the space
        distance = np.minimum(distance, 1.0 - sim_to(space.index(i)))
    by = "diverse" if strategy == "diverse" else "uncertainty"
    while len(picked) < n_random + n_rest:
        value = np.where(blocked[members], -np.inf, weight * np.maximum(distance, 0.0))
        j = int(np.argmax(value))
        if not np.isfinite(value[j]):
            break
        take(members[j], by)
        distance = np.minimum(distance, 1.0 - sim_to(j))
    return picked
