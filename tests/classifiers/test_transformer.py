"""The transformer kind on a tiny random BERT built here from the gold texts (no download)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("datasets")

from conftest import tiny_model_params, ROOT, read_jsonl, write_jsonl  # noqa: E402
from model_contract import BaseModelTest  # noqa: E402
from pipeline.classifiers.base import ModelError, kind_class, load_model  # noqa: E402
from pipeline.data import labels_of  # noqa: E402
from pipeline.schema import FIELDS  # noqa: E402

pytestmark = pytest.mark.slow

#: Small, fast settings for the tiny checkpoint (its random weights need a larger learning rate).
TINY_PARAMS = {"max_length": 64, "batch_size": 8, "lr": 1e-3, "epochs": 3, "dev_fraction": 0.2, "patience": 2,
               "device": "cpu"}


@pytest.fixture(scope="module", autouse=True)
def _tiny_params(tiny_checkpoint):
    """Point the contract suite at the tiny checkpoint (set before its class fixtures run).

    One torch thread: a 32-wide model gains nothing from more, and on shared cores
    extra threads mostly wait for each other.
    """
    with tiny_model_params(TestTransformerModel, tiny_checkpoint, TINY_PARAMS):
        yield


class TestTransformerModel(BaseModelTest):
    kind = "transformer"
    params: dict = {}  # set by the _tiny_params fixture
    overfit_params = {"dev_fraction": 0.0, "epochs": 20, "lr": 1e-2, "batch_size": 4, "dropout": 0.0,
                      "warmup_ratio": 0.0}

    def test_loss_falls_over_training(self, gold_records):
        texts = [r["text"] for r in gold_records]
        lines = []
        model = self.make(epochs=6, dev_fraction=0.0)
        model.log = lines.append
        model.fit(texts, labels_of(gold_records))
        losses = [h["train_loss"] for h in model.history_]
        assert len(losses) == 6 and len(lines) == 6
        assert "train loss" in lines[0]
        assert losses[-1] < losses[0]

    def test_early_stopping_keeps_the_best_epoch(self, gold_records):
        texts = [r["text"] for r in gold_records]
        model = self.make(epochs=30, lr=5e-3, dev_fraction=0.3, patience=1)
        model.log = lambda msg: None
        model.fit(texts, labels_of(gold_records))
        dev = [h["dev_loss"] for h in model.history_]
        assert len(dev) < 30  # stopped early on a dev set it overfits
        assert model.best_epoch_ == 1 + int(np.argmin(dev))

    def test_too_small_a_dev_split_is_not_held_out(self, gold_records):
        lines = []
        model = self.make(epochs=2, dev_fraction=0.2, min_dev=8)
        model.log = lines.append
        model.fit([r["text"] for r in gold_records[:20]], labels_of(gold_records[:20]))
        assert "min_dev=8" in lines[0]
        assert len(model.history_) == 2 and all("dev_loss" not in h for h in model.history_)

    def test_same_seed_same_model(self, gold_records):
        texts = [r["text"] for r in gold_records[:16]]
        y = labels_of(gold_records[:16])
        a = self.make(epochs=1).fit(texts, y).predict_proba(texts)
        b = self.make(epochs=1).fit(texts, y).predict_proba(texts)
        for f in FIELDS:
            np.testing.assert_allclose(a[f], b[f], atol=1e-6)

    def test_unseen_class_gets_probability_zero(self, gold_records):
        texts = [r["text"] for r in gold_records[:10]]
        y = labels_of(gold_records[:10])
        y["sentiment"] = ["NEGATIVE"] * 5 + ["POSITIVE"] * 5
        proba = self.make(epochs=1).fit(texts, y).predict_proba(texts)["sentiment"]
        assert np.all(proba[:, 1] == 0)  # NEUTRAL never seen

    def test_saved_directory_loads_offline_with_identical_probabilities(self, fitted, tmp_path, no_network):
        model, texts = fitted
        model.save(tmp_path / "m")
        files = {p.name for p in (tmp_path / "m").iterdir()}
        assert {"model.json", "config.json", "model.safetensors", "heads.safetensors"} <= files
        meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
        assert meta["kind"] == "transformer" and "architecture" in meta
        again = load_model(tmp_path / "m")
        before, after = model.predict_proba(texts), again.predict_proba(texts)
        for f in FIELDS:
            np.testing.assert_array_equal(before[f], after[f])

    def test_long_texts_are_truncated(self, fitted):
        model, texts = fitted
        proba = model.predict_proba([" ".join(texts) * 3, "سلام"])
        assert all(p.shape[0] == 2 for p in proba.values())


def _fit_tiny(checkpoint, gold_records):
    model = kind_class("transformer")(checkpoint=checkpoint, **{**TINY_PARAMS, "epochs": 1})
    return model.fit([r["text"] for r in gold_records[:8]], labels_of(gold_records[:8]))


@pytest.mark.parametrize("checkpoint, detail", [
    ("{tmp}/no-such-dir", "no such directory"),
    ("{tmp}", "has no config.json"),
    ("nazar-tests/no-such-checkpoint", "not in the local Hugging Face cache"),
])
def test_missing_checkpoint_is_a_clear_error_without_network(checkpoint, detail, tmp_path, gold_records,
                                                              no_network):
    with pytest.raises(ModelError) as info:
        _fit_tiny(checkpoint.format(tmp=tmp_path), gold_records)
    msg = str(info.value)
    assert detail in msg
    assert "huggingface-cli download HooshvareLab/bert-fa-zwnj-base --local-dir DIR" in msg
    assert "--set model.params.checkpoint=DIR" in msg


def test_default_checkpoint_without_weights_fails_fast_offline(tmp_path):
    """With an empty Hugging Face cache, the default ParsBERT id gives the error, not a download."""
    code = ("import socket\n"
            "def refuse(*a, **k): raise SystemExit('network access attempted')\n"
            "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
            "from pipeline.classifiers.transformer import TransformerModel\n"
            "from pipeline.classifiers.base import ModelError\n"
            "try:\n"
            "    TransformerModel(device='cpu', fields=['sentiment']).fit(['a', 'b'], {'sentiment': ['POSITIVE', 'NEGATIVE']})\n"
            "except ModelError as exc:\n"
            "    print(exc)\n")
    env = {"HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin", "HF_HUB_DISABLE_TELEMETRY": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HooshvareLab/bert-fa-zwnj-base" in proc.stdout and "--local-dir DIR" in proc.stdout


def test_bad_params_are_rejected(tiny_checkpoint, gold_records):
    with pytest.raises(ModelError, match="pooling"):
        kind_class("transformer")(checkpoint=str(tiny_checkpoint), pooling="max").fit(["الف"], {"sentiment": ["POSITIVE"]})
    with pytest.raises(ModelError, match="dev_fraction"):
        kind_class("transformer")(checkpoint=str(tiny_checkpoint), dev_fraction=1.5).fit(["الف"], {"sentiment": ["POSITIVE"]})


def test_cls_pooling_fits_and_reloads(tiny_checkpoint, gold_records, tmp_path):
    texts = [r["text"] for r in gold_records[:8]]
    model = kind_class("transformer")(checkpoint=str(tiny_checkpoint), pooling="cls",
                                      **{**TINY_PARAMS, "epochs": 1})
    model.fit(texts, labels_of(gold_records[:8])).save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.params["pooling"] == "cls"
    np.testing.assert_array_equal(model.predict_proba(texts)["sentiment"], again.predict_proba(texts)["sentiment"])


def test_unknown_param_is_rejected(tiny_checkpoint):
    with pytest.raises(ValueError, match="unknown transformer parameter.*learning_rate"):  # when built, not at fit
        kind_class("transformer")(checkpoint=str(tiny_checkpoint), learning_rate=0.1)


def test_frozen_embeddings_and_text_prefix(tiny_checkpoint, gold_records, tmp_path):
    from safetensors.numpy import load_file

    texts = [r["text"] for r in gold_records[:8]]
    model = kind_class("transformer")(checkpoint=str(tiny_checkpoint), freeze_embeddings=True,
                                      text_prefix="query: ", **{**TINY_PARAMS, "epochs": 2})
    model.log = lambda msg: None
    model.fit(texts, labels_of(gold_records[:8])).save(tmp_path / "m")
    before = load_file(str(tiny_checkpoint / "model.safetensors"))
    after = load_file(str(tmp_path / "m" / "model.safetensors"))
    word = next(k for k in before if k.endswith("word_embeddings.weight"))
    layer = next(k for k in before if k.endswith("layer.0.output.dense.weight"))
    np.testing.assert_array_equal(before[word], after[word])
    assert not np.array_equal(before[layer], after[layer])
    again = load_model(tmp_path / "m")
    assert again.params["text_prefix"] == "query: "
    np.testing.assert_array_equal(model.predict_proba(texts)["sentiment"], again.predict_proba(texts)["sentiment"])
    model.params["text_prefix"] = ""
    assert not np.allclose(model.predict_proba(texts)["sentiment"], again.predict_proba(texts)["sentiment"])


def test_importing_the_contract_does_not_import_torch():
    code = ("import sys; import pipeline.classifiers.base, pipeline.classifiers.transformer; "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]


def test_train_command_with_the_parsbert_config(tiny_checkpoint, tmp_path, monkeypatch, capsys, gold_records):
    from pipeline.cli import main

    monkeypatch.chdir(ROOT)
    out = tmp_path / "parsbert"
    code = main(["train", "configs/parsbert.yaml", "--set", f"model.params.checkpoint={tiny_checkpoint}",
                 "--set", "cv=null", "--set", "model.params.epochs=2", "--set", "model.params.lr=1e-3",
                 "-o", str(out)])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "transformer epoch 1/2" in err
    model = load_model(out)
    assert model.kind == "transformer" and model.name == "parsbert"
    assert model.params["max_length"] == 128 and model.params["checkpoint"] == str(tiny_checkpoint)
    assert (out / "README.md").is_file() and (out / "config.yaml").is_file()

    dump = write_jsonl(tmp_path / "in.jsonl", [{"id": r["id"], "text": r["text"]} for r in gold_records[:5]])
    code = main(["label", str(dump), "-o", str(tmp_path / "out.jsonl"), "--model", str(out)])
    capsys.readouterr()
    assert code == 0
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in rows] == [r["id"] for r in gold_records[:5]]
    assert all(r["model"]["kind"] == "transformer" for r in rows)


def test_train_command_without_weights_says_what_to_fetch(tmp_path, monkeypatch, capsys, no_network):
    from pipeline.cli import main

    monkeypatch.chdir(ROOT)
    code = main(["train", "configs/parsbert.yaml", "--set", f"model.params.checkpoint={tmp_path / 'absent'}",
                 "--set", "cv=null", "-o", str(tmp_path / "m")])
    _, err = capsys.readouterr()
    assert code == 1
    assert "\nnazar: error: transformer checkpoint" in err and "huggingface-cli download" in err
