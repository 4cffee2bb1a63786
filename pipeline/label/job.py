"""The local labelling job: :func:`label_file` streams a file (or standard input) through a
:class:`~pipeline.label.labeller.BatchLabeller` in chunks, each written atomically as a part file
into ``OUTPUT.parts/`` with the progress in a manifest (:mod:`pipeline.label.resume`), then joins
the parts into the output in input order and the rejects into ``OUTPUT.rejects.jsonl``.
``engine="ray"`` hands the same work to :mod:`pipeline.label.ray_engine`.
"""
from __future__ import annotations

import errno
import itertools
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

from ..classifiers.base import Model, ModelError
from ..errors import require
from ..io import (MAX_TEXT_CHARS, OUTPUT_FORMATS, InputError, Item, JsonlWriter, StreamWriter, atomic_write_text,
                 compression, input_total, open_writer, output_format, read_items, sniff)
from ..io import input_format as _input_format
from .labeller import (DUPLICATE_POLICIES, BatchLabeller, ByCounts, DuplicateIds, LabelError, LabelInterrupted,
                       LabelSummary, _chunks, _Progress, duplicate_ids, reason_kind, rejects_path,
                       work_dir)
from .resume import MANIFEST_FORMAT, _check_resumable, _fingerprint, _load_manifest, _part, _save_manifest
from ..worklock import Locked, WorkLock

__all__ = ["label_file", "ENGINES"]

ENGINES = ("local", "ray")


def _reading(keep: Sequence[str], by: str | None) -> list[str]:
    """The input fields a reader must bring besides the text and id: those kept, and the --by one."""
    return list(keep) + ([by] if by and by not in keep else [])


def _check_keep(keep: Sequence[str], labeller: BatchLabeller) -> None:
    """Kept input fields must not take the name of an output field."""
    taken = {"id", "probs", "model", *labeller.columns()}
    clash = [k for k in keep if k in taken]
    if clash:
        raise LabelError(f"--keep {clash[0]}: the output has a field of that name already")
    if len(set(keep)) != len(keep):
        raise LabelError("--keep names a field twice")


