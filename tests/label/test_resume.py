"""Killed runs continue with --resume: no record lost, none twice, and refusals when things changed."""
from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, assert_same_records, read_jsonl, write_jsonl
from pipeline.cli import main
from pipeline.label import LabelError, label_file, rejects_path, work_dir


def make_dump(path, gold_records, n):
    """``n`` lines: gold texts with a counter (many distinct texts), every 97th line broken."""
    lines = []
    for i in range(n):
        if i % 97 == 5:
            lines.append("{broken")
        else:
            lines.append({"id": f"r{i}", "text": f"{gold_records[i % len(gold_records)]['text']} {i % 500}"})
    return write_jsonl(path, lines)


def expected_ids(path):
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            ids.append(json.loads(line)["id"])
        except json.JSONDecodeError:
            pass
    return ids


def read_jsonl_lenient(path):
    """The records of a dump's valid lines."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def manifest(out):
    try:
        return json.loads((work_dir(out) / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def start(src, out, model, *extra):
    return subprocess.Popen([sys.executable, "-m", "pipeline", "label", str(src), "-o", str(out),
                             "--model", str(model), "-q", "--chunk-size", "25", *extra],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_after_parts(proc, out, parts, timeout=120, sig=signal.SIGKILL):
    """Send ``sig`` to ``proc`` once the manifest records at least ``parts`` parts; returns the parts seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = manifest(out)
        if m and m["parts"] >= parts:
            proc.send_signal(sig)
            proc.wait(timeout=30)
            return m["parts"]
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it was killed: {proc.stderr.read().decode()}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("the run made no progress")


@pytest.fixture(scope="module")
def big_dump(tmp_path_factory, gold_records):
    return make_dump(tmp_path_factory.mktemp("dump") / "dump.jsonl", gold_records, 3000)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, big_dump, tfidf_model_dir):
    """The output of an uninterrupted run, to compare resumed runs with byte for byte."""
    out = tmp_path_factory.mktemp("clean") / "out.jsonl"
    label_file(big_dump, out, model=tfidf_model_dir, chunk_size=25, progress=False)
    return out


