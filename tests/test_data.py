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
