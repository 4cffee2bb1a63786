"""Agreement between two annotators' labels of the same comments.

Each file is JSONL with an ``id`` and any of the label fields (text is
optional). Records are matched by id; ids found in only one file are
reported, not scored. Per field: the number of comments both labelled,
percent agreement, Cohen's kappa and the confusion of A's labels (rows)
against B's (columns).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .data import DataError, iter_records, rename_fields
from .metrics import cohen_kappa, confusion_matrix
from .schema import FIELDS, LABELS

__all__ = ["load_annotations", "agreement", "agreement_text"]


def load_annotations(path: str | Path, fields: Sequence[str] = FIELDS, id_field: str = "id") -> dict[str, dict]:
    """``{id: {field: label}}`` of one annotator's file (ids from ``id_field``); problems name file and line."""
    path = Path(path)
    out: dict[str, dict] = {}
    lines: dict[str, int] = {}
    for where, lineno, rec in iter_records(path):
        if not isinstance(rec, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        if id_field != "id":
            rec = rename_fields(rec, where, text_field="text", id_field=id_field)
        if "id" not in rec or not isinstance(rec["id"], (str, int)) or isinstance(rec["id"], bool):
            raise DataError(f"{where}: missing or invalid 'id'")
        rid = str(rec["id"])
        if rid in out:
            raise DataError(f"{where}: duplicate id {rid!r} (first on line {lines[rid]})")
        labels = {}
        for f in fields:
            if f in rec:
                if rec[f] not in LABELS[f]:
                    raise DataError(f"{where}: unknown label {rec[f]!r} for {f!r} "
                                    f"(expected {'/'.join(LABELS[f])})")
                labels[f] = rec[f]
        out[rid], lines[rid] = labels, lineno
    if not out:
        raise DataError(f"{path}: no records")
    return out


def agreement(a: dict[str, dict], b: dict[str, dict], fields: Sequence[str] = FIELDS) -> dict:
    """Percent agreement and Cohen's kappa per field over the ids both annotated."""
    common = [i for i in a if i in b]
    out = {"n_a": len(a), "n_b": len(b), "n_common": len(common),
           "only_in_a": [i for i in a if i not in b], "only_in_b": [i for i in b if i not in a], "fields": {}}
    for f in fields:
        ids = [i for i in common if f in a[i] and f in b[i]]
        if not ids:
            continue
        la, lb = [a[i][f] for i in ids], [b[i][f] for i in ids]
        agree = sum(x == y for x, y in zip(la, lb))
        out["fields"][f] = {"n": len(ids), "agreement": agree / len(ids), "kappa": cohen_kappa(la, lb),
                            "disagreements": [i for i, x, y in zip(ids, la, lb) if x != y],
                            "confusion": {"labels": list(LABELS[f]),
                                          "matrix": confusion_matrix(la, lb, f).tolist()}}
    return out


def agreement_text(result: dict, name_a: str = "A", name_b: str = "B") -> str:
    lines = [f"{result['n_common']} comments in both files ({name_a}: {result['n_a']}, {name_b}: {result['n_b']})"]
    rows = [("field", "n", "agreement", "kappa")]
    for f, m in result["fields"].items():
        rows.append((f, str(m["n"]), f"{m['agreement']:.1%}", f"{m['kappa']:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for k, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    for key, name in (("only_in_a", name_a), ("only_in_b", name_b)):
        if result[key]:
            shown = ", ".join(result[key][:20]) + (" …" if len(result[key]) > 20 else "")
            lines.append(f"only in {name} ({len(result[key])}): {shown}")
    return "\n".join(lines)
