"""Merge several annotators' labels of the same comments into gold, with their agreement.

:func:`merge` matches records by id across two or more annotator files (JSONL, CSV/TSV or
JSON, as ``nazar annotate import`` writes them). Per field it reports the agreement of the
comments at least two annotators labelled: the share where all agree, Krippendorff's alpha
and Cohen's kappa (two annotators) or Fleiss' kappa (more), each with a 95% bootstrap
interval over comments. A comment goes to the merged gold when every annotator who labelled
it gave the same labels (with ``majority``, when more than half agree on every field); every
other comment goes to the adjudication list with each annotator's labels, the agreed fields
filled and the disputed ones empty. Nothing is dropped: merged + to adjudicate = every id.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..metrics import agreement_stats
from ..schema import FIELDS, LABELS
from . import AnnotateError
from .records import read_records

__all__ = ["Merged", "merge", "merge_files", "agreement_text"]

_META = ("annotator", "note")


@dataclass
class Merged:
    gold: list[dict] = field(default_factory=list)
    adjudicate: list[dict] = field(default_factory=list)
    agreement: dict = field(default_factory=dict)
    annotators: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


def _name(path: Path, records: list[dict], taken: set[str]) -> str:
    names = {r.get("annotator") for r in records if isinstance(r.get("annotator"), str)}
    name = names.pop() if len(names) == 1 else path.stem
    base, k = name, 2
    while name in taken:
        name, k = f"{base}#{k}", k + 1
    return name


def merge(annotations: dict[str, list[dict]], fields: Sequence[str] = FIELDS, majority: bool = False,
          n_boot: int = 1000, seed: int = 0) -> Merged:
    """Merge ``{annotator: records}`` (see the module docstring)."""
    if len(annotations) < 2:
        raise AnnotateError("merging needs the labels of at least two annotators")
    names = list(annotations)
    by_id: dict[str, dict[str, dict]] = {}
    first: dict[str, dict] = {}
    for name, recs in annotations.items():
        for rec in recs:
            missing = [f for f in fields if rec.get(f) is None]
            if missing:
                raise AnnotateError(f"{name}: record {rec['id']!r} has no label for {', '.join(missing)}; "
                                    "import rejects incomplete annotations, so label or drop it first")
            by_id.setdefault(rec["id"], {})[name] = rec
            first.setdefault(rec["id"], rec)
    texts: dict[str, set] = {}
    for rid, recs in by_id.items():
        texts[rid] = {r.get("text") for r in recs.values() if isinstance(r.get("text"), str)}
    out = Merged(annotators=names)
    for f in fields:
        units = [[by_id[rid][n][f] if n in by_id[rid] else None for n in names] for rid in by_id]
        out.agreement[f] = agreement_stats(units, LABELS[f], n_boot=n_boot, seed=seed)
    for rid, recs in by_id.items():
        base = {k: v for k, v in first[rid].items() if k not in fields and k not in _META}
        labels, disputed = {}, []
        for f in fields:
            votes = Counter(r[f] for r in recs.values())
            top, count = votes.most_common(1)[0]
            if count == len(recs) or (majority and count * 2 > len(recs)):
                labels[f] = top
            else:
                disputed.append(f)
        notes = {n: r["note"] for n, r in recs.items() if r.get("note")}
        if len(recs) < 2:
            out.counts["single"] += 1
            out.adjudicate.append(dict(base, **{f: None for f in fields}, reason=f"labelled by 1 of {len(names)} annotators",
                                       annotations={n: {f: r[f] for f in fields} for n, r in recs.items()},
                                       **({"notes": notes} if notes else {})))
        elif len(texts[rid]) > 1:
            out.counts["text_differs"] += 1
            out.adjudicate.append(dict(base, **{f: None for f in fields}, reason="the annotators' texts differ",
                                       annotations={n: {f: r[f] for f in fields} for n, r in recs.items()}))
        elif disputed:
            out.counts["disputed"] += 1
            out.adjudicate.append(dict(base, **{f: labels.get(f) for f in fields},
                                       reason=f"annotators differ on {', '.join(disputed)}", disputed=disputed,
                                       annotations={n: {f: r[f] for f in fields} for n, r in recs.items()},
                                       **({"notes": notes} if notes else {})))
        else:
            out.counts["merged"] += 1
            rec = dict(base, **labels, annotators=sorted(recs))
            if notes:
                rec["notes"] = notes
            out.gold.append(rec)
    return out


def merge_files(paths: Sequence[str | Path], **kwargs) -> Merged:
    """:func:`merge` of annotator files; an annotator is named by the files' ``annotator`` value or the file stem."""
    annotations: dict[str, list[dict]] = {}
    for p in paths:
        p = Path(p)
        recs = read_records(p)
        if not recs:
            raise AnnotateError(f"{p}: no records")
        annotations[_name(p, recs, set(annotations))] = recs
    return merge(annotations, **kwargs)


def _fmt(value: float, ci: Sequence[float]) -> str:
    if value != value:  # nan
        return "—"
    if ci and ci[0] == ci[0]:
        return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
    return f"{value:.3f}"


def agreement_text(merged: Merged) -> str:
    """The agreement table and the merge counts, as printed by ``nazar annotate merge``."""
    names = ", ".join(merged.annotators)
    lines = [f"annotators: {names}", "",
             f"{'field':<16} {'n':>5}  {'agreement':<24} {'kappa':<26} alpha (Krippendorff)"]
    for f, s in merged.agreement.items():
        kind = "Cohen" if s["kappa_kind"] == "cohen" else "Fleiss"
        lines.append(f"{f:<16} {s['n']:>5}  {_fmt(s['agreement'], s['agreement_ci95']):<24} "
                     f"{kind + ' ' + _fmt(s['kappa'], s['kappa_ci95']):<26} {_fmt(s['alpha'], s['alpha_ci95'])}")
    c = merged.counts
    lines += ["", f"merged {c['merged']}; to adjudicate {len(merged.adjudicate)} "
                  f"({c['disputed']} disputed, {c['single']} labelled once, {c['text_differs']} with differing texts)"]
    return "\n".join(lines)
