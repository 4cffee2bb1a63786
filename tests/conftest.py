"""Shared fixtures: the repository's real gold data and small models trained on it."""
from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "data" / "gold" / "seed.jsonl"


@pytest.fixture(scope="session")
def gold_path() -> Path:
    return GOLD


@pytest.fixture(scope="session")
def gold_records():
    from pipeline.data import load_labelled

    return load_labelled(GOLD)


@pytest.fixture(scope="session")
def tfidf_model_dir(tmp_path_factory, gold_records):
    """A TF-IDF model trained on the gold set and saved (fast to build)."""
    from pipeline.classifiers.tfidf import TfidfModel
    from pipeline.data import labels_of

    out = tmp_path_factory.mktemp("tfidf-model")
    TfidfModel(name="test-tfidf").fit([r["text"] for r in gold_records], labels_of(gold_records)).save(out)
    return out


def build_tiny_bert(directory: Path) -> Path:
    """A WordPiece vocabulary trained on the gold and synthetic texts and a random 2-layer BERT.

    Written into ``directory`` as a transformers checkpoint (config, safetensors weights,
    tokenizer files): a stand-in for a pretrained encoder that needs no download.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    texts = [r["text"] for path in ("data/gold/seed.jsonl", "data/synthetic/comments.jsonl")
             for r in read_jsonl(ROOT / path)]
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=1000, special_tokens=specials,
                                                             show_progress=False))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    tokenizer = BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                  cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A tiny random BERT checkpoint (see :func:`build_tiny_bert`), built once per test session."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def write_jsonl(path: Path, records) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(rec if isinstance(rec, str) else json.dumps(rec, ensure_ascii=False))
            fh.write("\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def assert_same_records(rows, ref):
    """Same ids and labels in the same order; probabilities equal up to float rounding.

    A batch of a different make-up (another chunk, a cache hit) may move the last bits of a
    probability, and so its 4th decimal.
    """
    assert [r["id"] for r in rows] == [r["id"] for r in ref]
    for a, b in zip(rows, ref):
        assert {k: v for k, v in a.items() if k != "probs"} == {k: v for k, v in b.items() if k != "probs"}
        for f, probs in b["probs"].items():
            assert a["probs"][f] == pytest.approx(probs, abs=2e-4)


@contextlib.contextmanager
def tiny_model_params(cls, checkpoint, params):
    """Point a model test class at a tiny checkpoint, on one torch thread, for a block.

    One thread: a 32-wide model gains nothing from more, and on shared cores extra
    threads mostly wait for each other.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cls.params = {"checkpoint": str(checkpoint), **params}
    try:
        yield
    finally:
        cls.params = {}
        torch.set_num_threads(threads)


@pytest.fixture()
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test at once."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
