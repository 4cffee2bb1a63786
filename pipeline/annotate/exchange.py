"""Batches out to annotators and their labels back: Label Studio and CSV/TSV sheets.

Out: :func:`label_studio_tasks` turns a batch (the records ``nazar annotate select`` writes,
or any JSONL with ``id`` and ``text``) into Label Studio tasks, the model's labels as
pre-annotations and the other plain fields as task data (why a record was chosen as
``selected_by``), and :func:`label_config` is the labelling interface that goes with them
(the text right-to-left, one single-choice block per field). :func:`write_sheet` writes the
same batch as a CSV/TSV sheet with empty label columns and the model's guesses beside them.

Back: :func:`read_label_studio` reads a Label Studio JSON export, :func:`read_sheet` a filled
sheet. Both return an :class:`Imported`: the labelled records per annotator, and a reject
with its reason for every task or row that yields no labelled record (no annotation, a
skipped task, an unknown choice, a missing field, an id not in the batch), so the counts
always reconcile.
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence
from xml.sax.saxutils import quoteattr

from ..io import atomic_write_text
from ..schema import FIELDS, LABELS
from . import AnnotateError
from .records import PREDICTION_KEYS, parse_label

__all__ = ["label_config", "label_studio_tasks", "write_label_studio", "write_sheet", "read_label_studio",
           "read_sheet", "Imported", "CHOICE_ORDER", "FIELD_TITLES", "NOTE", "SELECTED_BY"]

#: How the choices are offered (the order annotators see), per field.
CHOICE_ORDER: dict[str, tuple[str, ...]] = {
    "stance_domestic": ("FAVOR", "AGAINST", "NONE"),
    "stance_telegram": ("FAVOR", "AGAINST", "NONE"),
    "sentiment": ("POSITIVE", "NEGATIVE", "NEUTRAL"),
}
FIELD_TITLES: dict[str, str] = {
    "stance_domestic": "Stance toward the domestic messengers (سروش، ایتا، بله، گپ، روبیکا...)",
    "stance_telegram": "Stance toward Telegram (تلگرام)",
    "sentiment": "Overall tone",
}
#: The free-text note control (and the key of a record's note).
NOTE = "note"
_DATA_SKIP = set(FIELDS) | set(PREDICTION_KEYS)


def label_config(context: bool = False, fields: Sequence[str] = FIELDS) -> str:
    """The Label Studio labelling config: the comment (and its ``context``) right-to-left, a
    required single choice per field (hotkeys 1–9 in order) and an optional note."""
    lines = ["<View>"]
    if context:
        lines += ['  <Header value="Context" size="6"/>',
                  '  <View style="direction: rtl; text-align: right; color: #555">',
                  '    <Text name="context" value="$context"/>', "  </View>"]
    lines += ['  <Header value="Comment" size="5"/>',
              '  <View style="direction: rtl; text-align: right; font-size: 1.2em; line-height: 1.8">',
              '    <Text name="text" value="$text"/>', "  </View>"]
    key = 0
    for f in fields:
        lines.append(f"  <Header value={quoteattr(FIELD_TITLES[f])} size=\"6\"/>")
        lines.append(f'  <Choices name="{f}" toName="text" choice="single-radio" required="true" showInline="true">')
        for lab in CHOICE_ORDER[f]:
            key += 1
            lines.append(f'    <Choice value="{lab}" hotkey="{key}"/>')
        lines.append("  </Choices>")
    lines += [f'  <TextArea name="{NOTE}" toName="text" placeholder="note (optional)" rows="1" maxSubmissions="1"/>',
              "</View>"]
    return "\n".join(lines) + "\n"


#: The batch record's ``selection.by`` (random, uncertainty, diverse) travels as this plain field,
#: so that the labelled records still say which were drawn at random (an unbiased sample).
SELECTED_BY = "selected_by"


def _flat(rec: dict) -> dict:
    sel = rec.get("selection")
    if isinstance(sel, dict) and isinstance(sel.get("by"), str) and SELECTED_BY not in rec:
        return dict(rec, **{SELECTED_BY: sel["by"]})
    return rec


def _task_data(rec: dict, context: bool) -> dict:
    rec = _flat(rec)
    data = {k: v for k, v in rec.items() if k not in _DATA_SKIP and isinstance(v, (str, int, float, bool))}
    data["id"], data["text"] = str(rec["id"]), rec["text"]
    if context:
        data["context"] = rec.get("context") if isinstance(rec.get("context"), str) else ""
    return data


def label_studio_tasks(records: Sequence[dict], predictions: bool = True) -> tuple[list[dict], bool]:
    """Label Studio tasks for ``records``, and whether any record has a ``context`` (the config shows it).

    With ``predictions``, a record's ``predicted`` labels (with their mean probability as the
    score) become the task's pre-annotation.
    """
    context = any(isinstance(r.get("context"), str) and r["context"].strip() for r in records)
    tasks = []
    for rec in records:
        task = {"data": _task_data(rec, context)}
        pred = rec.get("predicted") if predictions else None
        if isinstance(pred, dict) and pred:
            result, conf = [], []
            for f in FIELDS:
                if pred.get(f) in LABELS[f]:
                    result.append({"from_name": f, "to_name": "text", "type": "choices",
                                   "value": {"choices": [pred[f]]}})
                    p = (rec.get("probs") or {}).get(f, {}).get(pred[f])
                    if isinstance(p, (int, float)):
                        conf.append(float(p))
            model = rec.get("model") or {}
            version = " ".join(str(model[k]) for k in ("name", "version") if model.get(k)) or "nazar"
            entry = {"model_version": version, "result": result}
            if conf:
                entry["score"] = round(sum(conf) / len(conf), 4)
            task["predictions"] = [entry]
        tasks.append(task)
    return tasks, context


def write_label_studio(records: Sequence[dict], out: str | Path, predictions: bool = True) -> tuple[Path, Path]:
    """Write the tasks to ``out`` and the labelling config beside it (``OUT.xml`` → ``tasks.label_config.xml``)."""
    out = Path(out)
    tasks, context = label_studio_tasks(records, predictions)
    config = out.with_name(out.name.rsplit(".", 1)[0] + ".label_config.xml")
    try:
        atomic_write_text(out, json.dumps(tasks, ensure_ascii=False, indent=1) + "\n")
        atomic_write_text(config, label_config(context))
    except OSError as exc:
        raise AnnotateError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out, config


def _sheet_columns(records: Sequence[dict]) -> list[str]:
    extra = []
    for rec in records:
        for k, v in rec.items():
            if k not in _DATA_SKIP and k not in ("id", "text", NOTE) and k not in extra \
                    and isinstance(v, (str, int, float, bool)):
                extra.append(k)
    return ["id", "text", *FIELDS, NOTE, *extra, *(f"predicted_{f}" for f in FIELDS)]


def write_sheet(records: Sequence[dict], out: str | Path, delimiter: str = ",") -> Path:
    """A CSV (or TSV) sheet: id, text, empty label columns and a note to fill, the other input
    columns, and the model's guesses (``predicted_FIELD``) for reference."""
    records = [_flat(r) for r in records]
    columns = _sheet_columns(records)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for rec in records:
        pred = rec.get("predicted") if isinstance(rec.get("predicted"), dict) else {}
        row = []
        for c in columns:
            if c.startswith("predicted_"):
                row.append(pred.get(c[len("predicted_"):], ""))
            elif c in FIELDS:
                row.append(rec.get(c) or "")
            else:
                v = rec.get(c, "")
                row.append("" if v is None else v)
        writer.writerow(row)
    out = Path(out)
    try:
        # A byte-order mark so that spreadsheet programs read the Persian text as UTF-8.
        atomic_write_text(out, "\ufeff" + buf.getvalue())
    except OSError as exc:
        raise AnnotateError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out


