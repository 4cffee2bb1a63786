"""Few-shot model in the manner of SetFit: contrastive tuning of a sentence encoder, then linear heads.

Two stages, as SetFit trains:

1. **Contrastive tuning of the body.** Pairs of training comments are drawn per
   field: two comments with the same label for that field form a positive pair
   (target cosine 1), two with different labels a negative pair (target 0).
   Sampling is balanced: half of each field's pairs are positive, half
   negative, and the classes are drawn uniformly, so a minority class takes
   part as often as the majority. Each comment is embedded as the mean of the
   encoder's last layer over its tokens, L2-normalised; the loss is the mean
   squared error between the pair's cosine similarity and its target (the
   cosine-similarity loss of sentence-transformers). Each pair epoch draws
   fresh pairs. A batch embeds each of its distinct comments once.
2. **Heads.** The tuned body embeds every training comment and one logistic
   regression per field (:class:`~pipeline.classifiers.heads.LinearHeads`,
   balanced class weights) is fitted on those embeddings.

``strategy: frozen`` (or ``pair_epochs: 0``) skips the first stage: the heads
read the checkpoint's own embeddings.

Parameters (``model.params`` in a config):

``checkpoint``
    a local checkpoint directory (``config.json``, weights, tokenizer files) or
    a hub id already in the local Hugging Face cache; nothing is downloaded.
    Default: the multilingual-e5-small checkpoint that ``nazar models build
    e5-small`` writes (``$NAZAR_CACHE/e5-small``, else ``~/.cache/nazar/e5-small``).
``strategy`` ``contrastive`` | ``frozen``; ``pair_epochs`` 1; ``num_pairs`` 256
(pairs drawn per pair epoch, shared evenly among the fields of ``pair_fields``);
``pair_fields`` null (all the model's fields) or a list of fields; ``batch_size``
16 (pairs per step); ``lr`` 2e-5; ``warmup_ratio`` 0.1; ``weight_decay`` 0.01;
``freeze_embeddings`` true (the input word-embedding matrix stays fixed);
``max_length`` 128; ``eval_batch_size`` 64; ``text_prefix`` ``"query: "`` (put
before every normalised text, as e5 expects); ``C`` 2.0 (the heads' inverse
regularisation); ``device`` ``auto`` | ``cpu`` | ``cuda``; ``seed`` 0. Unknown
parameters are an error.

A saved model directory holds the body (``config.json``, ``model.safetensors``,
written by ``save_pretrained``), the tokenizer files, ``heads.npz`` and
``model.json``; it loads without network access and without unpickling.
torch and transformers are imported only when a model of this kind is fitted,
loaded or used. Inference sorts texts by length and pads each batch only to its
longest text.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .base import Model, ModelError
from .params import Param
from .heads import LinearHeads
from .torch_common import (check_common_params, import_torch, length_order, mean_pool, pick_device, quiet_hub,
                           resolve_checkpoint, seeded)

__all__ = ["SetFitModel", "sample_pairs", "ARCHITECTURE"]

ARCHITECTURE = (
    "A sentence encoder (mean over the last layer's tokens, L2-normalised) tuned contrastively on pairs "
    "of training comments (same label for a field: cosine 1; different labels: cosine 0; balanced "
    "positive and negative pairs), then one logistic-regression head per field on the tuned embeddings.")

DEFAULTS: dict[str, Any] = {
    "checkpoint": None,
    "strategy": "contrastive",
    "pair_epochs": 1,
    "num_pairs": 256,
    "pair_fields": None,
    "batch_size": 16,
    "lr": 2e-5,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "freeze_embeddings": True,
    "max_length": 128,
    "eval_batch_size": 64,
    "text_prefix": "query: ",
    "C": 2.0,
    "device": "auto",
    "seed": 0,
}

STRATEGIES = ("contrastive", "frozen")


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def default_checkpoint() -> str:
    """Where ``nazar models build e5-small`` writes its checkpoint by default."""
    from ..resources import default_checkpoint_dir

    return str(default_checkpoint_dir("e5-small"))


def sample_pairs(labels: dict[str, Sequence[str | None]], num_pairs: int,
                 rng: np.random.Generator) -> list[tuple[int, int, float]]:
    """``num_pairs`` pairs ``(i, j, target)`` of text indices, shared evenly among the fields of ``labels``.

    Per field, half the pairs are positive (two texts with the same label, target 1.0) and
    half negative (different labels, target 0.0); the class of a positive pair and the two
    classes of a negative pair are drawn uniformly. Texts whose label is ``None`` are not
    drawn for that field. A field with a single label gives only positive pairs; a field
    where no label occurs twice, only negative ones; a field without labels, none.
    """
    usable = {}
    for field, col in labels.items():
        by_class: dict[str, np.ndarray] = {}
        for lab in sorted({lab for lab in col if lab is not None}):
            by_class[lab] = np.array([i for i, v in enumerate(col) if v == lab])
        if by_class and (len(by_class) > 1 or any(len(v) > 1 for v in by_class.values())):
            usable[field] = by_class
    if not usable or num_pairs <= 0:
        return []
    pairs: list[tuple[int, int, float]] = []
    fields = list(usable)
    for k, field in enumerate(fields):
        quota = num_pairs // len(fields) + (1 if k < num_pairs % len(fields) else 0)
        by_class = usable[field]
        classes = list(by_class)
        doubles = [c for c in classes if len(by_class[c]) > 1]
        n_pos = quota // 2 + quota % 2 if len(classes) > 1 else quota
        if not doubles:
            n_pos = 0
        n_neg = quota - n_pos
        for _ in range(n_pos):
            members = by_class[doubles[rng.integers(len(doubles))]]
            i, j = rng.choice(members, size=2, replace=False)
            pairs.append((int(i), int(j), 1.0))
        for _ in range(n_neg):
            a, b = rng.choice(len(classes), size=2, replace=False)
            i = by_class[classes[a]][rng.integers(len(by_class[classes[a]]))]
            j = by_class[classes[b]][rng.integers(len(by_class[classes[b]]))]
            pairs.append((int(i), int(j), 0.0))
    order = rng.permutation(len(pairs))
    return [pairs[i] for i in order]


class SetFitModel(Model):
    """Contrastively tuned sentence encoder + per-field logistic heads (see the module docstring).

    Set ``model.log`` to a callable to receive one progress line per pair epoch
    (default: standard error); ``history_`` holds the mean pair loss per epoch.
    """

    kind = "setfit"
    param_names = tuple(DEFAULTS)
    param_types = {
        "checkpoint": Param("str", nullable=True, help="a local checkpoint directory"),
        "strategy": Param("str", help="contrastive or frozen"),
        "pair_epochs": Param("int", minimum=0),
        "num_pairs": Param("int", minimum=1),
        "lr": Param("number", above=0, help="learning rate"),
        "warmup_ratio": Param("number", minimum=0, maximum=1),
        "weight_decay": Param("number", minimum=0),
        "freeze_embeddings": Param("bool"),
        "C": Param("number", above=0, help="inverse regularisation of the logistic heads"),
        "seed": Param("int", nullable=True, help="random seed"),
    }
    requires = ("torch", "transformers")

    #: Receives one progress line per pair epoch during ``fit``.
    log: Callable[[str], None] = staticmethod(_stderr)

    # -- parameters --------------------------------------------------------------
    def p(self, key: str) -> Any:
        return self.params.get(key, DEFAULTS[key])

    def check_params(self) -> None:
        self._checked_params()

    def _checked_params(self) -> None:
        check_common_params("setfit", self.params, DEFAULTS, ("max_length", "batch_size", "eval_batch_size"))
        if self.p("strategy") not in STRATEGIES:
            raise ModelError(f"setfit: strategy must be {' or '.join(STRATEGIES)}, got {self.p('strategy')!r}")
        for key in ("pair_epochs", "num_pairs"):
            value = self.p(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ModelError(f"setfit: {key} must be a non-negative integer, got {value!r}")
        for key in ("lr", "C"):
            value = self.p(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ModelError(f"setfit: {key} must be a positive number, got {value!r}")
        pair_fields = self.p("pair_fields")
        if pair_fields is not None:
            if isinstance(pair_fields, str):
                pair_fields = [pair_fields]
            bad = [f for f in pair_fields if f not in self.fields]
            if bad or not pair_fields:
                raise ModelError(f"setfit: pair_fields must name some of the model's fields "
                                 f"({', '.join(self.fields)}), got {self.p('pair_fields')!r}")

    def _pair_fields(self) -> list[str]:
        value = self.p("pair_fields")
        if value is None:
            return list(self.fields)
        return [value] if isinstance(value, str) else list(value)

    @property
    def contrastive(self) -> bool:
        return self.p("strategy") == "contrastive" and self.p("pair_epochs") > 0 and self.p("num_pairs") > 0

    # -- the body ----------------------------------------------------------------------
    def _source(self) -> str:
        checkpoint = self.p("checkpoint") or default_checkpoint()
        try:
            return resolve_checkpoint(checkpoint)
        except ModelError:
            raise ModelError(
                f"setfit checkpoint {str(checkpoint)!r}: not a checkpoint directory (config.json, weights, "
                f"tokenizer files) and not in the local Hugging Face cache; nothing is downloaded here. "
                f"Build multilingual-e5-small offline with `nazar models build e5-small` (it writes "
                f"{default_checkpoint()}) or pass another local directory with "
                f"`--set model.params.checkpoint=DIR`") from None

    def _load_body(self, source: str) -> None:
        import_torch()
        from transformers import AutoModel, AutoTokenizer

        try:
            with quiet_hub():
                self.tokenizer_ = AutoTokenizer.from_pretrained(source, local_files_only=True)
                body = AutoModel.from_pretrained(source, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"setfit: the checkpoint {source!r} cannot be loaded ({exc})") from None
        self.device_ = pick_device(self.p("device"), "setfit")
        self.body_ = body.to(self.device_).eval()

    def _encode(self, texts: Sequence[str]):
        enc = self.tokenizer_(list(texts), truncation=True, max_length=self.p("max_length"), padding=True,
                              return_tensors="pt")
        return {k: v.to(self.device_) for k, v in enc.items()
                if k in ("input_ids", "attention_mask", "token_type_ids")}

    def _embed_tensor(self, prefixed: Sequence[str]):
        import torch

        inputs = self._encode(prefixed)
        hidden = self.body_(**inputs).last_hidden_state
        return torch.nn.functional.normalize(mean_pool(hidden, inputs["attention_mask"]).float(), dim=-1)

    def embed(self, norm_texts: Sequence[str]) -> np.ndarray:
        """L2-normalised mean-pooled embeddings of normalised texts, as the heads read them."""
        torch = import_torch()
        prefix = self.p("text_prefix")
        texts = [prefix + t for t in norm_texts]
        out = np.zeros((len(texts), int(self.body_.config.hidden_size)), dtype=np.float32)
        if not texts:
            return out
        self.body_.eval()
        order = length_order(self.tokenizer_, texts, self.p("max_length"))
        step = self.p("eval_batch_size")
        with torch.inference_mode():
            for start in range(0, len(order), step):
                idx = order[start:start + step]
                out[idx] = self._embed_tensor([texts[i] for i in idx]).cpu().numpy()
        return out

    # -- fitting --------------------------------------------------------------------------
    def _heads(self) -> LinearHeads:
        return LinearHeads(self.fields, C=float(self.p("C")), seed=int(self.p("seed")))

    def _fit(self, norm_texts: list[str], labels: dict[str, list]) -> None:
        self._checked_params()
        for field in self.fields:
            if not any(lab is not None for lab in labels[field]):
                raise ModelError(f"no training labels for {field!r}")
        source = self._source()
        torch = import_torch()
        self._load_body(source)
        self.history_: list[dict] = []
        if self.contrastive:
            with seeded(int(self.p("seed")), self.device_), quiet_hub():
                self._tune(torch, norm_texts, {f: labels[f] for f in self._pair_fields()})
        self.heads_ = self._heads().fit(self.embed(norm_texts).astype(np.float64), labels)

    def _tune(self, torch, norm_texts: list[str], labels: dict[str, list]) -> None:
        from transformers import get_linear_schedule_with_warmup

        body = self.body_
        if self.p("freeze_embeddings"):
            for param in body.get_input_embeddings().parameters():
                param.requires_grad_(False)
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
        named = [(n, p) for n, p in body.named_parameters() if p.requires_grad]
        groups = [{"params": [p for n, p in named if not n.endswith(no_decay)],
                   "weight_decay": float(self.p("weight_decay"))},
                  {"params": [p for n, p in named if n.endswith(no_decay)], "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW(groups, lr=float(self.p("lr")))
        epochs, batch_size = int(self.p("pair_epochs")), int(self.p("batch_size"))
        rng = np.random.default_rng(int(self.p("seed")))
        plan = [sample_pairs(labels, int(self.p("num_pairs")), rng) for _ in range(epochs)]
        steps = sum(math.ceil(len(pairs) / batch_size) for pairs in plan)
        if not steps:
            self.log("setfit: no pairs can be drawn from these labels; the heads read the checkpoint's embeddings")
            return
        scheduler = get_linear_schedule_with_warmup(optimizer, int(round(float(self.p("warmup_ratio")) * steps)),
                                                    steps)
        prefix = self.p("text_prefix")
        body.train()
        for epoch, pairs in enumerate(plan, start=1):
            total = 0.0
            for start in range(0, len(pairs), batch_size):
                batch = pairs[start:start + batch_size]
                rows = sorted({i for i, _, _ in batch} | {j for _, j, _ in batch})
                where = {r: k for k, r in enumerate(rows)}
                emb = self._embed_tensor([prefix + norm_texts[r] for r in rows])
                a = emb[[where[i] for i, _, _ in batch]]
                b = emb[[where[j] for _, j, _ in batch]]
                target = torch.tensor([t for _, _, t in batch], dtype=emb.dtype, device=emb.device)
                loss = torch.nn.functional.mse_loss((a * b).sum(dim=-1), target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for _, p in named], 1.0)
                optimizer.step()
                scheduler.step()
                total += float(loss.detach()) * len(batch)
            record = {"epoch": epoch, "pairs": len(pairs), "pair_loss": total / max(len(pairs), 1)}
            self.history_.append(record)
            self.log(f"setfit pair epoch {epoch}/{epochs}: {len(pairs)} pairs, loss {record['pair_loss']:.4f}")
        body.eval()
        for param in body.parameters():
            param.requires_grad_(True)

    def pair_loss(self, norm_texts: Sequence[str], pairs: Sequence[tuple[int, int, float]]) -> float:
        """Mean squared error between the pairs' embedding cosines and their targets (no training)."""
        emb = self.embed(norm_texts)
        cos = np.array([float(emb[i] @ emb[j]) for i, j, _ in pairs])
        return float(np.mean((cos - np.array([t for _, _, t in pairs])) ** 2)) if len(pairs) else 0.0

    # -- prediction ------------------------------------------------------------------------
    def _predict_proba(self, norm_texts: list[str]) -> dict[str, np.ndarray]:
        return self.heads_.predict_proba(self.embed(norm_texts).astype(np.float64))

    # -- persistence -----------------------------------------------------------------------
    def metadata(self) -> dict:
        meta = super().metadata()
        meta["architecture"] = ARCHITECTURE
        if getattr(self, "history_", None):
            meta["training_history"] = {"pair_epochs": self.history_}
        return meta

    def _save_weights(self, directory: Path) -> None:
        with quiet_hub():
            self.body_.save_pretrained(directory)
            self.tokenizer_.save_pretrained(directory)
        self.heads_.save(directory / "heads.npz")

    def _load_weights(self, directory: Path) -> None:
        self._checked_params()
        heads_path = directory / "heads.npz"
        if not heads_path.is_file() or not (directory / "config.json").is_file():
            raise ModelError(f"{directory}: incomplete setfit model (needs config.json, model.safetensors, "
                             "the tokenizer files and heads.npz)")
        self._load_body(str(directory))
        try:
            self.heads_ = self._heads().load(heads_path)
        except KeyError as exc:
            raise ModelError(f"{heads_path}: does not match the model's fields ({exc})") from None
