"""Behavioural tests for stance models, generated from templates (CheckList style).

Three kinds of test, written as templates in ``pipeline/resources/behaviour.yaml``:

- MFT (minimum functionality): plain favour / against statements for each
  target, and texts that must get NONE (a target name inside another word, as
  ایتا in نهایتا; no target at all). A case fails when a checked field's
  predicted label differs from the expected one.
- INV (invariance): a change that must not change any predicted label:
  swapping one domestic app for another, Persian for Latin digits, Arabic
  ي/ك for Persian ی/ک, half-spaces dropped or written as spaces.
- DIR (directional): negation and sarcasm markers. A case fails unless the
  second text's score ``P(toward) − P(opposite)`` for the field is higher than
  the first's (``toward`` is AGAINST or FAVOR; the opposite is the other).

:func:`generate` expands the templates into :class:`Case` objects;
:func:`run_behaviour` runs any model that has ``predict_proba(texts)``
(``{field: array}``, columns in :data:`pipeline.schema.LABELS` order) and
returns the failure rate per capability.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..schema import FIELDS, LABELS
from ..errors import NazarError
from ..resources import data_file

__all__ = ["Case", "BEHAVIOUR_FILE", "load_templates", "generate", "expected_labels", "run_behaviour",
           "behaviour_text", "BehaviourError"]

BEHAVIOUR_FILE = data_file("behaviour.yaml")

_SLOT = re.compile(r"\{(\w+)\}")
_PERSIAN_TO_LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
_ARABIC_LETTERS = str.maketrans({"ی": "ي", "ک": "ك"})
_OPPOSITE = {"AGAINST": "FAVOR", "FAVOR": "AGAINST"}


class BehaviourError(NazarError, ValueError):
    """The template file is missing or malformed."""


@dataclass(frozen=True)
class Case:
    """One test: ``texts`` (one for MFT, two for INV and DIR) and what is expected of them.

    ``expect`` holds the labels each text should get (for MFT the checked
    ones; for INV and DIR the labels the templates imply, used to build
    reference models). ``fields`` are the fields checked; DIR cases check
    ``fields[0]`` moving ``toward`` a label.
    """

    capability: str
    kind: str
    texts: tuple[str, ...]
    expect: tuple[dict, ...]
    fields: tuple[str, ...]
    toward: str | None = None


def load_templates(path: str | Path | None = None) -> dict:
    from ..io import read_yaml_mapping

    path = Path(path) if path is not None else BEHAVIOUR_FILE
    data = read_yaml_mapping(path, "behaviour templates", BehaviourError)
    if not isinstance(data.get("slots"), dict):
        raise BehaviourError(f"{path}: expected a mapping with 'slots', 'mft', 'inv' and 'dir'")
    return data


def _expand(template: str, slots: dict) -> list[tuple[str, dict]]:
    """Every filling of the template's slots: ``(text, {slot: value})``."""
    names = list(dict.fromkeys(_SLOT.findall(template)))
    for name in names:
        if name not in slots:
            raise BehaviourError(f"template {template!r}: unknown slot {{{name}}}")
    out = []
    for values in itertools.product(*[[str(v) for v in slots[n]] for n in names]):
        filling = dict(zip(names, values))
        out.append((_SLOT.sub(lambda m: filling[m.group(1)], template), filling))
    return out


def _check_labels(expect: dict, where: str) -> dict:
    for f, lab in expect.items():
        if f not in LABELS or lab not in LABELS[f]:
            raise BehaviourError(f"{where}: bad expectation {f}: {lab}")
    return dict(expect)


def generate(templates: dict | None = None) -> list[Case]:
    """Expand the templates (default: the packaged file) into test cases."""
    data = templates if templates is not None else load_templates()
    slots = data["slots"]
    apps = [str(a) for a in slots.get("app", [])]
    cases: list[Case] = []
    mft_texts: list[tuple[str, dict]] = []
    for group in data.get("mft") or []:
        expect = _check_labels(group["expect"], group["capability"])
        for template in group["templates"]:
            for text, filling in _expand(template, slots):
                cases.append(Case(group["capability"], "MFT", (text,), (expect,), tuple(expect)))
                mft_texts.append((text, expect))
                if "app" in filling and (data.get("inv") or {}).get("swap_app") and len(apps) > 1:
                    other = apps[(apps.index(filling["app"]) + 1) % len(apps)]
                    swapped = _SLOT.sub(lambda m: other if m.group(1) == "app" else filling[m.group(1)], template)
                    cases.append(Case("INV: swap domestic app", "INV", (text, swapped), (expect, expect), FIELDS))
    inv = data.get("inv") or {}
    for item in inv.get("digit_templates") or []:
        expect = _check_labels(item["expect"], "digit_templates")
        for text, _ in _expand(item["text"], slots):
            latin = text.translate(_PERSIAN_TO_LATIN)
            if latin != text:
                cases.append(Case("INV: Persian vs Latin digits", "INV", (text, latin), (expect, expect), FIELDS))
    for text, expect in mft_texts:
        arabic = text.translate(_ARABIC_LETTERS)
        if arabic != text:
            cases.append(Case("INV: Arabic ي/ك", "INV", (text, arabic), (expect, expect), FIELDS))
        for variant in (text.replace("\u200c", ""), text.replace("\u200c", " ")):
            if variant != text:
                cases.append(Case("INV: missing half-spaces", "INV", (text, variant), (expect, expect), FIELDS))
    for group in data.get("dir") or []:
        f, toward = group["field"], group["toward"]
        if f not in LABELS or toward not in _OPPOSITE or toward not in LABELS[f]:
            raise BehaviourError(f"{group.get('capability')}: 'toward' must be FAVOR or AGAINST of a stance field")
        for before_t, after_t in group["pairs"]:
            for before, filling in _expand(before_t, slots):
                after = _SLOT.sub(lambda m: filling[m.group(1)], after_t)
                cases.append(Case(group["capability"], "DIR", (before, after),
                                  ({f: _OPPOSITE[toward]}, {f: toward}), (f,), toward))
    return cases


