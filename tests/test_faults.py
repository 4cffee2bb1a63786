"""Fault injection: concurrent runs, hostile names and paths, tampered files, colliding ids.

Every case ends with all records accounted for (or nothing touched) and a one-line
``nazar: error:`` message, never a traceback.
"""
from __future__ import annotations

import os
import subprocess
import sys

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
