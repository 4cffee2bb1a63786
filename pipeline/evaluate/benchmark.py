"""Sentiment benchmarks: a model's sentiment head scored on external review corpora.

A benchmark config (``configs/benchmarks/sentiment.yaml``) names the corpora, where they are
and how their labels map onto POSITIVE/NEGATIVE; :func:`run_benchmark` scores the head on each
(weighted F1 as ParsBERT reports it, with a bootstrap interval) and :func:`benchmark_text`
prints the table beside the published figures. The corpora are research data: they are read
from where the config points and never copied.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..classifiers.base import file_sha256
from ..data import text_digest
from ..errors import NazarError
from ..metrics import bootstrap_ci, field_metrics
from ..resources import CHECKOUT_DIR
from ..schema import LABELS
from ..tables import benchmark_text

__all__ = ["BenchmarkError", "load_benchmark", "run_benchmark", "benchmark_text"]


class BenchmarkError(NazarError, ValueError):
    """A benchmark config is missing or malformed."""


def _resolve(path: str, config_dir: Path) -> Path:
    """A corpus path: as given (absolute, or relative to the working directory), else
    relative to the repository root, else to the config's folder."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    for base in (CHECKOUT_DIR, config_dir):
        if (base / p).exists():
            return base / p
    return p


def load_benchmark(path: str | Path) -> dict:
    """Read and check a benchmark config (see ``configs/benchmarks/sentiment.yaml``)."""
    from ..io import read_yaml_mapping

    path = Path(path)
    data = read_yaml_mapping(path, "benchmark config", BenchmarkError)
    if not isinstance(data.get("corpora"), list) or not data["corpora"]:
        raise BenchmarkError(f"{path}: needs a non-empty 'corpora' list")
    for i, c in enumerate(data["corpora"]):
        where = f"{path}: corpora[{i}]"
        if not isinstance(c, dict) or not c.get("name") or not c.get("path"):
            raise BenchmarkError(f"{where}: needs 'name' and 'path'")
        labels = c.get("labels")
        if not isinstance(labels, dict) or not labels:
            raise BenchmarkError(f"{where} ({c['name']}): needs a 'labels' mapping to POSITIVE/NEGATIVE")
        bad = sorted({str(v) for v in labels.values()} - {"POSITIVE", "NEGATIVE"})
        if bad:
            raise BenchmarkError(f"{where} ({c['name']}): labels may map only to POSITIVE or NEGATIVE, not {bad}")
    if data.get("metric", "weighted_f1") != "weighted_f1":
        raise BenchmarkError(f"{path}: metric must be weighted_f1")
    data["_dir"] = str(path.resolve().parent)
    data["_path"] = str(path)
    return data


def _read_corpus(path: Path, corpus: dict) -> tuple[list[str], list[str], int]:
    text_field, label_field = corpus.get("text_field", "text"), corpus.get("label_field", "label")
    mapping = {str(k): str(v) for k, v in corpus["labels"].items()}
    texts, gold, dropped = [], [], 0
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BenchmarkError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(rec, dict) or label_field not in rec or not isinstance(rec.get(text_field), str):
                raise BenchmarkError(f"{path}:{lineno}: needs a string {text_field!r} and a {label_field!r}")
            lab = mapping.get(str(rec[label_field]))
            if lab is None or not rec[text_field].strip():
                dropped += 1
                continue
            texts.append(rec[text_field])
            gold.append(lab)
    return texts, gold, dropped


def _trained_rows(model, path: Path) -> tuple[bool, set[str] | None]:
    """Whether ``model`` was trained on the file at ``path`` (by content) and, if it trained on a sample
    of it, the digests of the sampled texts (None: on the whole file)."""
    digest = file_sha256(path)
    files = [f for role in (getattr(model, "training_info", None) or {}).values() for f in role
             if f.get("sha256") == digest]
    if not files:
        return False, set()
    if any("sampled" not in f for f in files):
        return True, None
    return True, {d for f in files for d in f["sampled"]}


