"""Batch labelling: formats, deduplication, rejects, reconciliation, stdin and exit codes."""
from __future__ import annotations

import csv
from collections import Counter
import io
import re
import subprocess
import sys

import pytest

from conftest import ROOT, read_jsonl, write_jsonl
from pipeline.cli import main
from pipeline.io import Item
from pipeline.label import BatchLabeller, LabelError, label_file, rejects_path, work_dir
from pipeline.schema import FIELDS, LABELS


@pytest.fixture(scope="module")
def labeller(tfidf_model_dir):
    return BatchLabeller(tfidf_model_dir)


@pytest.fixture()
def dump(tmp_path, gold_records):
    """Gold texts twice over (duplicates), ids, plus three rejects."""
    recs = [{"id": f"g{i}", "text": r["text"]} for i, r in enumerate(gold_records * 2)]
    lines = recs[:10] + ["not json", {"id": "e", "text": ""}] + recs[10:] + [{"id": "n", "text": None}]
    return write_jsonl(tmp_path / "dump.jsonl", lines)


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# -- BatchLabeller -----------------------------------------------------------------------------
def test_labeller_agrees_with_the_model_and_dedups(labeller, gold_records):
    texts = [r["text"] for r in gold_records]
    fresh = BatchLabeller(labeller.model, cache_size=0)
    out = fresh(texts + texts[:5])
    expected = labeller.model.predict(texts + texts[:5])
    for f in FIELDS:
        assert out[f] == expected[f]
    assert fresh.stats["classified"] == len(set(labeller.model.normalize(texts)))
    for row, f in ((row, f) for row in out["probs"] for f in FIELDS):
        assert set(row[f]) == set(LABELS[f]) and abs(sum(row[f].values()) - 1) < 1e-3


def test_labeller_cache_serves_repeats_across_calls(labeller, gold_records):
    texts = [r["text"] for r in gold_records]
    lab = BatchLabeller(labeller.model, cache_size=1000)
    first = lab(texts)
    assert lab.stats["classified"] > 0
    before = lab.stats["classified"]
    second = lab(list(reversed(texts)))
    assert lab.stats["classified"] == before
    assert second["sentiment"] == list(reversed(first["sentiment"]))
    small = BatchLabeller(labeller.model, cache_size=3)
    small(texts)
    assert len(small._cache) == 3


def test_labeller_takes_dict_of_arrays_with_rejects(labeller):
    batch = {"id": ["a", "b", "c"], "line": [1, 2, 3], "text": ["سروش خوبه", "", "تلگرام عالیه"],
             "reason": [None, "field 'text' is empty", None]}
    out = labeller(batch)
    assert out["id"] == ["a", "b", "c"] and out["line"] == [1, 2, 3]
    assert out["reason"] == [None, "field 'text' is empty", None]
    for f in FIELDS:
        assert out[f][1] is None and out[f][0] in LABELS[f]
        assert out[f"p_{f}_{LABELS[f][0]}"][1] is None
    assert out["model_kind"] == ["tfidf", None, "tfidf"]
    assert set(out) >= set(labeller.columns())


# -- label_file --------------------------------------------------------------------------------
def test_jsonl_run_reconciles_and_keeps_order(dump, tmp_path, labeller):
    out = tmp_path / "out.jsonl"
    s = label_file(dump, out, model=labeller, chunk_size=7, progress=False)
    rows, rejects = read_jsonl(out), read_jsonl(rejects_path(out))
    assert s.read == s.labelled + s.rejected == 101
    assert [r["id"] for r in rows] == [f"g{i}" for i in range(98)]
    assert [r["line"] for r in rejects] == [11, 12, 101]
    assert {r["id"] for r in rejects} == {None, "e", "n"}
    assert sum(s.counts["sentiment"].values()) == 98
    assert not work_dir(out).exists()
    assert s.cached > 0  # the second copy of the gold texts came from the cache


