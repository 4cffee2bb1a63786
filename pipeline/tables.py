"""Plain-text tables of evaluation results, shared by the terminal report, the Markdown
report and the HTML page."""
from __future__ import annotations

import numpy as np

__all__ = ["benchmark_text"]


def _fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def _table(rows: list[tuple[str, ...]], right_from: int = 1) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i < right_from else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _with_ci(m: dict, key: str) -> str:
    if key not in m:
        return "-"
    ci = m.get("ci95", {}).get(key)
    if ci:
        return f"{_fmt(m[key])} [{_fmt(ci[0], 2)}, {_fmt(ci[1], 2)}]"
    return _fmt(m[key])


def _per_class_text(name: str, m: dict) -> str:
    labels = m["confusion"]["labels"]
    rows = [(f"{name}", "precision", "recall", "f1", "support", *[f"->{lab}" for lab in labels])]
    for i, lab in enumerate(labels):
        pc = m["per_class"][lab]
        rows.append((f"  {lab}", _fmt(pc["precision"]), _fmt(pc["recall"]), _fmt(pc["f1"]), str(pc["support"]),
                     *[str(v) for v in m["confusion"]["matrix"][i]]))
    return _table(rows)


def _cv_text(cv: dict) -> str:
    lines = [f"== {cv.get('repeats', 1)} x {cv.get('folds')}-fold cross-validation (mean [95% CI])"]
    rows = [("kind", "field", "accuracy", "macro_f1", "f_avg")]
    for kind, res in cv["results"].items():
        for f, m in res["fields"].items():
            def cell(key):
                if key not in m:
                    return "-"
                lo, hi = m[key]["ci95"]
                return f"{m[key]['mean']:.3f} [{lo:.2f}, {hi:.2f}]"
            rows.append((kind, f, cell("accuracy"), cell("macro_f1"), cell("f_avg")))
    lines.append(_table(rows, right_from=2))
    return "\n".join(lines)


def benchmark_text(result: dict) -> str:
    """A terminal table of a :func:`run_benchmark` result (scores ×100)."""
    model = result.get("model", {})
    lines = [f"== benchmark {result['name']}: weighted F1 ×100 of {model.get('name', '?')} "
             "(POSITIVE vs NEGATIVE), beside the published figure"]
    rows = [("corpus", "n", "weighted F1 [95% CI]", "NEUTRAL-as-error", "NEUTRAL share", "published", "note")]
    for c in result["corpora"]:
        pub = f"{c['published']:.2f}" if isinstance(c.get("published"), (int, float)) else "-"
        if c.get("status") != "ok":
            rows.append((c["name"], "-", "skipped: " + c.get("reason", ""), "-", "-", pub, c.get("published_note", "")))
            continue
        lo, hi = c["ci95"]
        rows.append((c["name"], str(c["n"]), f"{100 * c['weighted_f1']:.2f} [{100 * lo:.1f}, {100 * hi:.1f}]",
                     f"{100 * c['strict_weighted_f1']:.2f}", f"{c['neutral_share']:.1%}", pub,
                     c.get("published_note", "")))
    lines.append(_table(rows))
    return "\n".join(lines)
