"""Static embeddings distilled from a transformers encoder (``nazar models build e5-static``).

model2vec's distillation passes every token of the encoder's vocabulary through
the encoder once, reduces the outputs with PCA to ``dims`` dimensions and
weights them down for frequent tokens (SIF, with frequencies estimated from
the vocabulary's order); a sentence is then the mean of its
tokens' vectors: a table look-up instead of twelve transformer layers.

The source is a transformers checkpoint directory: the e5-small checkpoint of
``nazar models build e5-small`` (the default; built first when missing), or the
directory of a fine-tuned model of the ``transformer`` or ``setfit`` kind, whose
encoder is saved there by ``save_pretrained``.

Beside model2vec's files the directory gets ``static.json``: the source, the
settings, a fingerprint of the vector table (models trained on these vectors
record it and refuse any other table) and the verification, which compares
the static sentence embeddings with the source encoder's mean-pooled ones on a
set of texts. The two live in different spaces (PCA rotates and cuts), so it
compares what a classifier uses: the Spearman correlation of the pairwise cosine
similarities, and how often a text's nearest neighbour under the static vectors
is among its five nearest under the encoder.
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import NazarError
from .resources import default_checkpoint_dir

__all__ = ["DistillError", "StaticReport", "build_e5_static", "read_static_info", "static_fingerprint",
           "DEFAULT_DIMS", "STATIC_INFO"]

#: PCA dimensions of the vectors (model2vec's default).
DEFAULT_DIMS = 256
#: nazar's record of a static model, beside model2vec's files.
STATIC_INFO = "static.json"
#: The build is refused when the pairwise-similarity correlation falls below this:
#: a broken table (zero, constant or shuffled rows) gives about 0; e5-small's own gives 0.5 and more, one
#: distilled from a contrastively tuned encoder (setfit) less, about 0.3.
MIN_SPEARMAN = 0.2
#: model2vec's token weighting: a token whose frequency, estimated from its rank in the vocabulary
#: by Zipf's law, is p weighs SIF / (SIF + p), so frequent tokens count less.
SIF = 1e-4


#: Fewer verification texts than this make the rank-correlation check coarse; a failure then says so.
FEW_VERIFY_TEXTS = 50


class DistillError(NazarError, RuntimeError):
    """The source checkpoint is missing or unusable, model2vec is absent, or the built model fails its checks."""


def _need_model2vec():
    try:
        from model2vec.distill import distill
    except ImportError as exc:
        raise DistillError("building static embeddings needs model2vec, skeletoken, torch and transformers: "
                           "pip install 'nazar[fast]' (install torch first, see the README)") from exc
    return distill


@dataclass
class StaticReport:
    """How the static embeddings compare with the source encoder's on a set of texts."""

    texts: int
    spearman: float  # rank correlation of the pairwise cosine similarities
    neighbours: float  # share of texts whose static nearest neighbour is in the encoder's top 5
    reload_equal: bool  # the saved directory, loaded again, embeds the texts identically
    finite: bool
    min_spearman: float = MIN_SPEARMAN

    @property
    def ok(self) -> bool:
        return self.finite and self.reload_equal and self.spearman >= self.min_spearman

    def lines(self) -> list[str]:
        return [f"pairwise cosine similarities on {self.texts} texts: Spearman {self.spearman:.3f} against the "
                f"encoder's mean-pooled embeddings (required >= {self.min_spearman})",
                f"nearest neighbour under the static vectors among the encoder's 5 nearest: {self.neighbours:.0%}",
                f"reloaded from disk, the same embeddings: {'yes' if self.reload_equal else 'NO'}",
                f"all values finite: {'yes' if self.finite else 'NO'}"]

    def to_dict(self) -> dict:
        return {"texts": self.texts, "spearman": round(self.spearman, 4), "neighbours_top5": round(self.neighbours, 4),
                "reload_equal": self.reload_equal, "finite": self.finite, "min_spearman": self.min_spearman,
                "ok": self.ok, "summary": self.lines()}


def static_fingerprint(directory: str | Path) -> str:
    """sha256 of the vector table (``model.safetensors``) of a static model directory."""
    from .classifiers.base import file_sha256

    return file_sha256(Path(directory) / "model.safetensors")


def read_static_info(directory: str | Path) -> dict:
    """The ``static.json`` of a directory written by :func:`build_e5_static`."""
    path = Path(directory) / STATIC_INFO
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DistillError(f"{directory} is not a static model built by 'nazar models build e5-static' "
                           f"(no {STATIC_INFO})") from None
    except (OSError, ValueError) as exc:
        raise DistillError(f"{path}: unreadable ({exc})") from exc
    if not isinstance(info, dict) or not isinstance(info.get("fingerprint"), str):
        raise DistillError(f"{path}: no fingerprint; rebuild with 'nazar models build e5-static --force'")
    return info


