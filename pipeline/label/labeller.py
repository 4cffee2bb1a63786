"""The labeller and what every labelling engine shares.

:class:`BatchLabeller` loads a model once and labels batches. It normalises
each distinct text once, classifies only the distinct normalised texts (in
batches of similar length) and remembers the labels of recently seen texts in
a bounded LRU cache, so the repeated comments of a dump cost nothing. Beside it:
the run's :class:`LabelSummary` (with its :class:`ByCounts` breakdown), the
progress line, the duplicate-id policies (:class:`DuplicateIds`) and the paths of
a run's rejects and work directory. :mod:`pipeline.label.job` (the local job) and
:mod:`pipeline.label.ray_engine` build on this module; it imports neither.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..classifiers.base import Model, load_model, model_hash
from ..errors import NazarError
from ..io import InputError, Item, flat_columns, prob_column, read_items
from ..resources import default_model_dir

__all__ = ["BatchLabeller", "ByCounts", "LabelSummary", "LabelError", "LabelInterrupted", "DuplicateIds",
           "DUPLICATE_POLICIES", "duplicate_ids", "shared_ids", "id_digest", "reason_kind", "rejects_path",
           "work_dir"]


class LabelError(NazarError, RuntimeError):
    """Labelling cannot start or continue (missing input, existing output, bad model, refused resume)."""


class LabelInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a run; the message says what was kept and how to finish.

    A ``KeyboardInterrupt``, so code that catches ``Exception`` does not swallow it.
    """

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def rejects_path(output: str | Path) -> Path:
    """Where the rejects of ``output`` go: ``x.jsonl`` → ``x.rejects.jsonl``, ``x.csv`` → ``x.csv.rejects.jsonl``."""
    output = Path(output)
    return output.with_name(output.name + ".rejects.jsonl") if output.suffix != ".jsonl" \
        else output.with_name(output.name[: -len(".jsonl")] + ".rejects.jsonl")


def work_dir(output: str | Path) -> Path:
    """The work directory of a run writing ``output``: ``OUTPUT.parts`` beside it."""
    output = Path(output)
    return output.with_name(output.name + ".parts")


