"""Labelled records as the annotation loop reads and writes them.

A labelled record is a JSON object with an ``id``, a ``text``, any of the label fields of
:data:`~pipeline.schema.FIELDS` (exact labels: ``FAVOR``/``AGAINST``/``NONE``,
``POSITIVE``/``NEGATIVE``/``NEUTRAL``) and whatever else its source carried (``url``,
``context``, ``annotator``, ``note``). :func:`text_key` is the key under which two texts
count as the same comment (gold texts are skipped by it, duplicates are found by it).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Sequence

from ..data import DataError, iter_records
from ..io import atomic_write_text
from ..normalize import fold_for_matching
from ..schema import FIELDS, LABELS
from . import AnnotateError

__all__ = ["text_key", "parse_label", "read_records", "write_jsonl", "check_new_output", "gold_keys",
           "PREDICTION_KEYS", "slug"]

#: Keys a batch record carries besides its input fields: the model's labels and probabilities
#: and why it was chosen. They are never read as labels.
PREDICTION_KEYS = ("predicted", "probs", "selection", "model")

_SPACE = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]+")


def text_key(text: str) -> str:
    """``text`` folded for matching (letter variants, case), without punctuation or repeated spaces."""
    return _SPACE.sub(" ", _NOT_WORD.sub(" ", fold_for_matching(text))).strip()


def parse_label(field: str, value, lenient: bool = False) -> str | None:
    """``value`` as a label of ``field``; ``None`` for a blank; :class:`ValueError` for anything else.

    ``lenient`` (spreadsheets) also accepts other letter case and surrounding spaces.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and lenient:
        value = value.strip().upper()
    if value not in LABELS[field]:
        raise ValueError(f"unknown label {value!r} for {field} (expected {'/'.join(LABELS[field])})")
    return value


def read_records(path: str | Path, need_text: bool = True) -> list[dict]:
    """The records of a JSONL/CSV/TSV/JSON file, each checked for an id (and a text); duplicate ids are an error.

    Label fields, where present, must hold exact labels (or be empty); they are not required.
    """
    path = Path(path)
    out: list[dict] = []
    seen: dict[str, str] = {}
    try:
        for where, _, rec in iter_records(path):
            if not isinstance(rec, dict):
                raise AnnotateError(f"{where}: expected a JSON object, got {type(rec).__name__}")
            rid = rec.get("id")
            if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid).strip() == "":
                raise AnnotateError(f"{where}: missing or invalid 'id'")
            rid = str(rid)
            if rid in seen:
                raise AnnotateError(f"{where}: duplicate id {rid!r} (first at {seen[rid]})")
            if need_text and not (isinstance(rec.get("text"), str) and rec["text"].strip()):
                raise AnnotateError(f"{where}: missing or empty 'text'")
            for f in FIELDS:
                if f in rec:
                    try:
                        rec[f] = parse_label(f, rec[f])
                    except ValueError as exc:
                        raise AnnotateError(f"{where}: {exc}") from None
            seen[rid] = where
            out.append(dict(rec, id=rid))
    except DataError as exc:
        raise AnnotateError(str(exc)) from None
    return out


def gold_keys(paths: Sequence[str | Path]) -> tuple[set[str], set[str]]:
    """The ids and the :func:`text_key` of the texts of the records in ``paths``."""
    ids: set[str] = set()
    keys: set[str] = set()
    for p in paths:
        for rec in read_records(p, need_text=False):
            ids.add(rec["id"])
            if isinstance(rec.get("text"), str):
                keys.add(text_key(rec["text"]))
    return ids, keys


def check_new_output(path: str | Path, force: bool, inputs: Iterable[str | Path] = ()) -> Path:
    """``path`` as an output: never one of ``inputs``; an existing file only with ``force``."""
    path = Path(path)
    for src in inputs:
        try:
            if Path(src).resolve() == path.resolve():
                raise AnnotateError(f"{path} is also an input; write the output elsewhere")
        except OSError:
            continue
    if path.exists() and not force:
        raise AnnotateError(f"{path} exists; pass --force to replace it")
    if path.exists() and not path.is_file():
        raise AnnotateError(f"{path} is not a file")
    return path


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    """Write ``records`` as JSONL in one atomic step (the file is complete or absent); returns the count."""
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    try:
        atomic_write_text(path, "".join(line + "\n" for line in lines))
    except OSError as exc:
        raise AnnotateError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(lines)


def slug(name: str) -> str:
    """``name`` made safe for a file name: ``ana@example.org`` → ``ana_example.org``."""
    out = re.sub(r"[^\w.-]+", "_", str(name)).strip("._")
    return out or "annotator"
