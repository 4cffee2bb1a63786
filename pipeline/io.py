"""Streaming readers and writers for comment records.

Readers yield :class:`Item` objects one record at a time: either a record
(``id``, ``text`` and the rest of the row) or a reject with its reason, so
that every input record is accounted for. Nothing is held in memory beyond
the current line (JSONL, text, CSV/TSV), array element (JSON) or record batch (Parquet).

* :func:`read_jsonl` — one record per non-blank line;
* :func:`read_csv` — a header row, then one record per row (``delimiter="\\t"`` for TSV);
* :func:`read_parquet` — one record per row, read by record batches;
* :func:`read_text` — one comment per non-blank line of a plain-text file;
* :func:`read_json_array` — one record per element of a top-level JSON array, parsed one
  element at a time;
* :func:`read_items` — any of them, by format name (:func:`input_format` picks it from the extension).

Writers (:class:`JsonlWriter`, :class:`CsvWriter`, :class:`ParquetWriter`)
write to a temporary file beside the destination and rename it into place on
``close()``, so a destination is either absent, the previous file, or complete.
pyarrow is imported only by the Parquet reader and writer.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator, Sequence

from .errors import NazarError

__all__ = [
    "Item", "InputError", "MAX_TEXT_CHARS", "INPUT_FORMATS", "OUTPUT_FORMATS",
    "generated_id", "read_jsonl", "read_text", "read_csv", "read_parquet", "read_json_array", "read_xlsx", "read_items", "input_format",
    "output_format", "input_total", "first_json_byte", "parquet_file",
    "JsonlWriter", "CsvWriter", "ParquetWriter", "StreamWriter", "open_writer", "flat_columns", "flatten", "prob_column",
    "atomic_write_text", "COMPRESSIONS", "compression", "sniff",
    "read_yaml_mapping",
]

#: Texts longer than this are rejected (comments are short; longer is a scraping error).
MAX_TEXT_CHARS = 20000

#: Input formats and the file extensions that select them.
INPUT_FORMATS: dict[str, tuple[str, ...]] = {
    "jsonl": (".jsonl", ".ndjson", ".jsonlines"),
    "csv": (".csv",),
    "tsv": (".tsv", ".tab"),
    "parquet": (".parquet", ".pq"),
    # A top-level array of records; a .json file that holds one record per line is read as jsonl.
    "json": (".json",),
    # One comment per line; its id is line-N, N its line number.
    "text": (".txt",),
    # The first sheet of an Excel workbook: a header row, then one record per row (needs openpyxl).
    "xlsx": (".xlsx", ".xlsm"),
}
#: Output formats and their extensions.
OUTPUT_FORMATS: dict[str, tuple[str, ...]] = {k: v for k, v in INPUT_FORMATS.items()
                                               if k not in ("json", "text", "xlsx")}


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


# -- compression -----------------------------------------------------------------------
#: Compressed inputs: name -> (file extension, magic bytes). Detected by their magic bytes
#: (the extension is only dropped to find the format inside), decompressed while streaming.
COMPRESSIONS: dict[str, tuple[str, bytes]] = {
    "gzip": (".gz", b"\x1f\x8b"),
    "bzip2": (".bz2", b"BZh"),
    "xz": (".xz", b"\xfd7zXZ\x00"),
    "zstd": (".zst", b"\x28\xb5\x2f\xfd"),
}


def compression(path: str | Path) -> str | None:
    """The compression of the file at ``path`` by its magic bytes (``None``: not compressed, or unreadable)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError:
        return None
    for name, (_, magic) in COMPRESSIONS.items():
        if head.startswith(magic):
            return name
    return None


def _strip_compression(name: str) -> str:
    for ext, _ in COMPRESSIONS.values():
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


