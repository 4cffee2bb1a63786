"""Batch labelling: records in, one labelled record (or one reject) out per input.

:class:`BatchLabeller` loads a model once and labels a batch of texts; it
normalises each text once and classifies only the distinct normalised texts of
the batch. :func:`label_file` streams a JSONL file through it in chunks,
writing labelled records in input order and rejects with their reasons to
``OUTPUT.rejects.jsonl``; the counts always reconcile
(``read == labelled + rejected``).
"""
from __future__ import annotations

import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .classifiers.base import Model, ModelError, load_model
from .io import MAX_TEXT_CHARS, Item, JsonlWriter, read_jsonl
from .schema import FIELDS

__all__ = ["BatchLabeller", "LabelSummary", "LabelError", "label_file", "default_model_dir", "rejects_path"]

_REPO_ROOT = Path(__file__).resolve().parent.parent


class LabelError(RuntimeError):
    """Labelling cannot start (missing input, existing output, bad model)."""


def default_model_dir() -> Path:
    """The embedded default model: ``$NAZAR_MODEL`` if set, else ``models/default`` of the checkout."""
    env = os.environ.get("NAZAR_MODEL")
    if env:
        return Path(env)
    return _REPO_ROOT / "models" / "default"


def rejects_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".rejects.jsonl") if output.suffix != ".jsonl" \
        else output.with_name(output.name[: -len(".jsonl")] + ".rejects.jsonl")


class BatchLabeller:
    """Labels batches of raw texts with one model (load once, call per batch).

    ``labeller(texts)`` returns ``{field: [label, ...], "probs": [{field: {label: p}}, ...]}``.
    """

    def __init__(self, model: Model | str | Path | None = None, decimals: int = 4) -> None:
        if model is None:
            model = default_model_dir()
        if not isinstance(model, Model):
            model = load_model(model)
        self.model = model
        self.decimals = decimals
        self.model_info = model.describe()

    def __call__(self, texts: Sequence[str]) -> dict[str, list]:
        norm = self.model.normalize(texts)
        distinct = list(dict.fromkeys(norm))
        index = {t: i for i, t in enumerate(distinct)}
        proba = self.model.predict_proba_normalized(distinct)
        classes = self.model.classes_
        out: dict[str, list] = {f: [] for f in self.model.fields}
        out["probs"] = []
        rows = [index[t] for t in norm]
        for f in self.model.fields:
            best = proba[f].argmax(axis=1)
            out[f] = [classes[f][best[r]] for r in rows]
        for r in rows:
            out["probs"].append({f: {lab: round(float(p), self.decimals) for lab, p in zip(classes[f], proba[f][r])}
                                 for f in self.model.fields})
        return out


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

    @property
    def reconciles(self) -> bool:
        return self.read == self.labelled + self.rejected

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"read": self.read, "labelled": self.labelled, "rejected": self.rejected,
                "distinct_texts": self.distinct_texts, "seconds": round(self.seconds, 3),
                "rows_per_second": round(self.rate, 1), "counts": self.counts,
                "reject_reasons": self.reject_reasons, "output": self.output, "rejects": self.rejects}

    def to_text(self) -> str:
        lines = [f"read {self.read}, labelled {self.labelled}, rejected {self.rejected} "
                 f"in {self.seconds:.1f} s ({self.rate:.1f} rows/s)"]
        for f, c in self.counts.items():
            lines.append(f"  {f}: " + ", ".join(f"{lab} {n}" for lab, n in sorted(c.items())))
        if self.rejected:
            lines.append(f"  rejects ({self.rejects}):")
            for reason, n in sorted(self.reject_reasons.items(), key=lambda kv: -kv[1]):
                lines.append(f"    {n} × {reason}")
        lines.append(f"  output: {self.output}")
        return "\n".join(lines)


class _Progress:
    def __init__(self, total_bytes: int | None, enabled: bool, stream=sys.stderr) -> None:
        self.total = total_bytes
        self.enabled = enabled
        self.stream = stream
        self.start = time.perf_counter()
        self.last = 0.0

    def update(self, rows: int, done_bytes: int | None, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        tty = getattr(self.stream, "isatty", lambda: False)()
        # On a terminal the line is redrawn each second; in a log, a line every 10 s.
        if not final and now - self.last < (1.0 if tty else 10.0):
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        msg = f"{rows} rows, {rows / elapsed:.1f} rows/s"
        if self.total and done_bytes:
            frac = min(done_bytes / self.total, 1.0)
            eta = elapsed * (1 - frac) / frac
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


def label_file(input_path: str | Path | None, output_path: str | Path, model: Model | str | Path | None = None,
               chunk_size: int = 512, force: bool = False, progress: bool = True,
               text_field: str = "text", id_field: str = "id", max_chars: int = MAX_TEXT_CHARS,
               on_chunk: Callable[[LabelSummary], None] | None = None) -> LabelSummary:
    """Label a JSONL file (``None`` or ``-``: stdin) into ``output_path`` (JSONL).

    Each output record holds ``id``, one label per field, ``probs`` and ``model``.
    Rejected lines go to :func:`rejects_path` with ``line``, ``id`` and ``reason``.
    An existing output is only replaced with ``force``.
    """
    output_path = Path(output_path)
    rej_path = rejects_path(output_path)
    if input_path not in (None, "-") and not Path(input_path).is_file():
        raise LabelError(f"input file not found: {input_path}")
    if output_path.exists() and not force:
        raise LabelError(f"{output_path} exists; pass --force to overwrite it")
    if chunk_size < 1:
        raise LabelError("chunk size must be at least 1")
    try:
        labeller = model if isinstance(model, BatchLabeller) else BatchLabeller(model)
    except ModelError as exc:
        raise LabelError(str(exc)) from None
    total = Path(input_path).stat().st_size if input_path not in (None, "-") else None
    bar = _Progress(total, progress)
    summary = LabelSummary(output=str(output_path), rejects=str(rej_path),
                           counts={f: Counter() for f in labeller.model.fields})
    reasons: Counter = Counter()
    t0 = time.perf_counter()
    with JsonlWriter(output_path) as out, JsonlWriter(rej_path, lazy=True) as rej:
        for chunk in _chunks(read_jsonl(input_path, text_field, id_field, max_chars), chunk_size):
            good = [it for it in chunk if it.ok]
            result = labeller([it.record["text"] for it in good]) if good else {}
            summary.distinct_texts += len(set(it.record["text"] for it in good))
            k = 0
            for it in chunk:
                summary.read += 1
                if not it.ok:
                    rej.write({"line": it.line, "id": it.id, "reason": it.reason})
                    summary.rejected += 1
                    reasons[it.reason.split(" (")[0].split(" at ")[0]] += 1
                    continue
                rec = {"id": it.id}
                for f in labeller.model.fields:
                    rec[f] = result[f][k]
                    summary.counts[f][rec[f]] += 1
                rec["probs"] = result["probs"][k]
                rec["model"] = labeller.model_info
                out.write(rec)
                summary.labelled += 1
                k += 1
            bar.update(summary.read, chunk[-1].end)
            if on_chunk:
                on_chunk(summary)
    summary.seconds = time.perf_counter() - t0
    summary.counts = {f: dict(c) for f, c in summary.counts.items()}
    summary.reject_reasons = dict(reasons)
    bar.update(summary.read, total, final=True)
    if not summary.reconciles:  # pragma: no cover - guarded by construction
        raise LabelError(f"counts do not reconcile: read {summary.read} != "
                         f"labelled {summary.labelled} + rejected {summary.rejected}")
    return summary