# -- back ------------------------------------------------------------------------------------
@dataclass
class Imported:
    """Labelled records per annotator, the rejects (each with its ``reason``) and the counts."""

    by_annotator: dict[str, list[dict]] = field(default_factory=dict)
    rejects: list[dict] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    #: Controls of the export that are not nazar's (their values are not imported).
    ignored_controls: Counter = field(default_factory=Counter)

    def reject(self, reason: str, **where) -> None:
        self.rejects.append({**where, "reason": reason})

    @property
    def n_labelled(self) -> int:
        return sum(len(v) for v in self.by_annotator.values())

    def summary(self) -> str:
        c = self.counts
        who = ", ".join(f"{k}: {len(v)}" for k, v in self.by_annotator.items()) or "none"
        text = (f"read {c['units']} {c.get('unit', 'tasks')}; {self.n_labelled} labelled records ({who}); "
                f"{len(self.rejects)} rejected")
        if self.ignored_controls:
            text += "; ignored controls: " + ", ".join(f"{k} ({v})" for k, v in self.ignored_controls.items())
        return text


def _annotator(ann: dict, names: dict[str, str] | None = None) -> str:
    by = ann.get("completed_by")
    if names and not isinstance(by, dict) and str(by) in names:
        return names[str(by)]
    if isinstance(by, dict):
        return str(by.get("email") or by.get("username") or by.get("id") or "unknown")
    name = ann.get("created_username")
    if isinstance(name, str) and name.strip():
        # Label Studio writes "email, user id"
        return name.split(",")[0].strip() or f"user{by}"
    return f"user{by}" if by is not None else "unknown"