# -- the labeller ------------------------------------------------------------------------------
class BatchLabeller:
    """Labels batches with one model (loaded once, in ``__init__``).

    * ``labeller(texts)`` (a sequence of raw texts) returns
      ``{field: [label, ...], "probs": [{field: {label: p}}, ...]}``;
    * ``labeller(batch)`` (a mapping of columns, as Ray Data's ``map_batches``
      passes) labels ``batch["text"]`` and returns columns ``id``, ``line``,
      ``reason`` (copied from the batch when present), one per field,
      ``p_FIELD_LABEL`` and ``model_name``/``model_version``/``model_kind``.
      Rows with a non-empty ``reason`` are rejects and get no labels.

    ``cache_size`` bounds the LRU cache of normalised texts → probabilities;
    ``batch_size`` is how many distinct texts (sorted by length) go to the
    model at once.
    """

    def __init__(self, model: Model | str | Path | None = None, decimals: int = 4, cache_size: int = 8192,
                 batch_size: int = 256) -> None:
        if model is None:
            model = default_model_dir()
        self.model_dir: Path | None = None
        if not isinstance(model, Model):
            self.model_dir = Path(model)
            model = load_model(model)
        self.model = model
        self.decimals = decimals
        self.cache_size = cache_size
        self.batch_size = max(1, batch_size)
        self.model_info = model.describe()
        self.classes = {f: list(c) for f, c in model.classes_.items()}
        self._cache: OrderedDict[str, tuple[np.ndarray, ...]] = OrderedDict()
        #: Texts seen, distinct normalised texts per call summed, served from the cache, sent to the model.
        self.stats = Counter()
        #: Called with the fraction of the current :meth:`proba` call's new texts classified so far,
        #: after each model batch (progress within a chunk).
        self.on_batch: Callable[[float], None] | None = None
        # Load what the model loads on first use (normaliser lexicons, the encoder engine) now,
        # so that the labelling loop and its rate measure labelling alone.
        self.model.predict_proba(["سلام"])

    # -- core -------------------------------------------------------------------------------
    def proba(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Probabilities per field (rows follow ``texts``, columns ``classes[field]``)."""
        texts = list(texts)
        fields = self.model.fields
        n = len(texts)
        if n == 0:
            return {f: np.zeros((0, len(self.classes[f]))) for f in fields}
        raw_distinct = list(dict.fromkeys(texts))
        norm_of = dict(zip(raw_distinct, self.model.normalize(raw_distinct)))
        norm = [norm_of[t] for t in texts]
        distinct = list(dict.fromkeys(norm))
        rows: dict[str, tuple[np.ndarray, ...]] = {}
        missing = []
        for t in distinct:
            hit = self._cache.get(t)
            if hit is None:
                missing.append(t)
            else:
                self._cache.move_to_end(t)
                rows[t] = hit
        # Similar lengths together: fewer padding tokens for the encoder.
        missing.sort(key=len)
        for i in range(0, len(missing), self.batch_size):
            part = missing[i:i + self.batch_size]
            p = self.model.predict_proba_normalized(part)
            for j, t in enumerate(part):
                rows[t] = tuple(np.asarray(p[f][j], dtype=np.float64) for f in fields)
                if self.cache_size > 0:
                    self._cache[t] = rows[t]
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            if self.on_batch is not None:
                self.on_batch(min(i + self.batch_size, len(missing)) / len(missing))
        self.stats.update(texts=n, distinct=len(distinct), cached=len(distinct) - len(missing),
                          classified=len(missing))
        index = [rows[t] for t in norm]
        return {f: np.vstack([r[k] for r in index]) for k, f in enumerate(fields)}

    def __call__(self, batch):
        if isinstance(batch, Mapping):
            return self.label_batch(batch)
        return self.label_texts(batch)

    def label_texts(self, texts: Sequence[str]) -> dict[str, list]:
        """Labels and rounded probabilities for raw texts (see the class docstring)."""
        return self.labels_from(self.proba(texts))

    def labels_from(self, proba: Mapping[str, np.ndarray]) -> dict[str, list]:
        """What :meth:`label_texts` returns, from probabilities :meth:`proba` already gave."""
        n = len(next(iter(proba.values()))) if proba else 0
        out: dict[str, list] = {}
        for f in self.model.fields:
            cls = self.classes[f]
            out[f] = [cls[i] for i in proba[f].argmax(axis=1)]
        probs = []
        rounded = {f: np.round(proba[f], self.decimals).tolist() for f in self.model.fields}
        for r in range(n):
            probs.append({f: dict(zip(self.classes[f], rounded[f][r])) for f in self.model.fields})
        out["probs"] = probs
        return out

    def records(self, items: Sequence[Item], keep: Sequence[str] = ()) -> list[dict]:
        """Labelled records (as written to JSONL) for accepted items, with the input fields in ``keep``."""
        if not items:
            return []
        result = self.label_texts([it.record["text"] for it in items])
        recs = []
        for k, it in enumerate(items):
            rec = {"id": it.id}
            for name in keep:
                rec[name] = _jsonable(it.record.get(name))
            for f in self.model.fields:
                rec[f] = result[f][k]
            rec["probs"] = result["probs"][k]
            rec["model"] = self.model_info
            recs.append(rec)
        return recs

    def label_batch(self, batch: Mapping[str, Sequence]) -> dict[str, list]:
        """Flat columns for a dict-of-arrays batch (see the class docstring)."""
        texts = list(batch["text"])
        n = len(texts)
        reasons = list(batch["reason"]) if "reason" in batch else [None] * n
        keep = [i for i in range(n) if not reasons[i]]
        proba = self.proba([texts[i] for i in keep])
        out: dict[str, list] = {}
        for col in ("id", "line"):
            if col in batch:
                out[col] = list(batch[col])
        out["reason"] = [r if r else None for r in reasons]
        fields = self.model.fields
        for f in fields:
            col: list = [None] * n
            cls = self.classes[f]
            for j, b in zip(keep, proba[f].argmax(axis=1)):
                col[j] = cls[b]
            out[f] = col
        for f in fields:
            rounded = np.round(proba[f], self.decimals)
            for k, lab in enumerate(self.classes[f]):
                col = [None] * n
                for j, p in zip(keep, rounded[:, k].tolist()):
                    col[j] = p
                out[prob_column(f, lab)] = col
        for key in ("name", "version", "kind"):
            out[f"model_{key}"] = [self.model_info[key] if not reasons[i] else None for i in range(n)]
        return out

    def columns(self) -> list[str]:
        """The flat output columns (CSV, TSV, Parquet)."""
        return flat_columns(self.model.fields, self.classes)

    def identity(self) -> str:
        """A hash naming the model's files (:func:`~pipeline.classifiers.base.model_hash`), for manifests."""
        if self.model_dir is not None:
            return model_hash(self.model_dir)
        meta = json.dumps(self.model.metadata(), sort_keys=True, ensure_ascii=False, default=str)
        return "metadata:" + hashlib.sha256(meta.encode("utf-8")).hexdigest()


# -- summary and progress ------------------------------------------------------------------------------
@dataclass
class LabelSummary:
    """What a labelling run did; ``read == labelled + rejected`` always holds."""

    read: int = 0
    labelled: int = 0
    rejected: int = 0
    distinct_texts: int = 0
    seconds: float = 0.0
    counts: dict = field(default_factory=dict)
    reject_reasons: dict = field(default_factory=dict)
    output: str = ""
    rejects: str = ""
    engine: str = "local"
    #: Records already done by an earlier, interrupted run (continued with ``resume``).
    resumed_from: int = 0
    #: Distinct texts answered from the labeller's cache, and sent to the model.
    cached: int = 0
    classified: int = 0
    #: Labelled records whose id an earlier labelled record has (``duplicates="keep"``: they are in
    #: the output; ``"first"``: rejected), or that share their id (``"reject"``: all rejected).
    duplicate_ids: int = 0
    duplicate_example: str | None = None
    duplicates: str = "keep"
    #: ``by``: the input field the labelled records are broken down by, and per value of it the
    #: number labelled and the counts per label (:class:`ByCounts`).
    by_field: str | None = None
    by: dict = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.read == self.labelled + self.rejected

    @property
    def rate(self) -> float:
        """Rows per second of this run (rows done by an earlier run not counted)."""
        done = self.read - self.resumed_from
        return done / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"read": self.read, "labelled": self.labelled, "rejected": self.rejected,
                "distinct_texts": self.distinct_texts, "cached": self.cached, "classified": self.classified,
                "resumed_from": self.resumed_from, "seconds": round(self.seconds, 3),
                "rows_per_second": round(self.rate, 1), "counts": self.counts,
                "reject_reasons": self.reject_reasons, "output": self.output, "rejects": self.rejects,
                "engine": self.engine, "duplicates": self.duplicates, "duplicate_ids": self.duplicate_ids,
                "duplicate_example": self.duplicate_example,
                **({"by": {"field": self.by_field, "values": self.by}} if self.by_field else {})}

    def to_text(self) -> str:
        lines = [f"read {self.read}, labelled {self.labelled}, rejected {self.rejected} "
                 f"in {self.seconds:.1f} s ({self.rate:.1f} rows/s)"]
        if self.resumed_from:
            lines.append(f"  resumed after {self.resumed_from} records done by an earlier run")
        for f, c in self.counts.items():
            if c:
                lines.append(f"  {f}: " + ", ".join(f"{lab} {n}" for lab, n in sorted(c.items())))
        if self.duplicate_ids:
            lines.append("  " + self.duplicate_text())
        if self.by_field:
            lines += ByCounts.text(self.by_field, self.by)
        if self.rejected:
            lines.append(f"  rejects ({self.rejects or 'not kept: pass --rejects FILE to keep them'}):")
            for reason, n in sorted(self.reject_reasons.items(), key=lambda kv: -kv[1]):
                lines.append(f"    {n} × {reason}")
        lines.append(f"  output: {'standard output' if self.output == '-' else self.output}")
        return "\n".join(lines)


    def duplicate_text(self) -> str:
        """One line on the duplicate ids seen, for the summary and the warning."""
        n, ex = self.duplicate_ids, self.duplicate_example
        if self.duplicates == "keep":
            return (f"warning: {n} labelled record(s) repeat an earlier record's id (first: {ex!r}); "
                    f"they are in the output; --duplicates first or reject keeps ids unique")
        if self.duplicates == "first":
            return f"{n} record(s) rejected for repeating an earlier record's id (first: {ex!r})"
        return f"{n} record(s) rejected for sharing an id with another record (first: {ex!r})"


