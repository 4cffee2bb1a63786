"""Label a batch in the terminal: one annotator, no server, resumable.

:func:`label_batch` shows each comment of a batch (right-aligned and wrapped, the way
Persian reads) with the model's guess, and reads one answer line per comment: one key per
field, in the order stance toward the domestic messengers, stance toward Telegram, sentiment.

* stances: ``f`` FAVOR, ``a`` AGAINST, ``n`` NONE; sentiment: ``p`` POSITIVE, ``n`` NEGATIVE,
  ``u`` NEUTRAL; digits ``1``–``3`` pick the choice in that position (spaces are ignored);
* an empty line takes the model's guess (when the batch carries one);
* text after ``#`` is kept as the record's note: ``naa # sarcastic``;
* ``s`` skips the comment, ``u`` undoes the last answer, ``q`` quits, ``?`` shows the keys.

Every answer is appended to the output at once (a skip to ``OUTPUT.skipped.jsonl``), so
quitting or a crash loses nothing; run the same command again to continue where it
stopped: ids already in either file are not asked again.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Callable, TextIO

from ..schema import FIELDS, LABELS
from . import AnnotateError
from .exchange import CHOICE_ORDER, FIELD_TITLES, NOTE
from .records import PREDICTION_KEYS, read_records

__all__ = ["KEYS", "parse_answer", "label_batch", "skipped_path", "visual"]

#: The key of each label, per field.
KEYS: dict[str, dict[str, str]] = {
    "stance_domestic": {"f": "FAVOR", "a": "AGAINST", "n": "NONE"},
    "stance_telegram": {"f": "FAVOR", "a": "AGAINST", "n": "NONE"},
    "sentiment": {"p": "POSITIVE", "n": "NEGATIVE", "u": "NEUTRAL"},
}
_COMMANDS = {"s": "skip", "u": "undo", "q": "quit", "?": "help"}


def skipped_path(output: str | Path) -> Path:
    """Where the skips of ``output`` go: ``labels.jsonl`` → ``labels.skipped.jsonl``."""
    output = Path(output)
    stem = output.name[: -len(".jsonl")] if output.name.endswith(".jsonl") else output.name
    return output.with_name(stem + ".skipped.jsonl")


def help_text() -> str:
    lines = ["one key per field, in this order:"]
    for f in FIELDS:
        keys = ", ".join(f"{k} {lab}" for k, lab in KEYS[f].items())
        digits = ", ".join(f"{i} {lab}" for i, lab in enumerate(CHOICE_ORDER[f], 1))
        lines.append(f"  {FIELD_TITLES[f]}: {keys} (or {digits})")
    lines += ["  e.g. 'nan' = NONE, AGAINST, NEGATIVE; text after '#' is a note: 'nan # sarcastic'",
              "Enter: the model's guess   s: skip   u: undo the last answer   q: quit   ?: these keys"]
    return "\n".join(lines)


def parse_answer(line: str, guess: dict | None = None) -> tuple[str, dict | None, str | None]:
    """``(command, labels, note)`` of one answer line; :class:`ValueError` with the reason if it is not one.

    ``command`` is ``label``, ``skip``, ``undo``, ``quit`` or ``help``.
    """
    text, _, note = line.partition("#")
    note = note.strip() or None
    keys = "".join(text.split()).lower()
    if keys in _COMMANDS and not note:
        return _COMMANDS[keys], None, None
    if not keys:
        if not guess or any(guess.get(f) not in LABELS[f] for f in FIELDS):
            raise ValueError("this comment has no model guess: type one key per field")
        return "label", {f: guess[f] for f in FIELDS}, note
    if len(keys) != len(FIELDS):
        raise ValueError(f"{len(keys)} key(s) for {len(FIELDS)} fields: type one key per field (? for help)")
    labels = {}
    for f, k in zip(FIELDS, keys):
        if k.isdigit() and 1 <= int(k) <= len(CHOICE_ORDER[f]):
            labels[f] = CHOICE_ORDER[f][int(k) - 1]
        elif k in KEYS[f]:
            labels[f] = KEYS[f][k]
        else:
            raise ValueError(f"{k!r} is not a key for {f} ({', '.join(KEYS[f])} or 1-{len(CHOICE_ORDER[f])})")
    return "label", labels, note


def visual(text: str) -> str:
    """``text`` in visual order, for terminals that do not lay out right-to-left text (needs python-bidi)."""
    try:
        from bidi.algorithm import get_display
    except ImportError:
        raise AnnotateError("--visual needs python-bidi: pip install python-bidi") from None
    return get_display(text)


def _show(rec: dict, k: int, total: int, width: int, reorder: bool) -> str:
    lines = [f"── {k}/{total}  id {rec['id']} " + "─" * max(0, width - 16 - len(str(rec["id"])))]
    for key in ("url", "context"):
        if isinstance(rec.get(key), str) and rec[key].strip():
            lines.append(f"{key}: {' '.join(rec[key].split())[: width * 2]}")
    for para in str(rec["text"]).splitlines() or [""]:
        for row in textwrap.wrap(para, width) or [""]:
            lines.append((visual(row) if reorder else row).rjust(width))
    guess = rec.get("predicted")
    if isinstance(guess, dict) and all(guess.get(f) in LABELS[f] for f in FIELDS):
        keys = "".join(next(key for key, lab in KEYS[f].items() if lab == guess[f]) for f in FIELDS)
        lines.append(f"model: {' / '.join(guess[f] for f in FIELDS)}  (Enter = '{keys}')")
    return "\n".join(lines)


def _done_ids(*paths: Path) -> set[str]:
    ids: set[str] = set()
    for p in paths:
        if p.exists():
            ids |= {r["id"] for r in read_records(p, need_text=False)}
    return ids


def label_batch(batch: str | Path, output: str | Path, annotator: str | None = None,
                read_line: Callable[[str], str] | None = None, out: TextIO | None = None,
                width: int | None = None, reorder: bool = False) -> Counter:
    """Ask for the labels of every comment of ``batch`` not yet in ``output``; returns the counts.

    ``read_line(prompt)`` reads one answer (default: :func:`input`; end of input quits);
    ``out`` is where comments and messages go (default: standard output). Each labelled
    record is the batch record (without the model's predictions) with the three labels,
    ``annotator`` and any note; the file is flushed after every answer.
    """
    batch, output = Path(batch), Path(output)
    if output.resolve() == batch.resolve():
        raise AnnotateError(f"{output} is the batch itself; write the labels elsewhere")
    if reorder:
        visual("")  # python-bidi missing: say so before the first comment
    records = read_records(batch)
    skips = skipped_path(output)
    done = _done_ids(output, skips)
    todo = [r for r in records if r["id"] not in done]
    out = out or sys.stdout
    read_line = read_line or input
    width = width or max(30, min(100, shutil.get_terminal_size((80, 24)).columns - 2))
    annotator = annotator or os.environ.get("USER") or "annotator"
    counts: Counter = Counter(batch=len(records), before=len(done & {r["id"] for r in records}))
    if not todo:
        print(f"all {len(records)} comments of {batch} are done ({output}, {skips})", file=out)
        return counts
    print(f"{len(todo)} of {len(records)} comments to label; answers go to {output}. ? for the keys.", file=out)
    history: list[tuple[Path, int, int]] = []  # (file, its size before the answer, index of the comment)
    k = 0
    while k < len(todo):
        rec = todo[k]
        print("\n" + _show(rec, counts["before"] + k + 1, len(records), width, reorder), file=out)
        try:
            line = read_line("> ")
        except EOFError:
            counts["quit"] += 1
            break
        try:
            command, labels, note = parse_answer(line, rec.get("predicted"))
        except ValueError as exc:
            print(f"  {exc}", file=out)
            continue
        if command == "help":
            print(help_text(), file=out)
            continue
        if command == "quit":
            counts["quit"] += 1
            break
        if command == "undo":
            if not history:
                print("  nothing to undo in this session", file=out)
                continue
            path, size, k = history.pop()
            with path.open("r+b") as fh:
                fh.truncate(size)
            counts["undone"] += 1
            print(f"  undone: {todo[k]['id']}", file=out)
            continue
        if command == "skip":
            entry, path = {"id": rec["id"], "annotator": annotator, "skipped": True}, skips
        else:
            entry = {key: v for key, v in rec.items() if key not in FIELDS and key not in PREDICTION_KEYS}
            entry.update(labels, annotator=annotator)
            if note:
                entry[NOTE] = note
            path = output
        size = path.stat().st_size if path.exists() else 0
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        history.append((path, size, k))
        k += 1
    ids = {r["id"] for r in records}
    labelled, skipped = _done_ids(output) & ids, _done_ids(skips) & ids
    counts["labelled"], counts["skipped"] = len(labelled), len(skipped)
    counts["left"] = len(ids - labelled - skipped)
    print(f"\n{counts['labelled']} labelled, {counts['skipped']} skipped, {counts['left']} left "
          f"({output})", file=out)
    return counts
