"""YAML configs are validated into typed objects; overrides work by dotted key."""
from __future__ import annotations

import pytest

from pipeline.config import ConfigError, TrainConfig, apply_overrides, dump_config, load_config
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
