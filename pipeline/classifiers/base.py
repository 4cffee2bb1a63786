"""The model contract every classifier kind follows, and :func:`load_model`.

A model labels three fields at once. It follows scikit-learn's conventions:
``fit(texts, y)`` returns the model; ``predict_proba(texts)`` returns
``{field: array (n, len(classes_[field]))}`` with columns in ``classes_[field]``
order; ``predict(texts)`` returns ``{field: [label, ...]}``; fitted state ends
in ``_``. ``save(dir)`` writes ``model.json`` plus kind-specific weight files
that load without executing code (JSON, ``.npz`` with ``allow_pickle=False``,
safetensors). Each model carries its :class:`~pipeline.normalize.NormalizerConfig`
so training and inference normalise identically.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from ..normalize import Normalizer, NormalizerConfig, normalizer_versions
from ..data import RARE, strata
from ..schema import FIELDS, LABELS, STANCE_FIELDS
from ..errors import NazarError, NazarWarning
from .params import Param, check_typed

__all__ = ["Model", "ModelError", "NotFittedError", "load_model", "model_hash", "model_files", "trained_on",
           "KINDS"]

FORMAT_VERSION = 1

#: Model kinds by name; values are ``module:Class`` so that heavy imports
#: (torch for the transformer) happen only when that kind is used.
KINDS: dict[str, str] = {
    "tfidf": "pipeline.classifiers.tfidf:TfidfModel",
    "encoder": "pipeline.classifiers.encoder:EncoderModel",
    "majority": "pipeline.classifiers.baselines:MajorityModel",
    "keyword": "pipeline.classifiers.baselines:KeywordModel",
    "transformer": "pipeline.classifiers.transformer:TransformerModel",
    "setfit": "pipeline.classifiers.setfit:SetFitModel",
    "ensemble": "pipeline.classifiers.ensemble:EnsembleModel",
}


class ModelError(NazarError, RuntimeError):
    """A model directory is missing, incomplete or of an unknown kind."""


class NotFittedError(ModelError):
    """The model was used before ``fit`` or ``load``."""


def kind_class(kind: str) -> type["Model"]:
    if not isinstance(kind, str) or kind not in KINDS:
        raise ModelError(f"unknown model kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    module, _, name = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


class Model:
    """Base class: normalisation, label bookkeeping and persistence.

    Subclasses implement ``_fit(norm_texts, y)`` and ``_predict_proba(norm_texts)``
    (both on normalised text) and, if they have weights, ``_save_weights(dir)``
    and ``_load_weights(dir)``.
    """

    kind: ClassVar[str] = "base"
    #: Optional packages this kind needs (checked by ``nazar train`` before it reads any data).
    requires: ClassVar[tuple[str, ...]] = ()
    #: The parameters this kind takes (``params`` in a config); another name is an error when the
    #: model is built, so a typo never passes silently. ``None``: the kind checks its own.
    param_names: ClassVar[tuple[str, ...] | None] = None
    #: The types and bounds of the parameters (see :mod:`pipeline.classifiers.params`): a value
    #: that does not fit is an error when the model is built, before any data is read.
    param_types: ClassVar[Mapping[str, Param]] = {}

    def __init__(self, normalizer: NormalizerConfig | Mapping | None = None,
                 fields: Sequence[str] = FIELDS, name: str | None = None,
                 version: str = "0.0.0", **params: Any) -> None:
        if isinstance(normalizer, NormalizerConfig):
            self.normalizer_config = normalizer
        else:
            self.normalizer_config = NormalizerConfig.from_dict(normalizer)
        unknown = [f for f in fields if f not in LABELS]
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}; known: {', '.join(FIELDS)}")
        self.fields = tuple(fields)
        self.name = name or self.kind
        self.version = version
        self.params = dict(params)
        from .abstain import check_abstain

        #: ``abstain``, a parameter of every kind: see :mod:`pipeline.classifiers.abstain`.
        self.abstain = check_abstain(self.params.pop("abstain", False), self.fields)
        #: The fitted NONE weight of each stance field (1: the head's own probabilities).
        self.none_weight_: dict[str, float] = dict(self.abstain) if isinstance(self.abstain, dict) else {}
        if self.param_names is not None:
            unknown = sorted(set(self.params) - set(self.param_names))
            if unknown:
                raise ValueError(f"unknown {self.kind} parameter(s): {', '.join(unknown)}; "
                                 f"known: {', '.join(self.param_names)}")
        self.params = check_typed(self.kind, self.params, self.param_types)
        #: What the model was trained on (files, their SHA-256 and sizes), set by ``train``.
        self.training_info: dict = {}
        self._normalizer: Normalizer | None = None

    # -- normalisation ---------------------------------------------------
    @property
    def normalizer(self) -> Normalizer:
        if self._normalizer is None:
            self._normalizer = Normalizer(self.normalizer_config)
        return self._normalizer

    def normalize(self, texts: Sequence[str]) -> list[str]:
        """Normalise raw texts exactly as this model was trained."""
        norm = self.normalizer
        return [norm(t) for t in texts]

    # -- the estimator contract --------------------------------------------
    @property
    def classes_(self) -> dict[str, list[str]]:
        return {f: list(LABELS[f]) for f in self.fields}

    def fit(self, texts: Sequence[str], y: Mapping[str, Sequence[str | None]]) -> "Model":
        """Fit on raw texts; ``y[field]`` holds one label (or ``None``) per text.

        A field missing from ``y``, or ``None`` for a text, means that text is
        not used to train that field's head.
        """
        texts = list(texts)
        labels = {}
        for field in self.fields:
            col = list(y.get(field, [None] * len(texts)))
            if len(col) != len(texts):
                raise ValueError(f"{field}: {len(col)} labels for {len(texts)} texts")
            bad = sorted({lab for lab in col if lab is not None and lab not in LABELS[field]})
            if bad:
                raise ValueError(f"{field}: unknown label(s) {bad}; expected {'/'.join(LABELS[field])}")
            labels[field] = col
        return self.fit_normalized(self.normalize(texts), labels)

    def fit_normalized(self, norm_texts: list[str], labels: dict[str, list]) -> "Model":
        """Fit on texts already passed through :meth:`normalize`, with labels checked by :meth:`fit`
        (an ensemble fits its members this way); with ``abstain: true``, also choose the NONE weights."""
        self._fit(norm_texts, labels)
        if self.abstain is True:
            self.none_weight_ = self._choose_none_weights(norm_texts, labels)
        self.fitted_ = True
        return self

    #: Folds of the inner cross-validation that ``abstain: true`` chooses the NONE weights on.
    ABSTAIN_FOLDS: ClassVar[int] = 3

    def _choose_none_weights(self, norm_texts: list[str], labels: dict[str, list]) -> dict[str, float]:
        """Per stance field, the NONE weight that scores best on out-of-fold probabilities of
        models of this kind fitted on the rest of these training texts: one inner cross-validation
        (folds stratified on the stance labels together) serves every stance field."""
        from sklearn.model_selection import StratifiedKFold

        from .abstain import choose_none_weight

        stance = [f for f in self.fields if f in STANCE_FIELDS]
        keep = {f: 1.0 for f in stance}  # the head's own probabilities, when there is too little to choose on
        idx = np.array([i for i in range(len(norm_texts)) if any(labels[f][i] is not None for f in stance)])
        if not stance or len(idx) < 2 * self.ABSTAIN_FOLDS:
            return keep
        keys = ["|".join(str(labels[f][i]) for f in stance) for i in idx]
        strat = strata(keys, self.ABSTAIN_FOLDS)
        if 0 < (strat == RARE).sum() < self.ABSTAIN_FOLDS:
            # Too few even pooled: count them with the commonest combination.
            values, counts = np.unique(keys, return_counts=True)
            strat[strat == RARE] = values[counts.argmax()]
        oof = {f: np.zeros((len(idx), len(LABELS[f]))) for f in stance}
        folds = StratifiedKFold(self.ABSTAIN_FOLDS, shuffle=True, random_state=int(self.params.get("seed", 0)))
        for tr, te in folds.split(idx, strat):
            inner_labels = {g: [labels[g][i] for i in idx[tr]] for g in self.fields}
            if any(all(lab is None for lab in col) for col in inner_labels.values()):
                return keep  # a field has no label among these texts: its head cannot be fitted
            inner = kind_class(self.kind)(normalizer=self.normalizer_config, fields=self.fields, **self.params)
            inner._fit([norm_texts[i] for i in idx[tr]], inner_labels)
            inner.fitted_ = True
            proba = inner._predict_proba([norm_texts[i] for i in idx[te]])
            for f in stance:
                oof[f][te] = proba[f]
        out = {}
        for f in stance:
            rows = np.array([k for k, i in enumerate(idx) if labels[f][i] is not None])
            gold = [labels[f][idx[k]] for k in rows]
            out[f] = choose_none_weight(gold, oof[f][rows], f) if len(set(gold)) > 1 else 1.0
        return out

    def predict_proba(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Class probabilities per field for raw texts (columns in ``classes_`` order)."""
        return self.predict_proba_normalized(self.normalize(list(texts)))

    def predict_proba_normalized(self, norm_texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Like :meth:`predict_proba` for texts already passed through :meth:`normalize`."""
        self._check_fitted()
        norm_texts = list(norm_texts)
        if not norm_texts:
            return {f: np.zeros((0, len(LABELS[f]))) for f in self.fields}
        proba = self._predict_proba(norm_texts)
        if self.none_weight_:
            from .abstain import reweight

            proba = {f: reweight(p, f, self.none_weight_.get(f, 1.0)) for f, p in proba.items()}
        return proba

    def predict(self, texts: Sequence[str]) -> dict[str, list[str]]:
        """The most probable label per field for each raw text."""
        return self.labels_from_proba(self.predict_proba(texts))

    def labels_from_proba(self, proba: Mapping[str, np.ndarray]) -> dict[str, list[str]]:
        return {f: [LABELS[f][i] for i in np.asarray(proba[f]).argmax(axis=1)] for f in self.fields}

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"this {self.kind} model is not fitted: call fit() or load_model() first")

    # -- subclass hooks ------------------------------------------------------
    def _fit(self, norm_texts: list[str], labels: dict[str, list]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict_proba(self, norm_texts: list[str]) -> dict[str, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def _save_weights(self, directory: Path) -> None:
        pass

    def check_params(self) -> None:
        """Raise ValueError or ModelError if ``params`` cannot train this kind (kinds add their checks)."""

    def _load_weights(self, directory: Path) -> None:
        pass

    # -- persistence -----------------------------------------------------------
    def metadata(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "fields": list(self.fields),
            "classes": self.classes_,
            "normalizer": self.normalizer_config.to_dict(),
            "normalizer_versions": normalizer_versions(),
            "params": {**self.params, **({"abstain": self.abstain} if self.abstain else {})},
            "training": self.training_info,
            **({"none_weight": self.none_weight_} if self.none_weight_ else {}),
        }

    def save(self, directory: str | Path) -> Path:
        """Write ``model.json`` and the weights into ``directory`` (created if needed)."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_weights(directory)
        (directory / "model.json").write_text(
            json.dumps(self.metadata(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "Model":
        """Load a model of this kind from ``directory``."""
        meta = read_metadata(directory)
        if meta["kind"] != cls.kind:
            raise ModelError(f"{directory}: holds a {meta['kind']!r} model, not {cls.kind!r}")
        model_files(directory)  # refuses links that lead out of the directory before any weight is read
        meta_path = Path(directory) / "model.json"
        for key, typ in (("params", dict), ("fields", list), ("training", dict), ("normalizer", dict)):
            if key in meta and meta[key] is not None and not isinstance(meta[key], typ):
                raise ModelError(f"{meta_path}: {key!r} must be a {'mapping' if typ is dict else 'list'}, "
                                 f"got {type(meta[key]).__name__}")
        try:
            # A setting added since the model was saved stays off, so it normalises as it did.
            normalizer = {**LEGACY_NORMALIZER, **(meta.get("normalizer") or {})}
            model = cls(normalizer=normalizer, fields=meta.get("fields", FIELDS),
                        name=meta.get("name"), version=meta.get("version", "0.0.0"),
                        **(meta.get("params") or {}))
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{meta_path}: {exc}") from None
        model.training_info = meta.get("training") or {}
        weights = meta.get("none_weight") or {}
        if not isinstance(weights, dict):
            raise ModelError(f"{meta_path}: 'none_weight' must be a mapping of stance field to weight")
        from .abstain import check_abstain

        try:
            model.none_weight_ = check_abstain(weights, model.fields) or {}
        except ValueError as exc:
            raise ModelError(f"{meta_path}: none_weight: {exc}") from None
        _check_versions(meta.get("normalizer_versions"), meta_path)
        try:
            model._load_weights(Path(directory))
        except ModelError:
            raise
        except (ValueError, KeyError, TypeError, IndexError, OSError, EOFError, zipfile.BadZipFile,
                UnicodeDecodeError) as exc:
            raise ModelError(f"{directory}: cannot read the model's files ({type(exc).__name__}: {exc}); they are "
                             f"damaged or were not written by nazar: retrain it or restore the directory") from None
        model.fitted_ = True
        return model

    def describe(self) -> dict:
        """Name and version as written into every labelled record."""
        return {"name": self.name, "version": self.version, "kind": self.kind}


#: Normaliser settings added after models were first saved, with the value that reproduces
#: what those models did (a saved model that lacks one loads with this value).
LEGACY_NORMALIZER = {"entity_names": False}


def _check_versions(saved, meta_path: Path) -> None:
    """Warn when the packages that shape normalisation differ from those the model was trained with."""
    if not isinstance(saved, dict):
        return  # written before versions were recorded
    now = normalizer_versions()
    diff = [f"{pkg} {saved[pkg]} (here {now.get(pkg) or 'not installed'})" for pkg in sorted(saved)
            if pkg in now and saved[pkg] != now[pkg]]
    if diff:
        warnings.warn(f"{meta_path.parent}: trained with {', '.join(diff)}; its texts may be normalised "
                      f"differently here, so labels can differ: install the same versions, or retrain",
                      NazarWarning, stacklevel=3)


def read_metadata(directory: str | Path) -> dict:
    directory = Path(directory)
    meta_path = directory / "model.json"
    if not directory.is_dir():
        raise ModelError(f"model directory not found: {directory}")
    if not meta_path.is_file():
        raise ModelError(f"{directory} is not a nazar model directory (no model.json); "
                         "train one with `nazar train CONFIG -o DIR`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{meta_path}: invalid JSON ({exc.msg})") from None
    if not isinstance(meta, dict) or "kind" not in meta:
        raise ModelError(f"{meta_path}: no 'kind' field")
    if not isinstance(meta["kind"], str):
        raise ModelError(f"{meta_path}: 'kind' must be a string naming a model kind "
                         f"({', '.join(sorted(KINDS))}), got {type(meta['kind']).__name__}")
    if meta["kind"] not in KINDS:
        raise ModelError(f"{meta_path}: unknown model kind {meta['kind']!r}; known kinds: {', '.join(sorted(KINDS))}")
    fmt = meta.get("format", FORMAT_VERSION)
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise ModelError(f"{meta_path}: 'format' must be a positive integer, got {fmt!r}")
    if fmt > FORMAT_VERSION:
        raise ModelError(f"{meta_path}: written by a newer nazar (format {meta['format']}); upgrade nazar")
    return meta


def load_model(directory: str | Path) -> Model:
    """Load any saved model, dispatching on the ``kind`` in its ``model.json``."""
    meta = read_metadata(directory)
    return kind_class(meta["kind"]).load(directory)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def trained_on(model: Model, path: str | Path) -> bool:
    """Whether ``path`` (by content) is one of the files ``model`` was trained on."""
    digest = file_sha256(path)
    return any(f.get("sha256") == digest for files in model.training_info.values() for f in files)


def model_files(directory: str | Path) -> list[Path]:
    """The files of a model directory, sorted; ModelError if a link inside it leads out of it.

    Links within the directory are allowed (and not followed twice); a link to
    a file or directory elsewhere could make a model read, or a manifest hash,
    anything on the machine.
    """
    directory = Path(directory)
    root = directory.resolve()
    files = []
    for base, dirs, names in os.walk(directory, followlinks=False):
        for name in dirs + names:
            p = Path(base) / name
            if p.is_symlink():
                target = p.resolve()
                if target != root and root not in target.parents:
                    raise ModelError(f"{p} is a link to {target}, outside the model directory {directory}; "
                                     f"copy the file into the directory instead")
        files += [Path(base) / n for n in names if (Path(base) / n).is_file()]
    return sorted(files)


def model_hash(directory: str | Path) -> str:
    """SHA-256 over every file of a model directory (names and bytes), for manifests."""
    directory = Path(directory)
    h = hashlib.sha256()
    for p in model_files(directory):
        h.update(str(p.relative_to(directory)).encode())
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