class _Progress:
    """Rows, rate and ETA on stderr: redrawn each second on a terminal, a line every 10 s in a log."""

    def __init__(self, total: int | None, enabled: bool, stream=None, start_rows: int = 0,
                 start_done: int = 0) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self.start_rows = start_rows
        self.start_done = start_done
        self.last = 0.0

    def within(self, rows: int, n: int, done: int | None, end: int | None) -> Callable[[float], None]:
        """A callback for a chunk of ``n`` rows after ``rows`` (input position ``done`` to ``end``):
        given the fraction of the chunk classified, it redraws the line when its time has come."""
        def update(frac: float) -> None:
            at = None if done is None or end is None else int(done + frac * (end - done))
            self.update(rows + int(frac * n), at)
        return update

    def update(self, rows: int, done: int | None, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        tty = getattr(self.stream, "isatty", lambda: False)()
        if not final and now - self.last < (1.0 if tty else 10.0):
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        rate = (rows - self.start_rows) / elapsed
        msg = f"{rows} rows, {rate:.1f} rows/s"
        if self.total and done:
            frac = min(done / self.total, 1.0)
            run_frac = (done - self.start_done) / self.total
            if run_frac > 0:
                eta = elapsed * (1 - frac) / run_frac
                msg += f", {100 * frac:.0f}%, ETA {eta:.0f} s"
        if tty:
            self.stream.write("\r" + msg + ("\n" if final else ""))
        elif not final:
            self.stream.write(msg + "\n")
        self.stream.flush()


def _chunks(items: Iterable[Item], size: int) -> Iterable[list[Item]]:
    buf: list[Item] = []
    for item in items:
        buf.append(item)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


# -- duplicate ids -------------------------------------------------------------------------------------
#: What ``nazar label --duplicates`` does with records that share an id.
class ByCounts:
    """Labelled records counted per value of one input field (``--by source``), label counts included.

    Values are strings; a record without the field counts under ``(missing)``, and values past
    the first :attr:`MAX_VALUES` under ``(other)``, so that a field with a value per record
    (an id, a timestamp) cannot fill memory. Rejected records are not broken down: their field
    often cannot be read.
    """

    MAX_VALUES = 1000
    SHOWN = 20

    def __init__(self, name: str, fields: Sequence[str], data: dict | None = None) -> None:
        self.name, self.fields = name, tuple(fields)
        self.data: dict = data if data is not None else {}

    def add(self, items: Sequence[Item], recs: Sequence[dict]) -> None:
        for it, rec in zip(items, recs):
            value = it.record.get(self.name)
            key = "(missing)" if value is None or value == "" else str(value)
            if key not in self.data and len(self.data) >= self.MAX_VALUES:
                key = "(other)"
            entry = self.data.setdefault(key, {"labelled": 0, **{f: {} for f in self.fields}})
            entry["labelled"] += 1
            for f in self.fields:
                entry[f][rec[f]] = entry[f].get(rec[f], 0) + 1

    @classmethod
    def text(cls, name: str, data: dict) -> list[str]:
        lines = [f"  by {name} ({len(data)} value(s), labelled records):"]
        ranked = sorted(data.items(), key=lambda kv: (-kv[1]["labelled"], kv[0]))
        for value, entry in ranked[:cls.SHOWN]:
            labels = "; ".join(f"{f} " + ", ".join(f"{lab} {n}" for lab, n in sorted(c.items()))
                               for f, c in entry.items() if f != "labelled")
            lines.append(f"    {value}: {entry['labelled']} ({labels})")
        if len(ranked) > cls.SHOWN:
            rest = sum(e["labelled"] for _, e in ranked[cls.SHOWN:])
            lines.append(f"    … {len(ranked) - cls.SHOWN} more value(s), {rest} record(s) (all in --summary FILE)")
        return lines


DUPLICATE_POLICIES = ("keep", "first", "reject")
DUPLICATE_LATER = "duplicate id (an earlier record has it)"
DUPLICATE_SHARED = "duplicate id (another record has it too)"


def id_digest(rid: str) -> int:
    """A 64-bit digest of an id: a set of them holds a dump's ids in a few dozen bytes each."""
    return int.from_bytes(hashlib.blake2b(rid.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class DuplicateIds:
    """Applies a ``--duplicates`` policy to the labelled records of a run, in input order.

    ``keep`` lets every record through and counts those whose id an earlier one has;
    ``first`` rejects them; ``reject`` rejects every record whose id another has
    (``shared``: the digests of those ids, from :func:`shared_ids`). Ids are compared by
    their :func:`id_digest`; two different ids of one dump share a digest with odds of
    about n²/3.7e19.
    """

    def __init__(self, policy: str = "keep", shared: set[int] | None = None) -> None:
        if policy not in DUPLICATE_POLICIES:
            raise LabelError(f"unknown duplicate-id policy {policy!r}; known: {', '.join(DUPLICATE_POLICIES)}")
        self.policy = policy
        self.shared = shared or set()
        self.seen: set[int] = set()
        self.count = 0
        self.example: str | None = None

    def add_seen(self, ids: Iterable[str]) -> None:
        """Ids already in the output (of an interrupted run's parts)."""
        self.seen.update(id_digest(r) for r in ids)

    def check(self, rid: str) -> str | None:
        """None if the record goes to the output, else why it is a reject."""
        d = id_digest(rid)
        if self.policy == "reject":
            if d not in self.shared:
                return None
            self._count(rid)
            return DUPLICATE_SHARED
        if d not in self.seen:
            self.seen.add(d)
            return None
        self._count(rid)
        return DUPLICATE_LATER if self.policy == "first" else None

    def _count(self, rid: str) -> None:
        self.count += 1
        if self.example is None:
            self.example = rid


def shared_ids(items: Iterable[Item]) -> set[int]:
    """The digests of the ids that more than one acceptable record has (a pass over the input)."""
    seen: set[int] = set()
    shared: set[int] = set()
    for it in items:
        if it.ok:
            d = id_digest(it.id)
            if d in seen:
                shared.add(d)
            else:
                seen.add(d)
    return shared


def duplicate_ids(policy: str, input_path, fmt: str, **reading) -> DuplicateIds:
    """A :class:`DuplicateIds` for ``policy``; for ``reject``, after a pass over the input (a file)."""
    shared = None
    if policy == "reject":
        try:
            shared = shared_ids(read_items(input_path, fmt, **reading))
        except InputError as exc:
            raise LabelError(str(exc)) from None
    return DuplicateIds(policy, shared)


def reason_kind(reason: str) -> str:
    """The kind of a reject reason, without its particulars (for the summary's counts)."""
    return reason.split(" (")[0].split(" at ")[0]


def _jsonable(value):
    """``value`` if JSON can hold it, else with what JSON cannot hold (dates, bytes, ...) as strings."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))
