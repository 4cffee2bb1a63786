"""Labelling on a Ray cluster: the same :class:`~pipeline.label.BatchLabeller` as a Ray Data pipeline.

read (:class:`CommentSource`: the project's own readers, split into ranges
that workers read in parallel, every record kept with its line number and,
for a reject, its reason) → ``map_batches(BatchLabeller)`` (one model actor
per worker: the model loads once in ``__init__``; each call labels a
dict-of-arrays batch) → ``write_parquet`` into the work directory
(``OUTPUT.parts/ray``) → the driver joins those files in input order into the
output (JSONL, CSV, TSV or Parquet) and ``OUTPUT.rejects.jsonl``, and checks
that every record read came back exactly once.

``ray.init()`` connects to the cluster named by ``RAY_ADDRESS`` or, without
it, starts a local Ray runtime. Workers read the input and write the work
directory by path: on a cluster both must be on storage every node sees, and
every node needs nazar installed. Ray is imported only here.
"""
from __future__ import annotations

import functools
import logging
import os
import time
from collections import Counter
from pathlib import Path

from ..io import (InputError, JsonlWriter, input_total, open_writer, read_csv, read_json_array, read_jsonl,
                 prob_column, read_parquet, read_text)
from ..worklock import Locked, WorkLock
from .labeller import (BatchLabeller, DuplicateIds, LabelError, LabelSummary, duplicate_ids, reason_kind,
                       rejects_path, work_dir)
from ..resources import default_model_dir

__all__ = ["label_with_ray", "CommentSource"]

try:  # Only label_with_ray needs Ray; it says how to install it when it is missing.
    from ray.data import Datasource as _Datasource
except ImportError:  # pragma: no cover - exercised where Ray is not installed
    _Datasource = object

#: Input columns handed from the read stage to the labeller.
_SCHEMA_COLUMNS = ("line", "id", "text", "reason")


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise LabelError("the ray engine needs Ray: pip install 'nazar[ray]'") from None
    return ray


def _items_table(items, block_rows: int):
    """Blocks (pyarrow tables) of ``line``, ``id``, ``text``, ``reason`` from an Item iterator."""
    import pyarrow as pa

    schema = pa.schema([("line", pa.int64()), ("id", pa.string()), ("text", pa.string()), ("reason", pa.string())])
    cols: dict[str, list] = {c: [] for c in _SCHEMA_COLUMNS}
    for it in items:
        cols["line"].append(it.line)
        cols["id"].append(it.id)
        cols["text"].append(it.record["text"] if it.ok else "")
        cols["reason"].append(it.reason)
        if len(cols["line"]) >= block_rows:
            yield pa.table(cols, schema=schema)
            cols = {c: [] for c in _SCHEMA_COLUMNS}
    if cols["line"]:
        yield pa.table(cols, schema=schema)


def _read_range(path: str, fmt: str, options: dict, start, stop, block_rows: int):
    if fmt in ("jsonl", "text"):
        items = (read_jsonl if fmt == "jsonl" else read_text)(path, start=start, stop=stop, **options)
    elif fmt in ("csv", "tsv"):
        items = read_csv(path, delimiter="," if fmt == "csv" else "\t", **options)
    elif fmt == "json":
        items = read_json_array(path, **options)
    else:
        items = read_parquet(path, start_row=start, stop_row=stop, **options)
    return _items_table(items, block_rows)


