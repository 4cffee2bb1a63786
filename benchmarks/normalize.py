"""Benchmark: half-space restoration and throughput of our Normalizer.

Run from the repository root::

    python benchmarks/normalize.py [--texts N] [--repeat R] [--gold FILE ...] [--systems a,b]

shekar needs numpy 2 while hazm 0.10 pins numpy 1.24, so compare it from an
environment of its own: ``python -m venv /tmp/shk && /tmp/shk/bin/pip install shekar &&
/tmp/shk/bin/python benchmarks/normalize.py --systems shekar``.

1. Half-space F1: every sentence of ``benchmarks/data/halfspace_gold.txt`` and
   ``benchmarks/data/halfspace_independent.txt`` (hand-written, correct ZWNJ;
   the second was written apart from the normaliser's rules) is stripped of its ZWNJs in two ways, as real
   dumps do - ZWNJ -> space and ZWNJ -> nothing - and each normaliser has to
   put them back. A ZWNJ counts at its position among the Persian letters of
   the sentence; precision, recall and F1 are pooled over both variants.
2. Throughput: texts per second of our Normalizer and of hazm's Normalizer
   alone over the same texts (real reviews read at run time from
   ``../shared/data/external/*/*.jsonl``; the gold sentences when those are
   missing), and the ratio.

Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import difflib
import glob
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

ZWNJ = "\u200c"
GOLD = os.path.join(ROOT, "benchmarks", "data", "halfspace_gold.txt")
INDEPENDENT = os.path.join(ROOT, "benchmarks", "data", "halfspace_independent.txt")


def _fold(ch: str) -> str:
    return {"ي": "ی", "ك": "ک", "ى": "ی"}.get(ch, ch)


def _skeleton(text: str) -> tuple[str, set[int]]:
    """Persian letters of ``text`` and the letter indices that a ZWNJ precedes."""
    letters: list[str] = []
    zw: set[int] = set()
    pending = False
    for ch in text:
        if ch == ZWNJ:
            pending = True
            continue
        if "\u0621" <= ch <= "\u06d3" and not ("\u064b" <= ch <= "\u065f") and ch != "\u0640":
            if pending and letters:
                zw.add(len(letters))
            letters.append(_fold(ch))
            pending = False
        elif not ch.isspace():
            pending = False
        else:
            pending = False
    return "".join(letters), zw


def _zwnj_score(gold: str, pred: str) -> tuple[int, int, int]:
    g_sk, g_zw = _skeleton(gold)
    p_sk, p_zw = _skeleton(pred)
    if g_sk != p_sk:  # the normaliser changed letters: map positions through an alignment
        mapping: dict[int, int] = {}
        sm = difflib.SequenceMatcher(None, p_sk, g_sk, autojunk=False)
        for a, b, size in sm.get_matching_blocks():
            for k in range(size + 1):
                mapping[a + k] = b + k
        p_zw = {mapping[p] for p in p_zw if p in mapping}
    tp = len(g_zw & p_zw)
    return tp, len(p_zw - g_zw), len(g_zw - p_zw)


def load_gold(path: str = GOLD) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [ln.strip() for ln in fh if ln.strip() and not ln.startswith("#")]


def halfspace_f1(norm, gold: list[str]) -> dict[str, float]:
    tp = fp = fn = 0
    for sent in gold:
        for stripped in (sent.replace(ZWNJ, " "), sent.replace(ZWNJ, "")):
            a, b, c = _zwnj_score(sent, norm(stripped))
            tp, fp, fn = tp + a, fp + b, fn + c
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}


def load_texts(limit: int) -> list[str]:
    texts: list[str] = []
    pattern = os.path.join(ROOT, "..", "shared", "data", "external", "*", "*.jsonl")
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                text = row.get("text") or row.get("comment") or row.get("review") or ""
                if isinstance(text, str) and text.strip():
                    texts.append(text)
                if len(texts) >= limit:
                    return texts
    return texts


def throughput(fn, texts: list[str], repeat: int) -> float:
    fn(texts[0])  # warm-up (loads lexicons)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for t in texts:
            fn(t)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--texts", type=int, default=3000, help="texts for the throughput run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gold", action="append", metavar="FILE",
                    help="hand-restored sentences, one per line, '#' comments (repeatable; default: "
                         "benchmarks/data/halfspace_gold.txt and halfspace_independent.txt)")
    ap.add_argument("--systems", default="nazar,hazm,parsivar,shekar",
                    help="comma-separated normalisers to compare (default: %(default)s; those not installed are skipped)")
    args = ap.parse_args()

    wanted = set(args.systems.split(","))
    systems = {}
    ours = hz = None
    if "nazar" in wanted:
        from pipeline.normalize import Normalizer

        ours = Normalizer()
        systems["nazar"] = ours.normalize
    if "hazm" in wanted:
        try:
            import hazm

            hz = hazm.Normalizer()
            systems["hazm"] = hz.normalize
        except Exception as exc:  # pragma: no cover
            print(f"hazm unavailable: {exc}")
    if "parsivar" in wanted:
        try:
            from parsivar import Normalizer as PNormalizer

            systems["parsivar"] = PNormalizer().normalize
        except Exception as exc:  # pragma: no cover
            print(f"parsivar unavailable: {exc}")
    if "shekar" in wanted:
        try:  # shekar needs numpy 2, so it usually lives in another environment than hazm 0.10
            from shekar import Normalizer as SNormalizer  # type: ignore

            sk = SNormalizer()
            systems["shekar"] = sk.normalize if hasattr(sk, "normalize") else sk
        except Exception as exc:
            print(f"shekar unavailable ({exc.__class__.__name__}); run this script with a Python "
                  "that has shekar installed and --systems shekar")

    gold_files = args.gold or [GOLD, INDEPENDENT]
    for path in gold_files:
        gold = load_gold(path)
        print(f"half-space restoration on {os.path.relpath(path, ROOT)}: {len(gold)} hand-restored sentences "
              "x 2 variants (ZWNJ->space, ZWNJ->nothing)")
        print(f"{'system':10} {'P':>6} {'R':>6} {'F1':>6}   tp/fp/fn")
        for name, fn in systems.items():
            s = halfspace_f1(fn, gold)
            print(f"{name:10} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f}   {s['tp']}/{s['fp']}/{s['fn']}")
        print()

    texts = load_texts(args.texts) or load_gold(GOLD) * 20
    print(f"\nthroughput on {len(texts)} texts (best of {args.repeat})")
    for name, fn in systems.items():
        if name not in ("nazar", "hazm"):
            print(f"{name:17s}: {throughput(fn, texts, args.repeat):9.1f} texts/s")
    if ours is None:
        return
    ours_tps = throughput(ours.normalize, texts, args.repeat)
    print(f"nazar Normalizer : {ours_tps:9.1f} texts/s")
    if hz is not None:
        hz_tps = throughput(hz.normalize, texts, args.repeat)
        print(f"hazm Normalizer  : {hz_tps:9.1f} texts/s")
        print(f"ratio nazar/hazm : {ours_tps / hz_tps:9.2f}")


if __name__ == "__main__":
    main()
