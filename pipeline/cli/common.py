"""What every command shares: the exit codes, the command line's own error and its message line."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import NazarError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(NazarError):
    """A usage failure found by the command line itself (the jobs raise their own :class:`NazarError`)."""


def print_error(msg: str) -> None:
    print(f"nazar: error: {msg}", file=sys.stderr)


def open_input(path: str):
    """``path`` opened for reading bytes, or a :class:`CliError` naming it when it is not a file."""
    p = Path(path)
    if not p.is_file():
        raise CliError(f"input file not found: {path}")
    return p.open("rb")
