"""The setfit kind on the tiny random BERT of conftest (no download)."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import tiny_model_params, ROOT  # noqa: E402
from model_contract import BaseModelTest  # noqa: E402
from pipeline.classifiers.base import ModelError, kind_class, load_model  # noqa: E402
from pipeline.classifiers.setfit import sample_pairs  # noqa: E402
from pipeline.data import labels_of  # noqa: E402
from pipeline.schema import FIELDS, LABELS  # noqa: E402

pytestmark = pytest.mark.slow

#: Small, fast settings for the tiny checkpoint (its random weights need a larger learning rate).
TINY_PARAMS = {"max_length": 64, "batch_size": 16, "lr": 1e-3, "num_pairs": 48, "pair_epochs": 1,
               "device": "cpu"}


@pytest.fixture(scope="module", autouse=True)
def _tiny_params(tiny_checkpoint):
    """Point the contract suite at the tiny checkpoint, on one torch thread."""
    with tiny_model_params(TestSetFitModel, tiny_checkpoint, TINY_PARAMS):
        yield


def quiet(model):
    model.log = lambda msg: None
    return model


class TestSetFitModel(BaseModelTest):
    kind = "setfit"
    params: dict = {}  # set by the _tiny_params fixture
    overfit_params = {"num_pairs": 192, "pair_epochs": 2, "lr": 3e-3, "C": 1000.0, "warmup_ratio": 0.0}

    def make(self, **params):
        return quiet(super().make(**params))

    def test_contrastive_tuning_lowers_the_pair_loss(self, gold_records):
        texts = [r["text"] for r in gold_records]
        y = labels_of(gold_records)
        pairs = sample_pairs(y, 200, np.random.default_rng(7))
        frozen = self.make(strategy="frozen").fit(texts, y)
        lines = []
        tuned = self.make(num_pairs=192, pair_epochs=3, lr=3e-3)
        tuned.log = lines.append
        tuned.fit(texts, y)
        assert len(tuned.history_) == 3 and len(lines) == 3 and "loss" in lines[0]
        assert not frozen.history_
        norm = frozen.normalize(texts)
        assert tuned.pair_loss(norm, pairs) < 0.8 * frozen.pair_loss(norm, pairs)

    def test_saved_directory_loads_offline(self, fitted, tmp_path, no_network):
        model, texts = fitted
        model.save(tmp_path / "m")
        files = {p.name for p in (tmp_path / "m").iterdir()}
        assert {"model.json", "config.json", "model.safetensors", "heads.npz"} <= files
        meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
        assert meta["kind"] == "setfit" and "architecture" in meta
        assert meta["training_history"]["pair_epochs"][0]["pairs"] == TINY_PARAMS["num_pairs"]
        again = load_model(tmp_path / "m")
        before, after = model.predict_proba(texts), again.predict_proba(texts)
        for f in FIELDS:
            np.testing.assert_array_equal(before[f], after[f])

    def test_same_seed_same_model_and_global_random_state_untouched(self, gold_records):
        import random

        texts = [r["text"] for r in gold_records[:16]]
        y = labels_of(gold_records[:16])
        random.seed(1)
        np.random.seed(1)
        expected = (random.random(), np.random.random())
        random.seed(1)
        np.random.seed(1)
        a = self.make().fit(texts, y).predict_proba(texts)
        assert (random.random(), np.random.random()) == expected
        b = self.make().fit(texts, y).predict_proba(texts)
        c = self.make(seed=5).fit(texts, y).predict_proba(texts)
        for f in FIELDS:
            np.testing.assert_allclose(a[f], b[f], atol=1e-6)
        assert any(not np.allclose(a[f], c[f]) for f in FIELDS)

    def test_frozen_embeddings_stay_fixed(self, tiny_checkpoint, gold_records, tmp_path):
        from safetensors.numpy import load_file

        texts = [r["text"] for r in gold_records[:12]]
        self.make(lr=3e-3).fit(texts, labels_of(gold_records[:12])).save(tmp_path / "m")
        before = load_file(str(tiny_checkpoint / "model.safetensors"))
        after = load_file(str(tmp_path / "m" / "model.safetensors"))
        word = next(k for k in before if k.endswith("word_embeddings.weight"))
        layer = next(k for k in before if k.endswith("layer.0.output.dense.weight"))
        np.testing.assert_array_equal(before[word], after[word])
        assert not np.array_equal(before[layer], after[layer])


@pytest.mark.parametrize("frozen", [{"strategy": "frozen"}, {"pair_epochs": 0}])
def test_frozen_mode_equals_heads_on_raw_embeddings(frozen, tiny_checkpoint, gold_records):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from pipeline.classifiers.heads import LinearHeads

    texts = [r["text"] for r in gold_records]
    y = labels_of(gold_records)
    model = quiet(kind_class("setfit")(checkpoint=str(tiny_checkpoint), text_prefix="query: ", C=3.0, seed=2,
                                       **{**TINY_PARAMS, **frozen}))
    proba = model.fit(texts, y).predict_proba(texts)

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_checkpoint), local_files_only=True)
    body = AutoModel.from_pretrained(str(tiny_checkpoint), local_files_only=True).eval()
    rows = []
    with torch.no_grad():
        for t in model.normalize(texts):  # one at a time: no padding
            enc = tokenizer(["query: " + t], truncation=True, max_length=64, return_tensors="pt")
            vec = body(**enc).last_hidden_state[0].mean(dim=0)
            rows.append((vec / vec.norm()).numpy())
    X = np.array(rows, dtype=np.float64)
    expected = LinearHeads(FIELDS, C=3.0, seed=2).fit(X, y).predict_proba(X)
    for f in FIELDS:
        np.testing.assert_allclose(proba[f], expected[f], atol=1e-4)


def test_sample_pairs_are_balanced_and_follow_the_labels():
    senti = ["POSITIVE"] * 8 + ["NEGATIVE"] * 2 + ["NEUTRAL"] + [None] * 3
    pairs = sample_pairs({"sentiment": senti}, 101, np.random.default_rng(0))
    assert len(pairs) == 101
    positives = [(i, j) for i, j, t in pairs if t == 1.0]
    negatives = [(i, j) for i, j, t in pairs if t == 0.0]
    assert len(positives) == 51 and len(negatives) == 50
    assert all(i != j and senti[i] is not None and senti[i] == senti[j] for i, j in positives)
    assert all(senti[i] is not None and senti[j] is not None and senti[i] != senti[j] for i, j in negatives)
    # classes are drawn uniformly: the 2-member class is half the positives, not a fifth
    assert {senti[i] for i, _ in positives} == {"POSITIVE", "NEGATIVE"}  # NEUTRAL occurs once
    assert 15 <= sum(senti[i] == "NEGATIVE" for i, _ in positives) <= 36

    # fields share the pairs; a field with one label gives positives only; unlabelled fields none
    both = sample_pairs({"sentiment": senti, "stance_domestic": ["NONE"] * 14, "stance_telegram": [None] * 14},
                        300, np.random.default_rng(1))
    assert len(both) == 300 and sum(t == 0.0 for _, _, t in both) == 75
    assert sample_pairs({"sentiment": [None, None]}, 10, np.random.default_rng(0)) == []


def test_missing_checkpoint_says_how_to_build_it(tmp_path, gold_records, no_network):
    model = kind_class("setfit")(checkpoint=str(tmp_path / "absent"), device="cpu")
    with pytest.raises(ModelError) as info:
        model.fit([r["text"] for r in gold_records[:6]], labels_of(gold_records[:6]))
    msg = str(info.value)
    assert "absent" in msg and "nazar models build e5-small" in msg and "nothing is downloaded" in msg


@pytest.mark.parametrize("params, match", [
    ({"strategy": "magic"}, "strategy"),
    ({"num_pairs": -1}, "num_pairs"),
    ({"pair_fields": ["sentiment", "topic"]}, "pair_fields"),
    ({"learning_rate": 0.1}, "unknown setfit parameter.*learning_rate"),  # a ValueError as soon as it is built
])
def test_bad_params_are_rejected(params, match, tiny_checkpoint):
    with pytest.raises((ModelError, ValueError), match=match):
        kind_class("setfit")(checkpoint=str(tiny_checkpoint), **params).fit(["الف"], {f: [LABELS[f][0]] for f in FIELDS})


def test_the_e5_setfit_config_names_the_built_checkpoint():
    from pipeline.config import load_config
    from pipeline.convert import default_checkpoint_dir

    config = load_config(ROOT / "configs" / "e5-setfit.yaml")
    assert config.model.kind == "setfit"
    assert config.model.params["text_prefix"] == "query: "
    assert config.model.params["checkpoint"] == "~/.cache/nazar/e5-small"
    assert default_checkpoint_dir().name == "e5-small"
    assert all((ROOT / p).is_file() for p in config.data.gold + config.data.extra)
    kind_class("setfit")(**config.model.params)._checked_params()


def test_importing_the_kind_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, pipeline.classifiers.setfit; print('torch' in sys.modules, 'transformers' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]
