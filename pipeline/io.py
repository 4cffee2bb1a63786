"""Streaming readers and writers for comment records.

:func:`read_jsonl` yields :class:`Item` objects one input line at a time: either
a record (``id``, ``text`` and the rest of the object) or a reject with its
reason, so that every input line is accounted for. Nothing is held in memory
beyond the current line.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

__all__ = ["Item", "read_jsonl", "JsonlWriter", "MAX_TEXT_CHARS"]

#: Texts longer than this are rejected (comments are short; longer is a scraping error).
MAX_TEXT_CHARS = 20000


@dataclass
class Item:
    """One input record, or the reason it was rejected."""

    line: int
    id: str | None
    record: dict | None = None
    reason: str | None = None
    #: Bytes of input consumed up to the end of this line (for progress).
    end: int = 0

    @property
    def ok(self) -> bool:
        return self.reason is None


def _parse(line_no: int, raw: bytes, text_field: str, id_field: str, max_chars: int) -> Item:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Item(line_no, None, reason=f"undecodable bytes (not UTF-8) at byte {exc.start}")
    if line_no == 1 and line.startswith("\ufeff"):
        line = line[1:]
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return Item(line_no, None, reason=f"invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(obj, dict):
        return Item(line_no, None, reason=f"expected a JSON object, got {type(obj).__name__}")
    rid = obj.get(id_field)
    if rid is None or isinstance(rid, (dict, list, bool)):
        rid = str(line_no)
    else:
        rid = str(rid)
    if text_field not in obj:
        return Item(line_no, rid, reason=f"missing field {text_field!r}")
    text = obj[text_field]
    if not isinstance(text, str):
        return Item(line_no, rid, reason=f"field {text_field!r} is not a string ({type(text).__name__})")
    if not text.strip():
        return Item(line_no, rid, reason=f"field {text_field!r} is empty")
    if len(text) > max_chars:
        return Item(line_no, rid, reason=f"text longer than {max_chars} characters ({len(text)})")
    rec = dict(obj)
    rec["id"] = rid
    rec["text"] = text
    return Item(line_no, rid, record=rec)


def read_jsonl(source: str | Path | IO[bytes] | None, text_field: str = "text", id_field: str = "id",
               max_chars: int = MAX_TEXT_CHARS) -> Iterator[Item]:
    """Yield one :class:`Item` per non-blank line of a JSONL file (``None`` or ``-``: stdin).

    Records without an id get their line number as id.
    """
    if source is None or str(source) == "-":
        fh, close = sys.stdin.buffer, False
    elif hasattr(source, "read"):
        fh, close = source, False
    else:
        fh, close = open(source, "rb"), True
    pos = 0
    try:
        for line_no, raw in enumerate(fh, 1):
            pos += len(raw)
            if not raw.strip():
                continue
            item = _parse(line_no, raw.rstrip(b"\r\n"), text_field, id_field, max_chars)
            item.end = pos
            yield item
    finally:
        if close:
            fh.close()


class JsonlWriter:
    """Writes one JSON object per line to ``path`` via a temporary file renamed on close.

    With ``lazy=True`` nothing is created until the first write, and closing a
    writer that wrote nothing removes any earlier file at ``path``.
    """

    def __init__(self, path: str | Path, lazy: bool = False) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.part")
        self.count = 0
        self._fh: IO[str] | None = None
        self._closed = False
        if not lazy:
            self._open()

    def _open(self) -> IO[str]:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.tmp, "w", encoding="utf-8")
        return self._fh

    def write(self, obj: dict) -> None:
        self._open().write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._fh is None:
            self.path.unlink(missing_ok=True)
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self._closed = True
        if self._fh is not None:
            self._fh.close()
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
