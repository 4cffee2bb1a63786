"""Grouped cross-validation, per-source figures, the --by breakdown, and the cluster bootstrap."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import ROOT, write_jsonl
from pipeline.cli import main
from pipeline.config import ConfigError, load_config
from pipeline.data import MISSING_VALUE, group_value
from pipeline.evaluate import EvaluationError, breakdown, evaluate
from pipeline.metrics import boot_weights, field_metrics, weighted_boot_metrics
from pipeline.schema import FIELDS
from pipeline.train import TrainError, _cv_splits, cross_validate, cv_groups


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def paged(gold_records):
    """The gold comments spread over pages of uneven size, as comments under articles are."""
    sizes = [1, 2, 3, 5, 8, 1, 4, 2, 6, 3, 7, 2, 5]
    page_of = [k for k, n in enumerate(sizes) for _ in range(n)]
    assert len(page_of) >= len(gold_records)
    return [{**r, "url": f"https://example.org/page/{page_of[i]}", "kind": "forum" if i % 3 else "blog"}
            for i, r in enumerate(gold_records)]


def _config(*sets):
    return load_config(ROOT / "configs" / "tfidf.yaml", ["cv.folds=3", "cv.repeats=2", *sets])


def test_grouped_folds_never_split_a_page(paged):
    config = _config("cv.group_by=url")
    groups = cv_groups(paged, "url")
    splits = _cv_splits(config.cv, paged, FIELDS, groups)
    assert len(splits) == 3 * 2
    for r in range(2):
        tested = np.concatenate([te for _, te in splits[3 * r:3 * r + 3]])
        assert sorted(tested.tolist()) == list(range(len(paged)))  # each comment tested once per repeat
    for tr, te in splits:
        assert not {groups[i] for i in tr} & {groups[i] for i in te}


def test_records_without_the_group_field_are_groups_of_their_own(paged):
    records = [dict(r) for r in paged]
    for r in records[:4]:
        del r["url"]
    groups = cv_groups(records, "url")
    assert len(set(groups[:4])) == 4 and not set(groups[:4]) & set(groups[4:])
    with pytest.raises(TrainError, match="no gold record has that field"):
        cv_groups(records, "thread")


def test_fewer_groups_than_folds_is_a_clear_error(paged):
    records = [{**r, "url": "one" if i % 2 else "two"} for i, r in enumerate(paged)]
    with pytest.raises(TrainError, match="2 group"):
        _cv_splits(_config("cv.group_by=url").cv, records, FIELDS, cv_groups(records, "url"))


def test_group_by_must_name_a_field():
    with pytest.raises(ConfigError, match="group_by"):
        _config("cv.group_by=3")


def test_cross_validation_reports_each_source_beside_the_pooled_figures(paged):
    config = _config("cv.group_by=url")
    sources = ["a.jsonl" if i < 20 else "b.jsonl" for i in range(len(paged))]
    res = cross_validate(config, paged, kinds=["tfidf", "majority"], n_boot=50, sources=sources)
    tfidf = res["tfidf"]
    assert set(tfidf["by_source"]) == {"a.jsonl", "b.jsonl"}
    for f in FIELDS:
        assert tfidf["by_source"]["a.jsonl"][f]["n"] == 20
        assert tfidf["by_source"]["b.jsonl"][f]["n"] == len(paged) - 20
        assert tfidf["fields"][f]["n"] == len(paged)
        m = tfidf["by_source"]["b.jsonl"][f]["macro_f1"]
        assert m["ci95"][0] <= m["mean"] <= m["ci95"][1]
    assert "none_precision" in tfidf["fields"]["stance_domestic"]
    paired = tfidf["versus_by_source"]["majority"]["a.jsonl"]["sentiment"]["macro_f1"]
    a = tfidf["by_source"]["a.jsonl"]["sentiment"]["macro_f1"]["mean"]
    b = res["majority"]["by_source"]["a.jsonl"]["sentiment"]["macro_f1"]["mean"]
    assert paired["delta"] == pytest.approx(a - b)
    # One source only: no per-source breakdown to repeat the pooled figures.
    single = cross_validate(config, paged, kinds=["majority"], n_boot=20, sources=["a"] * len(paged))
    assert "by_source" not in single["majority"]


def test_cluster_bootstrap_draws_whole_groups():
    groups = ["p1", "p1", "p1", "p2", "p3", "p3"]
    w = boot_weights(len(groups), 200, seed=3, groups=groups)
    assert w.shape == (200, 6)
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 1] == w[:, 2]).all() and (w[:, 4] == w[:, 5]).all()
    # Three groups drawn each time, so the weights of one member per group sum to 3.
    assert (w[:, [0, 3, 4]].sum(axis=1) == 3).all()
    plain = boot_weights(6, 200, seed=3)
    assert (plain.sum(axis=1) == 6).all() and not (plain[:, 0] == plain[:, 1]).all()


def test_weighted_bootstrap_metrics_match_the_plain_metrics_at_unit_weight():
    gold = ["FAVOR", "NONE", "AGAINST", "NONE", "NONE", "FAVOR"]
    pred = ["FAVOR", "FAVOR", "AGAINST", "NONE", "NONE", "NONE"]
    one = weighted_boot_metrics(gold, pred, "stance_domestic", np.ones((1, 6)))
    ref = field_metrics(gold, pred, "stance_domestic")
    for key in ("accuracy", "macro_f1", "f_avg"):
        assert one[key][0] == pytest.approx(ref[key])
    # Weight 2 on a comment counts it twice.
    twice = weighted_boot_metrics(gold, pred, "stance_domestic", np.array([[2, 1, 1, 1, 1, 1]]))
    assert twice["accuracy"][0] == pytest.approx(field_metrics(gold + ["FAVOR"], pred + ["FAVOR"],
                                                               "stance_domestic")["accuracy"])


def test_group_value_reads_year_from_a_date_and_counts_missing_values():
    assert group_value({"kind": "tweet"}, "kind") == "tweet"
    assert group_value({"date": "2023-06-11"}, "year") == "2023"
    assert group_value({"year": 2019, "date": "2023-01-01"}, "year") == "2019"
    assert group_value({"date": ""}, "year") == MISSING_VALUE
    assert group_value({"kind": "  "}, "kind") == MISSING_VALUE


def test_breakdown_scores_each_value_on_its_own_records(paged):
    preds = {"x": {f: [r[f] if i % 4 else "NONE" if f != "sentiment" else "NEUTRAL"
                       for i, r in enumerate(paged)] for f in FIELDS}}
    records = [dict(r) for r in paged]
    del records[0]["kind"]
    out = breakdown(records, "kind", preds, FIELDS)
    values = {g["value"]: g for g in out["groups"]}
    assert set(values) == {"forum", "blog", MISSING_VALUE}
    assert sum(g["n"] for g in out["groups"]) == len(records)
    idx = [i for i, r in enumerate(records) if r.get("kind") == "blog"]
    ref = field_metrics([records[i]["sentiment"] for i in idx], [preds["x"]["sentiment"][i] for i in idx],
                        "sentiment")
    assert values["blog"]["systems"]["x"]["sentiment"]["macro_f1"] == pytest.approx(ref["macro_f1"])
    with pytest.raises(EvaluationError, match="thread"):
        breakdown(records, "thread", preds, FIELDS)


def test_cli_evaluate_by_field(tmp_path, capsys, paged, tfidf_model_dir):
    gold = write_jsonl(tmp_path / "gold.jsonl", paged)
    out = tmp_path / "r.json"
    code, stdout, err = run(["evaluate", "--gold", gold, "--model", tfidf_model_dir, "--by", "kind",
                             "--bootstrap", 20, "--json", out, "--markdown", tmp_path / "r.md",
                             "--html", tmp_path / "r.html"], capsys)
    assert code == 0, err
    assert "== stance_domestic by kind" in stdout and "NONE precision" in stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["by"]["field"] == "kind"
    assert {g["value"] for g in data["by"]["groups"]} == {"forum", "blog"}
    assert "By `kind`" in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "<h2>By kind</h2>" in (tmp_path / "r.html").read_text(encoding="utf-8")
    code, _, err = run(["evaluate", "--gold", gold, "--model", tfidf_model_dir, "--by", "thread"], capsys)
    assert code == 1 and "no gold record has the field 'thread'" in err
    code, _, err = run(["evaluate", "--cv", 3, "--config", ROOT / "configs" / "tfidf.yaml", "--by", "kind"], capsys)
    assert code == 1 and "cv.group_by" in err


def test_train_writes_grouped_per_source_figures_into_the_card(tmp_path, capsys, paged):
    a = write_jsonl(tmp_path / "a.jsonl", paged[:25])
    b = write_jsonl(tmp_path / "b.jsonl", paged[25:])
    code, stdout, err = run(["train", ROOT / "configs" / "tfidf.yaml", "-o", tmp_path / "m", "-q",
                             "--set", f"data.gold=[{a}, {b}]", "--set", "cv.folds=3", "--set", "cv.repeats=1",
                             "--set", "cv.group_by=url"], capsys)
    assert code == 0, err
    assert "grouped by url" in stdout and str(b) in stdout
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["cv"]["group_by"] == "url"
    assert set(metrics["cv"]["results"]["tfidf"]["by_source"]) == {str(a), str(b)}
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "`url`" in card and f"`{b}`" in card
