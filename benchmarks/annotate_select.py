"""Speed and peak memory of `nazar annotate select` beside `nazar label`, on dumps of growing size.

Builds dumps of N comments (benchmarks/label.py's generator: perturbed gold and synthetic
texts, a share repeated), then for each runs, as child processes with the same TF-IDF model
(trained here on the gold and synthetic comments, or --model DIR):

* the baseline, `nazar label DUMP -o OUT` (labels every comment, writes every record);
* `nazar annotate select DUMP -n BATCH -o BATCH.jsonl` (labels every comment, keeps two
  bounded pools, picks the batch).

It prints rows/s and peak RSS of both, the ratio select/label of their speeds, and the
growth of select's peak memory from the smallest dump to the largest (flat when the pools
stay bounded: the dump is never held in memory).

    python benchmarks/annotate_select.py                          # 10k and 100k comments, a batch of 200
    python benchmarks/annotate_select.py --sizes 10000 --batch 500 --strategy uncertainty
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from label import _WRAPPER, ROOT, build_dump, run_label, train_tfidf  # noqa: E402


def run_select(dump: Path, out: Path, model: Path, n: int, strategy: str) -> dict:
    import json

    cmd = [sys.executable, "-m", "pipeline", "annotate", "select", str(dump), "-n", str(n), "-o", str(out),
           "--model", str(model), "--strategy", strategy, "--force", "-q"]
    res = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    info = json.loads(res.stdout)
    if info["rc"] != 0:
        raise SystemExit(f"nazar annotate select failed:\n{info['stderr']}")
    chosen = sum(1 for line in out.read_text(encoding="utf-8").splitlines() if line.strip())
    return {"seconds": info["seconds"], "peak_rss_mb": info["maxrss_kb"] / 1024, "chosen": chosen,
            "summary": info["stderr"].strip().splitlines()[-1] if info["stderr"].strip() else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--strategy", default="mixed", choices=["mixed", "uncertainty", "diverse", "random"])
    ap.add_argument("--repeat", type=float, default=0.3, help="share of repeated texts in the dumps")
    ap.add_argument("--model", type=Path, help="model directory (default: a TF-IDF model trained here)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model or train_tfidf(tmp / "model")
        rows = []
        for n in args.sizes:
            dump = tmp / f"dump-{n}.jsonl"
            t0 = time.perf_counter()
            distinct = build_dump(dump, n, args.repeat)
            print(f"dump of {n} comments ({distinct} distinct texts) built in {time.perf_counter() - t0:.0f} s",
                  flush=True)
            base = run_label(dump, tmp / f"labelled-{n}.jsonl", model, "local", [])
            sel = run_select(dump, tmp / f"batch-{n}.jsonl", model, args.batch, args.strategy)
            rows.append((n, base, sel))
            print(f"  label:  {n / base['seconds']:8.0f} rows/s  peak RSS {base['peak_rss_mb']:6.0f} MB", flush=True)
            print(f"  select: {n / sel['seconds']:8.0f} rows/s  peak RSS {sel['peak_rss_mb']:6.0f} MB  "
                  f"({sel['chosen']} chosen; {sel['summary']})", flush=True)
        print(f"\n{'comments':>9} {'label rows/s':>13} {'select rows/s':>14} {'select/label':>13} "
              f"{'label MB':>9} {'select MB':>10}")
        for n, base, sel in rows:
            print(f"{n:>9} {n / base['seconds']:>13.0f} {n / sel['seconds']:>14.0f} "
                  f"{base['seconds'] / sel['seconds']:>13.2f} {base['peak_rss_mb']:>9.0f} {sel['peak_rss_mb']:>10.0f}")
        if len(rows) > 1:
            first, last = rows[0], rows[-1]
            print(f"\nselect's peak RSS at {last[0]} comments / at {first[0]}: "
                  f"{last[2]['peak_rss_mb'] / first[2]['peak_rss_mb']:.2f} "
                  f"(the dump grew {last[0] / first[0]:.0f}x); model: {model}, batch {args.batch}, {args.strategy}")


if __name__ == "__main__":
    main()
