"""A ``tokenizers`` unigram tokeniser that reproduces the engine's (its normalisation table as a
precompiled character map), and the engine's own token ids for comparison."""
from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .e5file import ConversionError, E5File, E5_PREFIX, read_e5_file


_META = "\u2581"  # SentencePiece's metaspace marker


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


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
