"""Fine-tuned BERT-family encoder with one classification head per field.

Architecture: one shared encoder reads the comment once; its last hidden
layer is mean-pooled over the non-padding tokens (``pooling: mean``; ``cls``
takes the first token instead) and fed, through dropout, to three linear
heads, one per field. The training loss is the sum of the per-field
cross-entropies, each with balanced class weights; a comment whose label for a
field is missing is masked out of that field's loss only. Classes a field never
saw in training get probability zero, as in the other model kinds.

Why three heads on one encoder rather than a target-conditioned input (the
comment paired with "Telegram", "domestic messengers", ...): all three labels
come out of a single forward pass, so labelling costs a third of the conditioned
variant; every labelled field trains the shared encoder, which matters with a
gold set of a few dozen comments; and ``sentiment`` has no target to condition
on. Mean pooling works for checkpoints without a trained pooler (ParsBERT's
masked-LM checkpoint, e5) and is more stable than the ``[CLS]`` vector when
fine-tuning on little data.

Training follows ParsBERT's published fine-tuning recipe by default: maximum
length 128 tokens, batch 16, AdamW with learning rate 2e-5, 3 epochs, a linear
schedule with 10% warm-up. A stratified fraction of the training data
(``dev_fraction``) is held out for early stopping on the dev loss; the weights
of the best epoch are kept. Seeds are fixed (``random``, numpy, torch) and the
global random state is restored afterwards. Inference sorts texts by length,
pads each batch only to its longest text and restores the input order.

Parameters (``model.params`` in a config):

``checkpoint``
    a local directory holding a Hugging Face checkpoint (``config.json``,
    weights, tokenizer files), or a hub id already in the local Hugging Face
    cache. Nothing is ever downloaded.
``max_length`` 128, ``batch_size`` 16, ``eval_batch_size`` 64, ``lr`` 2e-5,
``epochs`` 3, ``warmup_ratio`` 0.1, ``weight_decay`` 0.01, ``dropout`` 0.1,
``dev_fraction`` 0.1, ``min_dev`` 8 (a smaller dev split is not held out: all
epochs run on all the data), ``patience`` 1 (epochs without a better dev loss before
stopping), ``pooling`` ``mean`` | ``cls``, ``device`` ``auto`` | ``cpu`` |
``cuda`` (``auto``: CUDA when present), ``seed`` 0, ``text_prefix`` ``""``
(put before every normalised text, e.g. e5's ``"query: "``), ``freeze_embeddings``
false (keep the input word-embedding matrix fixed: less memory and time, and less
over-fitting of a large vocabulary on a few dozen comments). Unknown parameters
are an error.

A saved model directory holds the fine-tuned encoder (``config.json``,
``model.safetensors``, written by ``save_pretrained``), the tokenizer files,
``heads.safetensors`` and ``model.json``; it loads without network access and
without unpickling anything. torch and transformers are imported only when a
model of this kind is fitted, loaded or used.
"""
from __future__ import annotations

import copy
import math
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..schema import LABELS
from .base import Model, ModelError
from .params import Param
from .torch_common import (DEFAULT_CHECKPOINT, check_common_params, import_torch, length_order, mean_pool,
                           missing_weights_message, pick_device, quiet_hub, resolve_checkpoint, seeded)

__all__ = ["TransformerModel", "DEFAULT_CHECKPOINT", "ARCHITECTURE"]

#: One-paragraph description stored in ``model.json`` and usable in model cards.
ARCHITECTURE = (
    "One shared BERT-family encoder, fine-tuned; its last layer is pooled (mean over non-padding "
    "tokens by default) and fed to one linear head per field (stance_domestic, stance_telegram, "
    "sentiment). Loss: the sum of per-field cross-entropies with balanced class weights; comments "
    "without a label for a field are left out of that field's loss. A single forward pass labels all "
    "three fields, and every labelled field trains the shared encoder, which suits a small gold set.")

DEFAULTS: dict[str, Any] = {
    "checkpoint": DEFAULT_CHECKPOINT,
    "max_length": 128,
    "batch_size": 16,
    "eval_batch_size": 64,
    "lr": 2e-5,
    "epochs": 3,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "dropout": 0.1,
    "dev_fraction": 0.1,
    "min_dev": 8,
    "patience": 1,
    "pooling": "mean",
    "device": "auto",
    "text_prefix": "",
    "freeze_embeddings": False,
    "seed": 0,
}

