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

The package's modules, lowest first: :mod:`.items` (the record or reject a reader yields),
:mod:`.files` (compression, sources, atomic writes, YAML), :mod:`.formats`, :mod:`.json_array`,
:mod:`.readers` and :mod:`.writers`. Import from ``pipeline.io``.
"""
from __future__ import annotations

from .files import COMPRESSIONS, atomic_write_text, compression, parquet_file, read_yaml_mapping
from .formats import INPUT_FORMATS, OUTPUT_FORMATS, first_json_byte, input_format, input_total, output_format, sniff
from .items import MAX_TEXT_CHARS, InputError, Item, generated_id
from .json_array import read_json_array
from .readers import read_csv, read_items, read_jsonl, read_parquet, read_text, read_xlsx
from .writers import (CsvWriter, JsonlWriter, ParquetWriter, StreamWriter, flat_columns, flat_value, flatten,
                      open_writer, prob_column)

__all__ = [
    "Item", "InputError", "MAX_TEXT_CHARS", "INPUT_FORMATS", "OUTPUT_FORMATS",
    "generated_id", "read_jsonl", "read_text", "read_csv", "read_parquet", "read_json_array", "read_xlsx",
    "read_items", "input_format", "output_format", "input_total", "first_json_byte", "parquet_file",
    "JsonlWriter", "CsvWriter", "ParquetWriter", "StreamWriter", "open_writer", "flat_columns", "flatten",
    "flat_value", "prob_column", "atomic_write_text", "COMPRESSIONS", "compression", "sniff",
    "read_yaml_mapping",
]