def expected_labels(cases: Sequence[Case]) -> dict[str, dict]:
    """``{text: {field: label}}`` implied by the cases; a text given two labels is an error."""
    out: dict[str, dict] = {}
    for case in cases:
        for text, expect in zip(case.texts, case.expect):
            have = out.setdefault(text, {})
            for f, lab in expect.items():
                if have.setdefault(f, lab) != lab:
                    raise BehaviourError(f"templates disagree on {text!r}: {f} {have[f]} vs {lab}")
    return out


def run_behaviour(model, cases: Sequence[Case] | None = None, examples: int = 3) -> dict:
    """Run ``cases`` (default: :func:`generate`) on ``model``.

    Returns ``{"n_cases", "failures", "failure_rate", "capabilities": {name:
    {"kind", "n", "failures", "failure_rate", "examples"}}}`` where
    ``examples`` lists up to ``examples`` failing cases with their predictions.
    """
    cases = list(cases) if cases is not None else generate()
    texts = list(dict.fromkeys(t for c in cases for t in c.texts))
    proba = model.predict_proba(texts) if texts else {}
    fields = [f for f in FIELDS if f in proba]
    row = {t: i for i, t in enumerate(texts)}

    def label(f, t):
        return LABELS[f][int(np.argmax(proba[f][row[t]]))]

    def lean(f, t, toward):
        p = proba[f][row[t]]
        return float(p[LABELS[f].index(toward)] - p[LABELS[f].index(_OPPOSITE[toward])])

    caps: dict[str, dict] = {}
    for case in cases:
        checked = [f for f in case.fields if f in fields]
        if case.kind == "MFT":
            failed = any(label(f, case.texts[0]) != case.expect[0][f] for f in checked)
            seen = {f: label(f, case.texts[0]) for f in checked}
        elif case.kind == "INV":
            failed = any(label(f, case.texts[0]) != label(f, case.texts[1]) for f in checked)
            seen = {f: [label(f, t) for t in case.texts] for f in checked}
        else:
            f = checked[0] if checked else None
            failed = f is None or lean(f, case.texts[1], case.toward) <= lean(f, case.texts[0], case.toward) + 1e-9
            seen = {f: [round(lean(f, t, case.toward), 3) for t in case.texts]} if f else {}
        cap = caps.setdefault(case.capability, {"kind": case.kind, "n": 0, "failures": 0, "examples": []})
        cap["n"] += 1
        if failed:
            cap["failures"] += 1
            if len(cap["examples"]) < examples:
                cap["examples"].append({"texts": list(case.texts),
                                        "expected": case.expect[0] if case.kind == "MFT" else
                                        (f"{case.fields[0]} toward {case.toward}" if case.kind == "DIR"
                                         else "same labels"),
                                        "predicted": seen})
    for cap in caps.values():
        cap["failure_rate"] = cap["failures"] / cap["n"]
    total = sum(c["n"] for c in caps.values())
    failures = sum(c["failures"] for c in caps.values())
    return {"n_cases": total, "failures": failures, "failure_rate": failures / total if total else 0.0,
            "capabilities": caps}


def behaviour_text(result: dict) -> str:
    """A terminal table of a :func:`run_behaviour` result."""
    rows = [("capability", "type", "cases", "failed", "failure rate")]
    for name, cap in result["capabilities"].items():
        rows.append((name, cap["kind"], str(cap["n"]), str(cap["failures"]), f"{cap['failure_rate']:.1%}"))
    rows.append(("all", "", str(result["n_cases"]), str(result["failures"]), f"{result['failure_rate']:.1%}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    title = "== behaviour" + (f" of {result['model']}" if result.get("model") else "")
    lines = [title]
    for k, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0 or k == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