_IGNORE = -100  # label index left out of the loss (PyTorch's cross-entropy convention)
_MASKED_LOGIT = -1e4  # logit given to classes a field never saw in training


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _build_network(encoder, fields: Sequence[str], pooling: str, dropout: float):
    """The encoder plus one linear head per field, as a torch module."""
    import torch
    from torch import nn

    class MultiHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            hidden = int(encoder.config.hidden_size)
            self.dropout = nn.Dropout(dropout)
            self.heads = nn.ModuleDict({f: nn.Linear(hidden, len(LABELS[f])) for f in fields})
            for f in fields:  # 1 where the class was seen in training, else 0
                self.register_buffer(f"seen_{f}", torch.ones(len(LABELS[f])))

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            hidden = self.encoder(**kwargs).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                pooled = mean_pool(hidden, attention_mask)
            pooled = self.dropout(pooled)
            out = {}
            for f, head in self.heads.items():
                seen = getattr(self, f"seen_{f}")
                out[f] = head(pooled).masked_fill(seen == 0, _MASKED_LOGIT)
            return out

    return MultiHead()


def _stratified_dev_split(strat: list, fraction: float, seed: int,
                          min_dev: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, dev); stratified on ``strat`` where every class has two members or more.

    No dev split (all indices in train) when it would hold fewer than ``min_dev`` items.
    """
    n = len(strat)
    n_dev = int(round(n * fraction))
    if fraction <= 0 or n_dev < max(1, min_dev) or n - n_dev < 1:
        return np.arange(n), np.array([], dtype=int)
    from sklearn.model_selection import train_test_split

    labels = np.array(["_none" if s is None else s for s in strat], dtype=object)
    values, counts = np.unique(labels, return_counts=True)
    rare = set(values[counts < 2])
    labels = np.array(["_rare" if s in rare else s for s in labels], dtype=object)
    idx = np.arange(n)
    try:
        tr, dev = train_test_split(idx, test_size=n_dev, random_state=seed, stratify=labels)
    except ValueError:  # too few per class (or too small a dev set) to stratify
        tr, dev = train_test_split(idx, test_size=n_dev, random_state=seed)
    return np.sort(tr), np.sort(dev)


class TransformerModel(Model):
    """A fine-tuned BERT-family encoder (ParsBERT by default) with one head per field.

    See the module docstring for the architecture and the parameters. Set
    ``model.log`` to a callable to receive the per-epoch progress lines
    (default: standard error); ``history_`` holds the per-epoch losses.
    """

    kind = "transformer"
    param_names = tuple(DEFAULTS)
    param_types = {
        "checkpoint": Param("str", help="a local checkpoint directory, or a hub id in the local cache"),
        "lr": Param("number", above=0, help="learning rate"),
        "warmup_ratio": Param("number", minimum=0, maximum=1),
        "weight_decay": Param("number", minimum=0),
        "dropout": Param("number", minimum=0, maximum=1),
        "min_dev": Param("int", minimum=0),
        "pooling": Param("str", help="mean or cls"),
        "freeze_embeddings": Param("bool"),
        "seed": Param("int", nullable=True, help="random seed"),
    }
    requires = ("torch", "transformers", "datasets")

    #: Receives one progress line per epoch during ``fit``.
    log: Callable[[str], None] = staticmethod(_stderr)

    # -- parameters ------------------------------------------------------------
    def p(self, key: str) -> Any:
        return self.params.get(key, DEFAULTS[key])

    def check_params(self) -> None:
        self._checked_params()

    def _checked_params(self) -> None:
        check_common_params("transformer", self.params, DEFAULTS,
                            ("max_length", "batch_size", "eval_batch_size", "epochs", "patience"))
        pooling = self.p("pooling")
        if pooling not in ("mean", "cls"):
            raise ModelError(f"transformer: pooling must be 'mean' or 'cls', got {pooling!r}")
        frac = self.p("dev_fraction")
        if not isinstance(frac, (int, float)) or not 0 <= frac < 1:
            raise ModelError(f"transformer: dev_fraction must be in [0, 1), got {frac!r}")

    def _device(self):
        return pick_device(self.p("device"))

    # -- loading the pretrained encoder -----------------------------------------
    def _load_pretrained(self, source: str, fields: Sequence[str]):
        """Tokenizer and network from ``source`` (a local directory or a cached hub id), offline."""
        import_torch()
        from transformers import AutoModel, AutoTokenizer

        try:
            with quiet_hub():
                tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
                encoder = AutoModel.from_pretrained(source, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(missing_weights_message(source, f"cannot be loaded ({exc})")) from None
        return tokenizer, _build_network(encoder, fields, self.p("pooling"), float(self.p("dropout")))

    # -- tokenisation ------------------------------------------------------------
    def _encode_batch(self, texts: Sequence[str]):
        enc = self.tokenizer_(list(texts), truncation=True, max_length=self.p("max_length"),
                              padding=True, return_tensors="pt")
        return {k: v.to(self.device_) for k, v in enc.items()
                if k in ("input_ids", "attention_mask", "token_type_ids")}

    # -- fitting -----------------------------------------------------------------
    def _fit(self, norm_texts: list[str], labels: dict[str, list]) -> None:
        self._checked_params()
        for field in self.fields:
            if not any(lab is not None for lab in labels[field]):
                raise ModelError(f"no training labels for {field!r}")
        torch = import_torch()
        try:
            import datasets
        except ImportError as exc:
            raise ModelError("the transformer model kind needs the 'datasets' package: "
                             "pip install 'nazar[transformer]'") from exc
        source = resolve_checkpoint(self.p("checkpoint"))
        self.device_ = self._device()
        seed = int(self.p("seed"))
        with seeded(seed, self.device_), quiet_hub():
            self._train(torch, datasets, source, norm_texts, labels, seed)

    def _train(self, torch, datasets, source, norm_texts, labels, seed) -> None:
        from transformers import get_linear_schedule_with_warmup

        self.tokenizer_, self.net_ = self._load_pretrained(source, self.fields)
        net = self.net_.to(self.device_)
        y = {f: [LABELS[f].index(lab) if lab is not None else _IGNORE for lab in labels[f]] for f in self.fields}

        # Seen classes and balanced class weights, per field, from all training labels.
        weights = {}
        for f in self.fields:
            arr = np.array([v for v in y[f] if v != _IGNORE])
            counts = np.bincount(arr, minlength=len(LABELS[f])).astype(np.float64)
            seen = counts > 0
            w = np.zeros(len(LABELS[f]))
            w[seen] = len(arr) / (seen.sum() * counts[seen])
            weights[f] = torch.tensor(w, dtype=torch.float32, device=self.device_)
            getattr(net, f"seen_{f}").copy_(torch.tensor(seen.astype(np.float32)))

        strat_field = "stance_domestic" if "stance_domestic" in self.fields else self.fields[0]
        tr_idx, dev_idx = _stratified_dev_split(labels[strat_field], float(self.p("dev_fraction")), seed,
                                                int(self.p("min_dev")))
        if float(self.p("dev_fraction")) > 0 and not len(dev_idx):
            self.log(f"transformer: a dev split of {self.p('dev_fraction')} of {len(norm_texts)} comments "
                     f"holds fewer than min_dev={self.p('min_dev')}; training all epochs without early stopping")

        prefix = self.p("text_prefix")
        columns = {"text": [prefix + t for t in norm_texts], **{f"y_{f}": y[f] for f in self.fields}}
        data = datasets.Dataset.from_dict(columns)
        max_length = self.p("max_length")
        data = data.map(lambda batch: self.tokenizer_(batch["text"], truncation=True, max_length=max_length),
                        batched=True, remove_columns=["text"], keep_in_memory=True)
        train_ds, dev_ds = data.select(tr_idx), data.select(dev_idx) if len(dev_idx) else None
        model_inputs = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in data.column_names]

        def batches(ds, batch_size, shuffle, generator=None):
            order = (torch.randperm(len(ds), generator=generator).tolist() if shuffle
                     else list(range(len(ds))))
            for start in range(0, len(order), batch_size):
                rows = ds[order[start:start + batch_size]]
                enc = self.tokenizer_.pad({k: rows[k] for k in model_inputs}, return_tensors="pt")
                inputs = {k: v.to(self.device_) for k, v in enc.items() if k in model_inputs}
                targets = {f: torch.tensor(rows[f"y_{f}"], device=self.device_) for f in self.fields}
                yield inputs, targets

        def loss_of(logits, targets):
            total = None
            for f in self.fields:
                if bool((targets[f] != _IGNORE).any()):
                    part = torch.nn.functional.cross_entropy(logits[f], targets[f], weight=weights[f],
                                                             ignore_index=_IGNORE)
                    total = part if total is None else total + part
            return total

        batch_size = self.p("batch_size")
        epochs = self.p("epochs")
        steps = epochs * math.ceil(len(train_ds) / batch_size)
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
        if self.p("freeze_embeddings"):
            for param in net.encoder.get_input_embeddings().parameters():
                param.requires_grad_(False)
        named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
        groups = [{"params": [p for n, p in named if not n.endswith(no_decay)],
                   "weight_decay": float(self.p("weight_decay"))},
                  {"params": [p for n, p in named if n.endswith(no_decay)], "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW(groups, lr=float(self.p("lr")))
        scheduler = get_linear_schedule_with_warmup(optimizer, int(round(float(self.p("warmup_ratio")) * steps)),
                                                    steps)
        generator = torch.Generator().manual_seed(seed)
        patience = int(self.p("patience"))
        self.history_: list[dict] = []
        best_loss, best_state, best_epoch, stale = math.inf, None, 0, 0
        for epoch in range(1, epochs + 1):
            net.train()
            total, count = 0.0, 0
            for inputs, targets in batches(train_ds, batch_size, shuffle=True, generator=generator):
                loss = loss_of(net(**inputs), targets)
                if loss is None:  # no labels in this batch for any field
                    continue
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                n = len(targets[self.fields[0]])
                total += float(loss.detach()) * n
                count += n
            record = {"epoch": epoch, "train_loss": total / max(count, 1)}
            if dev_ds is not None:
                record["dev_loss"] = self._dev_loss(torch, net, batches(dev_ds, self.p("eval_batch_size"), False),
                                                    loss_of)
            self.history_.append(record)
            self.log(f"transformer epoch {epoch}/{epochs}: train loss {record['train_loss']:.4f}"
                     + (f", dev loss {record['dev_loss']:.4f}" if "dev_loss" in record else ""))
            if dev_ds is None:
                continue
            if record["dev_loss"] < best_loss - 1e-6:
                best_loss, best_epoch, stale = record["dev_loss"], epoch, 0
                best_state = copy.deepcopy({k: v.detach().cpu() for k, v in net.state_dict().items()})
            else:
                stale += 1
                if stale >= patience:
                    self.log(f"transformer: dev loss has not improved for {stale} epoch(s); "
                             f"stopping and keeping epoch {best_epoch}")
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.best_epoch_ = best_epoch or len(self.history_)
        net.eval()

    @staticmethod
    def _dev_loss(torch, net, batches, loss_of) -> float:
        net.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for inputs, targets in batches:
                loss = loss_of(net(**inputs), targets)
                if loss is not None:
                    n = len(next(iter(targets.values())))
                    total += float(loss) * n
                    count += n
        net.train()
        return total / max(count, 1)

    # -- prediction ----------------------------------------------------------------
    def _predict_proba(self, norm_texts: list[str]) -> dict[str, np.ndarray]:
        torch = import_torch()
        net = self.net_
        net.eval()
        prefix = self.p("text_prefix")
        if prefix:
            norm_texts = [prefix + t for t in norm_texts]
        order = length_order(self.tokenizer_, norm_texts, self.p("max_length"))
        out = {f: np.zeros((len(norm_texts), len(LABELS[f]))) for f in self.fields}
        step = self.p("eval_batch_size")
        with torch.no_grad():
            for start in range(0, len(order), step):
                idx = order[start:start + step]
                logits = net(**self._encode_batch([norm_texts[i] for i in idx]))
                for f in self.fields:
                    out[f][idx] = torch.softmax(logits[f].float(), dim=-1).cpu().numpy().astype(np.float64)
        return out

    # -- persistence -----------------------------------------------------------------
    def metadata(self) -> dict:
        meta = super().metadata()
        meta["architecture"] = ARCHITECTURE
        if getattr(self, "history_", None):
            meta["training_history"] = {"epochs": self.history_, "best_epoch": getattr(self, "best_epoch_", None)}
        return meta

    def _save_weights(self, directory: Path) -> None:
        from safetensors.torch import save_file

        with quiet_hub():
            self.net_.encoder.save_pretrained(directory)
            self.tokenizer_.save_pretrained(directory)
        tensors = {}
        for f in self.fields:
            head = self.net_.heads[f]
            tensors[f"{f}.weight"] = head.weight.detach().cpu().contiguous()
            tensors[f"{f}.bias"] = head.bias.detach().cpu().contiguous()
            tensors[f"{f}.seen"] = getattr(self.net_, f"seen_{f}").detach().cpu().contiguous()
        save_file(tensors, str(directory / "heads.safetensors"), metadata={"format": "nazar-heads-1"})

    def _load_weights(self, directory: Path) -> None:
        self._checked_params()
        heads_path = directory / "heads.safetensors"
        if not heads_path.is_file() or not (directory / "config.json").is_file():
            raise ModelError(f"{directory}: incomplete transformer model (needs config.json, "
                             "model.safetensors, the tokenizer files and heads.safetensors)")
        import_torch()
        from safetensors.torch import load_file

        self.device_ = self._device()
        self.tokenizer_, net = self._load_pretrained(str(directory), self.fields)
        tensors = load_file(str(heads_path))
        try:
            for f in self.fields:
                net.heads[f].weight.data.copy_(tensors[f"{f}.weight"])
                net.heads[f].bias.data.copy_(tensors[f"{f}.bias"])
                getattr(net, f"seen_{f}").copy_(tensors[f"{f}.seen"])
        except (KeyError, RuntimeError) as exc:
            raise ModelError(f"{heads_path}: does not match the model's fields or encoder ({exc})") from None
        self.net_ = net.to(self.device_).eval()
        history = _read_history(directory)
        if history:
            self.history_ = history.get("epochs", [])
            self.best_epoch_ = history.get("best_epoch")


def _read_history(directory: Path) -> dict | None:
    import json

    try:
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get("training_history") if isinstance(meta, dict) else None
