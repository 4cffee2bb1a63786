"""YAML configs are validated into typed objects; overrides work by dotted key."""
from __future__ import annotations

import pytest

from pipeline.config import ConfigError, SourceConfig, TrainConfig, apply_overrides, dump_config, load_config
from conftest import ROOT


def test_shipped_configs_load():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        if path.name == "targets.yaml":
            continue
        config = load_config(path)
        assert isinstance(config, TrainConfig)
        assert config.model.kind


def test_overrides_are_parsed_as_yaml(tmp_path):
    config = load_config(ROOT / "configs" / "tfidf.yaml",
                         ["model.params.C=0.5", "cv.folds=3", "data.extra=[a.jsonl, b.jsonl]", "cv=null"])
    assert config.model.params["C"] == 0.5
    assert config.cv is None
    assert config.data.extra == ("a.jsonl", "b.jsonl")


@pytest.mark.parametrize("text, message", [
    ("model: {kind: tfidf, parms: {}}", "unknown key(s) parms"),
    ("cv: {folds: one}", "expected an integer"),
    ("cv: {folds: 1}", "too small"),
    ("data: {fields: [stance_x]}", "unknown field(s)"),
    ("normalizer: {digits: roman}", "digits"),
    ("- a\n- b", "top level must be a mapping"),
    ("model: [", "invalid YAML"),
    ("data: {extra: [{fields: [sentiment]}]}", "data.extra[0]: a source needs a 'path'"),
    ("data: {extra: [{path: r.jsonl, weight: 2}]}", "data.extra[0]: unknown key(s) weight"),
    ("data: {extra: [{path: r.jsonl, fields: [mood]}]}", "data.extra[0].fields: unknown field(s)"),
    ("data: {extra: [{path: r.jsonl, max_rows: 0}]}", "data.extra[0].max_rows: expected a positive integer"),
    ("data: {extra: [7]}", "data.extra[0]: expected a path or a"),
    ("data: {extra: [a.jsonl, '']}", "data.extra[1]: expected a path or a"),
    ("data: {gold: ['']}", "data.gold: a file path is empty"),
    ("data: {fields: [sentiment], extra: [{path: r.jsonl, fields: [stance_telegram]}]}",
     "['stance_telegram'] are not among data.fields"),
])
def test_invalid_configs_give_clear_errors(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert message in str(exc.value)
    assert str(path) in str(exc.value)


def test_missing_config_and_bad_override(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.yaml")
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["novalue"])


def test_dump_round_trips(tmp_path):
    config = load_config(ROOT / "configs" / "default.yaml", ["model.params.C=3"])
    path = tmp_path / "resolved.yaml"
    path.write_text(dump_config(config), encoding="utf-8")
    assert load_config(path) == config


def test_extra_entries_may_carry_settings_of_their_own(tmp_path):
    source = ("{path: reviews.jsonl, fields: [sentiment], max_rows: 50, "
              "labels: {sentiment: {from: label, map: {HAPPY: POSITIVE, SAD: NEGATIVE}}}}")
    config = load_config(ROOT / "configs" / "default.yaml", [f"data.extra=[synth.jsonl, {source}]"])
    plain, own = config.data.extra
    assert plain == "synth.jsonl"
    assert isinstance(own, SourceConfig)
    assert (own.path, own.fields, own.max_rows) == ("reviews.jsonl", ("sentiment",), 50)
    assert own.labels["sentiment"]["map"]["SAD"] == "NEGATIVE"
    path = tmp_path / "resolved.yaml"
    path.write_text(dump_config(config), encoding="utf-8")
    assert load_config(path) == config