def test_outputs_in_every_format_carry_the_same_labels(dump, tmp_path, labeller):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    label_file(dump, tmp_path / "o.jsonl", model=labeller, progress=False)
    ref = read_jsonl(tmp_path / "o.jsonl")
    label_file(dump, tmp_path / "o.csv", model=labeller, progress=False)
    label_file(dump, tmp_path / "o.parquet", model=labeller, progress=False)
    label_file(dump, tmp_path / "o.tsv", model=labeller, progress=False)
    with open(tmp_path / "o.csv", encoding="utf-8", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    with open(tmp_path / "o.tsv", encoding="utf-8", newline="") as fh:
        tsv_rows = list(csv.DictReader(fh, delimiter="\t"))
    pq_rows = pq.read_table(tmp_path / "o.parquet").to_pylist()
    for rows in (csv_rows, tsv_rows, pq_rows):
        assert [r["id"] for r in rows] == [r["id"] for r in ref]
        for flat, nested in zip(rows, ref):
            for f in FIELDS:
                assert flat[f] == nested[f]
                for lab, p in nested["probs"][f].items():
                    assert float(flat[f"p_{f}_{lab}"]) == pytest.approx(p)
            assert flat["model_kind"] == "tfidf" and flat["model_name"] == "test-tfidf"
    assert read_jsonl(tmp_path / "o.csv.rejects.jsonl") == read_jsonl(tmp_path / "o.rejects.jsonl")


def test_csv_tsv_and_parquet_inputs(tmp_path, labeller, gold_records):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    texts = [r["text"] for r in gold_records]
    with open(tmp_path / "in.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["comment", "cid"])
        w.writerows([(t, f"c{i}") for i, t in enumerate(texts)] + [("", "empty")])
    with open(tmp_path / "in.tsv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(["comment"])
        w.writerows([(t,) for t in texts])
    pq.write_table(pa.table({"comment": texts + [None], "cid": [f"c{i}" for i in range(len(texts))] + ["none"]}),
                   tmp_path / "in.parquet", row_group_size=10)
    common = dict(model=labeller, progress=False, text_field="comment", id_field="cid")
    ref = labeller.model.predict(texts)["sentiment"]
    s = label_file(tmp_path / "in.csv", tmp_path / "a.jsonl", **common)
    assert (s.labelled, s.rejected) == (len(texts), 1)
    assert [r["id"] for r in read_jsonl(tmp_path / "a.jsonl")] == [f"c{i}" for i in range(len(texts))]
    assert [r["sentiment"] for r in read_jsonl(tmp_path / "a.jsonl")] == ref
    label_file(tmp_path / "in.tsv", tmp_path / "b.jsonl", **common)
    rows = read_jsonl(tmp_path / "b.jsonl")
    assert rows[0]["id"] == "line-2" and [r["sentiment"] for r in rows] == ref
    s = label_file(tmp_path / "in.parquet", tmp_path / "c.jsonl", chunk_size=8, **common)
    assert (s.labelled, s.rejected) == (len(texts), 1)
    assert [r["sentiment"] for r in read_jsonl(tmp_path / "c.jsonl")] == ref
    assert read_jsonl(tmp_path / "c.rejects.jsonl") == [{"line": len(texts) + 1, "id": "none",
                                                         "reason": "missing field 'comment'"}]
    # --format overrides the extension.
    (tmp_path / "in.txt").write_bytes((tmp_path / "in.csv").read_bytes())
    s = label_file(tmp_path / "in.txt", tmp_path / "d.jsonl", input_format="csv", **common)
    assert s.labelled == len(texts)


def test_long_texts_rejected_or_truncated(tmp_path, labeller):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "long", "text": "سلام " * 50}, {"id": "ok", "text": "خوب"}])
    s = label_file(src, tmp_path / "o.jsonl", model=labeller, progress=False, max_chars=100)
    assert s.rejected == 1 and "longer than 100" in read_jsonl(tmp_path / "o.rejects.jsonl")[0]["reason"]
    s = label_file(src, tmp_path / "o.jsonl", model=labeller, progress=False, max_chars=100, truncate=True,
                   force=True, keep=["text"])
    assert (s.labelled, s.rejected) == (2, 0)
    assert not (tmp_path / "o.rejects.jsonl").exists()  # the earlier run's rejects are gone
    cut = ("سلام " * 50)[:100]
    long = read_jsonl(tmp_path / "o.jsonl")[0]
    assert long["text"] == cut  # the first 100 characters were labelled, nothing else
    assert long["probs"] == labeller.records([Item(1, "x", record={"id": "x", "text": cut})])[0]["probs"]


