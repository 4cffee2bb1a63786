"""Loading labelled sets: the schema is enforced with file:line errors."""
from __future__ import annotations

import json

import pytest

from pipeline.data import DataError, label_counts, labels_of, load_labelled
from pipeline.schema import FIELDS, LABELS
from conftest import write_jsonl


def test_gold_set_loads_with_valid_labels(gold_records):
    assert len(gold_records) >= 40
    for rec in gold_records:
        assert rec["text"].strip()
        for f in FIELDS:
            assert rec[f] in LABELS[f]
    assert len({r["id"] for r in gold_records}) == len(gold_records)


def _good(i=1):
    return {"id": f"g{i}", "text": "سروش عالیه", "stance_domestic": "FAVOR",
            "stance_telegram": "NONE", "sentiment": "POSITIVE"}


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r.update(sentiment="HAPPY"), "unknown label 'HAPPY' for 'sentiment'"),
    (lambda r: r.pop("stance_telegram"), "missing field 'stance_telegram'"),
    (lambda r: r.pop("text"), "missing field 'text'"),
    (lambda r: r.update(text="   "), "'text' must be a non-empty string"),
    (lambda r: r.update(text=5), "'text' must be a non-empty string"),
])
def test_schema_errors_name_file_and_line(tmp_path, mutate, message):
    bad = _good(2)
    mutate(bad)
    path = write_jsonl(tmp_path / "g.jsonl", [_good(1), bad])
    with pytest.raises(DataError) as exc:
        load_labelled(path)
    assert f"{path}:2" in str(exc.value)
    assert message in str(exc.value)


def test_invalid_json_and_duplicate_ids_are_errors(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", [_good(1), "{oops"])
    with pytest.raises(DataError, match=r"g.jsonl:2: invalid JSON"):
        load_labelled(path)
    path = write_jsonl(tmp_path / "d.jsonl", [_good(1), "", _good(1)])
    with pytest.raises(DataError, match=r"d.jsonl:3: duplicate id 'g1' \(first on line 1\)"):
        load_labelled(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_labelled(tmp_path / "nope.jsonl")
    (tmp_path / "e.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="no records"):
        load_labelled(tmp_path / "e.jsonl")


def test_partial_fields_and_counts(tmp_path):
    rec = {"id": 7, "text": "غذا سرد بود", "sentiment": "NEGATIVE"}
    path = write_jsonl(tmp_path / "s.jsonl", [rec])
    records = load_labelled(path, fields=["sentiment"])
    assert records[0]["id"] == "7"
    assert labels_of(records, ["sentiment"]) == {"sentiment": ["NEGATIVE"]}
    counts = label_counts(records, ["sentiment"])
    assert counts == {"sentiment": {"NEGATIVE": 1, "NEUTRAL": 0, "POSITIVE": 0}}


def test_synthetic_and_heldout_files_validate():
    """Every labelled file shipped in data/ follows the schema."""
    from conftest import ROOT

    for path in sorted((ROOT / "data").glob("*/*.jsonl")):
        if path.parent.name == "samples":
            for line in path.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                assert set(rec) == {"id", "text"}
            continue
        if "annotators" in path.parts:
            continue
        load_labelled(path)


def _write_table(path, records, columns, delimiter):
    import csv

    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, delimiter=delimiter, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    return path


@pytest.mark.parametrize("name", ["gold.csv", "gold.tsv", "gold.json", "lines.json", "gold.parquet"])
def test_a_labelled_file_reads_the_same_in_every_format(tmp_path, gold_path, gold_records, name):
    columns = ["id", "text", *FIELDS]
    path = tmp_path / name
    if name.endswith(".parquet"):
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        pq.write_table(pa.table({c: [r[c] for r in gold_records] for c in columns}), path)
    elif name == "lines.json":
        path.write_bytes(gold_path.read_bytes())
    elif name.endswith(".json"):
        path.write_text(json.dumps(gold_records, ensure_ascii=False, indent=2), encoding="utf-8-sig")
    else:
        _write_table(path, gold_records, columns, "," if name.endswith(".csv") else "\t")
    got = load_labelled(path)
    assert [{c: r[c] for c in columns} for r in got] == [{c: r[c] for c in columns} for r in gold_records]


def test_table_and_array_problems_name_file_and_line(tmp_path):
    header = "id,text,stance_domestic,stance_telegram,sentiment\n"
    cases = {
        "extra.csv": (header + "1,خوب,FAVOR,NONE,POSITIVE,oops\n", r"extra.csv:2: more cells than the header"),
        "short.csv": (header + "1,خوب,FAVOR,NONE\n", r"short.csv:2: missing field 'sentiment'"),
        "empty.csv": (header + "1,خوب,FAVOR,NONE,\n", r"empty.csv:2: unknown label '' for 'sentiment'"),
        "quoted.csv": (header + '1,"یک\nدو",FAVOR,NONE,POSITIVE\n2,x,FAVOR,NONE,GOOD\n',
                       r"quoted.csv:4: unknown label 'GOOD'"),
        "broken.json": ('[{"id": 1, "text": "x"}\n, 3', r"broken.json:2: invalid JSON"),
        "mixed.json": ('[{"id": "1", "text": "x", "stance_domestic": "FAVOR", "stance_telegram": "NONE", '
                       '"sentiment": "POSITIVE"}, 7]', r"mixed.json: record 2: expected a JSON object, got int"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        with pytest.raises(DataError, match=message):
            load_labelled(tmp_path / name)


@pytest.mark.parametrize("name, data, message", [
    ("bad.jsonl", b'{"id": "1", "text": "x"}\n{"id": "2", "text": "\xff"}\n', r"bad.jsonl:2: not UTF-8"),
    ("bad.csv", b"id,text\n1,\xff\n", r"bad.csv: not UTF-8 text"),
    ("bad.json", b'[{"id": "1", "text": "\xff"}]', r"bad.json: not UTF-8 text"),
])
def test_bytes_that_are_not_utf8_are_a_data_error(tmp_path, name, data, message):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match=message):
        load_labelled(tmp_path / name, fields=())


def test_annotator_files_may_be_tables(tmp_path):
    from pipeline.agreement import load_annotations

    rows = [{"id": "a", "sentiment": "POSITIVE"}, {"id": "b", "sentiment": "NEGATIVE"}]
    jsonl = write_jsonl(tmp_path / "ann.jsonl", rows)
    table = _write_table(tmp_path / "ann.tsv", rows, ["id", "sentiment"], "\t")
    assert load_annotations(table, ["sentiment"]) == load_annotations(jsonl, ["sentiment"])