def run_benchmark(model, config: str | Path | dict, n_boot: int = 1000, seed: int = 0,
                  log=None) -> dict:
    """Score ``model``'s sentiment head on each corpus of a benchmark config.

    Each corpus's labels are mapped to POSITIVE/NEGATIVE (labels not in the
    mapping are dropped); with ``max_rows`` a fixed random sample of that many
    rows is scored. The decision is binary: POSITIVE when the model's
    P(POSITIVE) ≥ P(NEGATIVE), else NEGATIVE, whatever P(NEUTRAL) is. The
    score is the weighted F1 over POSITIVE and NEGATIVE (×100 in the text
    table), with a 95% bootstrap interval; ``neutral_share`` is the share of
    comments whose most probable label is NEUTRAL, and ``strict_weighted_f1``
    the score when those count as errors. A corpus whose file is missing or
    unreadable is skipped with its reason. Rows the model was trained on are left out (``excluded``:
    a file it sampled, ``max_rows`` in its training config, is recognised by its texts' digests in
    ``model.json``); a corpus it was trained on whole is skipped.
    """
    cfg = config if isinstance(config, dict) else load_benchmark(config)
    if "sentiment" not in getattr(model, "fields", ()):
        raise BenchmarkError("the model has no sentiment field to benchmark")
    max_rows = cfg.get("max_rows")
    out = {"name": cfg.get("name", "benchmark"), "config": cfg.get("_path", ""), "metric": "weighted_f1",
           "max_rows": max_rows, "model": model.describe(), "corpora": []}
    idx_pos, idx_neg = LABELS["sentiment"].index("POSITIVE"), LABELS["sentiment"].index("NEGATIVE")
    for corpus in cfg["corpora"]:
        entry = {"name": corpus["name"], "path": str(corpus["path"]), "published": corpus.get("published"),
                 "published_note": corpus.get("published_note", "")}
        out["corpora"].append(entry)
        path = _resolve(str(corpus["path"]), Path(cfg.get("_dir", ".")))
        if not path.is_file():
            entry.update(status="skipped", reason=f"corpus file not found: {corpus['path']}")
            if log:
                log(f"benchmark {corpus['name']}: skipped, corpus file not found: {corpus['path']}")
            continue
        try:
            texts, gold, dropped = _read_corpus(path, corpus)
        except (BenchmarkError, OSError, UnicodeDecodeError) as exc:
            entry.update(status="skipped", reason=str(exc))
            if log:
                log(f"benchmark {corpus['name']}: skipped, {exc}")
            continue
        trained, sampled = _trained_rows(model, path)
        excluded = 0
        if trained and sampled is None:
            entry.update(status="skipped", reason="the model was trained on this whole file")
            if log:
                log(f"benchmark {corpus['name']}: skipped, the model was trained on this whole file")
            continue
        if sampled:
            kept = [i for i, text in enumerate(texts) if text_digest(text) not in sampled]
            excluded = len(texts) - len(kept)
            texts, gold = [texts[i] for i in kept], [gold[i] for i in kept]
        if not texts:
            entry.update(status="skipped", reason="no rows with a mapped label")
            continue
        rows = len(texts)
        if max_rows and rows > int(max_rows):
            keep = np.sort(np.random.default_rng(int(cfg.get("seed", 0))).choice(rows, int(max_rows), replace=False))
            texts, gold = [texts[i] for i in keep], [gold[i] for i in keep]
        if log:
            left = f" ({excluded} the model was trained on left out)" if excluded else ""
            log(f"benchmark {corpus['name']}: scoring {len(texts)} of {rows} comments{left}")
        proba = np.asarray(model.predict_proba(texts)["sentiment"])
        binary = ["POSITIVE" if p[idx_pos] >= p[idx_neg] else "NEGATIVE" for p in proba]
        strict = [LABELS["sentiment"][i] for i in proba.argmax(axis=1)]
        m = field_metrics(gold, binary, "sentiment")
        ci = bootstrap_ci(gold, binary, "sentiment", n_boot=n_boot, seed=seed)
        entry.update(status="ok", n=len(texts), rows=rows, dropped=dropped, excluded=excluded,
                     weighted_f1=m["weighted_f1"], ci95=ci["weighted_f1"], accuracy=m["accuracy"],
                     macro_f1=m["macro_f1"], neutral_share=sum(s == "NEUTRAL" for s in strict) / len(strict),
                     strict_weighted_f1=field_metrics(gold, strict, "sentiment")["weighted_f1"])
    return out


