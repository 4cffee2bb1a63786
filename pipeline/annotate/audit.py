"""Find likely label errors in a gold file from cross-validated predictions.

:func:`audit` trains the model a config describes on k-1 folds of the gold records and
predicts the held-out fold, so every record gets probabilities from a model that never saw
its label. A label is flagged the way confident learning does it (Northcutt et al., 2021):
per field and class ``k`` the threshold ``t_k`` is the mean predicted probability of ``k``
among the records labelled ``k``; a record labelled ``y`` is flagged when some other class
``j`` reaches its own threshold (``p_j ≥ t_j``) and is more probable than the given label,
``j`` being the most probable such class, while the given label falls short of its own
threshold (``p_y < t_y``). Flags are ranked by the margin
``p_j − p_y``: the most confident disagreements first.

A flag is a question for a person, not a verdict: the model is wrong more often than the
annotators. Review the top of the report, fix the labels that are wrong, and leave the rest.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..schema import LABELS

__all__ = ["AuditReport", "audit", "confident_flags", "audit_text"]


@dataclass
class AuditReport:
    """The flagged records, ranked (most confident disagreement first), and what was audited."""

    flags: list[dict] = field(default_factory=list)
    n: int = 0
    folds: int = 0
    kind: str = ""
    thresholds: dict = field(default_factory=dict)
    per_field: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def confident_flags(proba: np.ndarray, given: Sequence[str | None], classes: Sequence[str]) -> tuple[list, dict]:
    """``([(row, suggested, p_given, p_suggested)], thresholds)`` for one field (see the module docstring).

    ``proba``: out-of-fold probabilities, columns in ``classes`` order; rows whose ``given``
    label is ``None`` are neither scored nor used for the thresholds.
    """
    proba = np.asarray(proba, dtype=np.float64)
    index = {c: k for k, c in enumerate(classes)}
    rows = [i for i, g in enumerate(given) if g is not None]
    thresholds = {}
    for c, k in index.items():
        members = [i for i in rows if given[i] == c]
        # A class nobody was given cannot be confidently suggested.
        thresholds[c] = float(proba[members, k].mean()) if members else float("inf")
    t = np.array([thresholds[c] for c in classes])
    flags = []
    for i in rows:
        y = index[given[i]]
        p = proba[i]
        if p[y] >= t[y]:
            continue
        above = [j for j in range(len(classes)) if j != y and p[j] >= t[j] and p[j] > p[y]]
        if not above:
            continue
        j = max(above, key=lambda j: p[j])
        flags.append((i, classes[j], float(p[y]), float(p[j])))
    return flags, thresholds


def audit(gold: str | Path | Sequence[str | Path], config=None, folds: int = 5, seed: int | None = None,
          progress: Callable[[str], None] | None = None) -> AuditReport:
    """Flag likely label errors in the gold file(s) with ``folds``-fold out-of-fold predictions.

    ``config``: a :class:`~pipeline.config.TrainConfig` or the path of a YAML config (default:
    the built-in defaults with a TF-IDF model: fast, and on planted label flips at least as
    good as the encoder ensemble, see ``benchmarks/annotate_audit.py``); its ``data.extra``
    files join every fold's training data, its ``cv.group_by`` keeps pages whole across
    folds. ``seed`` defaults to the config's ``cv.seed``.
    """
    from ..config import CVConfig, TrainConfig, load_config
    from ..data import labels_of
    from ..train import _cv_splits, build_model, check_model_params, cv_groups, load_data
    from . import AnnotateError
    from .records import read_records

    if config is None:
        config = load_config(None, ["model.kind=tfidf", "data.gold=[]"])
    elif not isinstance(config, TrainConfig):
        config = load_config(config)
    if folds < 2:
        raise AnnotateError(f"folds must be at least 2, got {folds}")
    check_model_params(config)
    fields = config.data.fields
    paths = [gold] if isinstance(gold, (str, Path)) else list(gold)
    records: list[dict] = []
    for p in paths:
        for rec in read_records(p):
            if all(rec.get(f) is None for f in fields):
                continue
            records.append(dict(rec, _file=str(p)))
    if len(records) < 2 * folds:
        raise AnnotateError(f"{len(records)} labelled record(s) in {', '.join(map(str, paths))}: too few for "
                            f"{folds}-fold cross-validation (need at least {2 * folds})")
    cv = dataclasses.replace(config.cv or CVConfig(), folds=folds, repeats=1,
                             seed=(config.cv or CVConfig()).seed if seed is None else seed)
    filled = [dict(r, **{f: r.get(f) or "NONE?" for f in fields}) for r in records]  # strata need a value
    with warnings.catch_warnings():  # a class rarer than the folds: the split says so, the audit still runs
        warnings.simplefilter("ignore", UserWarning)
        splits = _cv_splits(cv, filled, fields, cv_groups(records, cv.group_by))
    extra = load_data(config, config.data.extra)
    texts = [r["text"] for r in records]
    given = labels_of(records, fields)
    extra_labels = labels_of(extra, fields)
    proba = {f: np.zeros((len(records), len(LABELS[f]))) for f in fields}
    for n_fold, (tr, te) in enumerate(splits, 1):
        model = build_model(config).fit([texts[j] for j in tr] + [r["text"] for r in extra],
                                        {f: [given[f][j] for j in tr] + extra_labels[f] for f in fields})
        p = model.predict_proba([texts[j] for j in te])
        for f in fields:
            cols = [LABELS[f].index(c) for c in model.classes_[f]]
            proba[f][np.ix_(te, cols)] = p[f]
        if progress:
            progress(f"fold {n_fold}/{len(splits)}")
    report = AuditReport(n=len(records), folds=len(splits), kind=config.model.kind)
    by_row: dict[int, dict] = {}
    for f in fields:
        flags, thresholds = confident_flags(proba[f], given[f], LABELS[f])
        report.thresholds[f] = {c: (None if v == float("inf") else round(v, 4)) for c, v in thresholds.items()}
        labelled = sum(g is not None for g in given[f])
        report.per_field[f] = {"labelled": labelled, "flagged": len(flags),
                               "by_given": dict(Counter(given[f][i] for i, *_ in flags))}
        for i, suggested, p_given, p_suggested in flags:
            entry = by_row.setdefault(i, {"fields": {}})
            entry["fields"][f] = {"given": given[f][i], "suggested": suggested, "p_given": round(p_given, 4),
                                  "p_suggested": round(p_suggested, 4),
                                  "margin": round(p_suggested - p_given, 4)}
    for i, entry in by_row.items():
        rec = records[i]
        flag = {"id": rec["id"], "text": rec["text"], "file": rec["_file"],
                "score": max(v["margin"] for v in entry["fields"].values()), "flagged": entry["fields"],
                "labels": {f: rec.get(f) for f in fields},
                "probs": {f: dict(zip(LABELS[f], np.round(proba[f][i], 4).tolist())) for f in fields}}
        report.flags.append(flag)
    report.flags.sort(key=lambda r: (-r["score"], r["id"]))
    for rank, flag in enumerate(report.flags, 1):
        flag["rank"] = rank
    return report


def audit_text(report: AuditReport, top: int = 20, width: int = 70) -> str:
    """The per-field counts and the ``top`` flags, as ``nazar annotate audit`` prints them."""
    lines = [f"{report.folds}-fold out-of-fold predictions of {report.kind!r} on {report.n} gold records", "",
             f"{'field':<16} {'labelled':>8} {'flagged':>8}  flagged by given label"]
    for f, s in report.per_field.items():
        by = ", ".join(f"{k} {v}" for k, v in sorted(s["by_given"].items())) or "-"
        lines.append(f"{f:<16} {s['labelled']:>8} {s['flagged']:>8}  {by}")
    if report.flags:
        lines += ["", f"most confident disagreements (top {min(top, len(report.flags))} of {len(report.flags)}):"]
        for flag in report.flags[:top]:
            what = "; ".join(f"{f} {v['given']} -> {v['suggested']}? (p {v['p_given']:.2f} vs {v['p_suggested']:.2f})"
                             for f, v in flag["flagged"].items())
            text = " ".join(flag["text"].split())
            text = text if len(text) <= width else text[: width - 1] + "…"
            lines.append(f"{flag['rank']:>3}. {flag['id']}: {what}")
            lines.append(f"     {text}")
    else:
        lines += ["", "no label is flagged"]
    return "\n".join(lines)
