"""Loading and validating labelled comment sets (gold, synthetic, held-out).

A labelled file is JSONL, or by its extension CSV (``.csv``), TSV (``.tsv``, ``.tab``)
with a header row, Parquet (``.parquet``, ``.pq``; needs pyarrow) or a JSON array of
records (``.json``; one holding one record per line is read as JSONL). Every record
needs a string ``id`` and a non-empty string ``text``. Labelled sets carry the three
label fields with values from :data:`pipeline.schema.LABELS`. Any problem is reported
as a :class:`DataError` naming the file and line.
"""
from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from .io import InputError, first_json_byte, parquet_file
from .schema import FIELDS, LABELS
from .errors import NazarError

__all__ = ["DataError", "load_labelled", "rename_fields", "load_many", "label_counts", "labels_of", "LabelMapping", "iter_json_lines",
           "iter_records", "group_value", "MISSING_VALUE", "strata", "RARE"]


class DataError(NazarError, ValueError):
    """A labelled data file breaks the schema; the message names file and line."""


def rename_fields(rec: object, where: str, text_field: str = "text", id_field: str = "id") -> object:
    """``rec`` with its ``id_field`` and ``text_field`` read as ``id`` and ``text`` (a dump's own
    names, as ``nazar label --id-field/--text-field`` takes them); a missing one is a DataError."""
    if (text_field, id_field) == ("text", "id") or not isinstance(rec, dict):
        return rec
    rec = dict(rec)
    for name, flag, ours in ((id_field, "--id-field", "id"), (text_field, "--text-field", "text")):
        if name == ours:
            continue
        if name not in rec:
            raise DataError(f"{where}: missing field {name!r} (named by {flag}; fields: {', '.join(map(str, rec))})")
        rec[ours] = rec.pop(name)
    return rec


def _check_record(rec: object, where: str, fields: Sequence[str]) -> dict:
    if not isinstance(rec, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(rec).__name__}")
    for key in ("id", "text"):
        if key not in rec:
            raise DataError(f"{where}: missing field {key!r}")
    if not isinstance(rec["id"], (str, int)) or isinstance(rec["id"], bool):
        raise DataError(f"{where}: field 'id' must be a string or an integer")
    if not isinstance(rec["text"], str) or not rec["text"].strip():
        raise DataError(f"{where}: field 'text' must be a non-empty string")
    for field in fields:
        if field not in rec:
            raise DataError(f"{where}: missing field {field!r}")
        if rec[field] not in LABELS[field]:
            allowed = "/".join(LABELS[field])
            raise DataError(f"{where}: unknown label {rec[field]!r} for {field!r} (expected {allowed})")
    out = dict(rec)
    out["id"] = str(rec["id"])
    return out


#: ``{field: {"from": source_field, "map": {source_label: label or None}}}``: how a
#: corpus with labels of its own (``{"label": "HAPPY"}``) maps onto ours. A source
#: label missing from ``map``, or mapped to ``None``, drops the record.
LabelMapping = Mapping[str, Mapping]


def _apply_mapping(rec: dict, mapping: LabelMapping) -> dict | None:
    out = dict(rec)
    for field, spec in mapping.items():
        value = rec.get(spec.get("from", field))
        table = {str(k): v for k, v in (spec.get("map") or {}).items()}
        label = table.get(str(value)) if table else value
        if label is None:
            return None
        out[field] = label
    return out


def iter_json_lines(path: str | Path) -> Iterator[tuple[str, int, object]]:
    """``(where, line number, parsed JSON)`` for each non-blank line; bad JSON is a :class:`DataError`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{where}: not UTF-8 (byte {exc.start} of the line)") from None
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                yield where, lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: invalid JSON ({exc.msg})") from None


def iter_records(path: str | Path) -> Iterator[tuple[str, int, object]]:
    """``(where, line number, record)`` for each record of a labelled file, by its extension.

    JSONL (any extension but those below): see :func:`iter_json_lines`. CSV/TSV: the header
    row names the fields; an empty cell is an empty string, a missing one is left out; the line
    number is the line the row ends on. Parquet: one record per row (the number is the row's).
    ``.json``: a JSON array (the number is the position in it), or JSONL when the file starts
    with an object.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        yield from _records_by_format(path)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None


def _records_by_format(path: Path) -> Iterator[tuple[str, int, object]]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".tab"):
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                reader = csv.DictReader(fh, delimiter="," if suffix == ".csv" else "\t")
                for row in reader:
                    where = f"{path}:{reader.line_num}"
                    if None in row:
                        raise DataError(f"{where}: more cells than the header has columns")
                    yield where, reader.line_num, {k: v for k, v in row.items() if v is not None}
        except csv.Error as exc:
            raise DataError(f"{path}: not readable as CSV ({exc})") from None
        return
    if suffix in (".parquet", ".pq"):
        try:
            table = parquet_file(path).read()
        except InputError as exc:
            raise DataError(str(exc)) from None
        for i, rec in enumerate(table.to_pylist(), 1):
            yield f"{path}: row {i}", i, rec
        return
    if suffix == ".json" and first_json_byte(path) == b"[":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        for i, rec in enumerate(data, 1):
            yield f"{path}: record {i}", i, rec
        return
    yield from iter_json_lines(path)