# -- the job -------------------------------------------------------------------------------------------
def label_file(input_path: str | Path | None, output_path: str | Path, model: Model | str | Path | None = None,
               chunk_size: int = 512, force: bool = False, progress: bool = True,
               text_field: str = "text", id_field: str = "id", max_chars: int = MAX_TEXT_CHARS,
               on_chunk: Callable[[LabelSummary], None] | None = None, *, input_format: str | None = None,
               truncate: bool = False, resume: bool = False, engine: str = "local", workers: int | None = None,
               cache_size: int = 8192, stream=None, keep: Sequence[str] = (),
               duplicates: str = "keep", out_format: str | None = None, rejects: str | Path | None = None,
               out_stream=None, by: str | None = None) -> LabelSummary:
    """Label a JSONL, CSV/TSV, Parquet, JSON-array or text file into ``output_path``.

    ``None`` or ``-`` reads standard input.

    The input format comes from ``input_format`` (``jsonl``, ``csv``, ``tsv``,
    ``parquet``, ``json``, ``text``) or the input's extension (standard input: JSONL); the output
    format from the output's extension. Each output record holds ``id``, one
    label per field, ``probs`` and ``model`` (flattened to columns in CSV, TSV
    and Parquet), after the input fields named in ``keep`` (strings in the flat
    formats). Rejected records go to :func:`rejects_path` with ``line``,
    ``id`` and ``reason``. An existing output is only replaced with ``force``.
    ``resume`` continues a run that was interrupted (its ``OUTPUT.parts`` work
    directory is still there); it refuses if the input, the model or the
    reading options changed. ``engine="ray"`` labels on a Ray cluster (no
    ``resume``, no standard input).

    ``duplicates`` says what to do with labelled records that share an id
    (:data:`DUPLICATE_POLICIES`): ``keep`` (all in the output, counted in the
    summary's ``duplicate_ids``), ``first`` (the first in the output, later ones
    rejected) or ``reject`` (all of them rejected; reads the input twice, so not
    from standard input).

    ``output_path`` ``-`` streams the labelled records to standard output (``out_stream``, a
    binary stream, in tests) as they are labelled, as JSONL or, with ``out_format``, CSV or TSV;
    such a run keeps no work directory, so it cannot be resumed. ``out_format`` also overrides a
    file output's extension. ``rejects`` puts the rejects in that file instead of
    :func:`rejects_path` (with ``-o -`` they are only counted unless it is given). ``by`` names an
    input field to break the summary's counts down by (:class:`ByCounts`).
    """
    if engine not in ENGINES:
        raise LabelError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    if chunk_size < 1:
        raise LabelError("chunk size must be at least 1")
    if max_chars < 1:
        raise LabelError("--max-chars must be at least 1")
    if duplicates not in DUPLICATE_POLICIES:
        raise LabelError(f"unknown duplicate-id policy {duplicates!r}; known: {', '.join(DUPLICATE_POLICIES)}")
    to_stdout = str(output_path) == "-"
    output_path = Path(output_path)
    stdin = input_path is None or str(input_path) == "-"
    if stdin and duplicates == "reject":
        raise LabelError("--duplicates reject reads the input twice, so it needs a file, not standard input "
                         "(--duplicates first keeps the first record of each id in one pass)")
    try:
        fmt = _input_format(input_path, input_format)
        if out_format is not None and out_format not in OUTPUT_FORMATS:
            raise InputError(f"unknown output format {out_format!r}; known: {', '.join(OUTPUT_FORMATS)}")
        out_fmt = out_format or ("jsonl" if to_stdout else output_format(output_path))
    except InputError as exc:
        raise LabelError(str(exc)) from None
    if to_stdout:
        if out_fmt not in StreamWriter.FORMATS:
            raise LabelError(f"{out_fmt} cannot go to standard output; write it to a file (-o FILE.{out_fmt}), "
                             f"or use --output-format {'|'.join(StreamWriter.FORMATS)}")
        if resume:
            raise LabelError("a run writing to standard output keeps no work to resume; write to a file "
                             "(-o FILE) to be able to --resume")
        if engine == "ray":
            raise LabelError("the ray engine writes to a file; pass -o FILE")
    # Optional packages are checked before any input is read, not at the final join.
    if "parquet" in (fmt, out_fmt):
        require("pyarrow", f"Parquet {'input' if fmt == 'parquet' else 'output'}")
    if fmt == "xlsx":
        require("openpyxl")
    if engine == "ray":
        require("ray")
        require("pyarrow", "the ray engine")
        if fmt == "xlsx":
            raise LabelError("the ray engine reads JSONL, CSV/TSV, Parquet, JSON and text; label a workbook "
                             "with --engine local, or save it as CSV")
    if not stdin:
        input_path = Path(input_path)
        if not input_path.is_file():
            raise LabelError(f"input file not found: {input_path}")
        if not to_stdout and input_path.resolve() == output_path.resolve():
            raise LabelError(f"the output {output_path} is the input; choose another output")
        problem = sniff(input_path, fmt)
        if problem:
            raise LabelError(problem)
        packed = compression(input_path) if engine == "ray" else None
        if packed:
            raise LabelError(f"{input_path} is compressed ({packed}); the ray engine splits "
                             f"its input by byte ranges, so decompress it first or use --engine local")
    keep = list(keep)
    if engine == "ray":
        if resume:
            raise LabelError("--resume works with the local engine; Ray retries failed tasks itself")
        if keep:
            raise LabelError("--keep works with the local engine")
        if rejects is not None:
            raise LabelError("--rejects works with the local engine (the ray engine writes OUTPUT.rejects.jsonl)")
        if by is not None:
            raise LabelError("--by works with the local engine")
        if output_path.exists() and not force:
            raise LabelError(f"{output_path} exists; pass --force to overwrite it")
        from .ray_engine import label_with_ray

        return label_with_ray(input_path, output_path, model=model, fmt=fmt, out_fmt=out_fmt,
                              chunk_size=chunk_size, force=force, progress=progress, text_field=text_field,
                              id_field=id_field, max_chars=max_chars, truncate=truncate, workers=workers,
                              cache_size=cache_size, duplicates=duplicates)
    if to_stdout:
        try:
            return _label_stream(input_path, model, fmt, out_fmt, chunk_size=chunk_size, progress=progress,
                                 text_field=text_field, id_field=id_field, max_chars=max_chars,
                                 truncate=truncate, on_chunk=on_chunk, cache_size=cache_size, stream=stream,
                                 stdin=stdin, keep=keep, by=by,
                                 duplicates=duplicates, rejects=Path(rejects) if rejects else None,
                                 out_stream=out_stream)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise LabelError(f"cannot write {exc.filename or 'standard output'}: {exc.strerror or exc}") from None
    return _label_local(input_path, output_path, model, fmt, out_fmt, chunk_size=chunk_size, force=force,
                        progress=progress, text_field=text_field, id_field=id_field, max_chars=max_chars,
                        truncate=truncate, resume=resume, on_chunk=on_chunk, cache_size=cache_size,
                        stream=stream, stdin=stdin, keep=keep, duplicates=duplicates, by=by,
                        rejects=Path(rejects) if rejects else None)


