"""Shared fixtures: the repository's real gold data and small models trained on it."""
from __future__ import annotations

import json
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
