"""What every reader yields: an :class:`Item` (a record, or a reject with its reason), and the
checks of one record (an id, a non-empty text within the length limit) every format shares."""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import NazarError


#: Texts longer than this are rejected (comments are short; longer is a scraping error).
MAX_TEXT_CHARS = 20000


class InputError(NazarError, ValueError):
    """An input cannot be read at all (unknown format, missing text column, unreadable file)."""


@dataclass
class Item:
    """One input record, or the reason it was rejected."""

    line: int
    id: str | None
    record: dict | None = None
    reason: str | None = None
    #: Input consumed up to the end of this record: bytes for JSONL and CSV, rows for Parquet.
    end: int = 0

    @property
    def ok(self) -> bool:
        return self.reason is None


def generated_id(number: int, unit: str = "line") -> str:
    """The id of a record that has none: ``line-12`` (``row-12`` in Parquet, ``item-12`` in a JSON array).

    The prefix keeps it apart from the plain numbers and names that explicit ids
    usually are; a dump whose own ids take this form anyway is caught by the
    duplicate-id check of ``nazar label``.
    """
    return f"{unit}-{number}"


def _item(line_no: int, obj: dict, text_field: str, id_field: str, max_chars: int, truncate: bool,
          unit: str = "line") -> Item:
    rid = obj.get(id_field)
    if isinstance(rid, (dict, list, bool)):
        what = {dict: "an object", list: "a list", bool: "true or false"}[type(rid)]
        return Item(line_no, None, reason=f"field {id_field!r} is {what}, not a string or a number")
    if rid is None or (isinstance(rid, str) and not rid.strip()) or (isinstance(rid, float) and rid != rid):
        rid = generated_id(line_no, unit)
    elif isinstance(rid, float) and rid.is_integer():
        rid = str(int(rid))
    else:
        rid = str(rid)
    if text_field not in obj or obj[text_field] is None:
        return Item(line_no, rid, reason=f"missing field {text_field!r}")
    text = obj[text_field]
    if not isinstance(text, str):
        return Item(line_no, rid, reason=f"field {text_field!r} is not a string ({type(text).__name__})")
    if not text.strip():
        return Item(line_no, rid, reason=f"field {text_field!r} is empty")
    if len(text) > max_chars:
        if not truncate:
            return Item(line_no, rid, reason=f"text longer than {max_chars} characters ({len(text)})")
        text = text[:max_chars]
    rec = dict(obj)
    rec["id"] = rid
    rec["text"] = text
    return Item(line_no, rid, record=rec)


def _parse_json_line(line_no: int, raw: bytes, text_field: str, id_field: str, max_chars: int,
                     truncate: bool, unit: str = "line") -> Item:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Item(line_no, None, reason=f"undecodable bytes (not UTF-8) at byte {exc.start}")
    if line.startswith("\ufeff"):
        line = line[1:]
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return Item(line_no, None, reason=f"invalid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return Item(line_no, None, reason="invalid JSON: nested too deeply")
    if not isinstance(obj, dict):
        return Item(line_no, None, reason=f"expected a JSON object, got {type(obj).__name__}")
    return _item(line_no, obj, text_field, id_field, max_chars, truncate, unit)