def test_kill_9_twice_then_resume_loses_and_repeats_nothing(tmp_path, big_dump, clean_run, tfidf_model_dir):
    out = tmp_path / "out.jsonl"
    proc = start(big_dump, out, tfidf_model_dir)
    first = kill_after_parts(proc, out, 3)
    assert not out.exists() and work_dir(out).is_dir()
    proc = start(big_dump, out, tfidf_model_dir, "--resume")
    second = kill_after_parts(proc, out, first + 5)
    assert second > first
    proc = subprocess.run([sys.executable, "-m", "pipeline", "label", str(big_dump), "-o", str(out),
                           "--model", str(tfidf_model_dir), "-q", "--chunk-size", "25", "--resume"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "resumed after" in proc.stderr
    ids = [r["id"] for r in read_jsonl(out)]
    assert ids == expected_ids(big_dump)
    assert len(set(ids)) == len(ids)
    rejects = read_jsonl(rejects_path(out))
    assert [r["line"] for r in rejects] == [i + 1 for i in range(3000) if i % 97 == 5]
    assert_same_records(read_jsonl(out), read_jsonl(clean_run))
    assert rejects_path(out).read_bytes() == rejects_path(clean_run).read_bytes()
    assert not work_dir(out).exists()


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_say_the_work_is_kept_and_resume_finishes_it(sig, code, tmp_path, big_dump, clean_run,
                                                                      tfidf_model_dir):
    out = tmp_path / "out.jsonl"
    proc = start(big_dump, out, tfidf_model_dir)
    kill_after_parts(proc, out, 3, sig=sig)
    err = proc.stderr.read().decode()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("nazar: error:")]
    assert len(lines) == 1 and "interrupted" in lines[0] and "--resume" in lines[0] and str(work_dir(out)) in lines[0]
    assert not out.exists() and not [p for p in work_dir(out).iterdir() if p.name.startswith(".")]
    done = manifest(out)["read"]
    assert f"{done} record(s)" in lines[0]
    proc = subprocess.run([sys.executable, "-m", "pipeline", "label", str(big_dump), "-o", str(out),
                           "--model", str(tfidf_model_dir), "-q", "--chunk-size", "25", "--resume"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert_same_records(read_jsonl(out), read_jsonl(clean_run))
    assert rejects_path(out).read_bytes() == rejects_path(clean_run).read_bytes()


class Crash(Exception):
    pass


def crash_after(parts):
    def on_chunk(summary):
        if on_chunk.calls >= parts:
            raise Crash
        on_chunk.calls += 1
    on_chunk.calls = 0
    return on_chunk


def interrupted(src, out, model, parts=3, **kw):
    with pytest.raises(Crash):
        label_file(src, out, model=model, chunk_size=40, progress=False, on_chunk=crash_after(parts), **kw)
    assert work_dir(out).is_dir()


@pytest.fixture()
def small_dump(tmp_path, gold_records):
    return make_dump(tmp_path / "small.jsonl", gold_records, 400)


def test_stale_parts_and_temporary_files_are_ignored(tmp_path, small_dump, tfidf_model_dir):
    out = tmp_path / "o.csv"
    interrupted(small_dump, out, tfidf_model_dir)
    m = manifest(out)
    # A part written after the last manifest update, and a half-written temporary file.
    (work_dir(out) / f"part-{m['parts']:08d}.jsonl").write_text('{"id": "ghost"}\n', encoding="utf-8")
    (work_dir(out) / f".part-{m['parts'] + 1:08d}.jsonl.tmp").write_text("{half", encoding="utf-8")
    s = label_file(small_dump, out, model=tfidf_model_dir, chunk_size=40, progress=False, resume=True)
    assert s.resumed_from == m["read"] and s.read == 400 and s.reconciles
    ids = out.read_text(encoding="utf-8").splitlines()[1:]
    assert [line.split(",")[0] for line in ids] == expected_ids(small_dump)


def test_resume_after_every_part_was_written_but_before_the_join(tmp_path, small_dump, tfidf_model_dir,
                                                                  monkeypatch):
    import pipeline.label.job as label_mod

    out = tmp_path / "o.jsonl"

    def die(*args, **kwargs):
        raise Crash

    monkeypatch.setattr(label_mod, "_join", die)
    with pytest.raises(Crash):
        label_file(small_dump, out, model=tfidf_model_dir, chunk_size=40, progress=False)
    monkeypatch.undo()
    assert manifest(out)["state"] == "joining"
    s = label_file(small_dump, out, model=tfidf_model_dir, chunk_size=40, progress=False, resume=True)
    assert s.read == 400 and [r["id"] for r in read_jsonl(out)] == expected_ids(small_dump)


def test_changed_input_refuses_to_resume(tmp_path, small_dump, tfidf_model_dir, capsys):
    out = tmp_path / "o.jsonl"
    interrupted(small_dump, out, tfidf_model_dir)
    with open(small_dump, "a", encoding="utf-8") as fh:
        fh.write('{"id": "late", "text": "سلام"}\n')
    code = main([str(a) for a in ["label", small_dump, "-o", out, "--model", tfidf_model_dir, "--resume", "-q"]])
    err = capsys.readouterr().err
    assert code == 1 and "nazar: error: cannot resume: the input changed" in err and "--force" in err
    assert work_dir(out).is_dir() and not out.exists()
    code = main([str(a) for a in ["label", small_dump, "-o", out, "--model", tfidf_model_dir, "--force", "-q"]])
    assert code == 0 and len(read_jsonl(out)) == len(expected_ids(small_dump))


def test_changed_model_refuses_to_resume(tmp_path, small_dump, tfidf_model_dir):
    model = tmp_path / "model"
    shutil.copytree(tfidf_model_dir, model)
    out = tmp_path / "o.jsonl"
    interrupted(small_dump, out, model)
    meta = json.loads((model / "model.json").read_text(encoding="utf-8"))
    meta["version"] = "9.9.9"
    (model / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(LabelError, match="cannot resume: the model changed"):
        label_file(small_dump, out, model=model, chunk_size=40, progress=False, resume=True)


def test_changed_options_refuse_to_resume(tmp_path, small_dump, tfidf_model_dir):
    out = tmp_path / "o.jsonl"
    interrupted(small_dump, out, tfidf_model_dir)
    with pytest.raises(LabelError, match="different options: max_chars"):
        label_file(small_dump, out, model=tfidf_model_dir, progress=False, resume=True, max_chars=50)
    # A different chunk size is fine.
    s = label_file(small_dump, out, model=tfidf_model_dir, chunk_size=7, progress=False, resume=True)
    assert [r["id"] for r in read_jsonl(out)] == expected_ids(small_dump) and s.reconciles


def test_resume_respects_the_original_force(tmp_path, small_dump, tfidf_model_dir):
    out = tmp_path / "o.jsonl"
    out.write_text("old\n", encoding="utf-8")
    # Started without --force: refused before any work.
    with pytest.raises(LabelError, match="exists"):
        label_file(small_dump, out, model=tfidf_model_dir, progress=False)
    interrupted(small_dump, out, tfidf_model_dir, force=True)
    s = label_file(small_dump, out, model=tfidf_model_dir, chunk_size=40, progress=False, resume=True)
    assert s.read == 400 and out.read_text(encoding="utf-8") != "old\n"
    with pytest.raises(LabelError, match="nothing to resume"):
        label_file(small_dump, out, model=tfidf_model_dir, progress=False, resume=True)


def test_standard_input_runs_cannot_resume(tmp_path, tfidf_model_dir):
    out = tmp_path / "o.jsonl"
    work_dir(out).mkdir()
    (work_dir(out) / "manifest.json").write_text(json.dumps({"format": 1, "input": None, "parts": 0}),
                                                 encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "label", "-", "-o", str(out), "--model",
                           str(tfidf_model_dir), "--resume", "-q"], input=b'{"text": "x"}\n',
                          capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1 and b"standard input cannot be resumed" in proc.stderr


def test_a_json_array_resumes_after_the_last_recorded_element(tmp_path, small_dump, tfidf_model_dir):
    elements = []
    for line in small_dump.read_text(encoding="utf-8").splitlines():
        try:
            elements.append(json.loads(line))
        except json.JSONDecodeError:
            elements.append("broken")  # not an object: a reject
    src = tmp_path / "small.json"
    src.write_text(json.dumps(elements, ensure_ascii=False, indent=1), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    interrupted(src, out, tfidf_model_dir)
    done = manifest(out)["read"]
    s = label_file(src, out, model=tfidf_model_dir, chunk_size=40, progress=False, resume=True)
    assert 0 < done < len(elements) and s.resumed_from == done
    assert s.read == len(elements) and s.reconciles
    assert [r["id"] for r in read_jsonl(out)] == [e["id"] for e in elements if isinstance(e, dict)]
    assert [r["line"] for r in read_jsonl(rejects_path(out))] == [i + 1 for i, e in enumerate(elements)
                                                                  if e == "broken"]


def test_kept_fields_survive_a_resume_and_a_change_of_them_is_refused(tmp_path, small_dump, tfidf_model_dir):
    out = tmp_path / "o.csv"
    interrupted(small_dump, out, tfidf_model_dir, keep=["text"])
    with pytest.raises(LabelError, match="different options"):
        label_file(small_dump, out, model=tfidf_model_dir, chunk_size=40, progress=False, resume=True)
    s = label_file(small_dump, out, model=tfidf_model_dir, chunk_size=40, progress=False, resume=True,
                   keep=["text"])
    assert s.read == 400 and s.reconciles
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = {r["id"]: r["text"] for r in read_jsonl_lenient(small_dump)}
    assert [r["text"] for r in rows] == [texts[r["id"]] for r in rows] and len(rows) == s.labelled