def test_progress_and_summary_go_to_the_stream(dump, tmp_path, labeller):
    stream = io.StringIO()
    s = label_file(dump, tmp_path / "o.jsonl", model=labeller, chunk_size=10, stream=stream)
    assert "rows/s" in stream.getvalue() and "ETA" in stream.getvalue()
    text = s.to_text()
    assert "read 101, labelled 98, rejected 3" in text and "invalid JSON" in text
    d = s.to_dict()
    assert d["read"] == d["labelled"] + d["rejected"] and d["rows_per_second"] > 0


def test_refusals(dump, tmp_path, labeller):
    with pytest.raises(LabelError, match="input file not found"):
        label_file(tmp_path / "none.jsonl", tmp_path / "o.jsonl", model=labeller)
    with pytest.raises(LabelError, match="output format"):
        label_file(dump, tmp_path / "o.xlsx", model=labeller)
    with pytest.raises(LabelError, match="is the input"):
        label_file(dump, dump, model=labeller, force=True)
    with pytest.raises(LabelError, match="chunk size"):
        label_file(dump, tmp_path / "o.jsonl", model=labeller, chunk_size=0)
    work_dir(tmp_path / "o.jsonl").mkdir()
    (work_dir(tmp_path / "o.jsonl") / "manifest.json").write_text("{}")
    with pytest.raises(LabelError, match="--resume.*--force"):
        label_file(dump, tmp_path / "o.jsonl", model=labeller)
    s = label_file(dump, tmp_path / "o.jsonl", model=labeller, force=True, progress=False)
    assert s.labelled == 98 and not work_dir(tmp_path / "o.jsonl").exists()


# -- through the command line -----------------------------------------------------------------------
def test_cli_strict_exits_1_after_writing_everything(dump, tmp_path, capsys, tfidf_model_dir):
    out = tmp_path / "o.parquet"
    code, _, err = run(["label", dump, "-o", out, "--model", tfidf_model_dir, "-q", "--strict"], capsys)
    assert code == 1 and "nazar: error: 3 record(s) rejected (--strict)" in err
    assert out.exists() and rejects_path(out).exists()
    clean = write_jsonl(tmp_path / "clean.jsonl", [{"id": "1", "text": "سلام"}])
    code, _, err = run(["label", clean, "-o", tmp_path / "c.csv", "--model", tfidf_model_dir, "-q", "--strict"],
                       capsys)
    assert code == 0, err


