"""Running models on labelled comments and reporting the result.

:func:`evaluate` scores one or more models (or saved predictions,
:class:`SavedPredictions`) on the same comments, beside the majority-class and
keyword baselines: the metrics of :mod:`pipeline.metrics` per field, 95% bootstrap
intervals over comments (``ci95``), the expected calibration error of the top-label
probability (``ece``, with the ``reliability`` bins), and paired-bootstrap
comparisons between systems (``comparisons``: the difference of a metric, its
95% interval and a two-sided p-value). Every system is resampled with the same
comment indices, so differences are paired. The result is a :class:`Report`
(text, JSON, Markdown; HTML through :mod:`pipeline.report`); :mod:`pipeline.benchmark`
scores the sentiment head on external corpora. The metric functions are
re-exported here for convenience.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .data import MISSING_VALUE, DataError, group_value, iter_records
from .io import prob_column
from .schema import FIELDS, LABELS
from .metrics import (BOOTSTRAP_METRICS, bootstrap_ci, calibration, cohen_kappa, confusion_matrix, field_metrics,
                      paired_bootstrap, score)
from .tables import _cv_text, _fmt, _per_class_text, _table, _with_ci, benchmark_text, by_text
from .errors import NazarError

__all__ = ["field_metrics", "score", "Report", "evaluate", "evaluate_model", "bootstrap_ci",
           "paired_bootstrap", "calibration", "confusion_matrix", "cohen_kappa", "BOOTSTRAP_METRICS",
           "SavedPredictions", "breakdown",
           "group_value", "EvaluationError"]


# -- the report ---------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """An evaluation result.

    ``fields`` holds the metrics per field of the (first) model; ``models`` and
    ``baselines`` every system scored (``name``, ``kind``, ``version``,
    ``fields``, ``errors``: the misclassified comments), ``comparisons`` the
    paired-bootstrap tests, and ``behaviour``, ``benchmark`` and ``cv`` the
    results of those runs when they were made.
    """

    fields: dict
    model: dict = field(default_factory=dict)
    gold: str = ""
    models: tuple = ()
    baselines: tuple = ()
    comparisons: tuple = ()
    behaviour: dict | None = None
    benchmark: dict | None = None
    cv: dict | None = None
    #: ``{"field": FIELD, "groups": [{"value", "n", "systems": {name: {field: metrics}}}]}``: the
    #: same predictions scored within each value of one gold record field (``--by source``).
    by: dict | None = None
    settings: dict = field(default_factory=dict)
    #: Warnings that belong with the figures wherever they are shown (e.g. a model scored on
    #: its own training data); every format puts them first.
    caveats: tuple = ()

    @property
    def systems(self) -> tuple:
        return tuple(self.models) + tuple(self.baselines)

    def to_dict(self) -> dict:
        out: dict = {"model": self.model, "gold": self.gold, "fields": self.fields}
        if self.caveats:
            out["caveats"] = list(self.caveats)
        if self.models:
            out["models"] = list(self.models)
        if self.baselines:
            out["baselines"] = list(self.baselines)
        if self.comparisons:
            out["comparisons"] = list(self.comparisons)
        for key in ("by", "behaviour", "benchmark", "cv"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.settings:
            out["settings"] = self.settings
        return out

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=_json_default) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_table(self) -> str:
        """The first model's metrics, one row per field."""
        rows = [("field", "n", "accuracy", "macro_f1", "f_avg")]
        for name, m in self.fields.items():
            rows.append((name, str(m["n"]), _fmt(m["accuracy"]), _fmt(m["macro_f1"]), _fmt(m.get("f_avg"))))
        return _table(rows)

    def field_names(self) -> list[str]:
        names: list[str] = []
        for s in self.systems:
            names += [f for f in s["fields"] if f not in names]
        return names or list(self.fields)

    def to_text(self) -> str:
        """The terminal report: every system side by side per field, then details and tests."""
        parts: list[str] = [f"CAVEAT: {c}" for c in self.caveats]
        if self.systems:
            for f in self.field_names():
                rows = [("system", "n", "accuracy [95% CI]", "macro_f1 [95% CI]", "weighted_f1",
                         "f_avg [95% CI]", "ece")]
                for s in self.systems:
                    m = s["fields"].get(f)
                    if m is None:
                        continue
                    tag = s["name"] + (" (baseline)" if s.get("role") == "baseline" else "")
                    rows.append((tag, str(m["n"]), _with_ci(m, "accuracy"), _with_ci(m, "macro_f1"),
                                 _fmt(m.get("weighted_f1")), _with_ci(m, "f_avg"), _fmt(m.get("ece"))))
                parts.append(f"== {f}\n" + _table(rows))
                for s in self.models:
                    m = s["fields"].get(f)
                    if m and "per_class" in m:
                        parts.append(_per_class_text(s["name"], m))
            if self.by:
                parts.append(by_text(self.by))
            if self.comparisons:
                rows = [("field", "A", "B", "metric", "A - B", "95% CI", "p")]
                for c in self.comparisons:
                    rows.append((c["field"], c["a"], c["b"], c["metric"], f"{c['delta']:+.3f}",
                                 f"[{c['ci95'][0]:+.2f}, {c['ci95'][1]:+.2f}]", f"{c['p_value']:.3f}"))
                parts.append("== paired bootstrap (A - B; two-sided p)\n" + _table(rows, right_from=4))
        elif self.fields:
            parts.append(self.to_table())
        if self.cv:
            parts.append(_cv_text(self.cv))
        if self.behaviour:
            from .behaviour import behaviour_text

            parts.append(behaviour_text(self.behaviour))
        if self.benchmark:
            parts.append(benchmark_text(self.benchmark))
        return "\n\n".join(parts)

    def to_markdown(self, path: str | Path | None = None) -> str:
        lines = [f"# Evaluation on `{self.gold}`" if self.gold else "# Evaluation", ""]
        for c in self.caveats:
            lines += [f"> **Caveat:** {c}", ""]
        if self.settings:
            lines += [", ".join(f"{k}: {v}" for k, v in self.settings.items()), ""]
        for f in (self.field_names() if self.systems else []):
            lines += [f"## {f}", "", "| system | n | accuracy [95% CI] | macro-F1 [95% CI] | weighted F1 | "
                      "F_avg [95% CI] | ECE |", "|---|---|---|---|---|---|---|"]
            for s in self.systems:
                m = s["fields"].get(f)
                if m is None:
                    continue
                tag = s["name"] + (" (baseline)" if s.get("role") == "baseline" else "")
                lines.append(f"| {tag} | {m['n']} | {_with_ci(m, 'accuracy')} | {_with_ci(m, 'macro_f1')} | "
                             f"{_fmt(m.get('weighted_f1'))} | {_with_ci(m, 'f_avg')} | {_fmt(m.get('ece'))} |")
            lines.append("")
            for s in self.models:
                m = s["fields"].get(f)
                if not m or "per_class" not in m:
                    continue
                labels = m["confusion"]["labels"]
                lines += [f"{s['name']}: per class, and confusion matrix (rows gold, columns predicted)", "",
                          "| label | precision | recall | F1 | support | " + " | ".join(labels) + " |",
                          "|---|---|---|---|---|" + "---|" * len(labels)]
                for i, lab in enumerate(labels):
                    pc = m["per_class"][lab]
                    cells = " | ".join(str(v) for v in m["confusion"]["matrix"][i])
                    lines.append(f"| {lab} | {_fmt(pc['precision'])} | {_fmt(pc['recall'])} | {_fmt(pc['f1'])} | "
                                 f"{pc['support']} | {cells} |")
                lines.append("")
        if not self.systems and self.fields:
            lines += ["| field | n | accuracy | macro-F1 | F_avg |", "|---|---|---|---|---|"]
            for name, m in self.fields.items():
                lines.append(f"| {name} | {m['n']} | {_fmt(m['accuracy'])} | {_fmt(m['macro_f1'])} | "
                             f"{_fmt(m.get('f_avg'))} |")
            lines.append("")
        if self.by:
            lines += [f"## By `{self.by['field']}`", "", "```", by_text(self.by), "```", ""]
        if self.comparisons:
            lines += ["## Paired bootstrap", "", "| field | A | B | metric | A − B | 95% CI | p |",
                      "|---|---|---|---|---|---|---|"]
            for c in self.comparisons:
                lines.append(f"| {c['field']} | {c['a']} | {c['b']} | {c['metric']} | {c['delta']:+.3f} | "
                             f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}] | {c['p_value']:.3f} |")
            lines.append("")
        for key, title in (("cv", "Cross-validation"), ("behaviour", "Behaviour"), ("benchmark", "Benchmark")):
            if getattr(self, key):
                if key == "cv":
                    body = _cv_text(self.cv)
                elif key == "behaviour":
                    from .behaviour import behaviour_text
                    body = behaviour_text(self.behaviour)
                else:
                    body = benchmark_text(self.benchmark)
                lines += [f"## {title}", "", "```", body, "```", ""]
        text = "\n".join(lines)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        from .report import render_html

        text = render_html(self)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# -- evaluating models --------------------------------------------------------------
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
    from .classifiers.baselines import KeywordModel, MajorityModel

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


