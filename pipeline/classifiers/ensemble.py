"""The ensemble kind: several models of other kinds, their probabilities averaged.

``params: {members: [{kind: encoder, params: {...}}, {kind: tfidf, params: {C: 4}}],
weights: [0.5, 0.5]}``. Every member reads the same normalised text (the ensemble's
normaliser) and is fitted on the same labels; the ensemble's probability of a label is the
weighted mean of the members' (soft voting), so members that err differently (a sentence
encoder and character n-grams) correct each other. Each member is saved in
``members/K/`` as a model directory of its own, and loads as one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from .base import Model, ModelError, kind_class
from .params import Param

__all__ = ["EnsembleModel"]


class EnsembleModel(Model):
    kind = "ensemble"
    param_names = ("members", "weights", "seed")
    param_types = {"seed": Param("int", nullable=True, help="random seed")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.members_spec = self._members_spec(self.params.get("members"))
        weights = self.params.get("weights")
        if weights is None:
            weights = [1.0] * len(self.members_spec)
        if (not isinstance(weights, (list, tuple)) or len(weights) != len(self.members_spec)
                or not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w > 0 for w in weights)):
            raise ValueError(f"ensemble parameter 'weights' must be {len(self.members_spec)} positive numbers, "
                             f"one per member, not {weights!r}")
        total = float(sum(weights))
        self.weights = [float(w) / total for w in weights]
        self.members_: list[Model] = []

    @staticmethod
    def _members_spec(members) -> list[dict]:
        if not isinstance(members, (list, tuple)) or len(members) < 2:
            raise ValueError("ensemble parameter 'members' must list at least two {kind, params} mappings")
        out = []
        for i, m in enumerate(members):
            if not isinstance(m, Mapping) or "kind" not in m or set(m) - {"kind", "params"}:
                raise ValueError(f"ensemble member {i}: expected a mapping {{kind: KIND, params: {{...}}}}, got {m!r}")
            if m["kind"] == "ensemble":
                raise ValueError(f"ensemble member {i}: an ensemble cannot hold another ensemble")
            params = m.get("params") or {}
            if not isinstance(params, Mapping):
                raise ValueError(f"ensemble member {i} ({m['kind']}): 'params' must be a mapping")
            out.append({"kind": m["kind"], "params": dict(params)})
        return out

    def _build_members(self) -> list[Model]:
        seed = self.params.get("seed")
        out = []
        for i, spec in enumerate(self.members_spec):
            params = dict(spec["params"])
            if seed is not None:
                params.setdefault("seed", seed)
            try:
                member = kind_class(spec["kind"])(normalizer=self.normalizer_config, fields=self.fields,
                                                  name=f"{self.name}.{i}", version=self.version, **params)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"ensemble member {i} ({spec['kind']}): {exc}") from None
            out.append(member)
        return out

    def check_params(self) -> None:
        for member in self._build_members():
            member.check_params()

    def _fit(self, norm_texts, labels) -> None:
        self.members_ = self._build_members()
        for member in self.members_:
            member.fit_normalized(norm_texts, labels)

    def _predict_proba(self, norm_texts):
        out = {f: np.zeros((len(norm_texts), len(self.classes_[f]))) for f in self.fields}
        for w, member in zip(self.weights, self.members_):
            proba = member.predict_proba_normalized(norm_texts)
            for f in self.fields:
                out[f] += w * proba[f]
        return out

    def embed(self, norm_texts) -> np.ndarray:
        """The sentence embeddings of the first member that has an encoder (members share the normaliser).

        :class:`AttributeError` when none has one, as for a model without ``embed``.
        """
        for member in self.members_:
            if callable(getattr(member, "embed", None)):
                return member.embed(norm_texts)
        raise AttributeError(f"no member of ensemble {self.name!r} has an encoder")

    def _save_weights(self, directory: Path) -> None:
        for i, member in enumerate(self.members_):
            member.save(directory / "members" / str(i))

    def _load_weights(self, directory: Path) -> None:
        members = []
        for i, spec in enumerate(self.members_spec):
            sub = directory / "members" / str(i)
            member = kind_class(spec["kind"]).load(sub)
            if member.fields != self.fields or member.normalizer_config != self.normalizer_config:
                raise ModelError(f"{sub}: its fields or normaliser differ from the ensemble's")
            members.append(member)
        self.members_ = members
