"""Metrics, intervals, calibration, comparisons, cross-validation and benchmarks of `nazar evaluate`."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import ROOT, write_jsonl
from pipeline.cli import main
from pipeline.evaluate.benchmark import run_benchmark
from pipeline.evaluate import bootstrap_ci, calibration, evaluate, field_metrics, paired_bootstrap, score
from pipeline.schema import FIELDS


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


GOLD = ["FAVOR", "FAVOR", "AGAINST", "NONE", "NONE", "NONE"]
PRED = ["FAVOR", "NONE", "AGAINST", "NONE", "FAVOR", "NONE"]


def test_field_metrics_by_hand():
    m = field_metrics(GOLD, PRED, "stance_domestic")
    # FAVOR: tp 1, fp 1, fn 1 -> F1 .5; AGAINST: 1.0; NONE: tp 2, fp 1, fn 1 -> F1 2/3
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class"]["FAVOR"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["per_class"]["NONE"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.5 + 1 + 2 / 3) / 3)
    assert m["weighted_f1"] == pytest.approx((2 * 0.5 + 1 * 1 + 3 * 2 / 3) / 6)
    assert m["f_avg"] == pytest.approx(0.75)
    assert m["confusion"]["labels"] == ["AGAINST", "FAVOR", "NONE"]
    assert m["confusion"]["matrix"] == [[1, 0, 0], [0, 1, 1], [0, 1, 2]]


def test_metrics_agree_with_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    labels = ["NEGATIVE", "NEUTRAL", "POSITIVE"]
    gold = list(rng.choice(labels, 60))
    pred = list(rng.choice(labels, 60))
    m = field_metrics(gold, pred, "sentiment")
    assert m["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    assert m["weighted_f1"] == pytest.approx(f1_score(gold, pred, average="weighted"))


def test_score_keeps_the_old_keys():
    res = score({"stance_domestic": GOLD}, {"stance_domestic": PRED})
    assert {"n", "accuracy", "macro_f1", "f_avg", "f1"} <= set(res["stance_domestic"])


def test_bootstrap_interval_brackets_the_estimate_and_narrows_with_n():
    small = bootstrap_ci(GOLD, PRED, "stance_domestic", n_boot=500)
    big = bootstrap_ci(GOLD * 20, PRED * 20, "stance_domestic", n_boot=500)
    acc = 4 / 6
    for ci in (small, big):
        assert ci["accuracy"][0] <= acc <= ci["accuracy"][1]
    assert big["accuracy"][1] - big["accuracy"][0] < small["accuracy"][1] - small["accuracy"][0]
    assert bootstrap_ci(GOLD, PRED, "stance_domestic", seed=3) == bootstrap_ci(GOLD, PRED, "stance_domestic", seed=3)


def test_paired_bootstrap():
    gold = GOLD * 10
    same = paired_bootstrap(gold, PRED * 10, PRED * 10, "stance_domestic", n_boot=300)
    assert same["accuracy"]["delta"] == 0 and same["accuracy"]["p_value"] == 1.0
    worse = ["NONE"] * len(gold)
    diff = paired_bootstrap(gold, gold, worse, "stance_domestic", n_boot=300)
    assert diff["accuracy"]["delta"] == pytest.approx(0.5)
    assert diff["accuracy"]["p_value"] < 0.01
    assert diff["accuracy"]["ci95"][0] > 0


def test_calibration_error():
    gold = ["NEGATIVE", "POSITIVE"] * 50
    perfect = np.array([[1.0, 0, 0] if g == "NEGATIVE" else [0, 0, 1.0] for g in gold])
    assert calibration(gold, perfect, "sentiment")["ece"] == pytest.approx(0.0)
    # always 90% sure of NEGATIVE, right half the time: ECE = |0.5 - 0.9|
    over = np.tile([0.9, 0.05, 0.05], (len(gold), 1))
    cal = calibration(gold, over, "sentiment")
    assert cal["ece"] == pytest.approx(0.4)
    assert cal["bins"] == [{"lo": 0.9, "hi": 1.0, "n": 100, "confidence": pytest.approx(0.9), "accuracy": 0.5}]


def test_evaluate_shows_baselines_and_comparisons(gold_records, tfidf_model_dir):
    from pipeline.classifiers.base import load_model

    model = load_model(tfidf_model_dir)
    report = evaluate([model, model], gold_records, gold_name="gold", n_boot=100)
    assert [s["name"] for s in report.models] == ["test-tfidf", "test-tfidf#2"]
    assert [s["name"] for s in report.baselines] == ["majority", "keyword"]
    assert report.fields == report.models[0]["fields"]
    m = report.fields["stance_domestic"]
    for key in ("accuracy", "macro_f1", "weighted_f1", "f_avg"):
        lo, hi = m["ci95"][key]
        assert lo <= m[key] <= hi
    assert 0 <= m["ece"] <= 1 and m["reliability"]
    pairs = {(c["a"], c["b"]) for c in report.comparisons}
    assert ("test-tfidf#2", "test-tfidf") in pairs and ("test-tfidf", "keyword") in pairs
    twin = [c for c in report.comparisons if c["b"] == "test-tfidf"]
    assert all(c["delta"] == 0 and c["p_value"] == 1.0 for c in twin)
    data = json.loads(report.to_json())
    assert {"fields", "models", "baselines", "comparisons"} <= set(data)
    md = report.to_markdown()
    assert "| majority (baseline) |" in md and "## Paired bootstrap" in md


def test_errors_list_every_misclassified_comment(gold_records):
    from pipeline.classifiers.baselines import MajorityModel

    texts = [r["text"] for r in gold_records]
    model = MajorityModel(name="maj").fit(texts, {f: [r[f] for r in gold_records] for f in FIELDS})
    report = evaluate([model], gold_records, baselines=False, n_boot=50)
    errors = report.models[0]["errors"]
    for f in FIELDS:
        wrong = round((1 - report.fields[f]["accuracy"]) * len(gold_records))
        assert sum(e["field"] == f for e in errors) == wrong
    e = errors[0]
    assert {"id", "text", "normalized", "gold", "predicted", "proba"} <= set(e)
    assert e["gold"] != e["predicted"]


def test_cli_compares_models_and_writes_markdown(tmp_path, capsys, gold_path, tfidf_model_dir):
    out, md = tmp_path / "m.json", tmp_path / "m.md"
    code, stdout, err = run(["evaluate", "--gold", gold_path, "--model", tfidf_model_dir, "--model", tfidf_model_dir,
                             "--bootstrap", 100, "--json", out, "--markdown", md], capsys)
    assert code == 0, err
    assert "paired bootstrap" in stdout and "keyword (baseline)" in stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["fields"]) == set(FIELDS)
    assert len(data["models"]) == 2 and len(data["baselines"]) == 2
    assert all(0 < c["p_value"] <= 1 for c in data["comparisons"])
    assert md.read_text(encoding="utf-8").startswith("# Evaluation")


def test_cli_needs_something_to_evaluate(capsys):
    code, _, err = run(["evaluate"], capsys)
    assert code == 1 and "nazar: error: nothing to evaluate" in err


def test_cli_cv_needs_a_config(capsys, gold_path):
    code, _, err = run(["evaluate", "--gold", gold_path, "--cv", 3], capsys)
    assert code == 1 and "--config" in err


def test_cli_cross_validates_a_config(tmp_path, capsys, gold_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: t\nmodel: {kind: tfidf}\ncv: {folds: 5, repeats: 1, seed: 1}\n", encoding="utf-8")
    out = tmp_path / "cv.json"
    code, stdout, err = run(["evaluate", "--gold", gold_path, "--cv", 3, "--config", cfg, "--bootstrap", 50,
                             "--json", out], capsys)
    assert code == 0, err
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["cv"]["folds"] == 3
    assert set(data["cv"]["results"]) == {"tfidf", "majority", "keyword"}
    m = data["cv"]["results"]["tfidf"]["fields"]["sentiment"]["macro_f1"]
    assert m["ci95"][0] <= m["mean"] <= m["ci95"][1]
    assert "cross-validation" in stdout
    # The first kind against each baseline, paired on the same comments.
    versus = data["cv"]["results"]["tfidf"]["versus"]
    assert set(versus) == {"majority", "keyword"}
    base = data["cv"]["results"]["majority"]["fields"]["sentiment"]["macro_f1"]["mean"]
    d = versus["majority"]["sentiment"]["macro_f1"]
    assert d["delta"] == pytest.approx(m["mean"] - base)
    assert 0.0 <= d["share_above_zero"] <= 1.0 and d["ci95"][0] <= d["ci95"][1]
    assert "versus" not in data["cv"]["results"]["majority"]


def _corpus(tmp_path):
    rows = [{"id": str(i), "text": t, "label": lab} for i, (t, lab) in enumerate([
        ("غذا عالی بود", "HAPPY"), ("خیلی خوشمزه و گرم بود", "HAPPY"), ("افتضاح بود، سرد رسید", "SAD"),
        ("کیفیت بد بود", "SAD"), ("ممنون، عالی", "HAPPY"), ("دیر رسید و خراب بود", "SAD"),
        ("نظری ندارم", "OTHER")])]
    return write_jsonl(tmp_path / "tiny.jsonl", rows)


def test_benchmark_on_a_tiny_corpus(tmp_path, capsys, tfidf_model_dir):
    corpus = _corpus(tmp_path)
    cfg = tmp_path / "bench.yaml"
    cfg.write_text(f"name: tiny\nmetric: weighted_f1\ncorpora:\n"
                   f"  - name: tiny\n    path: {corpus}\n    labels: {{HAPPY: POSITIVE, SAD: NEGATIVE}}\n"
                   f"    published: 87.98\n"
                   f"  - name: absent\n    path: {tmp_path / 'absent.jsonl'}\n    labels: {{1: POSITIVE}}\n",
                   encoding="utf-8")
    out = tmp_path / "b.json"
    code, stdout, err = run(["evaluate", "--benchmark", cfg, "--model", tfidf_model_dir, "--bootstrap", 50,
                             "--json", out], capsys)
    assert code == 0, err
    assert "87.98" in stdout and "skipped" in stdout and "corpus file not found" in err
    tiny, absent = json.loads(out.read_text(encoding="utf-8"))["benchmark"]["corpora"]
    assert tiny["status"] == "ok" and tiny["n"] == 6 and tiny["dropped"] == 1
    assert 0 <= tiny["weighted_f1"] <= 1 and 0 <= tiny["neutral_share"] <= 1
    assert tiny["strict_weighted_f1"] <= tiny["weighted_f1"] + 1e-9
    assert absent["status"] == "skipped"


def test_benchmark_scores_only_positive_against_negative(tmp_path):
    from pipeline.classifiers.baselines import KeywordModel

    corpus = _corpus(tmp_path)
    model = KeywordModel().fit(["x"], {})
    res = run_benchmark(model, {"corpora": [{"name": "t", "path": str(corpus),
                                             "labels": {"HAPPY": "POSITIVE", "SAD": "NEGATIVE"}}],
                                "max_rows": 4, "seed": 1}, n_boot=50)
    c = res["corpora"][0]
    assert c["n"] == 4 and c["rows"] == 6


def test_shipped_benchmark_config_is_valid():
    from pipeline.evaluate.benchmark import load_benchmark

    cfg = load_benchmark(ROOT / "configs" / "benchmarks" / "sentiment.yaml")
    names = [c["name"] for c in cfg["corpora"]]
    assert {"snappfood", "deepsentipers-binary", "digikala"} <= set(names)
    published = {c["name"]: c.get("published") for c in cfg["corpora"]}
    assert published["snappfood"] == 87.98 and published["deepsentipers-binary"] == 92.42


def test_bad_benchmark_config_is_a_clear_error(tmp_path, capsys, tfidf_model_dir):
    cfg = tmp_path / "b.yaml"
    cfg.write_text("corpora:\n  - name: x\n    path: y.jsonl\n    labels: {a: GOOD}\n", encoding="utf-8")
    code, _, err = run(["evaluate", "--benchmark", cfg, "--model", tfidf_model_dir], capsys)
    assert code == 1 and "nazar: error:" in err and "GOOD" in err


# -- saved predictions ---------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_a_labelled_output_scores_as_its_model_does(tmp_path, gold_path, gold_records, tfidf_model_dir, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    from pipeline.classifiers.base import load_model
    from pipeline.evaluate import SavedPredictions
    from pipeline.label import label_file

    out = tmp_path / f"labelled{suffix}"
    label_file(gold_path, out, model=tfidf_model_dir, progress=False)
    model = load_model(tfidf_model_dir)
    direct = evaluate([model], gold_records, baselines=False, n_boot=50)
    saved = evaluate([SavedPredictions(out, gold_records)], gold_records, baselines=False, n_boot=50)
    for f in FIELDS:
        a, b = direct.fields[f], saved.fields[f]
        assert b["confusion"] == a["confusion"] and b["macro_f1"] == a["macro_f1"]
        assert b["ece"] == pytest.approx(a["ece"], abs=1e-3)  # the output rounds probabilities to 4 places


def test_saved_labels_are_scored_as_written_and_need_every_gold_id(tmp_path, gold_records):
    from pipeline.data import DataError
    from pipeline.evaluate import SavedPredictions

    rows = [{"id": r["id"], "sentiment": "POSITIVE",
             "probs": {"sentiment": {"NEGATIVE": 0.9, "NEUTRAL": 0.05, "POSITIVE": 0.05}}} for r in gold_records]
    rows.append({"id": "not-in-gold", "sentiment": "NEGATIVE"})
    saved = SavedPredictions(write_jsonl(tmp_path / "p.jsonl", rows), gold_records)
    assert saved.fields == ("sentiment",)
    pred = saved.labels_from_proba(saved.predict_proba_normalized(saved.normalize([r["text"] for r in gold_records])))
    assert pred == {"sentiment": ["POSITIVE"] * len(gold_records)}
    with pytest.raises(DataError, match=r"2 of the \d+ gold ids have no prediction"):
        SavedPredictions(write_jsonl(tmp_path / "short.jsonl", rows[2:]), gold_records)
    with pytest.raises(DataError, match="unknown label 'HAPPY'"):
        SavedPredictions(write_jsonl(tmp_path / "bad.jsonl", [{**r, "sentiment": "HAPPY"} for r in rows]),
                         gold_records)
    with pytest.raises(DataError, match="no label column"):
        SavedPredictions(write_jsonl(tmp_path / "none.jsonl", [{"id": r["id"]} for r in gold_records]),
                         gold_records)


def test_cli_scores_predictions_without_loading_a_model(tmp_path, gold_path, gold_records, capsys, monkeypatch):
    rows = [{"id": r["id"], **{f: r[f] for f in FIELDS}} for r in gold_records]
    pred = write_jsonl(tmp_path / "perfect.jsonl", rows)
    monkeypatch.setenv("NAZAR_MODEL", str(tmp_path / "no-such-model"))
    code, out, _ = run(["evaluate", "--gold", gold_path, "--predictions", pred, "--json", tmp_path / "r.json"], capsys)
    assert code == 0 and "predictions perfect.jsonl" in out
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [m["name"] for m in report["models"]] == ["perfect.jsonl"]
    assert all(report["fields"][f]["macro_f1"] == 1.0 for f in FIELDS)
    code, _, err = run(["evaluate", "--predictions", pred, "--behaviour"], capsys)
    assert code == 1 and "--predictions" in err
