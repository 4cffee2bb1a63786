"""The ``nazar`` command line: a thin layer over the importable jobs.

Exit codes: 0 success (labelling may still have written rejects: see the
summary), 1 the job failed (message on stderr), 2 bad usage.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """An expected failure: printed as ``nazar: error: ...`` with exit code 1."""


def _err(msg: str) -> None:
    print(f"nazar: error: {msg}", file=sys.stderr)


# -- normalize ------------------------------------------------------------------
def cmd_normalize(args: argparse.Namespace) -> int:
    from .normalize import Normalizer

    normalizer = Normalizer(digits=args.digits) if args.digits else Normalizer()
    if args.tokens:
        from .tokenize import words
    src = sys.stdin.buffer if args.input in (None, "-") else _open_in(args.input)
    dst = sys.stdout if args.output in (None, "-") else open(args.output, "w", encoding="utf-8")
    try:
        for raw in src:
            line = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", errors="replace")
            text = normalizer(line)
            if args.tokens:
                text = " ".join(tok.replace(" ", "_") for tok in words(text))
            text = text.replace("\r", " ").replace("\n", " ").replace("\u2028", " ").replace("\u2029", " ")
            dst.write(text + "\n")
    finally:
        if dst is not sys.stdout:
            dst.close()
        if src is not sys.stdin.buffer:
            src.close()
    return EXIT_OK


def _open_in(path: str):
    p = Path(path)
    if not p.is_file():
        raise CliError(f"input file not found: {path}")
    return p.open("rb")


# -- label --------------------------------------------------------------------------
def cmd_label(args: argparse.Namespace) -> int:
    from .label import LabelError, label_file

    try:
        summary = label_file(args.input, args.output, model=args.model, chunk_size=args.chunk_size,
                             force=args.force, progress=not args.quiet, text_field=args.text_field,
                             id_field=args.id_field, max_chars=args.max_chars)
    except LabelError as exc:
        raise CliError(str(exc)) from None
    print(summary.to_text(), file=sys.stderr)
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) + "\n",
                                      encoding="utf-8")
    return EXIT_OK


# -- evaluate -------------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    from .classifiers.base import ModelError, load_model, trained_on
    from .data import DataError, load_labelled
    from .evaluate import evaluate_model
    from .label import default_model_dir

    try:
        records = load_labelled(args.gold)
        model = load_model(args.model or default_model_dir())
    except (DataError, ModelError) as exc:
        raise CliError(str(exc)) from None
    report = evaluate_model(model, records, gold_name=str(args.gold))
    info = report.model
    print(f"model {info['name']} {info['version']} ({info['kind']}) on {args.gold} ({len(records)} comments)")
    print(report.to_table())
    if trained_on(model, args.gold):
        print("note: this model was trained on these very comments, so these figures are optimistic; "
              "see the cross-validated figures in its model card (README.md, metrics.json)", file=sys.stderr)
    if args.json:
        report.to_json(args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    return EXIT_OK


# -- train ------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_config
    from .classifiers.base import ModelError
    from .data import DataError
    from .train import TrainError, train

    try:
        config = load_config(args.config, args.set or [])
        out = args.output or Path("models") / config.name
        _, metrics = train(config, out, force=args.force, run_cv=not args.no_cv,
                           log=(lambda m: None) if args.quiet else None)
    except (ConfigError, DataError, TrainError, ModelError) as exc:
        raise CliError(str(exc)) from None
    cv = metrics.get("cv")
    if cv:
        print(f"{cv['repeats']} x {cv['folds']}-fold CV on the gold set (mean macro-F1 [95% CI]):")
        for kind, res in cv["results"].items():
            cells = []
            for f, m in res["fields"].items():
                lo, hi = m["macro_f1"]["ci95"]
                cells.append(f"{f} {m['macro_f1']['mean']:.3f} [{lo:.2f}, {hi:.2f}]")
            print(f"  {kind:<10} " + "  ".join(cells))
    print(f"model written to {out}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="nazar",
        description="Label Persian reader comments with their stance toward Iran's domestic messengers, "
                    "their stance toward Telegram, and their sentiment.",
        epilog="Run 'nazar COMMAND --help' for a command's options. Exit codes: 0 success, 1 failure, 2 bad usage.")
    parser.add_argument("--version", action="version", version=f"nazar {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("normalize", help="normalise text lines (one output line per input line)",
                       description="Normalise Persian text: one output line per input line.")
    p.add_argument("input", nargs="?", help="text file (default: standard input)")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--tokens", action="store_true", help="print the words of each line, separated by spaces")
    p.add_argument("--digits", choices=["latin", "persian", "keep"], help="digit script of the output")
    p.set_defaults(func=cmd_normalize)

    p = sub.add_parser("label", help="label a JSONL file of comments",
                       description="Label comments: JSONL records with id and text in, one labelled record "
                                   "per input record out, in input order. Rejected lines go to "
                                   "OUTPUT.rejects.jsonl with their reasons.")
    p.add_argument("input", help="JSONL input ('-' for standard input)")
    p.add_argument("-o", "--output", required=True, help="JSONL output file")
    p.add_argument("--model", help="model directory (default: the embedded default, models/default)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--chunk-size", type=int, default=512, help="records per batch (default: 512)")
    p.add_argument("--text-field", default="text", help="field holding the comment (default: text)")
    p.add_argument("--id-field", default="id", help="field holding the id (default: id; line number if absent)")
    p.add_argument("--max-chars", type=int, default=20000, help="reject longer texts (default: 20000)")
    p.add_argument("--summary", metavar="FILE", help="also write the run summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("evaluate", help="score a model against a labelled gold file",
                       description="Score a model on a labelled JSONL file: per field n, accuracy, macro-F1 "
                                   "and, for the stance fields, F_avg (mean F1 of FAVOR and AGAINST).")
    p.add_argument("--gold", required=True, help="labelled JSONL file (e.g. data/gold/seed.jsonl)")
    p.add_argument("--model", help="model directory (default: models/default)")
    p.add_argument("--json", metavar="OUT", help="also write the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="train a model from a YAML config",
                       description="Train a model from a YAML config: cross-validate on the gold set, fit on "
                                   "all data and write the model directory with config.yaml, metrics.json "
                                   "and a model card.")
    p.add_argument("config", help="YAML config (see configs/)")
    p.add_argument("-o", "--output", help="model directory (default: models/NAME)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config value, e.g. --set model.params.C=4 (repeatable)")
    p.add_argument("--force", action="store_true", help="replace an existing model directory")
    p.add_argument("--no-cv", action="store_true", help="skip cross-validation")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except CliError as exc:
        _err(str(exc))
        return EXIT_FAIL
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
