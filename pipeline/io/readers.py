"""The streaming readers: JSONL, plain text, CSV/TSV, Parquet and Excel, and :func:`read_items`,
which picks one by format name (a JSON array is :mod:`.json_array`'s)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Iterator, Sequence

from .files import _name, _open_source, _seek, parquet_file
from .formats import INPUT_FORMATS
from .items import InputError, Item, MAX_TEXT_CHARS, _item, _parse_json_line, generated_id
from .json_array import read_json_array


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