class SavedPredictions:
    """Labels already made, read from a file and scored like a model on the gold records they cover.

    The file is a ``nazar label`` output (JSONL with ``probs``, or CSV/TSV with ``p_FIELD_LABEL``
    columns) or any labelled file with an ``id`` and label columns (see
    :func:`pipeline.data.iter_records`); without probabilities a label counts as probability 1.
    Every gold id must be in the file; its other records are ignored. It answers only for the
    texts of ``records``, in their order, which is how :func:`evaluate` asks.
    """

    kind = "predictions"
    version = ""

    def __init__(self, path: str | Path, records: Sequence[dict], name: str | None = None) -> None:
        self.name = name or Path(path).name
        wanted = {str(r["id"]) for r in records}
        found: dict[str, dict] = {}
        for where, _, rec in iter_records(path):
            if not isinstance(rec, dict) or "id" not in rec:
                raise DataError(f"{where}: expected a record with an 'id'")
            rid = str(rec["id"])
            if rid in wanted:
                if rid in found:
                    raise DataError(f"{where}: duplicate id {rid!r}")
                found[rid] = rec
        missing = [str(r["id"]) for r in records if str(r["id"]) not in found]
        if missing:
            raise DataError(f"{path}: {len(missing)} of the {len(records)} gold ids have no prediction "
                            f"(e.g. {', '.join(missing[:5])})")
        self.fields = tuple(f for f in FIELDS if all(f in found[str(r["id"])] for r in records))
        if not self.fields:
            raise DataError(f"{path}: no label column ({', '.join(FIELDS)}) holds a label for every gold id")
        self._texts = [r["text"] for r in records]
        rows = [found[str(r["id"])] for r in records]
        self._proba = {f: np.array([self._row(rec, f, path) for rec in rows]) for f in self.fields}
        self._labels = {f: [rec[f] for rec in rows] for f in self.fields}

    @staticmethod
    def _row(rec: dict, field_name: str, path) -> list[float]:
        labels = LABELS[field_name]
        label = rec[field_name]
        if label not in labels:
            raise DataError(f"{path}: id {rec['id']!r}: unknown label {label!r} for {field_name!r}")
        nested = (rec.get("probs") or {}).get(field_name) if isinstance(rec.get("probs"), dict) else None
        flat = [rec.get(prob_column(field_name, lab)) for lab in labels]
        try:
            if isinstance(nested, dict) and all(lab in nested for lab in labels):
                return [float(nested[lab]) for lab in labels]
            if all(v not in (None, "") for v in flat):
                return [float(v) for v in flat]
        except (TypeError, ValueError):
            raise DataError(f"{path}: id {rec['id']!r}: a probability of {field_name!r} is not a number") from None
        return [1.0 if lab == label else 0.0 for lab in labels]

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "kind": self.kind}

    def normalize(self, texts: Sequence[str]) -> list[str]:
        if list(texts) != self._texts:
            raise ValueError("saved predictions answer only for the gold records they were read for")
        return list(texts)

    def predict_proba_normalized(self, norm_texts: Sequence[str]) -> dict[str, np.ndarray]:
        return dict(self._proba)

    def labels_from_proba(self, proba: Mapping[str, np.ndarray]) -> dict[str, list[str]]:
        """The labels the file holds (scored as they are, whatever its probabilities say)."""
        return {f: list(v) for f, v in self._labels.items()}


def evaluate_model(model, records: Sequence[dict], gold_name: str = "", baselines: bool | Sequence = False,
                   n_boot: int = 1000, seed: int = 0) -> Report:
    """Predict ``records``' texts with ``model`` and score against their labels."""
    return evaluate([model], records, gold_name=gold_name, baselines=baselines, n_boot=n_boot, seed=seed,
                    fields=[f for f in model.fields if all(f in r for r in records)])