@contextlib.contextmanager
def _quiet(quiet: bool):
    """No progress bars from transformers or model2vec's token loop while ``quiet``."""
    if not quiet:
        yield
        return
    import functools

    from model2vec.distill import inference
    from transformers.utils import logging as hf_logging

    bars, bar = hf_logging.is_progress_bar_enabled(), inference.tqdm
    hf_logging.disable_progress_bar()
    inference.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        inference.tqdm = bar
        if bars:
            hf_logging.enable_progress_bar()


def _source_prefix(source: Path) -> tuple[str, str]:
    """(what the source is, the text prefix its encoder was trained with)."""
    meta_path = source / "model.json"
    if meta_path.is_file():  # a nazar model directory of the transformer or setfit kind
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DistillError(f"{meta_path}: not valid JSON ({exc})") from exc
        kind = meta.get("kind")
        if kind not in ("transformer", "setfit"):
            raise DistillError(f"{source} is a model of the {kind!r} kind, which has no transformer encoder to "
                               f"distil; give a transformers checkpoint or a transformer or setfit model")
        return f"{kind} model {meta.get('name')} {meta.get('version')}", str(meta.get("params", {}).get("text_prefix", ""))
    conv = source / "conversion.json"
    if conv.is_file():  # the e5-small checkpoint of `nazar models build e5-small`
        try:
            return "e5-small checkpoint", str(json.loads(conv.read_text(encoding="utf-8")).get("text_prefix", ""))
        except ValueError:
            pass
    return "transformers checkpoint", ""


def _check_source(source: Path) -> None:
    if not source.is_dir():
        raise DistillError(f"source checkpoint {source} does not exist")
    missing = [n for n in ("config.json",) if not (source / n).is_file()]
    weights = any((source / n).is_file() for n in ("model.safetensors", "pytorch_model.bin"))
    tokenizer = (source / "tokenizer.json").is_file()
    if missing or not weights or not tokenizer:
        raise DistillError(f"{source} is not a transformers checkpoint with a fast tokenizer "
                           f"(needs config.json, model.safetensors and tokenizer.json)")


def _encoder_embeddings(source: Path, texts: Sequence[str], prefix: str) -> np.ndarray:
    from transformers import AutoModel, AutoTokenizer

    from .convert import mean_pooled

    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    model = AutoModel.from_pretrained(str(source), local_files_only=True)
    model.eval()
    return mean_pooled(model, tokenizer, list(texts), prefix=prefix)


def _unit(E: np.ndarray) -> np.ndarray:
    E = np.asarray(E, dtype=np.float64)
    n = np.linalg.norm(E, axis=1, keepdims=True)
    return E / np.where(n > 0, n, 1.0)


def compare_embeddings(static: np.ndarray, encoder: np.ndarray) -> tuple[float, float]:
    """(Spearman of the pairwise cosines, nearest-neighbour-in-top-5 share) of two embeddings of the same texts."""
    from scipy.stats import spearmanr

    A, B = _unit(static), _unit(encoder)
    n = len(A)
    if n < 3:
        raise DistillError("the verification needs at least 3 texts")
    iu = np.triu_indices(n, k=1)
    SA, SB = A @ A.T, B @ B.T
    rho = spearmanr(SA[iu], SB[iu]).statistic
    np.fill_diagonal(SA, -np.inf)
    np.fill_diagonal(SB, -np.inf)
    top = np.argsort(-SB, axis=1)[:, :5]
    hits = np.mean([SA[i].argmax() in top[i] for i in range(n)])
    return (float(rho) if np.isfinite(rho) else 0.0), float(hits)


_CARD = """---
library_name: model2vec
tags: [static-embeddings, nazar]
---

# Static embeddings distilled from {source_name}

Built offline by `nazar models build e5-static` with model2vec {m2v} from `{source}`
({source_kind}): every vocabulary token passed through the encoder once, PCA to
{dims} dimensions, SIF weighting (coefficient {sif}). A sentence embedding is the mean
of its tokens' vectors. Licence: that of the source (multilingual-e5-small: MIT).

Vocabulary: {vocab} tokens. Fingerprint of the vector table (sha256): `{fingerprint}`.
nazar models trained on these vectors record the fingerprint and load only with this table.

Verification against the source encoder:

{verification}
"""


