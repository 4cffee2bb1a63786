"""An exclusive lock on a run's work directory, so two runs never write the same output.

A labelling run keeps its parts in ``OUTPUT.parts/``. :meth:`WorkLock.take`
holds an advisory ``flock`` on ``OUTPUT.parts/lock`` (which records the
holder's pid) for as long as the run lives; the kernel drops it when the
process ends in any way, ``kill -9`` included, so a stale lock never needs
cleaning up. A second run on the same output gets :class:`Locked`, with the
pid of the live one, whatever its options (``--force`` and ``--resume``
included).

On systems without ``fcntl`` (Windows) the lock file is written but not
locked.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import NazarError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["WorkLock", "Locked", "LOCK_NAME"]

LOCK_NAME = "lock"


class Locked(NazarError, RuntimeError):
    """Another live process holds the lock; ``pid`` is its process id when it could be read."""

    def __init__(self, work: Path, pid: int | None):
        self.work, self.pid = work, pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"{work} is in use by a running nazar ({who}); wait for it to finish or stop it, "
                         f"then run again")


class WorkLock:
    """A held lock on ``work``; release it with :meth:`release` (or use it as a context manager)."""

    def __init__(self, work: Path, fd: int):
        self.work, self._fd = work, fd

    @classmethod
    def take(cls, work: str | Path, create: bool = True) -> "WorkLock | None":
        """Lock ``work``, creating it first when ``create``.

        Returns None when ``create`` is false and ``work`` does not exist (or
        vanished meanwhile, removed by the run that finished). Raises
        :class:`Locked` when a live process holds it.
        """
        work = Path(work)
        path = work / LOCK_NAME
        for _ in range(10):
            if create:
                work.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            except FileNotFoundError:
                if not create:
                    return None
                continue
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    pid = _read_pid(fd)
                    os.close(fd)
                    raise Locked(work, pid) from None
            # The holder before us may have removed the directory just before letting go:
            # our lock is then on a file no longer there, and protects nothing.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return cls(work, fd)
        raise OSError(f"could not lock {path}: it keeps being replaced")

    def has_work(self) -> bool:
        """Whether the directory holds anything besides the lock file."""
        return any(p.name != LOCK_NAME for p in self.work.iterdir())

    def clear(self) -> None:
        """Remove everything in the directory except the lock file (``--force``)."""
        for p in self.work.iterdir():
            if p.name == LOCK_NAME:
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()

    def release(self, remove: bool = False) -> None:
        """Let go of the lock; with ``remove``, delete the directory first (the run finished).

        A directory holding nothing but the lock file is removed too: there is no work in it to keep.
        """
        if self._fd is None:
            return
        try:
            if not remove:
                try:
                    remove = not self.has_work()
                except OSError:
                    remove = False
            if remove:
                shutil.rmtree(self.work, ignore_errors=True)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WorkLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None
