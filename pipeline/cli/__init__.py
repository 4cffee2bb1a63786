"""The ``nazar`` command line: a thin layer over the importable jobs.

One module per group of commands (``normalize``, ``label``, ``evaluate`` with ``agreement``,
``train`` with ``models build``, ``annotate``), each with its command functions and an
``add_parser`` that declares their options; this module builds the parser from them and runs
a command, turning any :class:`~pipeline.errors.NazarError` into its message and exit code.

Exit codes: 0 success (labelling may still have written rejects: see the
summary), 1 the job failed (message on stderr), 2 bad usage.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import NazarError, NazarWarning
from . import annotate, evaluate, label, normalize, train
from .common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError, print_error

__all__ = ["main", "build_parser", "CliError", "EXIT_OK", "EXIT_FAIL", "EXIT_USAGE"]


class _Version(argparse.Action):
    """``--version``: the package's version and the default model's (read only when asked)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from .. import __version__
        from ..resources import default_model_dir

        line = f"nazar {__version__}"
        directory = default_model_dir()
        try:
            meta = json.loads((Path(directory) / "model.json").read_text(encoding="utf-8"))
            line += f" (default model: {meta.get('name')} {meta.get('version')}, {meta.get('kind')}, in {directory})"
        except (OSError, ValueError, AttributeError):
            line += f" (no default model at {directory})"
        print(line)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nazar",
        description="Label Persian reader comments with their stance toward Iran's domestic messengers, "
                    "their stance toward Telegram, and their sentiment.",
        epilog="Run 'nazar COMMAND --help' for a command's options. Exit codes: 0 success, 1 failure, 2 bad usage.")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show nazar's version and the default model's, and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for group in (normalize, label, evaluate, train, annotate):
        group.add_parser(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is so that a run stops the way Ctrl-C stops it."""

    exit_code = 143


def _on_sigterm(signum, frame):
    raise Terminated()


def _catch_sigterm():
    """Turn SIGTERM into :class:`Terminated` while a command runs; returns what puts the old handler back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _show_warning(message, category, filename, lineno, file=None, line=None, _default=None):
    if issubclass(category, NazarWarning):
        print(f"nazar: warning: {message}", file=sys.stderr)
    else:
        _default(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> int:
    import functools
    import warnings

    if not getattr(warnings.showwarning, "nazar", False):
        show = functools.partial(_show_warning, _default=warnings.showwarning)
        show.nazar = True
        warnings.showwarning = show
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    restore = _catch_sigterm()
    try:
        return args.func(args)
    except NazarError as exc:
        print_error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print_error(str(exc) or "interrupted")
        return getattr(exc, "exit_code", 130)
    except BrokenPipeError:  # the reader of our standard output went away (| head): not a failure
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    finally:
        restore()
