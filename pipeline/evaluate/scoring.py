"""Scoring models on labelled comments: :func:`evaluate` runs each model and the baselines on the same
comments, with bootstrap intervals, calibration, paired comparisons and, with ``by``, the figures within
each value of a record field (:func:`breakdown`)."""
from __future__ import annotations

from typing import Mapping, Sequence

from ..data import MISSING_VALUE, group_value
from ..errors import NazarError
from ..metrics import bootstrap_ci, calibration, field_metrics, paired_bootstrap
from ..schema import FIELDS, LABELS
from .report import Report


def _unique_name(name: str, taken: set[str]) -> str:
    out, k = name, 2
    while out in taken:
        out, k = f"{name}#{k}", k + 1
    taken.add(out)
    return out


def _system(model, role: str, name: str, records: Sequence[dict], fields: Sequence[str], n_boot: int,
            seed: int, n_bins: int) -> tuple[dict, dict]:
    texts = [r["text"] for r in records]
    norm = model.normalize(texts)
    proba = model.predict_proba_normalized(norm)
    pred = model.labels_from_proba(proba)
    info = model.describe()
    out_fields, errors = {}, []
    for f in fields:
        if f not in pred:
            continue
        gold = [r[f] for r in records]
        m = field_metrics(gold, pred[f], f)
        m["ci95"] = bootstrap_ci(gold, pred[f], f, n_boot=n_boot, seed=seed)
        cal = calibration(gold, proba[f], f, n_bins=n_bins)
        m["ece"], m["reliability"] = cal["ece"], cal["bins"]
        out_fields[f] = m
        for i, (g, p) in enumerate(zip(gold, pred[f])):
            if g != p:
                errors.append({"id": records[i]["id"], "field": f, "gold": g, "predicted": p,
                               "text": texts[i], "normalized": norm[i],
                               "proba": {lab: round(float(v), 4) for lab, v in zip(LABELS[f], proba[f][i])}})
    system = {"name": name, "kind": info["kind"], "version": info["version"], "role": role,
              "fields": out_fields, "errors": errors}
    return system, pred


def default_baselines(records: Sequence[dict], fields: Sequence[str] = FIELDS) -> list:
    """The majority-class baseline (fitted on these records' labels) and the keyword rule model."""
    from ..classifiers.baselines import KeywordModel, MajorityModel

    texts = [r["text"] for r in records]
    y = {f: [r[f] for r in records] for f in fields}
    return [MajorityModel(fields=fields, name="majority").fit(texts, y),
            KeywordModel(fields=fields, name="keyword").fit(texts, y)]


def evaluate(models: Sequence, records: Sequence[dict], gold_name: str = "", baselines: bool | Sequence = True,
             n_boot: int = 1000, seed: int = 0, n_bins: int = 10, fields: Sequence[str] | None = None,
             by: str | None = None) -> Report:
    """Score ``models`` (and baselines) on labelled ``records``.

    ``baselines``: True for :func:`default_baselines`, False for none, or a
    list of fitted models. Comparisons: every model against the first one,
    and every model against each baseline, on accuracy, macro-F1 and (stance
    fields) F_avg. ``by`` names a record field (``source``, ``kind``, ``year``): the same
    predictions are then also scored within each of its values (:func:`breakdown`).
    """
    records = list(records)
    if not records:
        raise ValueError("no records to evaluate")
    models = list(models)
    if fields is None:
        fields = [f for f in FIELDS if all(f in r for r in records)]
    if baselines is True:
        baselines = default_baselines(records, fields)
    baselines = list(baselines or [])
    taken: set[str] = set()
    systems, preds = [], []
    for role, group in (("model", models), ("baseline", baselines)):
        for m in group:
            sys_, pred = _system(m, role, _unique_name(m.name, taken), records, fields, n_boot, seed, n_bins)
            systems.append(sys_)
            preds.append(pred)
    comparisons = []
    pairs = [(i, 0) for i in range(1, len(models))]
    pairs += [(i, j) for i in range(len(models)) for j in range(len(models), len(systems))]
    for i, j in pairs:
        for f in fields:
            if f not in preds[i] or f not in preds[j]:
                continue
            gold = [r[f] for r in records]
            res = paired_bootstrap(gold, preds[i][f], preds[j][f], f, n_boot=n_boot, seed=seed)
            for metric in ("accuracy", "macro_f1", "f_avg"):
                if metric in res:
                    comparisons.append({"a": systems[i]["name"], "b": systems[j]["name"], "field": f,
                                        "metric": metric, **res[metric]})
    first = systems[0] if models else None
    model_info = {}
    if models:
        model_info = dict(models[0].describe())
    by_result = breakdown(records, by, {s["name"]: p for s, p in zip(systems, preds)}, fields) if by else None
    return Report(fields=first["fields"] if first else {}, model=model_info, gold=gold_name,
                  models=tuple(systems[:len(models)]), baselines=tuple(systems[len(models):]),
                  comparisons=tuple(comparisons), by=by_result,
                  settings={"n_boot": n_boot, "seed": seed, "calibration_bins": n_bins, "n": len(records)})


def breakdown(records: Sequence[dict], by: str, preds: Mapping[str, Mapping[str, Sequence[str]]],
              fields: Sequence[str]) -> dict:
    """Each system's predictions scored within each value of the record field ``by``.

    Returns ``{"field": by, "groups": [{"value", "n", "systems": {name: {field: metrics}}}]}``,
    the values in order of their first record. Per-value figures have no intervals: groups are
    often small, so read them beside ``n``.
    """
    index: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        index.setdefault(group_value(r, by), []).append(i)
    if len(index) == 1 and MISSING_VALUE in index:
        raise EvaluationError(f"no gold record has the field {by!r}, so --by {by} has nothing to break down")
    groups = []
    for value, idx in index.items():
        systems = {}
        for name, pred in preds.items():
            per_field = {}
            for f in fields:
                if f not in pred:
                    continue
                m = field_metrics([records[i][f] for i in idx], [pred[f][i] for i in idx], f)
                per_field[f] = {k: m[k] for k in BY_METRICS if k in m}
            systems[name] = per_field
        groups.append({"value": value, "n": len(idx), "systems": systems})
    return {"field": by, "groups": groups}


#: Metrics kept per value of a breakdown (per-class figures included).
BY_METRICS: tuple[str, ...] = ("n", "accuracy", "macro_f1", "f_avg", "per_class")


class EvaluationError(NazarError, ValueError):
    """An evaluation cannot be made as asked (e.g. a ``by`` field no record has)."""


def evaluate_model(model, records: Sequence[dict], gold_name: str = "", baselines: bool | Sequence = False,
                   n_boot: int = 1000, seed: int = 0) -> Report:
    """Predict ``records``' texts with ``model`` and score against their labels."""
    return evaluate([model], records, gold_name=gold_name, baselines=baselines, n_boot=n_boot, seed=seed,
                    fields=[f for f in model.fields if all(f in r for r in records)])