class _Decompressed(io.RawIOBase):
    """Reads a decompressing stream; damaged or cut-off data becomes an :class:`InputError`."""

    def __init__(self, stream, name: str) -> None:
        self._stream, self._name = stream, name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._stream.read(len(buffer))
        except Exception as exc:  # gzip/bz2: OSError, EOFError; xz: LZMAError; zstd: ZstdError
            raise InputError(f"{self._name}: the compressed data is damaged or cut off ({exc}); "
                             f"repair or re-download the file") from None
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def _decompressing(source: Path | IO[bytes], kind: str) -> IO[bytes]:
    """A binary stream of the decompressed bytes of a file path (closed with the stream) or a
    binary stream (left open)."""
    owned = isinstance(source, Path)
    if kind == "gzip":
        import gzip

        stream = gzip.open(source, "rb")
    elif kind == "bzip2":
        import bz2

        stream = bz2.open(source, "rb")
    elif kind == "xz":
        import lzma

        stream = lzma.open(source, "rb")
    else:
        try:
            import zstandard
        except ImportError:
            raise InputError(f"{source if owned else _name(source)} is zstd-compressed, which needs the 'zstandard' package: "
                             f"pip install 'nazar[zstd]' (or decompress it first: zstd -d)") from None
        raw = open(source, "rb") if owned else source
        stream = zstandard.ZstdDecompressor().stream_reader(raw, closefd=owned)
    return io.BufferedReader(_Decompressed(stream, str(source) if owned else _name(source)), buffer_size=1 << 16)


def _seek(fh: IO[bytes], pos: int) -> None:
    """Move to byte ``pos`` from the start (a stream that cannot seek is read forward to it)."""
    if fh.seekable():
        fh.seek(pos)
        return
    while pos > 0:
        chunk = fh.read(min(pos, 1 << 20))
        if not chunk:
            return
        pos -= len(chunk)


# -- formats ---------------------------------------------------------------------------
def _format_of(path: str | Path, table: dict[str, tuple[str, ...]]) -> str | None:
    name = str(path).lower()
    for fmt, exts in table.items():
        if name.endswith(exts):
            return fmt
    return None


def input_format(source: str | Path | None, forced: str | None = None) -> str:
    """The input format: ``forced`` if given, else from the extension; standard input is JSONL.

    A ``.json`` file whose first record starts a line with ``{`` (JSON Lines under another
    name) is ``jsonl``; one that starts with ``[`` is ``json``, a single array of records.
    """
    if forced:
        if forced not in INPUT_FORMATS:
            raise InputError(f"unknown input format {forced!r}; known: {', '.join(INPUT_FORMATS)}")
        return forced
    if source is None or str(source) == "-":
        return "jsonl"
    fmt = _format_of(_strip_compression(str(source)), INPUT_FORMATS)
    if fmt is None:
        exts = ", ".join(e for v in INPUT_FORMATS.values() for e in v)
        squeezed = ", ".join(ext for ext, _ in COMPRESSIONS.values())
        raise InputError(f"cannot tell the format of {source} from its extension ({exts}, "
                         f"each optionally followed by {squeezed}); pass --format {'|'.join(INPUT_FORMATS)}")
    if fmt == "json" and first_json_byte(source) == b"{":
        return "jsonl"
    return fmt


def first_json_byte(path: str | Path) -> bytes:
    """The first byte of ``path`` after a byte-order mark and white space (b"" if none, or unreadable)."""
    try:
        fh, _ = _open_source(path)
        with fh:
            head = fh.read(1 << 16)
    except (OSError, EOFError, NazarError):
        return b""
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:1]


#: Magic bytes of files that are often handed over by mistake, and what to do instead.
_NOT_TEXT = {
    b"PK\x03\x04": "a ZIP archive (an Excel workbook? name it .xlsx or pass --format xlsx)",
    b"PAR1": "a Parquet file: name it .parquet or pass --format parquet",
    b"SQLite format 3": "an SQLite database: export the table as CSV or JSONL",
    b"%PDF": "a PDF document",
}