def _line_ranges(path: str, parts: int) -> list[tuple[tuple[int, int], int | None]]:
    """Split a JSONL or text file into ``parts`` byte ranges at line starts, with the line count before each."""
    size = os.path.getsize(path)
    if parts <= 1 or size == 0:
        return [((0, 0), None)]
    bounds = [0]
    with open(path, "rb") as fh:
        for k in range(1, parts):
            fh.seek(size * k // parts)
            fh.readline()  # finish the line the cut fell into
            b = fh.tell()
            if bounds[-1] < b < size:
                bounds.append(b)
        # Line numbers at the cuts: count newlines up to each.
        lines_before, fh_pos, count = [0], 0, 0
        fh.seek(0)
        for b in bounds[1:]:
            while fh_pos < b:
                block = fh.read(min(1 << 20, b - fh_pos))
                count += block.count(b"\n")
                fh_pos += len(block)
            lines_before.append(count)
    ends: list[int | None] = bounds[1:] + [None]
    return [((b, n), e) for b, n, e in zip(bounds, lines_before, ends)]


def _parquet_ranges(path: str, parts: int) -> list[tuple[int, int | None]]:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    if parts <= 1 or len(sizes) <= 1:
        return [(0, None)]
    total = sum(sizes)
    ranges, start, acc = [], 0, 0
    for n in sizes:
        acc += n
        if acc - start >= total / parts:
            ranges.append((start, acc))
            start = acc
    if start < total:
        ranges.append((start, total))
    return ranges


class CommentSource(_Datasource):
    """A Ray Data source over one comment file, read with the project's readers.

    JSONL splits into byte ranges of at least ``split_bytes`` (cut at line
    starts, line numbers kept); Parquet into ranges of row groups; CSV/TSV is
    read by one task (quoted fields may span lines). Blocks hold ``line``,
    ``id``, ``text`` and ``reason`` (set for rejects, whose text is empty).
    """

    def __init__(self, path: str, fmt: str, options: dict, split_bytes: int = 16 << 20,
                 block_rows: int = 4096) -> None:
        super().__init__()
        self.path = str(path)
        self.fmt = fmt
        self.options = dict(options)
        self.split_bytes = max(1, split_bytes)
        self.block_rows = block_rows

    def get_name(self) -> str:
        return "Comments"

    def estimate_inmemory_data_size(self):
        return os.path.getsize(self.path)

    def get_read_tasks(self, parallelism: int, per_task_row_limit=None, data_context=None):
        from ray.data.block import BlockMetadata
        from ray.data.datasource import ReadTask

        size = os.path.getsize(self.path)
        want = max(1, min(parallelism, size // self.split_bytes))
        if self.fmt in ("jsonl", "text"):
            ranges = _line_ranges(self.path, want)
        elif self.fmt == "parquet":
            ranges = _parquet_ranges(self.path, want)
        else:
            ranges = [(None, None)]
        tasks = []
        for start, stop in ranges:
            fn = functools.partial(_read_range, self.path, self.fmt, self.options, start, stop, self.block_rows)
            meta = BlockMetadata(num_rows=None, size_bytes=size // len(ranges), input_files=(self.path,),
                                 exec_stats=None)
            tasks.append(ReadTask(fn, meta))
        return tasks


def label_with_ray(input_path, output_path, model=None, *, fmt: str, out_fmt: str, chunk_size: int = 512,
                   force: bool = False, progress: bool = True, text_field: str = "text", id_field: str = "id",
                   max_chars: int = 20000, truncate: bool = False, workers: int | None = None,
                   cache_size: int = 8192, split_bytes: int = 16 << 20, duplicates: str = "keep") -> LabelSummary:
    """Label ``input_path`` into ``output_path`` with Ray Data; see the module docstring.

    ``workers`` is the most model actors to run (default: the cluster's CPUs
    less one, at least one). ``split_bytes`` is the smallest JSONL range one
    read task reads. ``duplicates`` is applied on the driver while the results
    are joined in input order, as the local engine does.
    """
    if input_path is None or str(input_path) == "-":
        raise LabelError("the ray engine reads files, not standard input; write the input to a file first")
    if isinstance(model, BatchLabeller):
        model = model.model_dir
    if model is not None and not isinstance(model, (str, Path)):
        raise LabelError("the ray engine loads the model on each worker: pass a model directory")
    model_dir = Path(model) if model is not None else default_model_dir()
    labeller = _local_check(model_dir)
    output_path = Path(output_path)
    work = work_dir(output_path)
    try:
        input_total(input_path, fmt)  # fails early on an unreadable Parquet file
    except InputError as exc:
        raise LabelError(str(exc)) from None
    try:
        lock = WorkLock.take(work)
    except Locked as exc:
        raise LabelError(f"another run is writing this output: {exc}") from None
    except OSError as exc:
        raise LabelError(f"cannot create the work directory {work}: {exc.strerror or exc}") from None
    try:
        return _label_with_ray(lock, input_path, output_path, model_dir, labeller, fmt=fmt, out_fmt=out_fmt,
                               chunk_size=chunk_size, force=force, progress=progress, text_field=text_field,
                               id_field=id_field, max_chars=max_chars, truncate=truncate, workers=workers,
                               cache_size=cache_size, split_bytes=split_bytes, duplicates=duplicates)
    finally:
        lock.release()


def _label_with_ray(lock: WorkLock, input_path, output_path: Path, model_dir: Path, labeller: BatchLabeller, *,
                    fmt: str, out_fmt: str, chunk_size: int, force: bool, progress: bool, text_field: str,
                    id_field: str, max_chars: int, truncate: bool, workers: int | None, cache_size: int,
                    split_bytes: int, duplicates: str = "keep") -> LabelSummary:
    work = lock.work
    if lock.has_work():
        if not force:
            raise LabelError(f"{work} holds an interrupted run: pass --force to start over "
                             f"(the ray engine does not resume)")
        lock.clear()
    options = {"text_field": text_field, "id_field": id_field, "max_chars": max_chars, "truncate": truncate}
    dups = duplicate_ids(duplicates, input_path, fmt, **options)

    ray = _import_ray()
    from ray.data import ActorPoolStrategy, DataContext

    started = False
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS") or None, include_dashboard=False,
                 logging_level=logging.WARNING, log_to_driver=progress)
        started = True
    t0 = time.perf_counter()
    try:
        total_cpus = float(ray.cluster_resources().get("CPU", 1.0))
        n_workers = workers or max(1, int(total_cpus) - 1)
        actor_cpus = min(1.0, max(0.1, (total_cpus - 0.25) / n_workers))
        ctx = DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = progress
        if not progress:
            logging.getLogger("ray.data").setLevel(logging.WARNING)
        source = CommentSource(str(input_path), fmt, options, split_bytes=split_bytes)
        ds = ray.data.read_datasource(source, num_cpus=0.25)
        labelled = ds.map_batches(BatchLabeller, fn_constructor_kwargs={"model": str(model_dir),
                                                                        "cache_size": cache_size},
                                  batch_size=chunk_size, batch_format="numpy",
                                  compute=ActorPoolStrategy(min_size=1, max_size=n_workers),
                                  num_cpus=actor_cpus)
        labelled.write_parquet(str(work / "ray"))
        summary = _join(work / "ray", output_path, out_fmt, labeller, dups)
        expected = _expected_records(input_path, fmt)
        if expected is not None and expected != summary.read:
            raise LabelError(f"the ray engine returned {summary.read} records for {expected} in the input")
    except LabelError:
        raise
    except Exception as exc:
        raise LabelError(f"the ray engine failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if started:
            ray.shutdown()
    lock.release(remove=True)
    summary.seconds = time.perf_counter() - t0
    return summary


def _expected_records(path, fmt: str) -> int | None:
    """How many records the readers yield for ``path``: non-blank lines (JSONL, text), rows (Parquet);
    None for CSV/TSV and JSON arrays."""
    if fmt == "parquet":
        return input_total(path, fmt)
    if fmt not in ("jsonl", "text"):
        return None
    with open(path, "rb") as fh:
        return sum(1 for raw in fh if raw.strip())


def _local_check(model_dir: Path) -> BatchLabeller:
    """Load the model on the driver once: a bad directory fails before any worker starts."""
    from ..classifiers.base import ModelError

    try:
        return BatchLabeller(model_dir, cache_size=0)
    except ModelError as exc:
        raise LabelError(str(exc)) from None


def _join(ray_dir: Path, output: Path, out_fmt: str, labeller: BatchLabeller,
          dups: DuplicateIds | None = None) -> LabelSummary:
    """Join Ray's Parquet files into the output and the rejects file, in input order."""
    import pyarrow.parquet as pq

    fields = labeller.model.fields
    classes = labeller.classes
    dups = dups or DuplicateIds()
    files = []
    for p in ray_dir.rglob("*.parquet"):
        pf = pq.ParquetFile(p)
        if pf.metadata.num_rows:
            first = pf.read_row_group(0, columns=["line"]).column("line")[0].as_py()
            files.append((first, p))
    files.sort()
    rej_path = rejects_path(output)
    summary = LabelSummary(output=str(output), rejects=str(rej_path), engine="ray")
    counts = {f: Counter() for f in fields}
    reasons: Counter = Counter()
    last = 0
    rej = JsonlWriter(rej_path, lazy=True)
    out = open_writer(output, out_fmt, fields, classes)
    try:
        for _, p in files:
            for batch in pq.ParquetFile(p).iter_batches(batch_size=8192):
                data = batch.to_pydict()
                for k in range(batch.num_rows):
                    line = data["line"][k]
                    if line <= last:
                        raise LabelError(f"the ray engine returned records out of order or twice "
                                         f"(line {line} after line {last})")
                    last = line
                    summary.read += 1
                    reason = data["reason"][k] or dups.check(data["id"][k])
                    if reason:
                        rej.write({"line": line, "id": data["id"][k], "reason": reason})
                        reasons[reason_kind(reason)] += 1
                        summary.rejected += 1
                        continue
                    rec = {"id": data["id"][k]}
                    for f in fields:
                        rec[f] = data[f][k]
                        counts[f][rec[f]] += 1
                    rec["probs"] = {f: {lab: data[prob_column(f, lab)][k] for lab in classes[f]} for f in fields}
                    rec["model"] = {key: data[f"model_{key}"][k] for key in ("name", "version", "kind")}
                    out.write(rec)
                    summary.labelled += 1
    except BaseException:
        out.abort()
        rej.abort()
        raise
    out.close()
    rej.close()
    summary.counts = {f: dict(c) for f, c in counts.items()}
    summary.reject_reasons = dict(reasons)
    summary.duplicates, summary.duplicate_ids, summary.duplicate_example = dups.policy, dups.count, dups.example
    return summary
