"""``nazar normalize``: normalise text lines."""
from __future__ import annotations

import argparse
import sys

from .common import EXIT_OK, open_input


def cmd_normalize(args: argparse.Namespace) -> int:
    from ..normalize import Normalizer

    normalizer = Normalizer(digits=args.digits) if args.digits else Normalizer()
    if args.tokens:
        from ..tokenize import words
    src = sys.stdin.buffer if args.input in (None, "-") else open_input(args.input)
    dst = sys.stdout if args.output in (None, "-") else open(args.output, "w", encoding="utf-8")
    try:
        for raw in src:
            line = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", errors="replace")
            text = normalizer(line)
            if args.tokens:
                text = " ".join(tok.replace(" ", "_") for tok in words(text))
            text = text.replace("\r", " ").replace("\n", " ").replace("\u2028", " ").replace("\u2029", " ")
            dst.write(text + "\n")
    finally:
        if dst is not sys.stdout:
            dst.close()
        if src is not sys.stdin.buffer:
            src.close()
    return EXIT_OK


def add_parser(sub) -> None:
    """Add this module's commands to the ``nazar`` subparsers ``sub``."""
    p = sub.add_parser("normalize", help="normalise text lines (one output line per input line)",
                       description="Normalise Persian text: one output line per input line.")
    p.add_argument("input", nargs="?", help="text file (default: standard input)")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--tokens", action="store_true", help="print the words of each line, separated by spaces")
    p.add_argument("--digits", choices=["latin", "persian", "keep"], help="digit script of the output")
    p.set_defaults(func=cmd_normalize)