def build_e5_static(out_dir: str | Path | None = None, source: str | Path | None = None, dims: int | None = DEFAULT_DIMS,
                    verify_texts: Sequence[str] | None = None, *, overwrite: bool = False,
                    log: Callable[[str], None] | None = None, progress: bool = True,
                    min_spearman: float = MIN_SPEARMAN) -> Path:
    """Distil a static model from ``source`` (default: the e5-small checkpoint, built when missing) into ``out_dir``.

    ``dims``: PCA dimensions (``None`` keeps the encoder's width, unrotated).
    ``verify_texts`` (default: :data:`pipeline.convert.DEFAULT_VERIFY_TEXTS`): the
    texts of the comparison with the source encoder; the build is refused, and
    nothing written, when it fails (see :class:`StaticReport`; ``min_spearman``
    is its threshold). An existing
    ``out_dir`` is replaced only with ``overwrite`` and only if it is an earlier
    build. Returns ``out_dir``.
    """
    from .convert import DEFAULT_VERIFY_TEXTS, build_e5_small, check_replaceable, staged_directory

    log = log or (lambda m: None)
    out_dir = Path(out_dir).expanduser() if out_dir else default_checkpoint_dir("e5-static")
    check_replaceable(out_dir, overwrite, STATIC_INFO, "a static model", DistillError)
    if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < 2):
        raise DistillError(f"dims must be an integer of at least 2 (or none), got {dims!r}")
    texts = list(DEFAULT_VERIFY_TEXTS if verify_texts is None else verify_texts)
    if isinstance(verify_texts, str) or any(not isinstance(t, str) or not t.strip() for t in texts):
        raise DistillError("verify_texts must be a list of non-empty texts")
    distill = _need_model2vec()

    t0 = time.perf_counter()
    if source is None:
        source = default_checkpoint_dir("e5-small")
        if not (source / "conversion.json").is_file():
            log(f"no e5-small checkpoint at {source}; building it first")
            build_e5_small(source, overwrite=source.exists(), log=log)
    source = Path(source).expanduser().resolve()
    _check_source(source)
    source_kind, prefix = _source_prefix(source)

    import model2vec
    from transformers import AutoConfig

    width = int(getattr(AutoConfig.from_pretrained(str(source), local_files_only=True), "hidden_size", 0))
    if dims is not None and width and dims > width:
        raise DistillError(f"dims {dims} is more than the encoder's width {width}")
    log(f"distilling {source} ({source_kind}, width {width}) to {dims or width} dimensions; "
        f"one forward pass per vocabulary token")
    try:
        with _quiet(not progress):
            static = distill(str(source), pca_dims=dims, device="cpu", sif_coefficient=SIF, quantize_to="float16")
    except Exception as exc:  # model2vec raises plain exceptions for unsupported tokenizers
        raise DistillError(f"model2vec could not distil {source}: {type(exc).__name__}: {exc}") from exc

    with staged_directory(out_dir) as stage:
        static.save_pretrained(str(stage))
        log(f"verifying on {len(texts)} texts against the encoder")
        from model2vec import StaticModel

        mine = np.asarray(static.encode(texts), dtype=np.float64)
        again = np.asarray(StaticModel.from_pretrained(str(stage)).encode(texts), dtype=np.float64)
        with _quiet(not progress):
            enc = _encoder_embeddings(source, texts, prefix)
        rho, nn = compare_embeddings(mine, enc)
        report = StaticReport(texts=len(texts), spearman=rho, neighbours=nn,
                              reload_equal=bool(np.array_equal(mine, again)),
                              finite=bool(np.isfinite(mine).all() and (np.abs(mine).sum(axis=1) > 0).all()),
                              min_spearman=min_spearman)
        if not report.ok:
            lines = report.lines()
            if rho < min_spearman and len(texts) < FEW_VERIFY_TEXTS:
                lines.append(f"on {len(texts)} texts the rank correlation is coarse (a fine-tuned source, whose "
                             "similarities are compressed, can fall below the bar by chance): check on a few "
                             "hundred texts of your own (verify_texts; --verify FILE on the command line)")
            raise DistillError("the static model fails its checks; nothing written:\n  " + "\n  ".join(lines))
        fingerprint = static_fingerprint(stage)
        vocab = int(static.embedding.shape[0])
        info = {"model2vec": getattr(model2vec, "__version__", "unknown"),
                "source": {"path": str(source), "kind": source_kind, "text_prefix": prefix},
                "dims": int(static.embedding.shape[1]), "pca_dims": dims, "vocabulary": vocab,
                "sif_coefficient": SIF, "fingerprint": fingerprint, "verification": report.to_dict(),
                "seconds": round(time.perf_counter() - t0, 1)}
        (stage / STATIC_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        card = _CARD.format(source_name=source.name, m2v=info["model2vec"], source=source, source_kind=source_kind,
                            dims=info["dims"], sif=info["sif_coefficient"], vocab=vocab, fingerprint=fingerprint,
                            verification="\n".join(f"- {line}" for line in report.lines()))
        (stage / "README.md").write_text(card, encoding="utf-8")
    return out_dir
