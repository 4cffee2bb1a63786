"""Input and output formats: which one a path (or a forced name) means, a check that the
content looks like it, and an input's size for progress."""
from __future__ import annotations

from pathlib import Path

from ..errors import NazarError
from .files import COMPRESSIONS, _open_source, _strip_compression, compression, parquet_file
from .items import InputError


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