def load_labelled(path: str | Path, fields: Sequence[str] = FIELDS, mapping: LabelMapping | None = None,
                  max_rows: int | None = None, seed: int = 13, text_field: str = "text",
                  id_field: str = "id") -> list[dict]:
    """Read a labelled file (JSONL, CSV/TSV or a JSON array: see :func:`iter_records`), validating every record.

    ``fields`` names the label fields each record must carry (all three by
    default). Blank lines are skipped; duplicate ids are an error. ``mapping``
    (see :data:`LabelMapping`) first maps a corpus's own labels onto ours,
    dropping records it cannot map; ``max_rows`` keeps a fixed random sample
    (by ``seed``) of that many records, in file order. ``text_field`` and ``id_field`` name the
    file's own text and id fields (see :func:`rename_fields`).
    """
    path = Path(path)
    records: list[dict] = []
    seen: dict[str, int] = {}
    for where, lineno, rec in iter_records(path):
        if mapping:
            if not isinstance(rec, dict):
                raise DataError(f"{where}: expected a JSON object, got {type(rec).__name__}")
            rec = _apply_mapping(rec, mapping)
            if rec is None:
                continue
        rec = _check_record(rename_fields(rec, where, text_field, id_field), where, fields)
        if rec["id"] in seen:
            raise DataError(f"{where}: duplicate id {rec['id']!r} (first on line {seen[rec['id']]})")
        seen[rec["id"]] = lineno
        records.append(rec)
    if not records:
        raise DataError(f"{path}: no records")
    if max_rows is not None and len(records) > max_rows:
        import random

        keep = sorted(random.Random(seed).sample(range(len(records)), max_rows))
        records = [records[i] for i in keep]
    return records


def load_many(paths: Iterable[str | Path], fields: Sequence[str] = FIELDS, mapping: LabelMapping | None = None,
              max_rows: int | None = None, seed: int = 13) -> list[dict]:
    """Concatenate several labelled files (ids must be unique within each file)."""
    out: list[dict] = []
    for p in paths:
        out.extend(load_labelled(p, fields, mapping, max_rows, seed))
    return out


def labels_of(records: Sequence[dict], fields: Sequence[str] = FIELDS) -> dict[str, list]:
    """Column view of the labels: ``{field: [label or None, ...]}``."""
    return {f: [r.get(f) for r in records] for f in fields}


def label_counts(records: Sequence[dict], fields: Sequence[str] = FIELDS) -> dict[str, dict[str, int]]:
    """Counts of each label per field, every allowed label listed (zeros included)."""
    out = {}
    for f in fields:
        c = Counter(r.get(f) for r in records)
        out[f] = {lab: c.get(lab, 0) for lab in LABELS[f]}
    return out


#: The value a record without the ``by`` field is counted under.
MISSING_VALUE = "(missing)"


def group_value(record: Mapping, by: str) -> str:
    """The breakdown value of a record: its ``by`` field as text; ``year`` falls back on the first
    four digits of a ``date`` or ``published`` field when the record has no ``year`` of its own."""
    value = record.get(by)
    if value is None and by == "year":
        for key in ("date", "published"):
            text = str(record.get(key) or "")
            if len(text) >= 4 and text[:4].isdigit():
                value = text[:4]
                break
    if value is None or (isinstance(value, str) and not value.strip()):
        return MISSING_VALUE
    return str(value)


#: The stratum that :func:`strata` pools rare keys into.
RARE = "_rare"


def strata(keys: Sequence[str], min_count: int):
    """Stratification keys for folds (a numpy array): each key as it is, except keys seen fewer
    than ``min_count`` times, which are pooled into :data:`RARE` (a fold splitter needs
    ``min_count`` of each)."""
    import numpy as np

    keys = np.asarray(list(keys), dtype=object)
    values, counts = np.unique(keys, return_counts=True)
    rare = values[counts < min_count]
    return np.where(np.isin(keys, rare), RARE, keys).astype(str)


def text_digest(text: str) -> str:
    """16 hex digits of the SHA-1 of ``text``: how a model names the rows of a sampled training file
    (``model.json``), so that a benchmark on that file can leave them out without the texts."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