def _parse_result(result, out: Imported) -> tuple[dict, str | None, str | None]:
    """``({field: label}, note, problem)`` of one annotation's result list."""
    labels: dict[str, str] = {}
    note = None
    if not isinstance(result, list):
        return labels, note, "its result is not a list"
    for item in result:
        if not isinstance(item, dict):
            return labels, note, "a result entry is not an object"
        name, value = item.get("from_name"), item.get("value") or {}
        if name in FIELDS:
            choices = value.get("choices") if isinstance(value, dict) else None
            if not isinstance(choices, list) or len(choices) != 1:
                return labels, note, f"{name}: expected one choice, got {choices!r}"
            if choices[0] not in LABELS[name]:
                return labels, note, (f"{name}: unknown choice {choices[0]!r} "
                                      f"(expected {'/'.join(LABELS[name])}); is the project's config nazar's?")
            labels[name] = choices[0]
        elif name == NOTE:
            text = value.get("text") if isinstance(value, dict) else None
            if isinstance(text, list):
                text = " ".join(str(t) for t in text)
            note = (text or "").strip() or None
        else:
            out.ignored_controls[str(name)] += 1
    return labels, note, None


def _incomplete_or_repeated(labels: dict, fields: Sequence[str], seen: dict, key: tuple[str, str]) -> str | None:
    """Why an annotation with these ``labels`` yields no record (a field unlabelled, or the
    annotator's second one of that id), or ``None``; ``seen`` maps (id, annotator) to where."""
    missing = [f for f in fields if f not in labels]
    if missing:
        return f"no label for {', '.join(missing)}"
    if key in seen:
        return f"id labelled twice by {key[1]} (the first at {seen[key]})"
    return None


