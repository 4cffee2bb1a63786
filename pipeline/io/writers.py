"""Writers of labelled records: JSONL, CSV/TSV and Parquet, each written beside its destination
and renamed into place on ``close()``, a stream writer for standard output, and the flat
columns (``p_FIELD_LABEL``) of the CSV and Parquet outputs."""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import IO, Iterable, Sequence

from .files import _fsync_dir, _pyarrow
from .items import InputError


MODEL_COLUMNS = ("model_name", "model_version", "model_kind")


def prob_column(field_name: str, label: str) -> str:
    """The flat column holding the probability of ``label`` for ``field_name``: ``p_FIELD_LABEL``."""
    return f"p_{field_name}_{label}"


def flat_columns(fields: Sequence[str], classes: dict[str, Sequence[str]], keep: Sequence[str] = ()) -> list[str]:
    """Columns of a flat output: id, the kept input fields, one per field, ``p_FIELD_LABEL`` per label,
    model name/version/kind."""
    return ["id", *keep, *fields] + [prob_column(f, lab) for f in fields for lab in classes[f]] + list(MODEL_COLUMNS)


def flat_value(value):
    """A kept input value as a flat output holds it: a string (JSON for anything but a string), or None."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def flatten(rec: dict, fields: Sequence[str], keep: Sequence[str] = ()) -> dict:
    """A labelled record (as written to JSONL) as one flat row of :func:`flat_columns`."""
    row = {"id": rec["id"]}
    for k in keep:
        row[k] = flat_value(rec.get(k))
    for f in fields:
        row[f] = rec[f]
    for f in fields:
        for lab, p in rec["probs"][f].items():
            row[prob_column(f, lab)] = p
    model = rec.get("model", {})
    for col in MODEL_COLUMNS:
        row[col] = model.get(col[len("model_"):])
    return row


class _AtomicWriter:
    """Base: writes to ``.NAME.part`` beside ``path``; ``close()`` renames it into place."""

    def __init__(self, path: str | Path, lazy: bool = False) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.part")
        self.count = 0
        self._opened = False
        self._closed = False
        if not lazy:
            self._ensure_open()

    def _ensure_open(self) -> None:
        if not self._opened:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
            self._opened = True

    def _open(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _finish(self) -> None:
        """Flush and close the text file handle ``_fh`` (writers with other handles override this)."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()

    def _discard(self) -> None:
        try:
            self._fh.close()
        except OSError:  # closing flushes, which fails again on a full disk
            pass

    def write_many(self, objs: Iterable[dict]) -> None:
        for obj in objs:
            self.write(obj)

    def close(self) -> None:
        """Finish the file and rename it into place (a lazy writer that wrote nothing removes ``path``)."""
        if self._closed:
            return
        self._closed = True
        if not self._opened:
            self.path.unlink(missing_ok=True)
            return
        try:
            self._finish()
            os.replace(self.tmp, self.path)
        except BaseException:  # a full disk at the last flush: drop the temporary file, keep ``path`` as it was
            self._opened, self._closed = True, False
            self.abort()
            raise
        _fsync_dir(self.path.parent)

    def abort(self) -> None:
        """Drop what was written; ``path`` is left as it was."""
        if self._closed:
            return
        self._closed = True
        if self._opened:
            try:
                self._discard()
            finally:
                self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class JsonlWriter(_AtomicWriter):
    """Writes one JSON object per line to ``path`` via a temporary file renamed on close.

    With ``lazy=True`` nothing is created until the first write, and closing a
    writer that wrote nothing removes any earlier file at ``path``.
    """

    def _open(self) -> None:
        self._fh = open(self.tmp, "w", encoding="utf-8")

    def write(self, obj: dict) -> None:
        self._ensure_open()
        self._fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.count += 1

    def write_raw(self, data: bytes | str) -> None:
        """Append already serialised JSON lines (used to concatenate part files)."""
        self._ensure_open()
        self._fh.write(data if isinstance(data, str) else data.decode("utf-8"))


class CsvWriter(_AtomicWriter):
    """Writes flat rows (dicts keyed by ``columns``) as CSV with a header (``delimiter="\\t"``: TSV)."""

    def __init__(self, path: str | Path, columns: Sequence[str], delimiter: str = ",", lazy: bool = False) -> None:
        self.columns = list(columns)
        self.delimiter = delimiter
        super().__init__(path, lazy=lazy)

    def _open(self) -> None:
        self._fh = open(self.tmp, "w", encoding="utf-8", newline="")
        self._csv = csv.DictWriter(self._fh, fieldnames=self.columns, delimiter=self.delimiter,
                                   extrasaction="ignore", lineterminator="\n")
        self._csv.writeheader()

    def write(self, row: dict) -> None:
        self._ensure_open()
        self._csv.writerow(row)
        self.count += 1