def _make_labeller(model, cache_size: int) -> BatchLabeller:
    if isinstance(model, BatchLabeller):
        return model
    try:
        return BatchLabeller(model, cache_size=cache_size)
    except ModelError as exc:
        raise LabelError(str(exc)) from None


def _label_local(input_path, output_path: Path, model, fmt: str, out_fmt: str, *, chunk_size: int, force: bool,
                 progress: bool, text_field: str, id_field: str, max_chars: int, truncate: bool, resume: bool,
                 on_chunk, cache_size: int, stream, stdin: bool, keep: list[str], duplicates: str,
                 rejects: Path | None, by: str | None) -> LabelSummary:
    work = work_dir(output_path)
    rej_path = rejects or rejects_path(output_path)
    options = {"format": fmt, "text_field": text_field, "id_field": id_field, "max_chars": max_chars,
               "truncate": truncate}
    if keep:  # only when given, so runs started without it resume as before
        options["keep"] = keep
    if duplicates != "keep":
        options["duplicates"] = duplicates
    if by is not None:
        options["by"] = by
    # A live run on the same output holds the lock on its work directory: refuse, whatever the options.
    locks: list[WorkLock] = []
    try:
        if work.exists():
            _take_lock(work, False, locks)
        return _label_locked(input_path, output_path, model, fmt, out_fmt, work, rej_path, options, locks,
                             chunk_size=chunk_size, force=force, progress=progress, text_field=text_field,
                             id_field=id_field, max_chars=max_chars, truncate=truncate, resume=resume,
                             on_chunk=on_chunk, cache_size=cache_size, stream=stream, stdin=stdin, keep=keep,
                             duplicates=duplicates, by=by)
    except OSError as exc:
        raise LabelError(_write_failure(exc, work, output_path, started=bool(locks), stdin=stdin)) from None
    except KeyboardInterrupt as exc:
        raise LabelInterrupted(_interrupted(work, stdin), exit_code=getattr(exc, "exit_code", 130)) from None
    finally:
        for lock in locks:
            lock.release()


