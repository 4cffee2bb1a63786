"""Plain-text tables of evaluation results, shared by the terminal report, the Markdown
report and the HTML page."""
from __future__ import annotations

import numpy as np

__all__ = ["benchmark_text", "by_text", "cv_rows", "versus_rows"]


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


def _mean_ci(m: dict, key: str) -> str:
    if key not in m:
        return "-"
    if "ci95" not in m[key]:
        return f"{m[key]['mean']:.3f}"
    lo, hi = m[key]["ci95"]
    return f"{m[key]['mean']:.3f} [{lo:.2f}, {hi:.2f}]"


def cv_rows(results: dict) -> list[tuple[str, ...]]:
    """One row per kind, field and source (``all`` first, then each gold file's own figures)."""
    rows = []
    for kind, res in results.items():
        scopes = [("all", res["fields"])] + list(res.get("by_source", {}).items())
        for f in res["fields"]:
            for scope, per_field in scopes:
                m = per_field[f]
                rows.append((kind, f, scope if len(scopes) > 1 else "all", str(m["n"]), _mean_ci(m, "accuracy"),
                             _mean_ci(m, "macro_f1"), _mean_ci(m, "f_avg"), _mean_ci(m, "none_precision")))
    return rows


def versus_rows(results: dict) -> list[tuple[str, ...]]:
    """The first kind minus each other one, in macro-F1, paired: pooled, then per source."""
    main = next(iter(results))
    res = results[main]
    rows = []
    for other, per_field in res.get("versus", {}).items():
        scopes = [("all", per_field)] + list(res.get("versus_by_source", {}).get(other, {}).items())
        for f in per_field:
            for scope, d in scopes:
                lo, hi = d[f]["macro_f1"]["ci95"]
                rows.append((f"{main} - {other}", f, scope, f"{d[f]['macro_f1']['delta']:+.3f} [{lo:+.2f}, {hi:+.2f}]",
                             f"{d[f]['macro_f1']['share_above_zero']:.2f}"))
    return rows


CV_HEADER = ("kind", "field", "source", "n", "accuracy", "macro_f1", "f_avg", "NONE precision")
VERSUS_HEADER = ("comparison", "field", "source", "macro_f1 difference [95% CI]", "share > 0")


def _cv_text(cv: dict) -> str:
    grouped = f", folds and intervals grouped by {cv['group_by']}" if cv.get("group_by") else ""
    lines = [f"== {cv.get('repeats', 1)} x {cv.get('folds')}-fold cross-validation (mean [95% CI]{grouped})",
             _table([CV_HEADER] + cv_rows(cv["results"]), right_from=3)]
    versus = versus_rows(cv["results"])
    if versus:
        lines += ["", "== paired differences (same folds, same resamples)", _table([VERSUS_HEADER] + versus,
                                                                                   right_from=3)]
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


def by_text(by: dict) -> str:
    """A breakdown (:func:`pipeline.evaluate.breakdown`) as one table per field: a row per value and
    system, with the NONE precision of the stance fields (how often a stance given is wrong)."""
    fields: list[str] = []
    for g in by["groups"]:
        for per_field in g["systems"].values():
            fields += [f for f in per_field if f not in fields]
    parts = []
    for f in fields:
        rows = [(by["field"], "n", "system", "accuracy", "macro_f1", "f_avg", "NONE precision")]
        for g in by["groups"]:
            for name, per_field in g["systems"].items():
                m = per_field.get(f)
                if m is None:
                    continue
                none = m.get("per_class", {}).get("NONE", {}).get("precision")
                rows.append((g["value"], str(g["n"]), name, _fmt(m["accuracy"]), _fmt(m["macro_f1"]),
                             _fmt(m.get("f_avg")), _fmt(none)))
        parts.append(f"== {f} by {by['field']}\n" + _table(rows, right_from=3))
    return "\n\n".join(parts)
