"""Fault injection: concurrent runs, hostile names and paths, tampered files, colliding ids.

Every case ends with all records accounted for (or nothing touched) and a one-line
``nazar: error:`` message, never a traceback.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, read_jsonl, write_jsonl
from pipeline.cli import main
from pipeline.label import BatchLabeller, LabelError, label_file, work_dir
from pipeline.worklock import Locked, WorkLock


@pytest.fixture(scope="module")
def labeller(tfidf_model_dir):
    return BatchLabeller(tfidf_model_dir)


@pytest.fixture()
def dumps(tmp_path, gold_records):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": f"a{i}", "text": r["text"]} for i, r in enumerate(gold_records)])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": f"b{i}", "text": r["text"]} for i, r in enumerate(gold_records)])
    return a, b


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("nazar: error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], err


# -- two runs on one output -------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{}, {"force": True}, {"resume": True}])
def test_a_second_run_on_a_live_output_is_refused_and_the_first_finishes_intact(dumps, tmp_path, labeller,
                                                                                options):
    a, b = dumps
    out = tmp_path / "o.jsonl"
    refusals = []

    def second_run(summary):
        if not refusals:
            with pytest.raises(LabelError) as exc:
                label_file(b, out, model=labeller, progress=False, **options)
            refusals.append(str(exc.value))

    s = label_file(a, out, model=labeller, progress=False, chunk_size=10, on_chunk=second_run)
    assert refusals and f"pid {os.getpid()}" in refusals[0] and "running" in refusals[0]
    rows = read_jsonl(out)
    assert s.labelled == len(rows) and all(r["id"].startswith("a") for r in rows)
    assert not work_dir(out).exists()


def test_the_lock_names_another_process_and_dies_with_it(dumps, tmp_path, labeller):
    a, _ = dumps
    out = tmp_path / "o.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pipeline.worklock import WorkLock; "
         "l = WorkLock.take(sys.argv[1]); print('held', flush=True); sys.stdin.read()", str(work_dir(out))],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LabelError, match=f"pid {holder.pid}"):
            label_file(a, out, model=labeller, progress=False, force=True)
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    # kill -9 drops the lock: the next run goes ahead without --force (nothing but the lock was left).
    s = label_file(a, out, model=labeller, progress=False)
    assert s.reconciles and s.labelled == len(read_jsonl(out)) and not work_dir(out).exists()


def test_the_cli_refusal_is_one_line(dumps, tmp_path, capsys, tfidf_model_dir):
    a, _ = dumps
    out = tmp_path / "o.jsonl"
    with WorkLock.take(work_dir(out)):
        code, _, err = run(["label", a, "-o", out, "--model", tfidf_model_dir, "-q", "--force"], capsys)
    assert code != 0
    assert_one_line_error(err, str(work_dir(out)), f"pid {os.getpid()}")


def test_a_lock_on_a_removed_directory_protects_nothing_and_is_not_taken(tmp_path):
    work = tmp_path / "o.jsonl.parts"
    first = WorkLock.take(work)
    first.release(remove=True)
    assert not work.exists()
    assert WorkLock.take(work, create=False) is None
    with WorkLock.take(work) as second:
        with pytest.raises(Locked):
            WorkLock.take(work)
        assert not second.has_work()


# -- training: names that escape, --force on what is not a model ---------------------------------------
def _train(argv, capsys, gold_path, *sets):
    return run(["train", ROOT / "configs" / "tfidf.yaml", "--no-cv", "-q", "--set", "model.kind=majority",
                "--set", "model.params={}", "--set", f"data.gold=[{gold_path}]", *[a for s in sets for a in ("--set", s)], *argv], capsys)


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/escaped", "a/b", "..", ".hidden", "", "a\\b"])
def test_a_model_name_is_a_plain_name_never_a_path(name, tmp_path, capsys, gold_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _train([], capsys, gold_path, f"name='{name}'")
    assert code != 0
    assert_one_line_error(err, "plain model name")
    assert not any(tmp_path.rglob("*")) and not (tmp_path.parent / "escaped").exists()


def test_force_replaces_a_model_directory_and_nothing_else(tmp_path, capsys, gold_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    code, _, err = _train(["-o", precious, "--force"], capsys, gold_path)
    assert code != 0
    assert_one_line_error(err, "not a nazar model directory", str(precious))
    assert (precious / "thesis.tex").read_text() == "years of work" and len(list(precious.iterdir())) == 1
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, _, err = _train(["-o", a_file, "--force"], capsys, gold_path)
    assert code != 0 and a_file.read_text() == "x"
    assert_one_line_error(err, "not a directory")
    model = tmp_path / "model"
    assert _train(["-o", model], capsys, gold_path)[0] == 0
    code, _, err = _train(["-o", model], capsys, gold_path)
    assert code != 0 and "--force" in err
    (model / "stale.txt").write_text("from an older run")
    assert _train(["-o", model, "--force"], capsys, gold_path)[0] == 0
    assert (model / "model.json").is_file() and not (model / "stale.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging directory left


def test_a_trained_model_directory_follows_the_umask(tmp_path, capsys, gold_path):
    old = os.umask(0o022)
    try:
        assert _train(["-o", tmp_path / "m"], capsys, gold_path)[0] == 0
    finally:
        os.umask(old)
    assert (tmp_path / "m").stat().st_mode & 0o777 == 0o755
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in (tmp_path / "m").iterdir())


# -- tampered and linked model directories ----------------------------------------------------------------
def _object_arrays(path):
    import numpy as np

    np.savez(path, **{"x.coef": np.array([{"a": 1}], dtype=object)})


def _strings_for_floats(path):
    import numpy as np

    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    key = next(k for k in arrays if k.endswith(".coef"))
    arrays[key] = np.full(arrays[key].shape, "x")
    np.savez(path, **arrays)


def _heads(directory):
    """The model's first weight file (an ensemble keeps its members' in members/K/)."""
    return sorted(directory.rglob("heads.npz"))[0]


TAMPERS = {
    "garbage weights": lambda d: _heads(d).write_bytes(b"\x00garbage" * 100),
    "empty weights": lambda d: _heads(d).write_bytes(b""),
    "object arrays": lambda d: _object_arrays(_heads(d)),
    "strings for floats": lambda d: _strings_for_floats(_heads(d)),
    "format as a string": lambda d: _edit_meta(d, format="1"),
    "kind as a list": lambda d: _edit_meta(d, kind=["encoder"]),
    "unknown kind": lambda d: _edit_meta(d, kind="os.system"),
    "params as a list": lambda d: _edit_meta(d, params=[1, 2]),
    "model.json not JSON": lambda d: (d / "model.json").write_text("{kind: encoder"),
}


def _edit_meta(directory, **changes):
    import json

    meta = json.loads((directory / "model.json").read_text())
    meta.update(changes)
    (directory / "model.json").write_text(json.dumps(meta))


@pytest.fixture()
def default_copy(tmp_path):
    import shutil

    return Path(shutil.copytree(ROOT / "models" / "default", tmp_path / "model"))


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_a_tampered_model_is_a_one_line_error_and_writes_nothing(tamper, default_copy, dumps, tmp_path, capsys):
    TAMPERS[tamper](default_copy)
    out = tmp_path / "o.jsonl"
    code, _, err = run(["label", dumps[0], "-o", out, "--model", default_copy, "-q"], capsys)
    assert code != 0
    assert_one_line_error(err, str(default_copy))
    assert not out.exists() and not work_dir(out).exists()


@pytest.mark.parametrize("target", ["file", "directory"])
def test_a_link_out_of_the_model_directory_is_refused(target, tfidf_model_dir, tmp_path, dumps, capsys):
    import shutil

    from pipeline.classifiers.base import ModelError, load_model, model_hash

    model = Path(shutil.copytree(tfidf_model_dir, tmp_path / "model"))
    outside = tmp_path / "outside"
    if target == "file":
        shutil.move(model / "tfidf.npz", outside)
        (model / "tfidf.npz").symlink_to(outside)
    else:
        outside.mkdir()
        (model / "extra").symlink_to(outside, target_is_directory=True)
    for call in (load_model, model_hash):
        with pytest.raises(ModelError, match="outside the model directory"):
            call(model)
    code, _, err = run(["label", dumps[0], "-o", tmp_path / "o.jsonl", "--model", model, "-q"], capsys)
    assert code != 0
    assert_one_line_error(err, "outside the model directory")


def test_a_link_inside_the_model_directory_is_fine(tfidf_model_dir, tmp_path):
    import shutil

    from pipeline.classifiers.base import load_model

    model = Path(shutil.copytree(tfidf_model_dir, tmp_path / "model"))
    (model / "weights").mkdir()
    shutil.move(model / "tfidf.npz", model / "weights" / "tfidf.npz")
    (model / "tfidf.npz").symlink_to(Path("weights") / "tfidf.npz")
    assert load_model(model).predict(["سلام"])


# -- outputs that cannot be written ------------------------------------------------------------------------
def _fail_fsync(monkeypatch, when, error):
    """Make os.fsync raise ``error`` for the file descriptors whose path ``when(name)`` picks."""
    real = os.fsync

    def fsync(fd):
        try:
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            name = ""
        if when(name):
            raise error
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names file descriptors through /proc")
@pytest.mark.parametrize("where", ["a part", "the output"])
def test_a_full_disk_is_one_line_leaves_no_temporary_file_and_resume_finishes(where, dumps, tfidf_model_dir,
                                                                            tmp_path, capsys, monkeypatch):
    import errno

    clean = tmp_path / "clean.jsonl"
    assert run(["label", dumps[0], "-o", clean, "--model", tfidf_model_dir, "-q"], capsys)[0] == 0
    out = tmp_path / "o.jsonl"
    pick = (lambda n: n.startswith(".part-00000002")) if where == "a part" else (lambda n: n == f".{out.name}.part")
    _fail_fsync(monkeypatch, pick, OSError(errno.ENOSPC, "No space left on device"))
    code, _, err = run(["label", dumps[0], "-o", out, "--model", tfidf_model_dir, "-q", "--chunk-size", "7"], capsys)
    assert code == 1
    assert_one_line_error(err, "No space left on device", "--resume", str(work_dir(out)))
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not [p.name for p in work_dir(out).iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    code, _, err = run(["label", dumps[0], "-o", out, "--model", tfidf_model_dir, "-q", "--resume"], capsys)
    assert code == 0, err
    assert out.read_bytes() == clean.read_bytes()


def test_an_output_that_cannot_be_opened_is_one_line(dumps, tfidf_model_dir, tmp_path, capsys, monkeypatch):
    import errno

    from pipeline import io

    def denied(self):
        raise PermissionError(errno.EACCES, "Permission denied", str(self.tmp))

    monkeypatch.setattr(io.JsonlWriter, "_open", denied)
    out = tmp_path / "o.jsonl"
    code, _, err = run(["label", dumps[0], "-o", out, "--model", tfidf_model_dir, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, "Permission denied", "-o")
    assert not out.exists()


def test_an_output_under_a_file_is_one_line(dumps, tfidf_model_dir, tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" / "o.jsonl"
    code, _, err = run(["label", dumps[0], "-o", out, "--model", tfidf_model_dir, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, str(out.parent))
    assert (tmp_path / "f").read_text() == "x"


def test_a_work_directory_removed_under_a_run_is_one_line(dumps, tfidf_model_dir, tmp_path):
    import shutil

    out = tmp_path / "o.jsonl"

    def remove(summary):
        shutil.rmtree(work_dir(out))

    with pytest.raises(LabelError, match=r"was removed while this run was writing.*--force"):
        label_file(dumps[0], out, model=tfidf_model_dir, progress=False, chunk_size=5, on_chunk=remove)
    assert not out.exists()


# -- compressed inputs -----------------------------------------------------------------------------------
def _compress(kind, data: bytes) -> bytes:
    import bz2
    import gzip
    import lzma

    if kind == "zstd":
        zstandard = pytest.importorskip("zstandard")
        return zstandard.ZstdCompressor().compress(data)
    return {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}[kind](data)


def _dump_as(fmt, path, gold_records):
    import csv
    import json

    rows = [{"id": f"c{i}", "text": r["text"]} for i, r in enumerate(gold_records)]
    if fmt == "jsonl":
        write_jsonl(path, rows)
    elif fmt == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    elif fmt == "text":
        path.write_text("".join(r["text"].replace("\n", " ") + "\n" for r in rows), encoding="utf-8")
    else:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, ["id", "text"], delimiter="," if fmt == "csv" else "\t")
            w.writeheader()
            w.writerows(rows)
    return path


KIND_EXT = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}


@pytest.mark.parametrize("kind", sorted(KIND_EXT))
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv", "json", "text"])
def test_a_compressed_input_labels_as_the_plain_one(kind, fmt, tmp_path, gold_records, labeller):
    plain = _dump_as(fmt, tmp_path / f"in.{ {'text': 'txt'}.get(fmt, fmt) }", gold_records)
    packed = tmp_path / (plain.name + KIND_EXT[kind])
    packed.write_bytes(_compress(kind, plain.read_bytes()))
    a = label_file(plain, tmp_path / "a.jsonl", model=labeller, progress=False, chunk_size=8)
    b = label_file(packed, tmp_path / "b.jsonl", model=labeller, progress=False, chunk_size=8)
    assert (a.read, a.labelled, a.rejected) == (b.read, b.labelled, b.rejected) and b.labelled
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_compression_is_found_by_magic_bytes_whatever_the_name(tmp_path, gold_records, labeller):
    plain = _dump_as("jsonl", tmp_path / "in.jsonl", gold_records)
    hidden = tmp_path / "hidden.jsonl"  # gzip data under a plain name
    hidden.write_bytes(_compress("gzip", plain.read_bytes()))
    label_file(plain, tmp_path / "a.jsonl", model=labeller, progress=False)
    label_file(hidden, tmp_path / "b.jsonl", model=labeller, progress=False)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_a_compressed_input_resumes_to_the_same_output(kind, tmp_path, gold_records, labeller):
    plain = _dump_as("csv", tmp_path / "in.csv", gold_records)
    packed = tmp_path / ("in.csv" + KIND_EXT[kind])
    packed.write_bytes(_compress(kind, plain.read_bytes()))
    label_file(plain, tmp_path / "clean.jsonl", model=labeller, progress=False, chunk_size=6)
    _stop_then_resume(packed, tmp_path, labeller, after=18)


def _stop_then_resume(src, tmp_path, labeller, after):
    """Stop a run on ``src`` once ``after`` records are read, resume it, and compare with clean.jsonl."""
    out = tmp_path / "o.jsonl"

    def stop(summary):
        if summary.read >= after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        label_file(src, out, model=labeller, progress=False, chunk_size=6, on_chunk=stop)
    s = label_file(src, out, model=labeller, progress=False, chunk_size=6, resume=True)
    assert s.resumed_from == after
    assert out.read_bytes() == (tmp_path / "clean.jsonl").read_bytes()


def test_compressed_standard_input_is_decompressed(tmp_path, gold_records, tfidf_model_dir):
    plain = _dump_as("jsonl", tmp_path / "in.jsonl", gold_records)
    cmd = [sys.executable, "-m", "pipeline", "label", "-", "-o", None, "--model", str(tfidf_model_dir), "-q"]
    outs = []
    for name, data in (("a", plain.read_bytes()), ("b", _compress("xz", plain.read_bytes()))):
        cmd[6] = str(tmp_path / f"{name}.jsonl")
        proc = subprocess.run(cmd, input=data, cwd=ROOT, capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()
        outs.append((tmp_path / f"{name}.jsonl").read_bytes())
    assert outs[0] == outs[1]


def test_a_cut_off_compressed_file_is_one_line(tmp_path, gold_records, tfidf_model_dir, capsys):
    plain = _dump_as("jsonl", tmp_path / "in.jsonl", gold_records)
    data = _compress("gzip", plain.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    code, _, err = run(["label", cut, "-o", tmp_path / "o.jsonl", "--model", tfidf_model_dir, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, str(cut), "cut off")


def test_a_compressed_parquet_is_refused_with_what_to_do(tmp_path, tfidf_model_dir, capsys):
    pytest.importorskip("pyarrow")
    src = tmp_path / "in.parquet.gz"
    src.write_bytes(_compress("gzip", b"PAR1 not really"))
    code, _, err = run(["label", src, "-o", tmp_path / "o.jsonl", "--model", tfidf_model_dir, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, "decompress")


def test_the_ray_engine_refuses_a_compressed_input(tmp_path, gold_records, tfidf_model_dir):
    pytest.importorskip("ray")
    src = tmp_path / "in.jsonl.gz"
    src.write_bytes(_compress("gzip", _dump_as("jsonl", tmp_path / "in.jsonl", gold_records).read_bytes()))
    with pytest.raises(LabelError, match="decompress it first or use --engine local"):
        label_file(src, tmp_path / "o.jsonl", model=tfidf_model_dir, engine="ray", progress=False)


# -- inputs that are plainly not what their name says; runs that label nothing --------------------------
NOT_JSONL = {
    "a JSON array": (b'[{"id": 1, "text": "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85"}]\n', "--format json"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00", "binary"),
    "UTF-16": ('{"text": "سلام"}\n'.encode("utf-16"), "UTF-16"),
    "an xlsx": (b"PK\x03\x04\x14\x00\x06\x00", "--format xlsx"),
}


@pytest.mark.parametrize("case", sorted(NOT_JSONL))
def test_what_is_plainly_not_jsonl_fails_before_any_work_with_a_hint(case, tmp_path, tfidf_model_dir, capsys):
    data, hint = NOT_JSONL[case]
    src = tmp_path / "in.jsonl"
    src.write_bytes(data)
    out = tmp_path / "o.jsonl"
    code, _, err = run(["label", src, "-o", out, "--model", tfidf_model_dir, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, hint)
    assert not out.exists() and not work_dir(out).exists()


@pytest.mark.parametrize("content", ["", '{"body": "سروش"}\n{"body": "ایتا"}\n'])
def test_a_run_that_labels_nothing_exits_non_zero(content, tmp_path, tfidf_model_dir, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(content, encoding="utf-8")
    code, _, err = run(["label", src, "-o", tmp_path / "o.jsonl", "--model", tfidf_model_dir, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, "nothing was labelled")
    if content:
        assert "missing field 'text'" in err and "--text-field" in err
        assert len(read_jsonl(tmp_path / "o.rejects.jsonl")) == 2


# -- standard output ---------------------------------------------------------------------------------------
def _nazar(args, **kw):
    kw.setdefault("cwd", ROOT)
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True, timeout=180,
                          **kw)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv"])
def test_dash_o_dash_streams_what_the_file_output_holds(fmt, dumps, tfidf_model_dir, tmp_path, capsys):
    src = dumps[0]
    with open(src, "a", encoding="utf-8") as fh:
        fh.write('{"id": "empty", "text": ""}\n')
    out = tmp_path / f"o.{fmt}"
    assert run(["label", src, "-o", out, "--model", tfidf_model_dir, "-q"], capsys)[0] == 0
    proc = _nazar(["label", "-", "-o", "-", "--output-format", fmt, "--model", tfidf_model_dir, "-q",
                   "--rejects", tmp_path / "r.jsonl"], input=src.read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == out.read_bytes()
    assert b"read " in proc.stderr and b"read " not in proc.stdout
    from pipeline.label import rejects_path

    assert read_jsonl(tmp_path / "r.jsonl") == read_jsonl(rejects_path(out))


def test_dash_o_dash_without_rejects_file_still_counts_them(dumps, tfidf_model_dir, tmp_path):
    src = dumps[0]
    with open(src, "a", encoding="utf-8") as fh:
        fh.write("{broken\n")
    here = tmp_path / "cwd"
    here.mkdir()
    proc = _nazar(["label", src, "-o", "-", "--model", tfidf_model_dir, "-q"], cwd=here)
    assert proc.returncode == 0, proc.stderr.decode()
    err = proc.stderr.decode()
    n = len(proc.stdout.splitlines())
    assert f"read {n + 1}, labelled {n}, rejected 1" in err and "--rejects FILE" in err
    assert not list(here.iterdir())


@pytest.mark.parametrize("extra, needle", [(["--output-format", "parquet"], "cannot go to standard output"),
                                           (["--resume"], "-o FILE")])
def test_what_dash_o_dash_cannot_do_is_one_line(extra, needle, dumps, tfidf_model_dir, capsys):
    code, out, err = run(["label", dumps[0], "-o", "-", "--model", tfidf_model_dir, "-q", *extra], capsys)
    assert code == 1 and not out
    assert_one_line_error(err, needle)


def test_a_reader_that_stops_early_is_not_a_failure(tmp_path, gold_records, tfidf_model_dir):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": gold_records[i % 40]["text"] + f" {i}"}
                                              for i in range(4000)])
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "label", str(src), "-o", "-", "--model",
                             str(tfidf_model_dir), "-q", "--chunk-size", "50"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"{")
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err


# -- a model trained with other normaliser packages warns ------------------------------------------------
def test_a_model_trained_with_another_hazm_warns_on_load(default_copy):
    import warnings

    from pipeline.classifiers.base import load_model
    from pipeline.errors import NazarWarning
    from pipeline.normalize import normalizer_versions

    _edit_meta(default_copy, normalizer_versions=normalizer_versions())
    with warnings.catch_warnings():
        warnings.simplefilter("error", NazarWarning)
        load_model(default_copy)  # same versions: silent
    _edit_meta(default_copy, normalizer_versions={"hazm": "0.0.1"})
    with pytest.warns(NazarWarning, match=r"hazm 0\.0\.1"):
        load_model(default_copy)


def test_the_cli_prints_a_version_mismatch_as_one_warning_line_and_carries_on(default_copy, dumps, tmp_path,
                                                                             capsys):
    _edit_meta(default_copy, normalizer_versions={"hazm": "0.0.1"})
    out = tmp_path / "o.jsonl"
    code, _, err = run(["label", dumps[0], "-o", out, "--model", default_copy, "-q"], capsys)
    assert code == 0, err
    warned = [ln for ln in err.splitlines() if ln.startswith("nazar: warning:")]
    assert len(warned) == 1 and "hazm 0.0.1" in warned[0], err
    assert "Traceback" not in err and "NazarWarning" not in err
    assert len(read_jsonl(out)) == len(read_jsonl(dumps[0]))


def test_a_saved_model_records_the_normaliser_versions(tfidf_model_dir):
    import json

    from pipeline.normalize import normalizer_versions

    meta = json.loads((tfidf_model_dir / "model.json").read_text())
    assert meta["normalizer_versions"] == normalizer_versions()


# -- ids: generated ones never collide, duplicates follow a policy --------------------------------------
def test_a_generated_id_cannot_collide_with_an_explicit_number(tmp_path, labeller):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "2", "text": "سروش"}, {"text": "ایتا"},
                                              {"id": 1, "text": "بله"}])
    out = tmp_path / "o.jsonl"
    s = label_file(src, out, model=labeller, progress=False)
    assert [r["id"] for r in read_jsonl(out)] == ["2", "line-2", "1"]
    assert s.duplicate_ids == 0 and s.reconciles


@pytest.mark.parametrize("value, what", [({"a": 1}, "an object"), ([1], "a list"), (True, "true or false")])
def test_an_id_that_is_not_a_string_or_number_is_a_reject_not_replaced(value, what, tmp_path, labeller):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": value, "text": "سروش"}, {"id": "b", "text": "ایتا"}])
    out = tmp_path / "o.jsonl"
    s = label_file(src, out, model=labeller, progress=False)
    assert [r["id"] for r in read_jsonl(out)] == ["b"]
    [rej] = read_jsonl(tmp_path / "o.rejects.jsonl")
    assert rej["line"] == 1 and rej["id"] is None and what in rej["reason"]
    assert (s.read, s.labelled, s.rejected) == (2, 1, 1)


def _dup_dump(tmp_path):
    ids = ["a", "b", "a", "c", "b", "a", "line-7", None]  # the last gets line-8; "line-7" is explicit
    return write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": f"سروش {n}"} if i else {"text": "ایتا"}
                                               for n, i in enumerate(ids)]), ids


@pytest.mark.parametrize("policy, kept, rejected_lines", [
    ("keep", ["a", "b", "a", "c", "b", "a", "line-7", "line-8"], []),
    ("first", ["a", "b", "c", "line-7", "line-8"], [3, 5, 6]),
    ("reject", ["c", "line-7", "line-8"], [1, 2, 3, 5, 6]),
])
def test_duplicate_ids_follow_the_policy_and_the_counts_reconcile(policy, kept, rejected_lines, tmp_path, capsys,
                                                                  tfidf_model_dir):
    src, ids = _dup_dump(tmp_path)
    out, summary = tmp_path / "o.jsonl", tmp_path / "s.json"
    code, _, err = run(["label", src, "-o", out, "--model", tfidf_model_dir, "-q", "--duplicates", policy,
                        "--summary", summary], capsys)
    assert code == 0, err
    assert [r["id"] for r in read_jsonl(out)] == kept
    rejects = read_jsonl(tmp_path / "o.rejects.jsonl") if rejected_lines else []
    assert [r["line"] for r in rejects] == rejected_lines
    assert all(r["reason"].startswith("duplicate id") and r["id"] == ids[r["line"] - 1] for r in rejects)
    import json
    s = json.loads(summary.read_text(encoding="utf-8"))
    assert s["read"] == len(ids) == s["labelled"] + s["rejected"] and s["labelled"] == len(kept)
    assert s["duplicate_ids"] == (3 if policy != "reject" else 5) and s["duplicate_example"] == "a"
    assert ("warning:" in err) == (policy == "keep") and "Traceback" not in err


def test_duplicates_first_holds_across_a_resume(tmp_path, labeller):
    rows = [{"id": f"k{i % 7}", "text": f"سروش {i}"} for i in range(40)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "o.jsonl"

    def stop(summary):
        if summary.read >= 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        label_file(src, out, model=labeller, progress=False, chunk_size=5, on_chunk=stop, duplicates="first")
    with pytest.raises(LabelError, match="duplicates"):  # another policy is another run
        label_file(src, out, model=labeller, progress=False, resume=True)
    s = label_file(src, out, model=labeller, progress=False, resume=True, duplicates="first")
    assert [r["id"] for r in read_jsonl(out)] == [f"k{i}" for i in range(7)]
    assert s.resumed_from == 10 and (s.labelled, s.rejected, s.duplicate_ids) == (7, 33, 33)


def test_duplicates_reject_refuses_standard_input(tmp_path, tfidf_model_dir):
    proc = subprocess.run([sys.executable, "-m", "pipeline", "label", "-", "-o", str(tmp_path / "o.jsonl"),
                           "--model", str(tfidf_model_dir), "--duplicates", "reject"],
                          input=b'{"id": "a", "text": "x"}\n', capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode != 0 and not (tmp_path / "o.jsonl").exists()
    assert_one_line_error(proc.stderr.decode(), "standard input")


# -- one error type; optional packages checked before any work -----------------------------------------
def test_every_error_nazar_raises_is_a_nazar_error():
    import importlib
    import pkgutil

    import pipeline
    from pipeline.errors import NazarError

    found = []
    for mod in pkgutil.walk_packages(pipeline.__path__, "pipeline."):
        if mod.name in ("pipeline.__main__", "pipeline.cli.__main__"):
            continue
        module = importlib.import_module(mod.name)
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning)
                    and obj.__module__ == mod.name):
                found.append(obj)
                assert issubclass(obj, NazarError), obj
    assert len(found) >= 10


@pytest.mark.parametrize("name", ["o.parquet", "o.jsonl"])
def test_parquet_without_pyarrow_fails_before_reading_anything(name, tmp_path, capsys, monkeypatch, dumps,
                                                               tfidf_model_dir):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    src = dumps[0]
    if name == "o.jsonl":  # Parquet input instead
        src = tmp_path / "in.parquet"
        src.write_bytes(b"PAR1")
    out = tmp_path / name
    code, _, err = run(["label", src, "-o", out, "--model", tfidf_model_dir, "-q"], capsys)
    assert code == 1 and not out.exists() and not work_dir(out).exists()
    assert_one_line_error(err, "pyarrow", "pip install 'nazar[parquet]'")


def test_training_a_torch_kind_without_torch_fails_before_loading_data(tmp_path, capsys, monkeypatch, gold_path):
    monkeypatch.setitem(sys.modules, "torch", None)
    out = tmp_path / "m"
    code, _, err = _train(["-o", out], capsys, gold_path, "model.kind=transformer")
    assert code == 1 and not out.exists()
    assert_one_line_error(err, "the transformer model kind", "torch", "pip install")


# -- Excel workbooks ---------------------------------------------------------------------------------------
def _workbook(path, rows, header=("id", "text", "source")):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])  # a blank row before the header is skipped
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def test_an_excel_sheet_labels_as_the_same_csv(tmp_path, gold_records, labeller):
    import csv

    rows = [(f"x{i}" if i % 4 else i, r["text"], "a.com") for i, r in enumerate(gold_records)]
    rows.insert(3, ("n", 12345, "b.org"))  # a comment typed as a number is still a comment
    rows.insert(5, ("e", None, "b.org"))  # an empty text cell is a reject
    book = _workbook(tmp_path / "in.xlsx", rows)
    with open(tmp_path / "in.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "source"])
        w.writerows([[i, "" if t is None else t, s] for i, t, s in rows])
    a = label_file(book, tmp_path / "a.jsonl", model=labeller, progress=False, keep=["source"])
    b = label_file(tmp_path / "in.csv", tmp_path / "b.jsonl", model=labeller, progress=False, keep=["source"])
    assert (a.read, a.labelled, a.rejected) == (b.read, b.labelled, b.rejected) == (len(rows), len(rows) - 1, 1)
    assert read_jsonl(tmp_path / "a.jsonl") == read_jsonl(tmp_path / "b.jsonl")
    assert read_jsonl(tmp_path / "a.rejects.jsonl")[0]["line"] == 2 + 5 + 1  # the sheet's own row number


def test_an_excel_sheet_resumes_to_the_same_output(tmp_path, gold_records, labeller):
    book = _workbook(tmp_path / "in.xlsx", [(f"x{i}", r["text"], "") for i, r in enumerate(gold_records)])
    label_file(book, tmp_path / "clean.jsonl", model=labeller, progress=False, chunk_size=6)
    _stop_then_resume(book, tmp_path, labeller, after=12)


@pytest.mark.parametrize("case", ["no text column", "not a workbook", "no openpyxl"])
def test_a_bad_workbook_is_one_line(case, tmp_path, tfidf_model_dir, capsys, monkeypatch):
    src = tmp_path / "in.xlsx"
    if case == "no text column":
        _workbook(src, [("1", "سروش")], header=("id", "body"))
    elif case == "not a workbook":
        src.write_bytes(b"PK\x03\x04 not really a workbook")
    else:
        _workbook(src, [("1", "سروش", "")])
        monkeypatch.setitem(sys.modules, "openpyxl", None)
    code, _, err = run(["label", src, "-o", tmp_path / "o.jsonl", "--model", tfidf_model_dir, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, {"no text column": "--text-field", "not a workbook": "Excel workbook",
                                "no openpyxl": "nazar[xlsx]"}[case])