def sniff(source: str | Path, fmt: str) -> str | None:
    """Why ``source`` plainly cannot be read as ``fmt`` (a one-line hint), or None if it might be.

    Looks at the first 64 KiB (decompressed): binary data or UTF-16 under a text format, and a
    JSON array under ``jsonl``.
    """
    if fmt in ("parquet", "xlsx"):
        return None
    try:
        fh, _ = _open_source(source)
        with fh:
            head = fh.read(1 << 16)
    except (OSError, NazarError):
        return None  # the reader reports it
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"{source} is UTF-16 text; convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)"
    for magic, what in _NOT_TEXT.items():
        if head.startswith(magic):
            return f"{source} is {what}, not {fmt} text"
    if b"\x00" in head:
        return f"{source} looks binary (it holds NUL bytes), not {fmt} text; check the file and --format"
    if fmt == "jsonl" and head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"[":
        return f"{source} looks like a JSON array, not JSON Lines: pass --format json (or name it .json)"
    return None


def output_format(path: str | Path) -> str:
    """The output format, from the extension of ``path``."""
    fmt = _format_of(path, OUTPUT_FORMATS)
    if fmt is None:
        exts = ", ".join(e for v in OUTPUT_FORMATS.values() for e in v)
        raise InputError(f"cannot tell the output format of {path} from its extension; use one of {exts}")
    return fmt


def input_total(source: str | Path | None, fmt: str) -> int | None:
    """The size of an input in :attr:`Item.end` units (bytes, or rows for Parquet); None for stdin."""
    if source is None or str(source) == "-" or hasattr(source, "read"):
        return None
    if fmt == "parquet":
        return parquet_file(source).metadata.num_rows
    if fmt == "xlsx":
        return None  # a workbook's row count is not known before reading it
    if compression(source):
        return None  # the decompressed size is not known before reading it all
    return Path(source).stat().st_size


# -- validation shared by every reader -------------------------------------------------------
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


def _open_source(source) -> tuple[IO[bytes], bool]:
    """The binary stream of ``source`` (decompressed when its magic bytes say so) and whether to close it."""
    if source is None or str(source) == "-":
        stdin = sys.stdin.buffer
        head = stdin.peek(6)[:6] if hasattr(stdin, "peek") else b""
        for kind, (_, magic) in COMPRESSIONS.items():
            if head.startswith(magic):
                return _decompressing(stdin, kind), False
        return stdin, False
    if hasattr(source, "read"):
        return source, False
    try:
        kind = compression(source)
        return (_decompressing(Path(source), kind) if kind else open(source, "rb")), True
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror}") from None


# -- JSONL -------------------------------------------------------------------------------
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


def _lines(source, start: tuple[int, int] | None, stop: int | None) -> Iterator[tuple[int, bytes, int]]:
    """``(line number, line without its end, byte offset after it)`` for each non-blank line.

    ``start=(offset, line)`` continues after the line that ended at byte ``offset`` (a file only);
    ``stop`` ends before the first line starting at or after that byte.
    """
    fh, close = _open_source(source)
    pos, line_no = 0, 0
    if start is not None:
        pos, line_no = start
        _seek(fh, pos)
    try:
        for raw in fh:
            if stop is not None and pos >= stop:
                break
            pos += len(raw)
            line_no += 1
            if raw.strip():
                yield line_no, raw.rstrip(b"\r\n"), pos
    finally:
        if close:
            fh.close()


def read_jsonl(source: str | Path | IO[bytes] | None, text_field: str = "text", id_field: str = "id",
               max_chars: int = MAX_TEXT_CHARS, truncate: bool = False,
               start: tuple[int, int] | None = None, stop: int | None = None) -> Iterator[Item]:
    """Yield one :class:`Item` per non-blank line of a JSONL file (``None`` or ``-``: stdin).

    Records without an id get line-N, N their line number (see :func:`generated_id`). ``start=(offset, line)``
    continues after the record that ended at byte ``offset`` on line ``line``
    (a file only); ``stop`` ends before the first line starting at or after that byte.
    """
    for line_no, raw, pos in _lines(source, start, stop):
        item = _parse_json_line(line_no, raw, text_field, id_field, max_chars, truncate)
        item.end = pos
        yield item


