"""What the model kinds built on a transformers encoder share (``transformer``, ``setfit``, and the
checkpoint checks of :mod:`pipeline.convert`): finding a checkpoint without network access, importing
torch with a message saying how to install it, quiet loading, the device, seeding, mean pooling,
length-sorted batching and the parameter checks they have in common. torch is imported only inside
these functions.
"""
from __future__ import annotations

import contextlib
import random
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from .base import ModelError

__all__ = ["DEFAULT_CHECKPOINT", "resolve_checkpoint", "missing_weights_message", "import_torch", "quiet_hub",
           "mean_pool", "pick_device", "seeded", "length_order", "check_common_params"]

#: ParsBERT (v3, zero-width-non-joiner aware), the checkpoint the recipe was published for.
DEFAULT_CHECKPOINT = "HooshvareLab/bert-fa-zwnj-base"

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")  # owner/name


def missing_weights_message(checkpoint: str, detail: str) -> str:
    """What to do when ``checkpoint`` has no weights here (``detail`` says what was found)."""
    return (f"transformer checkpoint {checkpoint!r}: {detail}. No weights are downloaded here. "
            f"On a machine with internet access fetch them, e.g. "
            f"`huggingface-cli download {DEFAULT_CHECKPOINT} --local-dir DIR`, copy DIR to this machine "
            f"and pass it with `--set model.params.checkpoint=DIR` (or `checkpoint: DIR` under model.params)")


def resolve_checkpoint(checkpoint: str) -> str:
    """The local directory (or cached hub id) to load ``checkpoint`` from, without network access.

    Raises :class:`ModelError` with instructions when no weights are present.
    """
    checkpoint = str(checkpoint)
    path = Path(checkpoint).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(missing_weights_message(checkpoint, f"directory {path} has no config.json"))
        return str(path)
    if not _HUB_ID.fullmatch(checkpoint) or path.exists():
        raise ModelError(missing_weights_message(checkpoint, "no such directory"))
    try:
        from huggingface_hub import try_to_load_from_cache
        cached = try_to_load_from_cache(checkpoint, "config.json")
    except Exception:  # an invalid repo id or an unreadable cache: treat as not cached
        cached = None
    if not isinstance(cached, str):
        raise ModelError(missing_weights_message(checkpoint, "not a local directory and not in the local "
                                                              "Hugging Face cache"))
    return checkpoint


@contextlib.contextmanager
def quiet_hub():
    """Silence transformers' and datasets' progress bars and load reports for the duration."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        import datasets.utils.logging as ds_logging
        ds_bars = ds_logging.is_progress_bar_enabled()
        ds_logging.disable_progress_bar()
    except Exception:  # pragma: no cover - datasets missing: training reports that itself
        ds_logging, ds_bars = None, False
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
        if ds_logging is not None and ds_bars:
            ds_logging.enable_progress_bar()


def import_torch():
    """torch (transformers checked too), or a :class:`ModelError` with the install command."""
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ModelError("the transformer and setfit model kinds need torch and transformers: "
                         "pip install 'nazar[transformer]' (install torch first, see README)") from exc
    return torch


def mean_pool(hidden, attention_mask):
    """Mean of ``hidden`` (batch, tokens, dim) over the tokens whose ``attention_mask`` is 1."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def pick_device(device: str, kind: str = "transformer"):
    """The torch device for ``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``."""
    torch = import_torch()
    device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"{kind}: device {device!r} requested but CUDA is not available "
                         "(use device: auto or cpu)")
    return torch.device(device)


@contextlib.contextmanager
def seeded(seed: int, device):
    """Seed ``random``, numpy and torch for the duration; the global random states are restored after."""
    torch = import_torch()
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=cuda_devices):
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)
            if device.type == "cuda":
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def length_order(tokenizer, texts: Sequence[str], max_length: int) -> np.ndarray:
    """Indices that sort ``texts`` by token count (stable): batches of similar length pad little."""
    lengths = [len(ids) for ids in tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]]
    return np.argsort(lengths, kind="stable")


def check_common_params(kind: str, params: dict, defaults: dict, positive_ints: Sequence[str]) -> None:
    """Checks shared by the kinds built on a transformers encoder.

    Unknown keys, ``text_prefix`` (a string), ``device`` (auto, cpu, cuda or
    cuda:N) and the keys of ``positive_ints``; a missing key takes its default.
    """
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ModelError(f"{kind}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(defaults)}")

    def get(key):
        return params.get(key, defaults[key])

    if not isinstance(get("text_prefix"), str):
        raise ModelError(f"{kind}: text_prefix must be a string, got {get('text_prefix')!r}")
    device = get("device")
    if device not in ("auto", "cpu", "cuda") and not str(device).startswith("cuda:"):
        raise ModelError(f"{kind}: device must be auto, cpu or cuda, got {device!r}")
    for key in positive_ints:
        value = get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ModelError(f"{kind}: {key} must be a positive integer, got {value!r}")