def _kept(work: Path) -> int | None:
    """Records read by the run whose work directory is ``work`` (``None``: no manifest there)."""
    try:
        return int(json.loads((work / "manifest.json").read_text(encoding="utf-8"))["read"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _again(work: Path, stdin: bool) -> str:
    if stdin:
        return "run it again (standard input cannot be resumed)"
    read = _kept(work)
    if read is None:
        return "run the same command again"
    return (f"the {read} record(s) read so far are kept in {work}: run the same command with --resume "
            f"to finish")


def _write_failure(exc: OSError, work: Path, output: Path, started: bool, stdin: bool) -> str:
    """A one-line message for an OSError met while labelling: which path, why, and what to do next."""
    where = exc.filename or output
    why = exc.strerror or str(exc)
    if started and not work.exists():
        return (f"the work directory {work} was removed while this run was writing to it; "
                f"run the same command with --force to start over")
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return f"cannot write {where}: {why}; free some space (or choose another -o), then {_again(work, stdin)}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {where}: {why}; choose an output in a directory you can write to (-o)"
    if exc.errno in (errno.ENOTDIR, errno.EISDIR):
        return f"cannot write {where}: {why}; the output's directory path runs through a file, choose another -o"
    return f"cannot write {where}: {why}; fix that, then {_again(work, stdin)}"


def _interrupted(work: Path, stdin: bool) -> str:
    if _kept(work) is None:
        return "interrupted before any record was labelled"
    return f"interrupted: {_again(work, stdin)}"


def _take_lock(work: Path, create: bool, locks: list) -> WorkLock | None:
    try:
        lock = WorkLock.take(work, create=create)
    except Locked as exc:
        raise LabelError(f"another run is writing this output: {exc}") from None
    except OSError as exc:
        raise LabelError(f"cannot create the work directory {work}: {exc.strerror or exc}") from None
    if lock is not None:
        locks.append(lock)
    return lock


def _label_locked(input_path, output_path: Path, model, fmt: str, out_fmt: str, work: Path, rej_path: Path,
                  options: dict, locks: list, *, chunk_size: int, force: bool, progress: bool,
                  text_field: str, id_field: str, max_chars: int, truncate: bool, resume: bool, on_chunk,
                  cache_size: int, stream, stdin: bool, keep: list[str], duplicates: str,
                  by: str | None) -> LabelSummary:
    state: dict | None = None
    if locks and locks[0].has_work():
        if resume:
            state = _load_manifest(work)
        elif force:
            locks[0].clear()
        else:
            raise LabelError(f"{work} holds an interrupted run: pass --resume to continue it, "
                             f"or --force to start over")
    elif resume and output_path.exists():
        raise LabelError(f"nothing to resume: {output_path} is complete (no {work.name}); "
                         f"pass --force to label again")
    if output_path.exists() and not force and not (state and state.get("force")):
        raise LabelError(f"{output_path} exists; pass --force to overwrite it")

    labeller = _make_labeller(model, cache_size)
    _check_keep(keep, labeller)
    mhash = labeller.identity()
    fingerprint = None if stdin else _fingerprint(input_path)
    if state is not None:
        _check_resumable(state, fingerprint, mhash, options, work)
        force = force or bool(state.get("force"))
    start = tuple(state["resume_at"]) if state and state["resume_at"] else None
    # Open the input and read its first record now: an unreadable input fails before OUTPUT.parts exists.
    try:
        items = read_items(None if stdin else input_path, fmt, text_field=text_field, id_field=id_field,
                           max_chars=max_chars, truncate=truncate, start=start, keep=_reading(keep, by))
        first = next(items, None)
    except InputError as exc:
        raise LabelError(str(exc)) from None
    items = itertools.chain([first] if first is not None else [], items)
    dups = duplicate_ids(duplicates, input_path, fmt, text_field=text_field, id_field=id_field,
                         max_chars=max_chars, truncate=truncate)
    if state is None:
        if not locks:
            _take_lock(work, True, locks)
        if locks[0].has_work():  # another run started and stopped in the meantime
            raise LabelError(f"{work} appeared while this run was starting: pass --resume to continue it, "
                             f"or --force to start over")
        state = {"format": MANIFEST_FORMAT, "state": "labelling", "input": fingerprint, "model_hash": mhash,
                 "model": labeller.model_info, "options": options, "force": force, "parts": 0,
                 "resume_at": None, "read": 0, "labelled": 0, "rejected": 0, "distinct_texts": 0,
                 "counts": {f: {} for f in labeller.model.fields}, "reasons": {}, "duplicate_ids": 0,
                 "duplicate_example": None, **({"by": {}} if by else {})}
        _save_manifest(work, state)

    resumed_from = state["read"]
    # Parts beyond the manifest's count were written by a run killed before it recorded them.
    for stale in work.glob("part-*"):
        try:
            idx = int(stale.name.split(".")[0].split("-")[1])
        except (IndexError, ValueError):
            continue
        if idx >= state["parts"]:
            stale.unlink()
    for tmp in work.glob(".*"):
        tmp.unlink()
    dups.count, dups.example = state.get("duplicate_ids", 0), state.get("duplicate_example")
    if duplicates != "reject":  # the ids already in the output, so a resumed run sees them
        for i in range(state["parts"]):
            with open(_part(work, i), encoding="utf-8") as fh:
                dups.add_seen(json.loads(line)["id"] for line in fh)

    try:
        total = input_total(input_path, fmt)
    except InputError as exc:
        raise LabelError(str(exc)) from None
    bar = _Progress(total, progress, stream=stream, start_rows=state["read"],
                    start_done=start[0] if start else 0)
    start_at = start[0] if start else 0
    summary = LabelSummary(output=str(output_path), rejects=str(rej_path), resumed_from=resumed_from)
    t0 = time.perf_counter()
    tally = _Tally(labeller.model.fields, by, state)
    try:
        for chunk in _chunks(items, chunk_size):
            good, rejects = _split(chunk, dups)
            labeller.on_batch = bar.within(state["read"], len(chunk), start_at, chunk[-1].end)
            recs = labeller.records(good, keep)
            start_at = chunk[-1].end
            idx = state["parts"]
            if rejects:
                atomic_write_text(_part(work, idx, rejects=True),
                                  "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejects), sync_dir=False)
            atomic_write_text(_part(work, idx), "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs),
                              sync_dir=False)  # the manifest's write syncs the directory
            tally.add(good, recs, rejects)
            state.update(parts=idx + 1, resume_at=[chunk[-1].end, chunk[-1].line],
                         read=state["read"] + len(chunk), labelled=state["labelled"] + len(recs),
                         rejected=state["rejected"] + len(rejects),
                         distinct_texts=state["distinct_texts"] + len({it.record["text"] for it in good}),
                         duplicate_ids=dups.count, duplicate_example=dups.example, **tally.state())
            _save_manifest(work, state)
            summary.read, summary.labelled, summary.rejected = state["read"], state["labelled"], state["rejected"]
            bar.update(state["read"], chunk[-1].end)
            if on_chunk:
                on_chunk(summary)
    except InputError as exc:
        raise LabelError(str(exc)) from None
    finally:
        labeller.on_batch = None

    state["state"] = "joining"
    _save_manifest(work, state)
    _join(work, state, output_path, rej_path, out_fmt, labeller, keep)
    locks[0].release(remove=True)

    summary.seconds = time.perf_counter() - t0
    summary.read, summary.labelled, summary.rejected = state["read"], state["labelled"], state["rejected"]
    summary.distinct_texts = state["distinct_texts"]
    tally.finish(summary, labeller, dups, duplicates)
    bar.update(summary.read, total, final=True)
    if not summary.reconciles:  # pragma: no cover - guarded by construction
        raise LabelError(f"counts do not reconcile: read {summary.read} != "
                         f"labelled {summary.labelled} + rejected {summary.rejected}")
    return summary


class _Tally:
    """What a run counts as it goes, for both engines of this module: labels per field, reject
    reasons and the ``--by`` breakdown (``state``: a manifest to continue from)."""

    def __init__(self, fields: Sequence[str], by: str | None, state: dict | None = None) -> None:
        state = state or {}
        self.counts = {f: Counter((state.get("counts") or {}).get(f, {})) for f in fields}
        self.reasons = Counter(state.get("reasons") or {})
        self.by_field = by
        self.by = ByCounts(by, fields, state.get("by")) if by else None

    def add(self, good: Sequence[Item], recs: Sequence[dict], rejects: Sequence[dict]) -> None:
        for rec in recs:
            for f, c in self.counts.items():
                c[rec[f]] += 1
        if self.by is not None:
            self.by.add(good, recs)
        for r in rejects:
            self.reasons[reason_kind(r["reason"])] += 1

    def state(self) -> dict:
        """The counts as the manifest keeps them."""
        out = {"counts": {f: dict(c) for f, c in self.counts.items()}, "reasons": dict(self.reasons)}
        if self.by is not None:
            out["by"] = self.by.data
        return out

    def finish(self, summary: LabelSummary, labeller: BatchLabeller, dups: DuplicateIds, duplicates: str) -> None:
        """Put the counts, the cache figures and the duplicate ids into ``summary``."""
        state = self.state()
        summary.counts, summary.reject_reasons = state["counts"], state["reasons"]
        summary.cached, summary.classified = labeller.stats["cached"], labeller.stats["classified"]
        summary.duplicates, summary.duplicate_ids, summary.duplicate_example = duplicates, dups.count, dups.example
        if self.by is not None:
            summary.by_field, summary.by = self.by_field, self.by.data


def _split(chunk: Sequence[Item], dups: DuplicateIds) -> tuple[list[Item], list[dict]]:
    """The items of ``chunk`` to label, and the reject records of the others."""
    good, rejects = [], []
    for it in chunk:
        why = it.reason if not it.ok else dups.check(it.id)
        if why is None:
            good.append(it)
        else:
            rejects.append({"line": it.line, "id": it.id, "reason": why})
    return good, rejects


def _label_stream(input_path, model, fmt: str, out_fmt: str, *, chunk_size: int, progress: bool, text_field: str,
                  id_field: str, max_chars: int, truncate: bool, on_chunk, cache_size: int, stream, stdin: bool,
                  keep: list[str], duplicates: str, rejects: Path | None, out_stream,
                  by: str | None) -> LabelSummary:
    """Label to standard output chunk by chunk (no work directory, no resume)."""
    labeller = _make_labeller(model, cache_size)
    _check_keep(keep, labeller)
    try:
        items = read_items(None if stdin else input_path, fmt, text_field=text_field, id_field=id_field,
                           max_chars=max_chars, truncate=truncate, keep=_reading(keep, by))
        first = next(items, None)
        total = input_total(None if stdin else input_path, fmt)
    except InputError as exc:
        raise LabelError(str(exc)) from None
    items = itertools.chain([first] if first is not None else [], items)
    dups = duplicate_ids(duplicates, input_path, fmt, text_field=text_field, id_field=id_field,
                         max_chars=max_chars, truncate=truncate)
    bar = _Progress(total, progress, stream=stream)
    start_at = 0
    summary = LabelSummary(output="-", rejects=str(rejects) if rejects else "")
    tally = _Tally(labeller.model.fields, by)
    t0 = time.perf_counter()
    writer = StreamWriter(out_stream if out_stream is not None else sys.stdout.buffer, out_fmt,
                          labeller.model.fields, labeller.classes, keep)
    rej = JsonlWriter(rejects, lazy=True) if rejects else None
    try:
        for chunk in _chunks(items, chunk_size):
            good, rejected = _split(chunk, dups)
            labeller.on_batch = bar.within(summary.read, len(chunk), start_at, chunk[-1].end)
            start_at = chunk[-1].end
            recs = labeller.records(good, keep)
            for rec in recs:
                writer.write(rec)
            writer.flush()
            tally.add(good, recs, rejected)
            if rej is not None:
                rej.write_many(rejected)
            summary.read += len(chunk)
            summary.labelled += len(good)
            summary.rejected += len(rejected)
            summary.distinct_texts += len({it.record["text"] for it in good})
            bar.update(summary.read, chunk[-1].end)
            if on_chunk:
                on_chunk(summary)
    except BaseException as exc:
        if rej is not None:
            rej.abort()
        if isinstance(exc, InputError):
            raise LabelError(str(exc)) from None
        raise
    finally:
        labeller.on_batch = None
        try:
            writer.close()
        except BrokenPipeError:
            pass
    if rej is not None:
        rej.close()
    summary.seconds = time.perf_counter() - t0
    tally.finish(summary, labeller, dups, duplicates)
    bar.update(summary.read, total, final=True)
    return summary


def _join(work: Path, state: dict, output: Path, rej_path: Path, out_fmt: str, labeller: BatchLabeller,
          keep: Sequence[str] = ()) -> None:
    """Join the part files into the rejects file and the output, in input order, and check the counts."""
    n_parts = state["parts"]
    n_rej = 0
    if state["rejected"]:
        with JsonlWriter(rej_path) as rej:
            for i in range(n_parts):
                p = _part(work, i, rejects=True)
                if p.exists():
                    data = p.read_bytes()
                    n_rej += data.count(b"\n")
                    rej.write_raw(data)
    else:
        rej_path.unlink(missing_ok=True)
    n_out = 0
    writer = open_writer(output, out_fmt, labeller.model.fields, labeller.classes, keep)
    with writer:
        for i in range(n_parts):
            p = _part(work, i)
            if out_fmt == "jsonl":
                data = p.read_bytes()
                n_out += data.count(b"\n")
                writer.write_raw(data)
            else:
                with open(p, encoding="utf-8") as fh:
                    for line in fh:
                        writer.write(json.loads(line))
                        n_out += 1
        if n_out != state["labelled"] or n_rej != state["rejected"]:
            raise LabelError(f"the parts in {work} hold {n_out} records and {n_rej} rejects, the manifest "
                             f"{state['labelled']} and {state['rejected']}; pass --force to start over")
