"""Typed model parameters: each kind declares what its ``model.params`` may hold.

A kind lists its parameters in ``param_types`` as :class:`Param` entries; building the model
checks every value given against them, so ``nazar train`` (which builds the model before it
reads any data) refuses ``C: abc`` or ``word_ngrams: 3`` with a message that names the
parameter and what it takes, instead of failing inside scikit-learn halfway through a fit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["Param", "check_typed"]

_TYPES = ("number", "int", "bool", "str", "ngram_range", "any")


@dataclass(frozen=True)
class Param:
    """One parameter: its ``type`` (number, int, bool, str, ngram_range or any), bounds and help."""

    type: str
    #: Smallest allowed value (numbers and ints), inclusive.
    minimum: float | None = None
    #: Largest allowed value, inclusive.
    maximum: float | None = None
    #: The value must be greater than this (for numbers such as C that must be positive).
    above: float | None = None
    #: ``null`` is allowed (the kind's default behaviour).
    nullable: bool = False
    help: str = ""

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"unknown parameter type {self.type!r}; known: {', '.join(_TYPES)}")

    def describe(self) -> str:
        what = {"number": "a number", "int": "an integer", "bool": "true or false", "str": "a string",
                "ngram_range": "a pair [min, max] of integers, 1 <= min <= max <= 10", "any": "a value"}[self.type]
        bounds = []
        for sign, bound in (("> ", self.above), (">= ", self.minimum), ("<= ", self.maximum)):
            if bound is not None:
                bounds.append(sign + (f"{int(bound):,}" if float(bound).is_integer() else f"{bound:g}"))
        if bounds:
            what += " " + " and ".join(bounds)
        if self.nullable:
            what += ", or null"
        return what

    def valid(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        if self.type == "any":
            return True
        if self.type == "bool":
            return isinstance(value, bool)
        if self.type == "str":
            return isinstance(value, str)
        if self.type == "ngram_range":
            return (isinstance(value, (list, tuple)) and len(value) == 2
                    and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                    and 1 <= value[0] <= value[1] <= 10)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.type == "int" and not isinstance(value, int):
            return False
        if value != value:  # NaN
            return False
        return ((self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)
                and (self.above is None or value > self.above))


_FLOAT_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def check_typed(kind: str, params: Mapping[str, Any], spec: Mapping[str, Param]) -> dict[str, Any]:
    """``params`` checked against ``spec``: :class:`ValueError` for the first value its :class:`Param`
    refuses. A number written as text (YAML reads ``5e-5``, without a dot, as a string) becomes a float."""
    out = dict(params)
    for name, value in params.items():
        param = spec.get(name)
        if param is None:
            continue
        if param.type == "number" and isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
            value = out[name] = float(value)
        if not param.valid(value):
            about = f" ({param.help})" if param.help else ""
            raise ValueError(f"{kind} parameter {name!r}{about} must be {param.describe()}, not {value!r}")
    return out
