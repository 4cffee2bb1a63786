"""``nazar annotate``: the annotation loop's commands (select, export, import, label, merge, audit)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import EXIT_OK, EXIT_USAGE, CliError


def _write_rejects(path: Path, rejects: list[dict]) -> None:
    from ..annotate.records import write_jsonl

    if rejects:
        write_jsonl(path, rejects)
    elif path.exists():
        path.unlink()


def _reject_reasons(rejects: list[dict]) -> str:
    from collections import Counter

    top = Counter(r["reason"] for r in rejects).most_common(3)
    return "; ".join(f"{n} {reason}" for reason, n in top)


def cmd_annotate_select(args: argparse.Namespace) -> int:
    from ..annotate.records import check_new_output, write_jsonl
    from ..annotate.select import select
    from ..io import input_format, input_total
    from ..label.labeller import _Progress, rejects_path

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
    from ..annotate.exchange import write_label_studio, write_sheet
    from ..annotate.records import check_new_output, read_records
    from ..schema import FIELDS

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
    from ..annotate.exchange import read_label_studio, read_sheet
    from ..annotate.records import check_new_output, read_records, slug, write_jsonl
    from ..label import rejects_path

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
    from ..annotate.merge import agreement_text, merge_files
    from ..annotate.records import check_new_output, write_jsonl

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
    from ..annotate.audit import audit, audit_text
    from ..annotate.records import check_new_output, write_jsonl

    out = check_new_output(args.output, args.force, args.gold) if args.output else None
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    report = audit(args.gold, config=args.config, folds=args.folds, seed=args.seed, progress=log)
    print(audit_text(report, top=args.top))
    if out:
        write_jsonl(out, report.flags)
        print(f"{len(report.flags)} flagged records, ranked, written to {out}", file=sys.stderr)
    return EXIT_OK


def cmd_annotate_label(args: argparse.Namespace) -> int:
    from ..annotate.terminal import label_batch

    label_batch(args.batch, args.output, annotator=args.annotator, reorder=args.visual)
    return EXIT_OK


def add_parser(sub) -> None:
    """Add this module's commands to the ``nazar`` subparsers ``sub``."""
    from ..io import INPUT_FORMATS

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
