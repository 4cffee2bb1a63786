"""Training data from several files: per-file label mappings, fields and samples."""
from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from conftest import ROOT, write_jsonl
from pipeline.config import load_config
from pipeline.data import DataError, labels_of
from pipeline.train import build_model, load_data, load_source, train

REVIEWS = [("غذا خیلی خوشمزه بود و سریع رسید", "HAPPY"), ("سرد و بی‌کیفیت بود، دیگه سفارش نمیدم", "SAD"),
           ("بسته‌بندی عالی بود", "HAPPY"), ("پیک دیر اومد و غذا خراب بود", "SAD"),
           ("کیفیتش خوب بود", "HAPPY"), ("اصلا ارزش نداشت", "SAD"), ("بی‌نظیر بود", "HAPPY"),
           ("نمی‌دونم، معمولی بود", "MIXED")]


@pytest.fixture()
def reviews(tmp_path):
    # A corpus with labels of its own, and a stray key that looks like one of ours.
    rows = [{"id": f"r{i}", "text": t, "label": lab, "stance_domestic": "whatever"}
            for i, (t, lab) in enumerate(REVIEWS)]
    return write_jsonl(tmp_path / "reviews.jsonl", rows)


def _config(gold_path, reviews, *extra_sets):
    source = (f"{{path: {reviews}, fields: [sentiment], "
              "labels: {sentiment: {from: label, map: {HAPPY: POSITIVE, SAD: NEGATIVE}}}}")
    return load_config(ROOT / "configs" / "tfidf.yaml",
                       [f"data.gold=[{gold_path}]", f"data.extra=[{source}]", "cv.folds=3", "cv.repeats=1",
                        *extra_sets])


def test_a_source_labels_only_its_own_fields(gold_path, reviews):
    config = _config(gold_path, reviews)
    records = load_source(config, config.data.extra[0])
    assert len(records) == 7  # MIXED has no mapping: dropped
    assert {r["sentiment"] for r in records} == {"POSITIVE", "NEGATIVE"}
    assert all(r["stance_domestic"] is None and r["stance_telegram"] is None for r in records)


def test_a_source_max_rows_samples_that_file_only(gold_path, reviews):
    config = _config(gold_path, reviews, "data.max_rows=1000")
    source = config.data.extra[0]
    few = replace(config, data=replace(config.data, extra=(replace(source, max_rows=3),)))
    assert len(load_source(few, few.data.extra[0])) == 3
    assert len(load_data(few, few.data.gold)) == 49


def test_unlabelled_fields_leave_those_heads_alone(gold_path, reviews, gold_records):
    config = _config(gold_path, reviews)
    extra = load_data(config, config.data.extra)
    both = gold_records + extra
    with_reviews = build_model(config, "majority").fit([r["text"] for r in both], labels_of(both))
    gold_only = build_model(config, "majority").fit([r["text"] for r in gold_records], labels_of(gold_records))
    for field in ("stance_domestic", "stance_telegram"):
        assert np.allclose(with_reviews.prior_[field], gold_only.prior_[field])
    assert not np.allclose(with_reviews.prior_["sentiment"], gold_only.prior_["sentiment"])


def test_train_records_each_source_and_what_it_trains(tmp_path, gold_path, reviews):
    config = _config(gold_path, reviews)
    out = tmp_path / "model"
    _, metrics = train(config, out, log=lambda msg: None)
    assert metrics["data"] == {"gold": 49, "extra": 7}
    info = json.loads((out / "model.json").read_text(encoding="utf-8"))["training"]
    assert info["extra"][0]["n"] == 7 and info["extra"][0]["fields"] == ["sentiment"]
    assert "fields" not in info["gold"][0]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "(7 comments; trains only the sentiment head)" in card
    resolved = load_config(out / "config.yaml")
    assert resolved.data.extra == config.data.extra


def test_a_source_missing_a_listed_field_names_the_line(tmp_path, gold_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "1", "text": "خوب بود", "label": "HAPPY"}])
    config = load_config(ROOT / "configs" / "tfidf.yaml",
                         [f"data.gold=[{gold_path}]", f"data.extra=[{{path: {bad}, fields: [sentiment]}}]"])
    with pytest.raises(DataError, match=r"bad.jsonl:1: missing field 'sentiment'"):
        load_data(config, config.data.extra)