class ParquetWriter(_AtomicWriter):
    """Writes flat rows to Parquet, one row group per ``group_rows`` rows (constant memory).

    Columns named ``p_*`` are float64, the others strings.
    """

    def __init__(self, path: str | Path, columns: Sequence[str], group_rows: int = 65536,
                 lazy: bool = False) -> None:
        self.columns = list(columns)
        self.group_rows = group_rows
        self._rows: list[dict] = []
        super().__init__(path, lazy=lazy)

    def _open(self) -> None:
        pa = _pyarrow()
        self._pa = pa
        self.schema = pa.schema([(c, pa.float64() if c.startswith("p_") else pa.string()) for c in self.columns])
        self._writer = pa.parquet.ParquetWriter(self.tmp, self.schema)

    def write(self, row: dict) -> None:
        self._ensure_open()
        self._rows.append(row)
        self.count += 1
        if len(self._rows) >= self.group_rows:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            cols = {c: [r.get(c) for r in self._rows] for c in self.columns}
            self._writer.write_table(self._pa.table(cols, schema=self.schema))
            self._rows = []

    def _finish(self) -> None:
        self._flush()
        self._writer.close()
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())

    def _discard(self) -> None:
        self._rows = []
        self._writer.close()


class StreamWriter:
    """Writes labelled (JSONL-shaped) records to a binary stream as they come: JSONL, or CSV/TSV
    flattened with a header (:func:`flatten`). Nothing is renamed or removed: for standard output."""

    FORMATS = ("jsonl", "csv", "tsv")

    def __init__(self, stream: IO[bytes], fmt: str, fields: Sequence[str], classes: dict[str, Sequence[str]],
                 keep: Sequence[str] = ()) -> None:
        if fmt not in self.FORMATS:
            raise InputError(f"{fmt} cannot be streamed; write it to a file, or stream one of "
                             f"{', '.join(self.FORMATS)}")
        self._fh = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
        self.fmt, self.fields, self.keep, self.count = fmt, tuple(fields), tuple(keep), 0
        self._csv = None
        if fmt != "jsonl":
            self._csv = csv.DictWriter(self._fh, fieldnames=flat_columns(fields, classes, keep),
                                       delimiter="," if fmt == "csv" else "\t", extrasaction="ignore",
                                       lineterminator="\n")
            self._csv.writeheader()

    def write(self, rec: dict) -> None:
        if self._csv is None:
            self._fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        else:
            self._csv.writerow(flatten(rec, self.fields, self.keep))
        self.count += 1

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        """Flush, and let go of the stream without closing it."""
        self._fh.flush()
        self._fh.detach()


def open_writer(path: str | Path, fmt: str, fields: Sequence[str], classes: dict[str, Sequence[str]],
                keep: Sequence[str] = ()):
    """A writer of labelled records to ``path`` in ``fmt``; its ``write`` takes JSONL-shaped records.

    For CSV, TSV and Parquet each record is flattened (:func:`flatten`), kept input fields included.
    """
    if fmt == "jsonl":
        return JsonlWriter(path)
    cols = flat_columns(fields, classes, keep)
    if fmt in ("csv", "tsv"):
        inner = CsvWriter(path, cols, delimiter="," if fmt == "csv" else "\t")
    elif fmt == "parquet":
        inner = ParquetWriter(path, cols)
    else:
        raise InputError(f"unknown output format {fmt!r}")
    return _Flattening(inner, fields, keep)


class _Flattening:
    """Wraps a flat writer so that it takes nested (JSONL-shaped) records."""

    def __init__(self, inner, fields: Sequence[str], keep: Sequence[str] = ()) -> None:
        self.inner = inner
        self.fields = tuple(fields)
        self.keep = tuple(keep)
        self.path = inner.path

    @property
    def count(self) -> int:
        return self.inner.count

    def write(self, rec: dict) -> None:
        self.inner.write(flatten(rec, self.fields, self.keep))

    def close(self) -> None:
        self.inner.close()

    def abort(self) -> None:
        self.inner.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.inner.__exit__(exc_type, exc, tb)