def read_text(source: str | Path | IO[bytes] | None, text_field: str = "text", id_field: str = "id",
              max_chars: int = MAX_TEXT_CHARS, truncate: bool = False,
              start: tuple[int, int] | None = None, stop: int | None = None) -> Iterator[Item]:
    """Yield one :class:`Item` per non-blank line of a plain-text file: the line is the comment
    and line-N (N its line number) the id (``text_field`` and ``id_field`` are not used). ``start`` and
    ``stop`` work as for :func:`read_jsonl`.
    """
    for line_no, raw, pos in _lines(source, start, stop):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            item = Item(line_no, generated_id(line_no), reason=f"undecodable bytes (not UTF-8) at byte {exc.start}")
        else:
            if line_no == 1:
                line = line.removeprefix("\ufeff")
            item = _item(line_no, {"text": line}, "text", "id", max_chars, truncate)
        item.end = pos
        yield item


# -- JSON array ------------------------------------------------------------------------------
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


# -- CSV / TSV ---------------------------------------------------------------------------------
_CSV_FIELD_LIMIT = 64 * 1024 * 1024


class _LineFeed:
    """Feeds decoded lines to :mod:`csv` while counting lines and bytes."""

    def __init__(self, fh: IO[bytes], pos: int = 0, line_no: int = 0) -> None:
        self.fh = fh
        self.pos = pos
        self.line_no = line_no

    def __iter__(self) -> "_LineFeed":
        return self

    def __next__(self) -> str:
        raw = self.fh.readline()
        if not raw:
            raise StopIteration
        self.pos += len(raw)
        self.line_no += 1
        # Undecodable bytes survive as lone surrogates and are rejected per row.
        text = raw.decode("utf-8", errors="surrogateescape")
        if self.line_no == 1 and text.startswith("\ufeff"):
            text = text[1:]
        return text


def _undecodable(row: Sequence[str]) -> bool:
    try:
        "".join(row).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_csv(source: str | Path | IO[bytes] | None, text_field: str = "text", id_field: str = "id",
             max_chars: int = MAX_TEXT_CHARS, truncate: bool = False, delimiter: str = ",",
             start: tuple[int, int] | None = None, keep: Sequence[str] = ()) -> Iterator[Item]:
    """Yield one :class:`Item` per row of a CSV (or, with ``delimiter="\\t"``, TSV) file after its header.

    The header names the columns; ``text_field`` must be one of them. A row's
    line number is the line it starts on (quoted fields may span lines); rows
    whose field count differs from the header's are rejected as invalid, and
    so are rows with bytes that are not UTF-8. ``start=(offset, line)`` continues
    after the row that ended at byte ``offset`` (a file only). Columns named in
    ``keep`` must be in the header too.
    """
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    fh, close = _open_source(source)
    try:
        feed = _LineFeed(fh)
        reader = csv.reader(feed, delimiter=delimiter)
        header: list[str] | None = None
        while header is None:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(f"{_name(source)}: unreadable CSV header: {exc}") from None
            if row and any(c.strip() for c in row):
                header = [c.strip() for c in row]
        if _undecodable(header):
            raise InputError(f"{_name(source)}: the CSV header is not UTF-8")
        if text_field not in header:
            raise InputError(f"{_name(source)}: no column {text_field!r} in the header "
                             f"(columns: {', '.join(header)}); pass --text-field")
        _check_columns(source, keep, header)
        if start is not None:
            if fh.seekable():
                fh.seek(start[0])
            else:  # the header was read already: read forward from where it ended
                _seek(fh, start[0] - feed.pos)
            feed.pos, feed.line_no = start
        width = len(header)
        while True:
            first = feed.line_no + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield Item(first, None, reason=f"invalid CSV row: {exc}", end=feed.pos)
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            span = f" (lines {first}-{feed.line_no})" if feed.line_no > first else ""
            if _undecodable(row):
                item = Item(first, None, reason="undecodable bytes (not UTF-8)")
            elif len(row) != width:
                item = Item(first, None, reason=f"invalid CSV row: {len(row)} fields, the header has {width}{span}")
            else:
                item = _item(first, dict(zip(header, row)), text_field, id_field, max_chars, truncate)
            item.end = feed.pos
            yield item
    finally:
        if close:
            fh.close()


