"""``nazar evaluate`` and ``nazar agreement``: score models and compare annotators."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import EXIT_OK, CliError


def cmd_evaluate(args: argparse.Namespace) -> int:
    import dataclasses

    from ..evaluate.behaviour import run_behaviour
    from ..classifiers.base import load_model, trained_on
    from ..config import CVConfig, load_config
    from ..data import load_labelled
    from ..evaluate.benchmark import run_benchmark
    from ..evaluate import Report, SavedPredictions, evaluate
    from ..resources import default_model_dir

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
        from ..train import cross_validate, load_data, load_gold

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



def cmd_agreement(args: argparse.Namespace) -> int:
    from ..agreement import agreement, agreement_text, load_annotations

    result = agreement(load_annotations(args.a, id_field=args.id_field),
                       load_annotations(args.b, id_field=args.id_field))
    if not result["n_common"]:
        raise CliError(f"no id is in both {args.a} and {args.b}")
    print(agreement_text(result, str(args.a), str(args.b)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return EXIT_OK


def add_parser(sub) -> None:
    """Add this module's commands to the ``nazar`` subparsers ``sub``."""
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
