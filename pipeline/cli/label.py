"""``nazar label``: label a file of comments."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import EXIT_OK, CliError


def cmd_label(args: argparse.Namespace) -> int:
    from ..label import label_file

    summary = label_file(args.input, args.output, model=args.model, chunk_size=args.chunk_size,
                         force=args.force, progress=not args.quiet, text_field=args.text_field,
                         id_field=args.id_field, max_chars=args.max_chars, input_format=args.format,
                         truncate=args.truncate, resume=args.resume, engine=args.engine,
                         workers=args.workers, keep=args.keep or (), duplicates=args.duplicates,
                         out_format=args.output_format, rejects=args.rejects, by=args.by)
    print(summary.to_text(), file=sys.stderr)
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) + "\n",
                                      encoding="utf-8")
    if not summary.labelled:
        if not summary.read:
            raise CliError(f"nothing was labelled: {args.input} holds no records")
        top, n = max(summary.reject_reasons.items(), key=lambda kv: kv[1], default=("?", 0))
        raise CliError(f"nothing was labelled: all {summary.read} record(s) were rejected ({n} for: {top}; "
                       f"see {summary.rejects}); check --format, --text-field and --id-field")
    if args.strict and summary.rejected:
        raise CliError(f"{summary.rejected} record(s) rejected (--strict); see {summary.rejects}")
    return EXIT_OK


def add_parser(sub) -> None:
    """Add this module's commands to the ``nazar`` subparsers ``sub``."""
    from ..io import INPUT_FORMATS, OUTPUT_FORMATS

    p = sub.add_parser("label", help="label a file of comments (JSONL, CSV, TSV, Parquet, JSON, text, Excel)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Label comments: records with an id and a text in (JSONL, CSV, TSV, Parquet,\n"
                                   "a JSON array, plain text with one comment per line, or an Excel sheet; gzip,\n"
                                   "bzip2, xz or zstd compressed too), one labelled record per accepted input record out (JSONL, CSV,\n"
                                   "TSV or Parquet, by the output's extension), in input order. Records that cannot\n"
                                   "be labelled go to OUTPUT.rejects.jsonl with their line number (for a JSON array,\n"
                                   "their position in it), id and reason: read = labelled + rejected.\n"
                                   "A record without an id gets line-N (row-N in Parquet, item-N in a JSON array).\n\n"
                                   "Work in progress is kept in OUTPUT.parts/ until the output is complete: after\n"
                                   "an interruption (Ctrl-C, SIGTERM, kill -9, a full disk), run the same command\n"
                                   "with --resume to continue.\n\n"
                                   "Exit codes: 0 done (rejects, if any, are in the rejects file), 1 failure or\n"
                                   "nothing labelled (or, with --strict, any reject), 2 bad usage, 130 Ctrl-C,\n"
                                   "143 SIGTERM.")
    p.add_argument("input", help="input file; '-' for standard input (JSONL unless --format says otherwise)")
    p.add_argument("-o", "--output", required=True,
                   help="output file: .jsonl, .csv, .tsv or .parquet; '-' streams to standard output "
                        "(JSONL unless --output-format says otherwise; the summary stays on standard error)")
    p.add_argument("--output-format", choices=list(OUTPUT_FORMATS),
                   help="the output's format when its extension does not say it (always with -o -)")
    p.add_argument("--by", metavar="FIELD",
                   help="break the summary's counts down by this input field (e.g. source or date): "
                        "labelled records and label counts per value")
    p.add_argument("--rejects", metavar="FILE",
                   help="write the rejects here (default OUTPUT.rejects.jsonl; with -o - they are only "
                        "counted unless this is given)")
    p.add_argument("--format", choices=list(INPUT_FORMATS),
                   help="input format (default: from the input's extension; json: one array of records, "
                        "a .json file with one record per line is read as jsonl; text (.txt): one comment "
                        "per line, its id line-N, N its line number; xlsx: the first sheet, a header row "
                        "then one record per row, its id row-N, N the sheet's row number)")
    p.add_argument("--model", help="model directory (default: the embedded default, models/default)")
    p.add_argument("--force", action="store_true",
                   help="overwrite an existing output and discard an interrupted run's OUTPUT.parts/")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from OUTPUT.parts/ (refused if the input or model changed)")
    p.add_argument("--chunk-size", type=int, default=512, help="records per batch (default: 512)")
    p.add_argument("--text-field", default="text", help="field holding the comment (default: text)")
    p.add_argument("--id-field", default="id", help="field holding the id (default: id; line-N if absent, N the line number)")
    p.add_argument("--keep", action="append", metavar="FIELD",
                   help="copy this input field into each output record, after the id (repeatable: "
                        "--keep text --keep author); strings in CSV, TSV and Parquet outputs")
    p.add_argument("--max-chars", type=int, default=20000, help="reject longer texts (default: 20000)")
    p.add_argument("--truncate", action="store_true", help="cut texts longer than --max-chars instead of "
                                                           "rejecting them")
    p.add_argument("--duplicates", choices=["keep", "first", "reject"], default="keep",
                   help="records that share an id: keep them all and warn (default), keep the first and "
                        "reject later ones, or reject them all (reads the input twice; not from stdin)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any record was rejected")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local (default) or ray: a Ray cluster ($RAY_ADDRESS, else a local Ray runtime)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="ray engine: most model actors (default: the cluster's CPUs less one)")
    p.add_argument("--summary", metavar="FILE", help="also write the run summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_label)
