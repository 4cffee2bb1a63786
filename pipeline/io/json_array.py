"""A top-level JSON array of records, read one element at a time (never the whole array)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Iterator

from .files import _name, _open_source, _seek
from .items import InputError, Item, MAX_TEXT_CHARS, _parse_json_line


# Bytes that matter for finding where an element ends. JSON's structural characters are ASCII,
# and no byte of a multi-byte UTF-8 character is, so the scan works on raw bytes.
_JSON_SCAN = re.compile(rb'["\\\[\]{}]')
_JSON_SCALAR_END = re.compile(rb"[,\] \t\r\n]")  # JSON's white space only: a stray \f is part of the value
_JSON_WS = b" \t\r\n"
_JSON_CHUNK = 1 << 16


def read_json_array(source: str | Path | IO[bytes] | None, text_field: str = "text", id_field: str = "id",
                    max_chars: int = MAX_TEXT_CHARS, truncate: bool = False,
                    start: tuple[int, int] | None = None) -> Iterator[Item]:
    """Yield one :class:`Item` per element of a top-level JSON array of records (``[{...}, ...]``).

    The array is scanned one element at a time, so it is never held in memory whole. An
    element that is not valid JSON or not an object is a reject, as is an element cut off by
    the end of the file. :attr:`Item.line` is the element's position in the array (1-based)
    and stands in for a missing id. ``start=(offset, position)`` continues after the element
    that ended at byte ``offset`` (a file only).
    """
    fh, close = _open_source(source)
    buf, base = b"", 0  # base: the file offset of buf[0]

    def more(keep_from: int) -> int:
        """Drop buf[:keep_from], read another chunk; returns how far positions moved (-1 at EOF)."""
        nonlocal buf, base
        chunk = fh.read(_JSON_CHUNK)
        if not chunk:
            return -1
        buf, base = buf[keep_from:] + chunk, base + keep_from
        return keep_from

    def skip_ws(i: int) -> int:
        while True:
            while i < len(buf) and buf[i] in _JSON_WS:
                i += 1
            if i < len(buf):
                return i
            moved = more(i)
            if moved < 0:
                return len(buf)
            i -= moved

    def element(i: int) -> tuple[int, int | None]:
        """Where the value starting at buf[i] starts and ends once read (reading more moves both);
        the end is None if the file ends first."""
        first = buf[i:i + 1]
        if first not in (b"{", b"[", b'"'):
            while True:
                m = _JSON_SCALAR_END.search(buf, i)
                if m:
                    return i, m.start()
                moved = more(i)
                if moved < 0:
                    return i, len(buf)
                i -= moved
        start, j, depth, in_string = i, i, 0, False
        while True:
            m = _JSON_SCAN.search(buf, j)
            if m is None or (m.group() == b"\\" and m.start() + 1 >= len(buf)):
                resume = m.start() if m else len(buf)
                moved = more(start)
                if moved < 0:
                    return start, None
                start, j = start - moved, resume - moved
                continue
            c, j = m.group(), m.end()
            if in_string:
                if c == b"\\":
                    j += 1
                elif c == b'"':
                    in_string = False
                    if depth == 0:
                        return start, j
            elif c == b'"':
                in_string = True
            elif c in (b"{", b"["):
                depth += 1
            elif c in (b"}", b"]"):
                depth -= 1
                if depth == 0:
                    return start, j

    try:
        position = 0
        if start is not None:
            base, position = start
            _seek(fh, base)
        else:
            more(0)
            if buf.startswith(b"\xef\xbb\xbf"):
                buf, base = buf[3:], 3
            i = skip_ws(0)
            if i >= len(buf):
                return
            if buf[i:i + 1] != b"[":
                hint = " (one object per line is JSON Lines: pass --format jsonl)" if buf[i:i + 1] == b"{" else ""
                raise InputError(f"{_name(source)}: expected a JSON array of records{hint}")
            buf, base = buf[i + 1:], base + i + 1
        i = 0
        while True:
            i = skip_ws(i)
            if i >= len(buf):
                return  # the file ends between elements (a missing "]" loses nothing)
            c = buf[i:i + 1]
            if c == b"]":
                return
            if c == b",":  # after an element, or an empty slot: [a,,b]
                i += 1
                continue
            i, end = element(i)
            position += 1
            if end is None:
                yield Item(position, None, reason="the file ends inside this record", end=base + len(buf))
                return
            item = _parse_json_line(position, buf[i:end], text_field, id_field, max_chars, truncate, "item")
            item.end = base + end
            yield item
            i = end
    finally:
        if close:
            fh.close()