def read_label_studio(path: str | Path, batch_ids: set[str] | None = None,
                      fields: Sequence[str] = FIELDS, names: dict[str, str] | None = None) -> Imported:
    """Labelled records from a Label Studio JSON export (Export → JSON), one list per annotator.

    Every annotation that is complete (all ``fields``), not cancelled and for a known id
    becomes a record: the task's data (``id``, ``text`` and the rest) with the labels,
    ``annotator`` and, when written, ``note``. A task with no annotation, a skipped task, an
    unknown choice, a missing field, an id outside ``batch_ids`` or the same annotator twice on
    one id is a reject with its reason.

    An annotator is named by the export (``completed_by`` as a user object, or
    ``created_username``), else ``user<ID>``; ``names`` maps a user id to a name instead
    (``{"2": "bob@example.org"}``): Label Studio's JSON export gives only the id.
    """
    path = Path(path)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise AnnotateError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotateError(f"{path}: not a Label Studio JSON export ({exc})") from None
    if not isinstance(tasks, list):
        raise AnnotateError(f"{path}: a Label Studio JSON export is a list of tasks, got {type(tasks).__name__}")
    if tasks and isinstance(tasks[0], dict) and "data" not in tasks[0] and "annotations" not in tasks[0]:
        raise AnnotateError(f"{path}: tasks without 'data' and 'annotations': export as JSON, not JSON-MIN or CSV")
    out = Imported()
    seen: dict[tuple[str, str], str] = {}
    for n, task in enumerate(tasks, 1):
        out.counts["units"] += 1
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            out.reject("not a task object with 'data'", task=n)
            continue
        data, task_id = task["data"], task.get("id", n)
        rid = data.get("id")
        if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid).strip() == "":
            out.reject("the task's data has no 'id' (was it exported by nazar annotate export?)", task=task_id)
            continue
        rid = str(rid)
        where = {"task": task_id, "id": rid}
        if batch_ids is not None and rid not in batch_ids:
            out.reject("id not in the batch", **where)
            continue
        if not isinstance(data.get("text"), str):
            out.reject("the task's data has no 'text'", **where)
            continue
        annotations = task.get("annotations")
        if not isinstance(annotations, list) or not annotations:
            out.reject("no annotation", **where)
            continue
        for ann in annotations:
            out.counts["annotations"] += 1
            if not isinstance(ann, dict):
                out.reject("an annotation is not an object", **where)
                continue
            who = _annotator(ann, names)
            at = dict(where, annotator=who)
            if ann.get("was_cancelled"):
                out.reject("skipped by the annotator", **at)
                continue
            labels, note, problem = _parse_result(ann.get("result"), out)
            if problem:
                out.reject(problem, **at)
                continue
            problem = _incomplete_or_repeated(labels, fields, seen, (rid, who))
            if problem:
                out.reject(problem, **at)
                continue
            seen[rid, who] = f"task {task_id}"
            rec = {k: v for k, v in data.items() if k not in FIELDS}
            rec.update(id=rid, **labels, annotator=who)
            if note:
                rec[NOTE] = note
            out.by_annotator.setdefault(who, []).append(rec)
    return out


def read_sheet(path: str | Path, annotator: str | None = None, batch_ids: set[str] | None = None,
               fields: Sequence[str] = FIELDS) -> Imported:
    """Labelled records from a filled CSV/TSV sheet (``.tsv`` is tab-separated).

    Labels are read leniently (``favor`` is ``FAVOR``). A row with an unknown label, some
    fields blank, no id or an id outside ``batch_ids`` is a reject; a row with every label
    blank is a reject "not labelled". The annotator is ``annotator``, else the row's
    ``annotator`` column, else the file's stem.
    """
    path = Path(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AnnotateError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise AnnotateError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}); save the sheet as UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = reader.fieldnames or []
    lacking = [c for c in ("id", "text", *fields) if c not in header]
    if lacking:
        raise AnnotateError(f"{path}: no column {', '.join(repr(c) for c in lacking)} (columns: {', '.join(header)})")
    out = Imported()
    out.counts["unit"] = "rows"
    seen: dict[tuple[str, str], str] = {}
    for line, row in enumerate(reader, 2):
        out.counts["units"] += 1
        rid = (row.get("id") or "").strip()
        where = {"line": line, "id": rid or None}
        if not rid:
            out.reject("no id", **where)
            continue
        if batch_ids is not None and rid not in batch_ids:
            out.reject("id not in the batch", **where)
            continue
        who = annotator or (row.get("annotator") or "").strip() or path.stem
        labels, problems = {}, []
        for f in fields:
            try:
                lab = parse_label(f, row.get(f), lenient=True)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if lab is not None:
                labels[f] = lab
        if problems:
            out.reject("; ".join(problems), **where)
            continue
        if not labels:
            out.reject("not labelled", **where)
            continue
        problem = _incomplete_or_repeated(labels, fields, seen, (rid, who))
        if problem:
            out.reject(problem, **where)
            continue
        seen[rid, who] = f"line {line}"
        rec = {k: v for k, v in row.items()
               if k and not k.startswith("predicted_") and k not in FIELDS and k != NOTE and v not in (None, "")}
        rec.update(id=rid, text=row.get("text") or "", **labels, annotator=who)
        if (row.get(NOTE) or "").strip():
            rec[NOTE] = row[NOTE].strip()
        out.by_annotator.setdefault(who, []).append(rec)
    return out