def test_cli_bad_inputs_are_clear_errors(tmp_path, capsys, tfidf_model_dir):
    (tmp_path / "in.csv").write_text("id,body\n1,x\n", encoding="utf-8")
    code, _, err = run(["label", tmp_path / "in.csv", "-o", tmp_path / "o.jsonl", "--model", tfidf_model_dir],
                       capsys)
    assert code == 1 and "nazar: error:" in err and "no column 'text'" in err
    assert not work_dir(tmp_path / "o.jsonl").exists()
    (tmp_path / "in.docx").write_text("x\n", encoding="utf-8")
    code, _, err = run(["label", tmp_path / "in.docx", "-o", tmp_path / "o.jsonl"], capsys)
    assert code == 1 and "--format" in err
    with pytest.raises(SystemExit) as exc:
        main(["label", str(tmp_path / "in.docx"), "-o", "x.jsonl", "--engine", "spark"])
    assert exc.value.code == 2


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_cli_reads_standard_input(tmp_path, tfidf_model_dir, fmt):
    if fmt == "jsonl":
        data = '{"id": "a", "text": "سروش خوبه"}\nbroken\n{"text": "تلگرام"}\n'
    else:
        data = 'text,id\nسروش خوبه,a\n"two\nlines",\n'
    out = tmp_path / "o.jsonl"
    argv = [sys.executable, "-m", "pipeline", "label", "-", "-o", str(out), "--model", str(tfidf_model_dir), "-q"]
    if fmt == "csv":
        argv += ["--format", "csv"]
    proc = subprocess.run(argv, input=data.encode(), capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    ids = [r["id"] for r in read_jsonl(out)]
    assert ids == ["a", "line-3"]
    if fmt == "jsonl":
        assert read_jsonl(tmp_path / "o.rejects.jsonl")[0]["line"] == 2
    assert b"read " in proc.stderr


def test_tfidf_labelling_imports_no_torch(tmp_path, tfidf_model_dir):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "1", "text": "سلام"}])
    code = ("import sys; from pipeline.label import label_file; "
            f"label_file({str(src)!r}, {str(tmp_path / 'o.csv')!r}, model={str(tfidf_model_dir)!r}, progress=False); "
            "print(','.join(m for m in ('torch', 'transformers', 'ray') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_a_text_file_labels_each_nonblank_line_with_its_line_number(tmp_path, tfidf_model_dir):
    src = tmp_path / "comments.txt"
    src.write_text("سروش خوبه\n\nتلگرام بهتره\r\n" + "ایتا " * 10 + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    s = label_file(src, out, model=tfidf_model_dir, progress=False, max_chars=20)
    assert s.read == 3 and s.labelled == 2 and s.reconciles
    assert [r["id"] for r in read_jsonl(out)] == ["line-1", "line-3"]
    assert [(r["line"], r["reason"]) for r in read_jsonl(rejects_path(out))] == [
        (4, "text longer than 20 characters (50)")]


def test_kept_input_fields_follow_the_id_in_every_output_format(tmp_path, tfidf_model_dir):
    rows = [{"id": "a", "text": "سروش خوبه", "author": "علی", "likes": 3, "tags": ["x"]},
            {"id": "b", "text": "تلگرام", "likes": None},
            {"id": "c", "text": "   "}]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    keep = ["author", "likes", "tags"]
    s = label_file(src, tmp_path / "o.jsonl", model=tfidf_model_dir, progress=False, keep=keep)
    assert s.labelled == 2 and s.rejected == 1
    out = read_jsonl(tmp_path / "o.jsonl")
    assert [list(r)[:4] for r in out] == [["id", *keep]] * 2
    assert [(r["author"], r["likes"], r["tags"]) for r in out] == [("علی", 3, ["x"]), (None, None, None)]
    label_file(src, tmp_path / "o.csv", model=tfidf_model_dir, progress=False, keep=keep)
    with open(tmp_path / "o.csv", encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0])[:4] == ["id", *keep]
    assert [(r["author"], r["likes"], r["tags"]) for r in table] == [("علی", "3", '["x"]'), ("", "", "")]


def test_keep_refuses_an_output_name_and_the_ray_engine(tmp_path, tfidf_model_dir):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "سروش"}])
    for name in ("sentiment", "probs", "p_sentiment_POSITIVE", "model_name"):
        with pytest.raises(LabelError, match=f"--keep {name}: the output has a field of that name"):
            label_file(src, tmp_path / "o.csv", model=tfidf_model_dir, progress=False, keep=[name])
    (tmp_path / "in.csv").write_text("id,text,author\na,سروش,x\n", encoding="utf-8")
    with pytest.raises(LabelError, match=r"no column 'autor' \(named by --keep"):
        label_file(tmp_path / "in.csv", tmp_path / "o.jsonl", model=tfidf_model_dir, progress=False, keep=["autor"])
    assert not work_dir(tmp_path / "o.jsonl").exists()
    with pytest.raises(LabelError, match="--keep works with the local engine"):
        label_file(src, tmp_path / "o.csv", model=tfidf_model_dir, progress=False, keep=["text"], engine="ray")


def test_kept_values_json_cannot_hold_become_strings(tmp_path, tfidf_model_dir):
    pa = pytest.importorskip("pyarrow")
    import datetime

    import pyarrow.parquet as pq

    when = datetime.datetime(2018, 5, 28, 15, 7)
    pq.write_table(pa.table({"id": ["a"], "text": ["ایتا خوبه"], "published": [when]}), tmp_path / "in.parquet")
    label_file(tmp_path / "in.parquet", tmp_path / "o.jsonl", model=tfidf_model_dir, progress=False,
               keep=["published"])
    assert read_jsonl(tmp_path / "o.jsonl")[0]["published"] == str(when)


