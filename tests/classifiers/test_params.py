"""Typed model parameters: a value of the wrong type or out of bounds is refused when the model is built."""
from __future__ import annotations

import pytest

from pipeline.classifiers.base import kind_class
from pipeline.classifiers.params import Param, check_typed
from pipeline.cli import main

KINDS = ["tfidf", "encoder", "majority", "keyword", "ensemble", "transformer", "setfit"]
#: A value each declared type refuses.
WRONG = {"number": "abc", "int": 2.5, "bool": "yes", "str": 7, "ngram_range": 3}


@pytest.mark.parametrize("kind", KINDS)
def test_every_declared_parameter_refuses_a_wrong_value(kind):
    cls = kind_class(kind)
    assert cls.param_types, f"{kind} declares no parameter types"
    for name, param in cls.param_types.items():
        if param.type == "any":
            continue
        with pytest.raises(ValueError, match=rf"{kind} parameter '{name}'( \(.*\))? must be"):
            extra = {"members": [{"kind": "majority"}, {"kind": "keyword"}]} if kind == "ensemble" else {}
            cls(**extra, **{name: WRONG[param.type]})


@pytest.mark.parametrize("param, good, bad", [
    (Param("number", above=0), [0.5, 4, 1e9], [0, -1, float("nan"), True, "4"]),
    (Param("int", minimum=1, nullable=True), [1, 50000, None], [0, 1.0, False, "5"]),
    (Param("int", minimum=256, maximum=2 ** 24), [256, 2 ** 24], [255, 2 ** 24 + 1]),
    (Param("ngram_range"), [[1, 2], (2, 5), [3, 3]], [[2, 1], [0, 2], [1, 11], [1], [1, 2, 3], [1.0, 2]]),
    (Param("bool"), [True, False], [None, 1, "true"]),
])
def test_param_bounds(param, good, bad):
    for v in good:
        assert param.valid(v), v
    for v in bad:
        assert not param.valid(v), v


def test_a_number_written_as_text_is_read_as_one():
    """YAML reads 5e-5 (no dot) as a string: a number parameter takes it as the number it spells."""
    assert check_typed("t", {"lr": "5e-5", "x": "5e-5"}, {"lr": Param("number", above=0)}) == {"lr": 5e-5, "x": "5e-5"}
    with pytest.raises(ValueError, match="'lr'"):
        check_typed("t", {"lr": "fast"}, {"lr": Param("number", above=0)})


def test_the_message_names_the_kind_the_parameter_and_what_it_takes():
    with pytest.raises(ValueError) as info:
        check_typed("tfidf", {"max_features": -5}, {"max_features": Param("int", minimum=1, nullable=True)})
    assert str(info.value) == "tfidf parameter 'max_features' must be an integer >= 1, or null, not -5"


def test_an_unknown_type_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown parameter type"):
        Param("float")


@pytest.mark.parametrize("override", ["model.params.C=abc", "model.params.word_ngrams=3",
                                      "model.params.max_features=-5"])
def test_train_refuses_a_bad_value_in_one_line_before_reading_data(tmp_path, capsys, override):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: {kind: tfidf}\ndata: {gold: [does/not/exist.jsonl]}\n", encoding="utf-8")
    assert main(["train", str(cfg), "--set", override, "-o", str(tmp_path / "m"), "--no-cv", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nazar: error: model.params: tfidf parameter") and "Traceback" not in err
    assert "does/not/exist" not in err  # refused before the gold file was looked for
    assert not (tmp_path / "m").exists()