def _check_columns(source, keep: Sequence[str], columns: Sequence[str]) -> None:
    missing = [k for k in keep if k not in columns]
    if missing:
        raise InputError(f"{_name(source)}: no column {missing[0]!r} (named by --keep or --by; columns: {', '.join(columns)})")


def _name(source) -> str:
    return "standard input" if source is None or str(source) == "-" else str(getattr(source, "name", source))


# -- Parquet -----------------------------------------------------------------------------------
def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError("Parquet needs the 'pyarrow' package: pip install 'nazar[parquet]'") from None
    return pyarrow


def parquet_file(path):
    """A ``pyarrow.parquet.ParquetFile``; a missing pyarrow or an unreadable file is an :class:`InputError`."""
    pa = _pyarrow()
    if compression(path):
        raise InputError(f"{path} is a compressed Parquet file: Parquet compresses its columns itself, so "
                         f"decompress the file first and read the .parquet")
    try:
        return pa.parquet.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path} as Parquet: {exc}") from None


def read_parquet(source: str | Path, text_field: str = "text", id_field: str = "id",
                 max_chars: int = MAX_TEXT_CHARS, truncate: bool = False, start_row: int = 0,
                 stop_row: int | None = None, batch_rows: int = 4096,
                 keep: Sequence[str] = ()) -> Iterator[Item]:
    """Yield one :class:`Item` per row of a Parquet file, reading record batches of ``batch_rows``.

    Only the text and id columns are read, and those named in ``keep`` (which must exist). Line numbers are row numbers (from 1);
    :attr:`Item.end` counts rows. ``start_row`` and ``stop_row`` select rows
    ``[start_row, stop_row)`` (row groups before ``start_row`` are not read).
    """
    if source is None or str(source) == "-":
        raise InputError("Parquet cannot be read from standard input; pass a file")
    pf = parquet_file(source)
    names = pf.schema_arrow.names
    if text_field not in names:
        raise InputError(f"{source}: no column {text_field!r} (columns: {', '.join(names)}); pass --text-field")
    _check_columns(source, keep, names)
    columns = list(dict.fromkeys([text_field, *([id_field] if id_field in names else []), *keep]))
    stop_row = pf.metadata.num_rows if stop_row is None else min(stop_row, pf.metadata.num_rows)
    # Skip whole row groups before start_row.
    groups, row = [], 0
    first_row = None
    for g in range(pf.num_row_groups):
        n = pf.metadata.row_group(g).num_rows
        if row + n > start_row and row < stop_row:
            groups.append(g)
            if first_row is None:
                first_row = row
        row += n
    if not groups:
        return
    row = first_row
    for batch in pf.iter_batches(batch_size=batch_rows, row_groups=groups, columns=columns):
        data = batch.to_pydict()
        texts = data[text_field]
        ids = data.get(id_field, [None] * len(texts))
        for k, (text, rid) in enumerate(zip(texts, ids)):
            row += 1
            if row <= start_row:
                continue
            if row > stop_row:
                return
            obj = {name: data[name][k] for name in keep}
            obj[text_field] = text
            if rid is not None:
                obj[id_field] = rid
            item = _item(row, obj, text_field, id_field, max_chars, truncate, "row")
            item.end = row
            yield item


