"""Inter-annotator agreement: percent agreement and Cohen's kappa."""
from __future__ import annotations

import json

import pytest

from conftest import ROOT, write_jsonl
from pipeline.agreement import agreement, load_annotations
from pipeline.cli import main
from pipeline.data import DataError
from pipeline.evaluate import cohen_kappa

ANN = ROOT / "data" / "gold" / "annotators"


def test_reproduces_the_published_agreement_of_the_gold_set():
    res = agreement(load_annotations(ANN / "seed_annotator_a.jsonl"), load_annotations(ANN / "seed_annotator_b.jsonl"))
    published = {"stance_domestic": (0.959, 0.94), "stance_telegram": (0.939, 0.85), "sentiment": (0.918, 0.88)}
    for field, (agree, kappa) in published.items():
        assert res["fields"][field]["n"] == 49
        assert res["fields"][field]["agreement"] == pytest.approx(agree, abs=0.01)
        assert res["fields"][field]["kappa"] == pytest.approx(kappa, abs=0.01)


def test_kappa_matches_scikit_learn():
    from sklearn.metrics import cohen_kappa_score

    a = ["FAVOR", "NONE", "NONE", "AGAINST", "FAVOR", "NONE", "AGAINST"]
    b = ["FAVOR", "NONE", "AGAINST", "AGAINST", "NONE", "NONE", "AGAINST"]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa(a, a) == pytest.approx(1.0)


def test_ids_in_one_file_only_are_reported(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "1", "sentiment": "POSITIVE"}, {"id": "2", "sentiment": "NEGATIVE"},
                                          {"id": "3", "sentiment": "NEUTRAL"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": "2", "sentiment": "NEGATIVE"}, {"id": "3", "sentiment": "POSITIVE"},
                                          {"id": "4", "sentiment": "NEUTRAL"}])
    res = agreement(load_annotations(a), load_annotations(b))
    assert res["only_in_a"] == ["1"] and res["only_in_b"] == ["4"]
    assert res["fields"]["sentiment"]["n"] == 2
    assert res["fields"]["sentiment"]["agreement"] == 0.5
    assert res["fields"]["sentiment"]["disagreements"] == ["3"]
    assert set(res["fields"]) == {"sentiment"}


def test_bad_label_names_file_and_line(tmp_path):
    bad = write_jsonl(tmp_path / "a.jsonl", [{"id": "1", "sentiment": "POSITIVE"}, {"id": "2", "sentiment": "GOOD"}])
    with pytest.raises(DataError, match=r"a\.jsonl:2.*GOOD"):
        load_annotations(bad)


def test_cli_agreement(tmp_path, capsys):
    out = tmp_path / "agreement.json"
    code = main(["agreement", str(ANN / "seed_annotator_a.jsonl"), str(ANN / "seed_annotator_b.jsonl"),
                 "--json", str(out)])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "95.9%" in stdout and "0.94" in stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["fields"]["sentiment"]["agreement"] == pytest.approx(0.918, abs=0.001)


def test_cli_agreement_missing_file(tmp_path, capsys):
    code = main(["agreement", str(tmp_path / "none.jsonl"), str(ANN / "seed_annotator_b.jsonl")])
    assert code == 1
    assert "nazar: error:" in capsys.readouterr().err


def test_cli_agreement_without_common_ids(tmp_path, capsys):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "1", "sentiment": "POSITIVE"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": "2", "sentiment": "POSITIVE"}])
    assert main(["agreement", str(a), str(b)]) == 1
    assert "no id is in both" in capsys.readouterr().err
