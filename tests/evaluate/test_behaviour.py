"""The behavioural test generator and runner (not any real model's failure rates)."""
from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pytest

from pipeline.evaluate.behaviour import (BehaviourError, expected_labels, generate, load_templates, run_behaviour)
from pipeline.cli import main
from pipeline.schema import FIELDS, LABELS


class TableModel:
    """Answers from a text -> labels table, one-hot; unknown texts get ``default``."""

    fields = FIELDS

    def __init__(self, table: dict, default: dict) -> None:
        self.table, self.default = table, default

    def predict_proba(self, texts):
        out = {f: np.zeros((len(texts), len(LABELS[f]))) for f in FIELDS}
        for i, t in enumerate(texts):
            labels = {**self.default, **self.table.get(t, {})}
            for f in FIELDS:
                out[f][i, LABELS[f].index(labels[f])] = 1.0
        return out


DEFAULT = {"stance_domestic": "NONE", "stance_telegram": "NONE", "sentiment": "NEUTRAL"}


@pytest.fixture(scope="module")
def cases():
    return generate()


def test_every_capability_is_generated(cases):
    caps = Counter(c.capability for c in cases)
    for name in ("MFT: domestic FAVOR", "MFT: domestic AGAINST", "MFT: Telegram FAVOR", "MFT: Telegram AGAINST",
                 "MFT: target name inside another word -> NONE", "INV: swap domestic app",
                 "INV: Persian vs Latin digits", "INV: Arabic ي/ك", "INV: missing half-spaces",
                 "DIR: negation", "DIR: sarcasm"):
        assert caps[name] > 0, name


def test_counts_follow_the_templates(cases):
    data = load_templates()
    apps = data["slots"]["app"]
    caps = Counter(c.capability for c in cases)
    groups = {g["capability"]: g for g in data["mft"]}
    assert caps["MFT: domestic FAVOR"] == len(groups["MFT: domestic FAVOR"]["templates"]) * len(apps)
    # one swapped copy per domestic MFT expansion
    assert caps["INV: swap domestic app"] == caps["MFT: domestic FAVOR"] + caps["MFT: domestic AGAINST"]
    # MFT cases have one text; INV and DIR cases a pair
    assert all(len(c.texts) == (1 if c.kind == "MFT" else 2) for c in cases)


def test_templates_expand_fully(cases):
    for c in cases:
        for t in c.texts:
            assert not re.search(r"\{\w+\}", t), t
    swaps = [c for c in cases if c.capability == "INV: swap domestic app"]
    assert all(a != b for a, b in (c.texts for c in swaps))
    digits = [c for c in cases if c.capability == "INV: Persian vs Latin digits"]
    assert all(re.search("[۰-۹]", c.texts[0]) and re.search("[0-9]", c.texts[1]) for c in digits)
    arabic = [c for c in cases if c.capability == "INV: Arabic ي/ك"]
    assert all(("ي" in c.texts[1] or "ك" in c.texts[1]) for c in arabic)
    assert all("\u200c" not in c.texts[1] for c in cases if c.capability == "INV: missing half-spaces")


def test_an_oracle_model_fails_nothing(cases):
    oracle = TableModel(expected_labels(cases), DEFAULT)
    res = run_behaviour(oracle, cases)
    assert res["n_cases"] == len(cases)
    assert res["failures"] == 0
    assert all(cap["failure_rate"] == 0 for cap in res["capabilities"].values())


def test_a_constant_model_fails_the_mft_and_dir_cases(cases):
    constant = TableModel({}, {"stance_domestic": "NONE", "stance_telegram": "NONE", "sentiment": "NEUTRAL"})
    res = run_behaviour(constant, cases)
    caps = res["capabilities"]
    for name in ("MFT: domestic FAVOR", "MFT: domestic AGAINST", "MFT: Telegram FAVOR", "MFT: Telegram AGAINST",
                 "DIR: negation", "DIR: sarcasm"):
        assert caps[name]["failure_rate"] == 1.0, name
        assert caps[name]["examples"]
    # ...while it is trivially invariant, and right about the NONE cases
    assert caps["INV: swap domestic app"]["failure_rate"] == 0.0
    assert caps["MFT: target name inside another word -> NONE"]["failure_rate"] == 0.0


def test_a_model_that_reads_substrings_fails_the_inside_word_cases(cases):
    class Substring(TableModel):
        def predict_proba(self, texts):
            self.table = {t: {"stance_domestic": "FAVOR"} for t in texts if "ایتا" in t or "بله" in t}
            return super().predict_proba(texts)

    res = run_behaviour(Substring({}, DEFAULT), cases)
    assert res["capabilities"]["MFT: target name inside another word -> NONE"]["failures"] >= 2


def test_unknown_slot_is_an_error():
    with pytest.raises(BehaviourError, match="unknown slot"):
        generate({"slots": {}, "mft": [{"capability": "x", "expect": {"stance_domestic": "NONE"},
                                        "templates": ["{nope} خوبه"]}]})


def test_cli_behaviour_writes_json(tmp_path, capsys, tfidf_model_dir):
    out = tmp_path / "b.json"
    code = main(["evaluate", "--behaviour", "--model", str(tfidf_model_dir), "--json", str(out)])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "MFT: domestic FAVOR" in stdout and "failure rate" in stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    caps = data["behaviour"]["capabilities"]
    assert all(0 <= c["failure_rate"] <= 1 for c in caps.values())
    assert data["behaviour"]["n_cases"] == len(generate())