def test_fold_progress_says_where_it_is_and_how_long_is_left():
    from pipeline.train import fold_progress

    line = fold_progress(3, 10, 5, 30.0)
    assert line.startswith("cv fold 3/5 of repeat 1/2 (3/10 fits done)")
    assert "30 s elapsed" in line and "ETA 1 min 10 s" in line
    assert "repeat 2/2" in fold_progress(6, 10, 5, 1.0) and "ETA 0 s" in fold_progress(10, 10, 5, 1.0)


@pytest.mark.parametrize("kind, params, needle", [
    ("tfidf", {"Cc": 3}, "unknown tfidf parameter(s): Cc"),
    ("encoder", {"tone_by_targets": True}, "unknown encoder parameter(s): tone_by_targets"),
    ("keyword", {"lexicn": "x.yaml"}, "unknown keyword parameter(s): lexicn"),
    ("majority", {"C": 1}, "unknown majority parameter(s): C"),
    ("transformer", {"epoch": 3}, "unknown transformer parameter(s): epoch"),
    ("transformer", {"pooling": "max"}, "pooling must be"),
    ("setfit", {"strategy": "triplet"}, "strategy must be"),
    ("ensemble", {"members": "[{kind: tfidf}]"}, "at least two"),
    ("ensemble", {"members": "[{kind: tfidf, params: {Cc: 1}}, {kind: majority}]"}, "member 0 (tfidf)"),
    ("tfidf", {"abstain": "maybe"}, "abstain must be true, false or a mapping"),
])
def test_a_bad_model_param_is_a_config_error_before_any_data_is_read(kind, params, needle, tmp_path):
    from pipeline.config import ConfigError

    config = load_config(None, [f"model.kind={kind}", "cv=null", f"data.gold=[{tmp_path / 'none.jsonl'}]"]
                         + [f"model.params.{k}={v}" for k, v in params.items()])
    with pytest.raises(ConfigError, match=re.escape(needle)):
        train(config, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_good_params_of_every_kind_pass_the_check():
    from pipeline.train import check_model_params

    for kind in ("tfidf", "encoder", "keyword", "majority", "transformer", "setfit"):
        check_model_params(load_config(None, [f"model.kind={kind}"]))
    for name in ("default", "encoder", "tfidf"):
        check_model_params(load_config(ROOT / "configs" / f"{name}.yaml"))


def test_a_missing_gold_file_says_which_setting_names_it(tmp_path, gold_path):
    from pipeline.train import TrainError

    config = load_config(ROOT / "configs" / "tfidf.yaml", [f"data.gold=[{gold_path}, {tmp_path / 'gone.jsonl'}]"])
    with pytest.raises(TrainError, match=r"gone.jsonl: no such file \(named in the config's data.gold"):
        train(config, tmp_path / "m", run_cv=False)
    assert not (tmp_path / "m").exists()


def test_a_benchmark_leaves_out_the_rows_a_model_sampled_for_training(gold_path, reviews, tmp_path):
    from pipeline.classifiers.base import load_model
    from pipeline.data import text_digest
    from pipeline.evaluate.benchmark import run_benchmark

    config = _config(gold_path, reviews)
    source = config.data.extra[0]
    sampled = replace(config, data=replace(config.data, extra=(replace(source, max_rows=3),)))
    train(sampled, tmp_path / "m", run_cv=False, log=lambda m: None)
    model = load_model(tmp_path / "m")
    used = {text_digest(r["text"]) for r in load_source(sampled, sampled.data.extra[0])}
    [info] = model.training_info["extra"]
    assert set(info["sampled"]) == used and len(used) == 3
    bench = {"corpora": [{"name": "reviews", "path": str(reviews), "labels": {"HAPPY": "POSITIVE", "SAD": "NEGATIVE"}}]}
    [entry] = run_benchmark(model, bench, n_boot=20)["corpora"]
    assert entry["status"] == "ok" and entry["excluded"] == 3 and entry["n"] == 7 - 3

    train(config, tmp_path / "whole", run_cv=False, log=lambda m: None)  # no max_rows: the whole file
    whole = load_model(tmp_path / "whole")
    assert "sampled" not in whole.training_info["extra"][0]
    [entry] = run_benchmark(whole, bench, n_boot=20)["corpora"]
    assert entry["status"] == "skipped" and "trained on this whole file" in entry["reason"]
    other = load_model(tmp_path / "m")
    other.training_info = {}
    [entry] = run_benchmark(other, bench, n_boot=20)["corpora"]
    assert entry["status"] == "ok" and entry["excluded"] == 0 and entry["n"] == 7
