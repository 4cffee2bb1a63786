"""Training configs: YAML files validated into typed, frozen dataclasses.

A config names the model kind and its parameters, the normaliser settings,
the labelled data and the cross-validation plan. ``--set key=value`` overrides
use dotted keys (``model.params.C=4``, ``cv.folds=3``); values are parsed as YAML.
Relative data paths are resolved against the current working directory.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

import yaml

from .io import read_yaml_mapping
from .normalize import NormalizerConfig
from .schema import FIELDS, LABELS
from .errors import NazarError

__all__ = ["ConfigError", "ModelConfig", "SourceConfig", "DataConfig", "CVConfig", "CardConfig", "TrainConfig", "load_config", "apply_overrides", "dump_config"]


class ConfigError(NazarError, ValueError):
    """A config file is missing, malformed or holds an invalid value."""


@dataclass(frozen=True)
class ModelConfig:
    kind: str = "encoder"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SourceConfig:
    """A training file with settings of its own: an entry of ``data.extra`` written as a mapping.

    ``{path: reviews.jsonl, fields: [sentiment], labels: {sentiment: {from: label, map: {...}}},
    max_rows: 500}`` trains only the sentiment head on that file's records.
    """

    path: str = ""
    #: The fields the file labels (default: all of ``data.fields``). Its records train only
    #: these heads; for the other fields they count as unlabelled.
    fields: tuple[str, ...] | None = None
    #: Label mapping for this file (default: ``data.labels``).
    labels: dict = field(default_factory=dict)
    #: Sample size for this file (default: ``data.max_rows``).
    max_rows: int | None = None

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("a source needs a 'path'")
        if self.fields is not None and not self.fields:
            raise ValueError("'fields' must name at least one field")


@dataclass(frozen=True)
class DataConfig:
    #: Labelled files that are cross-validated and trained on (the gold set).
    gold: tuple[str, ...] = ("data/gold/seed.jsonl",)
    #: Labelled files added to every training fold but never scored (synthetic data): a
    #: path, or a :class:`SourceConfig` mapping for a file with settings of its own.
    extra: tuple[str | SourceConfig, ...] = ()
    #: The fields the model learns and is scored on.
    fields: tuple[str, ...] = FIELDS
    #: Maps a corpus's own labels onto ours, e.g.
    #: ``{sentiment: {from: label, map: {HAPPY: POSITIVE, SAD: NEGATIVE}}}``
    #: (applies to every file without a mapping of its own; unmapped records are dropped).
    labels: dict = field(default_factory=dict)
    #: Keep a fixed random sample of at most this many records per file.
    max_rows: int | None = None

    def __post_init__(self) -> None:
        for i, src in enumerate(self.extra):
            if isinstance(src, SourceConfig) and src.fields is not None:
                bad = [f for f in src.fields if f not in self.fields]
                if bad:
                    raise ValueError(f"extra[{i}] ({src.path}): field(s) {bad} are not among data.fields "
                                     f"({', '.join(self.fields)})")


@dataclass(frozen=True)
class CVConfig:
    folds: int = 5
    repeats: int = 5
    seed: int = 13
    #: A record field (``url``, ``thread``): records that share its value are kept in one fold, so
    #: no page is split between training and test, and intervals resample whole pages. Records
    #: without the field are groups of their own.
    group_by: str | None = None


@dataclass(frozen=True)
class CardConfig:
    """What the model card says that the data cannot: the intended use and known limits.

    The card derives the rest (fields, training files, label counts, rare classes, metrics)
    from the config and the data.
    """

    #: Replaces the card's generic intended-use paragraph.
    intended_use: str = ""
    #: Added to the card's limits, one bullet each: where the gold comes from, known errors.
    limits: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrainConfig:
    name: str = "model"
    version: str = "0.1.0"
    model: ModelConfig = field(default_factory=ModelConfig)
    normalizer: dict = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    cv: CVConfig | None = field(default_factory=CVConfig)
    card: CardConfig = field(default_factory=CardConfig)
    seed: int = 13

    def to_dict(self) -> dict:
        return _plain(asdict(self))

    def normalizer_config(self) -> NormalizerConfig:
        return NormalizerConfig.from_dict(self.normalizer)


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _build(cls, data: Any, where: str):
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(cls, name, value, f"{where}.{name}" if where else name)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def _coerce(cls, name: str, value: Any, where: str):
    sub = {"model": ModelConfig, "data": DataConfig, "cv": CVConfig, "card": CardConfig}
    if cls is TrainConfig and name in sub:
        if name == "cv" and value in (None, False):
            return None
        return _build(sub[name], value, where)
    if name == "extra":
        if isinstance(value, (str, dict)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list of paths or {{path, fields, labels, max_rows}} mappings")
        out = []
        for i, item in enumerate(value):
            if isinstance(item, SourceConfig):
                out.append(item)
            elif isinstance(item, dict):
                out.append(_build(SourceConfig, item, f"{where}[{i}]"))
            elif isinstance(item, str) and item.strip():
                out.append(item)
            else:
                raise ConfigError(f"{where}[{i}]: expected a path or a {{path, fields, labels, max_rows}} mapping")
        return tuple(out)
    if cls is SourceConfig and name == "path":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: expected a file path")
        return value
    if cls is SourceConfig and name == "fields" and value is None:
        return None
    if name in ("gold", "fields"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings")
        if name == "gold" and not all(v.strip() for v in value):
            raise ConfigError(f"{where}: a file path is empty")
        if name == "fields":
            bad = [v for v in value if v not in FIELDS]
            if bad:
                raise ConfigError(f"{where}: unknown field(s) {bad}; known: {', '.join(FIELDS)}")
        return tuple(value)
    if name == "labels":
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping of field -> {{from, map}}")
        for fname, spec in value.items():
            if fname not in FIELDS:
                raise ConfigError(f"{where}: unknown field {fname!r}; known: {', '.join(FIELDS)}")
            if not isinstance(spec, dict) or set(spec) - {"from", "map"}:
                raise ConfigError(f"{where}.{fname}: expected {{from: FIELD, map: {{LABEL: {fname.upper()} LABEL}}}}")
            bad = [v for v in (spec.get("map") or {}).values() if v is not None and v not in LABELS[fname]]
            if bad:
                raise ConfigError(f"{where}.{fname}: unknown target label(s) {bad}; expected {'/'.join(LABELS[fname])}")
        return dict(value)
    if name == "max_rows":
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ConfigError(f"{where}: expected a positive integer or null")
        return value
    if name in ("params", "normalizer"):
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping")
        return dict(value)
    if name in ("folds", "repeats", "seed"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if name in ("folds", "repeats") and value < (2 if name == "folds" else 1):
            raise ConfigError(f"{where}: too small ({value})")
        return value
    if cls is CVConfig and name == "group_by":
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise ConfigError(f"{where}: expected the name of a record field (e.g. url), or null")
        return value
    if cls is CardConfig and name == "limits":
        if isinstance(value, str):
            value = [value]
        if value is None:
            return ()
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where}: expected a list of non-empty strings")
        return tuple(v.strip() for v in value)
    if name == "intended_use":
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string")
        return value.strip()
    if name in ("name", "version", "kind"):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected a string")
        value = str(value)
        if cls is TrainConfig and name == "name":
            check_model_name(value, where)
        return value
    return value


_NAME = re.compile(r"[^\W_][\w.-]*")


def check_model_name(name: str, where: str = "name") -> str:
    """A model's ``name`` becomes the directory ``models/NAME``: a plain name, never a path."""
    if not _NAME.fullmatch(name) or len(name) > 100:
        raise ConfigError(f"{where}: {name!r} is not a plain model name: use letters, digits, '.', '_' and '-', "
                          f"starting with a letter or digit (no '/', no '..'); choose where it is written with "
                          f"-o DIR")
    return name


def apply_overrides(data: dict, overrides: Iterable[str]) -> dict:
    """Apply ``key.sub=value`` strings to a raw config mapping (values parsed as YAML)."""
    data = _plain(data or {})
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                node[part] = nxt
            node = nxt
        node[parts[-1]] = value
    return data


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> TrainConfig:
    """Read and validate a YAML training config (``None``: defaults), applying overrides."""
    raw: Any = {}
    where = "config"
    if path is not None:
        where = str(path)
        raw = read_yaml_mapping(path, "config file", ConfigError)
    raw = apply_overrides(raw, overrides)
    try:
        config = _build(TrainConfig, raw, "")
        config.normalizer_config()
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{where}: normalizer: {exc}") from None
    return config


def dump_config(config: TrainConfig) -> str:
    return yaml.safe_dump(config.to_dict(), allow_unicode=True, sort_keys=False)

