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


# -- more than two raters: Fleiss' kappa and Krippendorff's alpha --------------------------------
def test_fleiss_kappa_of_the_textbook_table():
    """Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210."""
    from pipeline.metrics import fleiss_kappa_table

    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa_table(table) == pytest.approx(0.210, abs=5e-4)


def test_krippendorff_alpha_of_the_canonical_example_with_missing_ratings():
    """Krippendorff (2011), 4 coders, 12 units, some unrated: nominal alpha 0.743."""
    from pipeline.metrics import agreement_stats

    coders = ["1 2 3 3 2 1 4 1 2 . . .", "1 2 3 3 2 2 4 1 2 5 . 3", ". 3 3 3 2 3 4 2 2 5 1 .",
              "1 2 3 3 2 4 4 1 2 5 1 ."]
    rows = [[None if v == "." else v for v in c.split()] for c in coders]
    units = [list(u) for u in zip(*rows)]
    stats = agreement_stats(units, ["1", "2", "3", "4", "5"], n_boot=0)
    assert stats["alpha"] == pytest.approx(0.743, abs=5e-4)
    assert stats["n"] == 11  # the last unit has one rating
    assert stats["kappa_kind"] == "fleiss"


def test_two_raters_kappa_is_cohens_and_intervals_hold_the_point():
    import random

    from pipeline.metrics import agreement_stats, cohen_kappa

    rng = random.Random(3)
    a = [rng.choice("xyz") for _ in range(80)]
    b = [v if rng.random() < 0.7 else rng.choice("xyz") for v in a]
    stats = agreement_stats(list(zip(a, b)), list("xyz"), n_boot=300, seed=1)
    assert stats["kappa"] == pytest.approx(cohen_kappa(a, b))
    assert stats["agreement"] == pytest.approx(sum(x == y for x, y in zip(a, b)) / 80)
    for k in ("kappa", "alpha", "agreement"):
        low, high = stats[f"{k}_ci95"]
        assert low <= stats[k] <= high and high - low > 0
    # nominal alpha and Cohen's kappa differ only by the small-sample correction
    assert abs(stats["alpha"] - stats["kappa"]) < 0.02
