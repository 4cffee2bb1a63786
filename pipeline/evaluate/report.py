"""The result of an evaluation, :class:`Report`, and its renderings: text, JSON and Markdown (HTML
through :mod:`pipeline.evaluate.html_report`)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..tables import _cv_text, _fmt, _per_class_text, _table, _with_ci, benchmark_text, by_text


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
        from .html_report import render_html

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
