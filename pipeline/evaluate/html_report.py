"""A self-contained HTML page of an evaluation :class:`~pipeline.evaluate.Report`.

Everything is in one file: the metric tables, a confusion-matrix and a
reliability plot per model and field (PNG drawn with matplotlib's Agg canvas,
embedded as base64), the paired-bootstrap comparisons, behaviour and benchmark
results when present, and every misclassified comment with its raw and
normalised text, gold and predicted labels and probabilities. matplotlib is
optional (the ``report`` extra): without it the page is written without plots
and says so.
"""
from __future__ import annotations

import base64
import io
from html import escape

__all__ = ["render_html", "plots_available"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right;vertical-align:top}
th{background:#f3f3f3}
td.l,th.l{text-align:left}
td.fa{direction:rtl;text-align:right;font-family:Vazirmatn,Tahoma,sans-serif;max-width:30em}
.note,.caveat{background:#fff6d5;padding:.5em 1em;border-left:4px solid #e0b400}
figure{display:inline-block;margin:.5em}
"""


def plots_available() -> bool:
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError:
        return False
    return True


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _confusion_png(title: str, confusion: dict) -> str:
    from matplotlib.figure import Figure

    labels, matrix = confusion["labels"], confusion["matrix"]
    fig = Figure(figsize=(3.4, 3.0))
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    top = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=8)
    return _png(fig)


def _reliability_png(title: str, bins: list[dict]) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.4, 3.0))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    if bins:
        ax.bar([(b["lo"] + b["hi"]) / 2 for b in bins], [b["accuracy"] for b in bins],
               width=[(b["hi"] - b["lo"]) * 0.9 for b in bins], color="#4a7ebb", alpha=.8, label="accuracy")
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o", color="#c0392b",
                markersize=3, label="mean confidence")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the predicted label")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=8)
    return _png(fig)


def _f(x, digits: int = 3) -> str:
    if x is None:
        return "-"
    try:
        if x != x:  # NaN
            return "-"
        return f"{x:.{digits}f}"
    except (TypeError, ValueError):
        return escape(str(x))


def _ci(m: dict, key: str) -> str:
    if key not in m:
        return "-"
    ci = m.get("ci95", {}).get(key)
    return f"{_f(m[key])} [{_f(ci[0], 2)}, {_f(ci[1], 2)}]" if ci else _f(m[key])


def _rows(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    head = "".join(f"<th class='l'>{h}</th>" if i < left else f"<th>{h}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(c if c.startswith("<td") else (f"<td class='l'>{c}</td>" if i < left
                                                                     else f"<td>{c}</td>")
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report) -> str:
    """The report as one HTML page (plots inline when matplotlib is installed)."""
    plots = plots_available()
    title = f"nazar evaluation: {report.gold}" if report.gold else "nazar evaluation"
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
           f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>"]
    for c in report.caveats:
        out.append(f"<p class='caveat'><strong>Caveat:</strong> {escape(c)}</p>")
    if report.settings:
        out.append("<p>" + escape(", ".join(f"{k}: {v}" for k, v in report.settings.items())) +
                   ". Intervals are 95% bootstrap intervals over comments.</p>")
    if not plots:
        out.append("<p class='note'>Plots are not included: matplotlib is not installed "
                   "(install the <code>report</code> extra: <code>pip install 'nazar[report]'</code>).</p>")
    for f in (report.field_names() if report.systems else []):
        out.append(f"<h2>{escape(f)}</h2>")
        rows = []
        for s in report.systems:
            m = s["fields"].get(f)
            if m is None:
                continue
            tag = escape(s["name"]) + (" (baseline)" if s.get("role") == "baseline" else "")
            rows.append([tag, str(m["n"]), _ci(m, "accuracy"), _ci(m, "macro_f1"), _f(m.get("weighted_f1")),
                         _ci(m, "f_avg"), _f(m.get("ece"))])
        out.append(_rows(["system", "n", "accuracy", "macro-F1", "weighted F1", "F_avg", "ECE"], rows))
        for s in report.models:
            m = s["fields"].get(f)
            if not m or "per_class" not in m:
                continue
            labels = m["confusion"]["labels"]
            out.append(f"<h3>{escape(s['name'])}: per class; confusion (rows gold, columns predicted)</h3>")
            rows = [[escape(lab), _f(m["per_class"][lab]["precision"]), _f(m["per_class"][lab]["recall"]),
                     _f(m["per_class"][lab]["f1"]), str(m["per_class"][lab]["support"]),
                     *[str(v) for v in m["confusion"]["matrix"][i]]] for i, lab in enumerate(labels)]
            out.append(_rows(["label", "precision", "recall", "F1", "support", *[f"→ {escape(x)}" for x in labels]],
                             rows))
            if plots:
                name = f"{s['name']} · {f}"
                out.append(f"<figure><img alt='confusion matrix {escape(name)}' src='data:image/png;base64,"
                           f"{_confusion_png(name, m['confusion'])}'></figure>")
                rel = _reliability_png(f"{name} (ECE {_f(m.get('ece'))})", m.get("reliability", []))
                out.append(f"<figure><img alt='reliability diagram {escape(name)}' "
                           f"src='data:image/png;base64,{rel}'></figure>")
    if report.by:
        from ..tables import by_text

        out.append(f"<h2>By {escape(report.by['field'])}</h2><pre>{escape(by_text(report.by))}</pre>")
    if report.comparisons:
        out.append("<h2>Paired bootstrap comparisons</h2><p>A − B on the same resampled comments; "
                   "p is two-sided, for no difference.</p>")
        rows = [[escape(c["field"]), escape(c["a"]), escape(c["b"]), escape(c["metric"]), f"{c['delta']:+.3f}",
                 f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}]", f"{c['p_value']:.3f}"] for c in report.comparisons]
        out.append(_rows(["field", "A", "B", "metric", "A − B", "95% CI", "p"], rows, left=4))
    if report.cv:
        from ..tables import _cv_text

        out.append(f"<h2>Cross-validation</h2><pre>{escape(_cv_text(report.cv))}</pre>")
    if report.behaviour:
        b = report.behaviour
        out.append("<h2>Behaviour</h2>")
        rows = [[escape(name), cap["kind"], str(cap["n"]), str(cap["failures"]), f"{cap['failure_rate']:.1%}"]
                for name, cap in b["capabilities"].items()]
        out.append(_rows(["capability", "type", "cases", "failed", "failure rate"], rows, left=2))
    if report.benchmark:
        from ..tables import benchmark_text

        out.append(f"<h2>Benchmark</h2><pre>{escape(benchmark_text(report.benchmark))}</pre>")
    for s in report.models:
        errors = s.get("errors") or []
        out.append(f"<h2>Misclassified comments: {escape(s['name'])} ({len(errors)})</h2>")
        if not errors:
            out.append("<p>None.</p>")
            continue
        rows = []
        for e in errors:
            probs = "<br>".join(f"{escape(k)} {v:.2f}" for k, v in e["proba"].items())
            rows.append([escape(str(e["id"])), escape(e["field"]), escape(e["gold"]), escape(e["predicted"]),
                         f"<td>{probs}</td>", f"<td class='fa'>{escape(e['text'])}</td>",
                         f"<td class='fa'>{escape(e['normalized'])}</td>"])
        out.append(_rows(["id", "field", "gold", "predicted", "probabilities", "text", "normalised text"], rows,
                         left=4))
    out.append("</body></html>")
    return "\n".join(out)
