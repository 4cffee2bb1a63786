"""File primitives: compressed inputs (detected by their magic bytes, decompressed while
streaming), opening a source (a path, a stream or standard input), Parquet files, atomic
writes, and YAML mappings read with a message that names the file."""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import IO

from .items import InputError


#: Compressed inputs: name -> (file extension, magic bytes). Detected by their magic bytes
#: (the extension is only dropped to find the format inside), decompressed while streaming.
COMPRESSIONS: dict[str, tuple[str, bytes]] = {
    "gzip": (".gz", b"\x1f\x8b"),
    "bzip2": (".bz2", b"BZh"),
    "xz": (".xz", b"\xfd7zXZ\x00"),
    "zstd": (".zst", b"\x28\xb5\x2f\xfd"),
}


def compression(path: str | Path) -> str | None:
    """The compression of the file at ``path`` by its magic bytes (``None``: not compressed, or unreadable)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError:
        return None
    for name, (_, magic) in COMPRESSIONS.items():
        if head.startswith(magic):
            return name
    return None


def _strip_compression(name: str) -> str:
    for ext, _ in COMPRESSIONS.values():
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


class _Decompressed(io.RawIOBase):
    """Reads a decompressing stream; damaged or cut-off data becomes an :class:`InputError`."""

    def __init__(self, stream, name: str) -> None:
        self._stream, self._name = stream, name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._stream.read(len(buffer))
        except Exception as exc:  # gzip/bz2: OSError, EOFError; xz: LZMAError; zstd: ZstdError
            raise InputError(f"{self._name}: the compressed data is damaged or cut off ({exc}); "
                             f"repair or re-download the file") from None
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def _decompressing(source: Path | IO[bytes], kind: str) -> IO[bytes]:
    """A binary stream of the decompressed bytes of a file path (closed with the stream) or a
    binary stream (left open)."""
    owned = isinstance(source, Path)
    if kind == "gzip":
        import gzip

        stream = gzip.open(source, "rb")
    elif kind == "bzip2":
        import bz2

        stream = bz2.open(source, "rb")
    elif kind == "xz":
        import lzma

        stream = lzma.open(source, "rb")
    else:
        try:
            import zstandard
        except ImportError:
            raise InputError(f"{source if owned else _name(source)} is zstd-compressed, which needs the 'zstandard' package: "
                             f"pip install 'nazar[zstd]' (or decompress it first: zstd -d)") from None
        raw = open(source, "rb") if owned else source
        stream = zstandard.ZstdDecompressor().stream_reader(raw, closefd=owned)
    return io.BufferedReader(_Decompressed(stream, str(source) if owned else _name(source)), buffer_size=1 << 16)


def _seek(fh: IO[bytes], pos: int) -> None:
    """Move to byte ``pos`` from the start (a stream that cannot seek is read forward to it)."""
    if fh.seekable():
        fh.seek(pos)
        return
    while pos > 0:
        chunk = fh.read(min(pos, 1 << 20))
        if not chunk:
            return
        pos -= len(chunk)


def _open_source(source) -> tuple[IO[bytes], bool]:
    """The binary stream of ``source`` (decompressed when its magic bytes say so) and whether to close it."""
    if source is None or str(source) == "-":
        stdin = sys.stdin.buffer
        head = stdin.peek(6)[:6] if hasattr(stdin, "peek") else b""
        for kind, (_, magic) in COMPRESSIONS.items():
            if head.startswith(magic):
                return _decompressing(stdin, kind), False
        return stdin, False
    if hasattr(source, "read"):
        return source, False
    try:
        kind = compression(source)
        return (_decompressing(Path(source), kind) if kind else open(source, "rb")), True
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror}") from None


def _name(source) -> str:
    return "standard input" if source is None or str(source) == "-" else str(getattr(source, "name", source))


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError("Parquet needs the 'pyarrow' package: pip install 'nazar[parquet]'") from None
    return pyarrow


def parquet_file(path):
    """A ``pyarrow.parquet.ParquetFile``; a missing pyarrow or an unreadable file is an :class:`InputError`."""
    pa = _pyarrow()
    if compression(path):
        raise InputError(f"{path} is a compressed Parquet file: Parquet compresses its columns itself, so "
                         f"decompress the file first and read the .parquet")
    try:
        return pa.parquet.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path} as Parquet: {exc}") from None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def read_yaml_mapping(path: str | Path, what: str, error: type[Exception] = ValueError,
                      missing: type[Exception] | None = None) -> dict:
    """The mapping at the top of the YAML file ``path`` (``what`` names the file in messages).

    Every failure raises ``error`` with a message that names the file: not valid YAML,
    not UTF-8, or a top level that is not a mapping (an empty file is an empty mapping).
    A file that does not exist raises ``missing`` (default: ``error``) saying "``what``
    not found". Only plain YAML is read (``yaml.safe_load``): no tags that build objects.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise (missing or error)(f"{what} not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: the top level must be a mapping, not {type(data).__name__}")
    return data


def atomic_write_text(path: str | Path, text: str, sync_dir: bool = True) -> None:
    """Write ``text`` to ``path`` through a temporary file, fsync and rename.

    ``sync_dir=False`` leaves the directory entry to a later fsync of the same directory.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk or an interrupt leaves no half-written temporary file
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        _fsync_dir(path.parent)
