"""How well `nazar annotate audit` finds label errors: planted flips in a gold file, found or not.

Copies the gold records, flips a share of the labels of each field to another label
(seeded), runs :func:`pipeline.annotate.audit.audit` on the copy and prints, per field and
per value of ``--by`` (e.g. ``kind``, the source), the planted flips, the flags, the recall
of the flips (flagged / planted) and the precision (planted among the flags) beside the
precision of flagging the same number of labels at random (the planted share: the baseline).
Flags on labels that were not flipped are not all wrong: some are the file's own errors.

    python benchmarks/annotate_audit.py                                 # data/gold/seed.jsonl, TF-IDF
    python benchmarks/annotate_audit.py --gold ../shared/data/real/posts.jsonl --by kind
    python benchmarks/annotate_audit.py --config configs/default.yaml --flip 0.05
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from pipeline.annotate.audit import audit
    from pipeline.annotate.records import read_records
    from pipeline.config import load_config
    from pipeline.data import group_value
    from pipeline.schema import FIELDS, LABELS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gold", default=str(ROOT / "data" / "gold" / "seed.jsonl"))
    ap.add_argument("--config", default=str(ROOT / "configs" / "tfidf.yaml"))
    ap.add_argument("--flip", type=float, default=0.1, help="share of each field's labels flipped (default: 0.1)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--by", help="also break the figures down by this record field (e.g. kind)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    records = read_records(args.gold)
    planted: set[tuple[str, str]] = set()
    for f in FIELDS:
        labelled = [r for r in records if r.get(f) is not None]
        for r in rng.sample(labelled, max(1, round(args.flip * len(labelled)))):
            r[f] = rng.choice([x for x in LABELS[f] if x != r[f]])
            planted.add((r["id"], f))
    config = load_config(args.config, ["data.gold=[]", "data.extra=[]"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flipped.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        t0 = time.perf_counter()
        report = audit(path, config=config, folds=args.folds, seed=args.seed)
        seconds = time.perf_counter() - t0
    flagged = {(flag["id"], f) for flag in report.flags for f in flag["flagged"]}
    group = {r["id"]: (group_value(r, args.by) if args.by else "all") for r in records}
    n_by = defaultdict(int)
    for r in records:
        n_by[group[r["id"]]] += 1
    print(f"{Path(args.gold).name}: {len(records)} records, {args.flip:.0%} of each field's labels flipped "
          f"(seed {args.seed}); {report.folds}-fold audit of {report.kind!r} ({args.config}) in {seconds:.0f} s\n")
    header = f"{'group':<18} {'field':<16} {'n':>5} {'planted':>8} {'flagged':>8} {'recall':>7} {'precision':>10} {'random':>7}"
    print(header)
    groups = ["all"] + (sorted(n_by) if args.by else [])
    for g in groups:
        ids = {r["id"] for r in records if g == "all" or group[r["id"]] == g}
        for f in FIELDS:
            p = {k for k in planted if k[1] == f and k[0] in ids}
            fl = {k for k in flagged if k[1] == f and k[0] in ids}
            n = len(ids)
            recall = len(p & fl) / len(p) if p else float("nan")
            precision = len(p & fl) / len(fl) if fl else float("nan")
            base = len(p) / n if n else float("nan")
            print(f"{str(g)[:18]:<18} {f:<16} {n:>5} {len(p):>8} {len(fl):>8} {recall:>7.2f} {precision:>10.2f} "
                  f"{base:>7.2f}")


if __name__ == "__main__":
    main()