@pytest.mark.parametrize("to_stdout", [False, True])
def test_progress_moves_within_a_chunk(to_stdout, tmp_path, gold_records, tfidf_model_dir, monkeypatch):
    """One big chunk, classified in small batches: the progress line advances batch by batch."""
    import pipeline.label.job as label_mod

    clock = iter(range(0, 10**6, 5))  # every reading of the clock is 5 s after the last
    monkeypatch.setattr(label_mod.time, "perf_counter", lambda: float(next(clock)))
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": f"{r['text']} {i}"}
                                              for i, r in enumerate(gold_records * 2)])
    n = len(gold_records) * 2

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    labeller = BatchLabeller(tfidf_model_dir, batch_size=10)
    out = "-" if to_stdout else tmp_path / "o.jsonl"
    label_file(src, out, model=labeller, chunk_size=10_000, stream=stream, out_stream=io.BytesIO())
    rows = [int(m) for m in re.findall(r"(\d+) rows,", stream.getvalue())]
    assert len([r for r in rows if 0 < r < n]) >= 3, stream.getvalue()
    assert rows == sorted(rows) and rows[-1] == n
    assert labeller.on_batch is None


def _sourced(tmp_path, gold_records, n=60):
    rows = [{"id": f"s{i}", "text": f"{gold_records[i % len(gold_records)]['text']} {i}",
             **({"source": ["a.com", "b.org", "c.ir"][i % 3]} if i % 10 else {})} for i in range(n)]
    rows.append({"id": "bad", "text": ""})
    return write_jsonl(tmp_path / "in.jsonl", rows)


def _check_by(summary, src):
    by = summary.to_dict()["by"]
    assert by["field"] == "source"
    values = by["values"]
    expected = Counter(r.get("source", "(missing)") for r in read_jsonl(src) if r["text"])
    assert {v: e["labelled"] for v, e in values.items()} == dict(expected)
    for f, c in summary.counts.items():  # the breakdown adds up to the totals
        total = Counter()
        for e in values.values():
            total.update(e[f])
        assert dict(total) == c
    assert "by source" in summary.to_text()


@pytest.mark.parametrize("out_name", ["o.jsonl", "o.csv", "-"])
def test_by_breaks_the_counts_down_and_they_add_up(out_name, tmp_path, gold_records, labeller):
    src = _sourced(tmp_path, gold_records)
    out = out_name if out_name == "-" else tmp_path / out_name
    s = label_file(src, out, model=labeller, progress=False, chunk_size=7, by="source", out_stream=io.BytesIO())
    _check_by(s, src)


def test_by_holds_across_a_resume_and_must_not_change(tmp_path, gold_records, labeller):
    src = _sourced(tmp_path, gold_records)
    out = tmp_path / "o.jsonl"

    def stop(summary):
        if summary.read >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        label_file(src, out, model=labeller, progress=False, chunk_size=7, by="source", on_chunk=stop)
    with pytest.raises(LabelError, match="by"):
        label_file(src, out, model=labeller, progress=False, resume=True)
    s = label_file(src, out, model=labeller, progress=False, resume=True, by="source")
    assert s.resumed_from
    _check_by(s, src)


def test_by_on_a_csv_needs_the_column(tmp_path, labeller):
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,سروش\n", encoding="utf-8")
    with pytest.raises(LabelError, match="no column 'source'"):
        label_file(src, tmp_path / "o.jsonl", model=labeller, progress=False, by="source")


def test_by_caps_the_number_of_values(tmp_path, gold_records, labeller, monkeypatch):
    from pipeline.label import ByCounts

    monkeypatch.setattr(ByCounts, "MAX_VALUES", 5)
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": "سروش", "source": f"site{i}"} for i in range(12)])
    s = label_file(src, tmp_path / "o.jsonl", model=labeller, progress=False, by="source")
    values = s.to_dict()["by"]["values"]
    assert len(values) == 6 and values["(other)"]["labelled"] == 7