def _cell(value):
    """A worksheet cell as a record value: text as is, whole numbers without ``.0``, dates in ISO form."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def read_xlsx(source: str | Path, text_field: str = "text", id_field: str = "id",
              max_chars: int = MAX_TEXT_CHARS, truncate: bool = False, start_row: int = 0,
              keep: Sequence[str] = ()) -> Iterator[Item]:
    """Yield one :class:`Item` per row of the first sheet of an Excel workbook, after its header row.

    The sheet is streamed (openpyxl's read-only mode). Cells become strings (whole numbers
    without ``.0``, dates in ISO form), so a comment typed as a number is still a comment.
    :attr:`Item.line` is the sheet's row number, :attr:`Item.end` counts rows read;
    ``start_row`` continues after that many. Wholly empty rows are skipped.
    """
    if source is None or str(source) == "-":
        raise InputError("an Excel workbook cannot be read from standard input; pass a file")
    try:
        import openpyxl
    except ImportError:
        raise InputError("Excel input needs the 'openpyxl' package: pip install 'nazar[xlsx]' "
                         "(or save the sheet as CSV)") from None
    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, OSError
        raise InputError(f"cannot read {source} as an Excel workbook: {exc}") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header, row_no = None, 0
        for row in rows:
            row_no += 1
            if any(v is not None and str(v).strip() for v in row):
                header = [str(_cell(v) or "").strip() for v in row]
                break
        if header is None:
            return
        if text_field not in header:
            raise InputError(f"{source}: no column {text_field!r} in the header row "
                             f"(columns: {', '.join(h for h in header if h)}); pass --text-field")
        _check_columns(source, keep, header)
        done = 0
        for row in rows:
            row_no += 1
            if not any(v is not None and str(v).strip() for v in row):
                continue
            done += 1
            if done <= start_row:
                continue
            obj = {name: _cell(v) for name, v in zip(header, row) if name}
            item = _item(row_no, obj, text_field, id_field, max_chars, truncate, "row")
            item.end = done
            yield item
    finally:
        book.close()


def read_items(source, fmt: str, text_field: str = "text", id_field: str = "id",
               max_chars: int = MAX_TEXT_CHARS, truncate: bool = False,
               start: tuple[int, int] | None = None, keep: Sequence[str] = ()) -> Iterator[Item]:
    """Items from ``source`` in format ``fmt`` (see :data:`INPUT_FORMATS`).

    ``start`` continues after an earlier item: ``(item.end, item.line)``. ``keep``: columns a
    CSV/TSV or Parquet input must have (and Parquet must read) besides the text and id.
    """
    common = dict(text_field=text_field, id_field=id_field, max_chars=max_chars, truncate=truncate)
    if fmt == "jsonl":
        return read_jsonl(source, start=start, **common)
    if fmt in ("csv", "tsv"):
        return read_csv(source, delimiter="," if fmt == "csv" else "\t", start=start, keep=keep, **common)
    if fmt == "parquet":
        return read_parquet(source, start_row=start[0] if start else 0, keep=keep, **common)
    if fmt == "json":
        return read_json_array(source, start=start, **common)
    if fmt == "text":
        return read_text(source, start=start, **common)
    if fmt == "xlsx":
        return read_xlsx(source, start_row=start[0] if start else 0, keep=keep, **common)
    raise InputError(f"unknown input format {fmt!r}; known: {', '.join(INPUT_FORMATS)}")


# -- flat records (CSV and Parquet outputs) ---------------------------------------------------------
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


# -- writers ---------------------------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def read_yaml_mapping(path: str | Path, what: str, error: type[Exception] = ValueError,
                      missing: type[Exception] | None = None) -> dict:
    """The mapping at the top of the YAML file ``path`` (``what`` names the file in messages).

    Every failure raises ``error`` with a message that names the file: not valid YAML,
    not UTF-8, or a top level that is not a mapping (an empty file is an empty mapping).
    A file that does not exist raises ``missing`` (default: ``error``) saying "``what``
    not found". Only plain YAML is read (``yaml.safe_load``): no tags that build objects.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise (missing or error)(f"{what} not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: the top level must be a mapping, not {type(data).__name__}")
    return data


def atomic_write_text(path: str | Path, text: str, sync_dir: bool = True) -> None:
    """Write ``text`` to ``path`` through a temporary file, fsync and rename.

    ``sync_dir=False`` leaves the directory entry to a later fsync of the same directory.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk or an interrupt leaves no half-written temporary file
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        _fsync_dir(path.parent)


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
